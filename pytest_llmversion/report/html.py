"""The report as one self-contained HTML page: the gate, results per tag, the statistics, cost and latency
with two small charts, then every case in a table that filters (verdict, role, tag), sorts and searches, each
case opening onto its checks and a side-by-side diff of each call's answer, pretty-printed to fit the page.

This module decides what the page says; ``html_page`` is the page itself (style, script, policy) and
``html_charts`` the charts. Long outputs are folded, and the table is drawn by the page's script from the
embedded cases, so a report of 5,000 cases stays a few megabytes and opens at once.
"""

from __future__ import annotations

import html
from collections import Counter
from statistics import median
from typing import Any

from pytest_llmversion.report.diff import pretty, side_by_side
from pytest_llmversion.report.format import plural, rate, ratio, usd
from pytest_llmversion.report.html_charts import cost_latency_chart, score_change_chart
from pytest_llmversion.report.html_page import page
from pytest_llmversion.report.schema import ItemResult, Report, short_name
from pytest_llmversion.report.terminal_statistics import budget_line, case_line, statistics_lines
from pytest_llmversion.verdict import REPORT_ORDER, Verdict, fails

#: The table's first order (and the verdict filters' order): what fails, what changed, the rest.
ORDER = REPORT_ORDER
_RANK = {verdict: n for n, verdict in enumerate(ORDER)}
#: Verdicts that pass but deserve a second look.
_NOTICE = frozenset({Verdict.FLAKY, Verdict.NO_BASELINE, Verdict.DRIFT})
#: Characters of an unchanged output embedded per case; the rest is in report.json.
OUTPUT_SHOWN = 4_000


def _e(text: object) -> str:
    return html.escape(str(text))


def render_html(report: Report) -> str:
    run = report.run
    title = "pytest-llmversion report"
    if run.current and run.candidate:
        title = f"{run.current.model} → {run.candidate.model}"
    elif run.current:
        title = f"{run.current.model} ({run.mode})"
    judged = report.role_items("candidate") or report.role_items("current")
    sections = [
        f"<h1>{_e(title)}</h1>",
        _gate(report),
        _tags(report),
        _statistics(report),
        _cost(report, judged),
        _cases(report),
        f"<p class=muted>pytest-llmversion {_e(run.plugin_version)} · pytest {_e(run.pytest_version)} · "
        f"finished {_e(run.finished_at)}</p>",
    ]
    return page(_e(title), "\n".join(s for s in sections if s), _data(report))


# -- the sections ----------------------------------------------------------------------------------------


def _gate(report: Report) -> str:
    run, summary = report.run, report.summary
    passed = summary.gate == "pass"
    parts = [
        f"<p>mode {_e(run.mode)} · gate <strong class={'good' if passed else 'bad'}>{'pass' if passed else 'FAIL'}"
        f"</strong> · pass rate {rate(summary.pass_rate)} ({summary.passed}/{summary.total})</p>"
    ]
    if run.partial:
        parts.append(
            f"<p class=banner><strong>Partial run:</strong> {_e('; '.join(run.partial_reasons))}. "
            "The gate speaks for these items only.</p>"
        )
    if summary.gate_reasons:
        parts.append("<ul>" + "".join(f"<li class=bad>{_e(r)}</li>" for r in summary.gate_reasons) + "</ul>")
    notices = [*(run.governance.notices if run.governance else []), *summary.served_model_warnings]
    notices += summary.provider_notices
    if notices:
        parts.append("<ul>" + "".join(f"<li class=warn>{_e(n)}</li>" for n in notices) + "</ul>")
    counts = summary.counts
    for role in ("candidate", "current"):
        if role in counts:
            ordered = sorted(counts[role].items(), key=lambda kv: _RANK.get(Verdict(kv[0]), 99))
            text = ", ".join(f"{n} {v}" for v, n in ordered)
            parts.append(f"<p>{role}: {_e(text)}</p>")
    return "\n".join(parts)


def _tags(report: Report) -> str:
    """One row per tag: each role's pass rate, the candidate's mean score change and verdicts (else the current's)."""
    tags = report.summary.tags
    if not tags:
        return ""
    rows = []
    for tag, roles in tags.items():
        judged = roles.get("candidate") or roles.get("current")
        assert judged is not None
        rates = []
        for role in ("current", "candidate"):
            result = roles.get(role)
            css = " class=bad" if result is not None and result.pass_rate is not None and result.pass_rate < 1 else ""
            shown = "–" if result is None else f"{rate(result.pass_rate)} ({result.passed}/{result.items})"
            rates.append(f"<td class=num{css}>{shown}</td>")
        delta = "–" if judged.mean_delta is None else f"{judged.mean_delta:+.2f}"
        verdicts = ", ".join(
            f"{n} {v}" for v, n in sorted(judged.verdicts.items(), key=lambda kv: _RANK.get(Verdict(kv[0]), 99))
        )
        rows.append(
            f"<tr><td><button class=linkish data-tag='{_e(tag)}'>{_e(tag)}</button></td>"
            f"<td class=num>{judged.items}</td>{''.join(rates)}<td class=num>{delta}</td><td>{_e(verdicts)}</td></tr>"
        )
    return (
        "<h2>Results per tag</h2><table><tr><th>tag</th><th>cases</th><th>current pass rate</th>"
        "<th>candidate pass rate</th><th>mean Δ score</th><th>verdicts</th></tr>" + "".join(rows) + "</table>"
    )


def _statistics(report: Report) -> str:
    stats = report.summary.statistics
    if stats is None:
        summary = report.summary
        return (
            "<h2>Statistics</h2>"
            f"<p>One answer per model and case: pass rate {rate(summary.pass_rate)} ({summary.passed}/"
            f"{summary.total}). Run with <code>--llm-samples=5</code> for pass rates with intervals, an exact test "
            "per case, the suite test and what the run could detect.</p>"
        )
    rows = []
    if stats.pass_rate is not None:
        rows.append(
            f"<tr><th>pass rate</th><td>current {stats.pass_rate.current * 100:.1f}% · candidate "
            f"{stats.pass_rate.candidate * 100:.1f}%</td></tr>"
        )
    d = stats.difference
    if d is not None:
        rows.append(
            f"<tr><th>difference</th><td>{d.mean * 100:+.1f} pp ({d.confidence * 100:.0f}% CI "
            f"{d.low * 100:+.1f} … {d.high * 100:+.1f} pp, paired over {plural(stats.cases, 'case')})</td></tr>"
        )
    test = stats.suite_test
    if test is not None:
        verdict = "<span class=bad>fails</span>" if test.failed else "passes"
        rows.append(
            f"<tr><th>suite test</th><td>exact stratified test on the first {stats.k} samples per case: "
            f"p = {test.p:.3g} (α {test.alpha:g}): {verdict}; passes {test.current_passes}/{test.current_samples} → "
            f"{test.candidate_passes}/{test.candidate_samples}</td></tr>"
        )
    ni = stats.noninferiority
    if ni.lower is not None:
        rows.append(
            f"<tr><th>non-inferiority</th><td>margin {ni.margin * 100:g} pp: {_e(ni.status)} (lower bound "
            f"{ni.lower * 100:+.1f} pp){' · gating' if ni.gating else ''}</td></tr>"
        )
    resolution = stats.resolution
    seen = []
    if resolution.diffuse is not None:
        seen.append(f"a drop of {resolution.diffuse * 100:.1f} pp in every case (suite test)")
    if resolution.localized is not None:
        seen.append(f"one always-passing case falling to {resolution.localized * 100:.0f}% (its own test)")
    detect = ", or ".join(seen) if seen else "too few samples to flag any one case; raise --llm-max-samples"
    rows.append(
        f"<tr><th>what this run could detect</th><td>{_e(detect)} "
        f"(caught {resolution.power * 100:.0f}% of the time)</td></tr>"
    )
    rows.append(f"<tr><th>false alarms</th><td>{_e(budget_line(stats))}</td></tr>")
    lines = "\n".join(statistics_lines(report))
    return (
        "<h2>Statistics</h2><table>" + "".join(rows) + "</table>"
        f"<details><summary>as the terminal shows it</summary><pre>{_e(lines)}</pre></details>"
    )


def _cost(report: Report, judged: list[ItemResult]) -> str:
    cost = report.summary.cost
    chart = score_change_chart([i for i in judged if i.role == "candidate"])
    parts = []
    if cost is not None and cost.roles:
        rows = []
        for role, c in cost.roles.items():
            latency = (
                f"{c.latency_p50_ms or 0:,.0f} / {c.latency_p95_ms or 0:,.0f} ms ({plural(c.latency_calls, 'call')})"
                if c.latency_calls
                else "no live calls"
            )
            source = " (from goldens)" if c.token_source == "golden" else ""
            rows.append(
                f"<tr><td>{role}</td><td>{_e(c.model)}</td><td class=num>{c.input_tokens:,}</td>"
                f"<td class=num>{c.output_tokens:,}{source}</td><td class=num>{usd(c.cost_usd)}</td>"
                f"<td class=num>{latency}</td></tr>"
            )
        parts.append(
            "<table><tr><th>role</th><th>model</th><th>tokens in</th><th>tokens out</th><th>cost</th>"
            "<th>latency p50 / p95</th></tr>" + "".join(rows) + "</table>"
        )
        comparison = cost.comparison
        if comparison is not None:
            latency = (
                f"latency p50 {ratio(comparison.latency_p50_ratio)}, p95 {ratio(comparison.latency_p95_ratio)}"
                if comparison.latency_p50_ratio is not None
                else f"latency: {comparison.latency_note}"
            )
            parts.append(
                f"<p>Candidate/current per case ({plural(comparison.cases, 'case')}): tokens "
                f"{ratio(comparison.token_ratio)}, cost {ratio(comparison.cost_ratio)}, {_e(latency)}.</p>"
            )
        parts += [
            f"<p class={'good' if b.passed else 'bad'}>budget {_e(b.option)}={b.limit_pct:g}: "
            f"{'ok' if b.passed else 'FAIL'}, {_e(b.detail)}</p>"
            for b in cost.budgets
        ]
        parts.append(
            f"<p class=muted>This run: {plural(cost.live_calls, 'live call')}, {usd(cost.spent_usd)} spent.</p>"
        )
    if cost is not None and cost.check_calls:  # judges and embedding models: their own rows, in neither model's
        check_rows = "".join(
            f"<tr><td>{_e(c.purpose)}</td><td>{_e(c.model)}</td><td class=num>{c.calls_live:,} live, "
            f"{c.calls_replayed:,} replayed</td><td class=num>{c.input_tokens:,}</td>"
            f"<td class=num>{c.output_tokens:,}</td><td class=num>{usd(c.cost_usd)}</td></tr>"
            for c in cost.check_calls
        )
        parts.append(
            "<table><tr><th>check</th><th>model</th><th>calls</th><th>tokens in</th><th>tokens out</th>"
            "<th>cost</th></tr>"
            + check_rows
            + "</table><p class=muted>Judge and embedding calls are in the spend above, "
            "in neither model's figures.</p>"
        )
    charts = [c for c in (chart, cost_latency_chart(cost)) if c]
    if charts:
        parts.append("<div class=grid>" + "".join(f"<div>{c}</div>" for c in charts) + "</div>")
    return "<h2>Cost, tokens and latency</h2>" + "".join(parts) if parts else ""


def _cases(report: Report) -> str:
    present = Counter(item.verdict for item in report.items)
    chips = "".join(
        f'<button class=chip data-verdict="{v.value}" aria-pressed="true">{v.value} {present[v]}</button>'
        for v in ORDER
        if present[v]
    )
    roles = sorted({item.role for item in report.items}, key=lambda r: r != "candidate")
    options = "".join(f"<option value={r}>{r}</option>" for r in roles) + "<option value=all>all roles</option>"
    tags = sorted({tag for item in report.items for tag in item.tags})
    tag_options = "<option value=''>every tag</option>" + "".join(
        f"<option value='{_e(t)}'>{_e(t)}</option>" for t in tags
    )
    head = "".join(
        f'<th data-key="{key}">{label}</th>'
        for key, label in (
            ("n", "test"),
            ("r", "role"),
            ("rank", "verdict"),
            ("b", "baseline"),
            ("s", "score"),
            ("d", "Δ"),
            ("t", "tokens"),
            ("c", "cost"),
            ("l", "latency"),
            ("tg", "tags"),
        )
    )
    return (
        "<h2 id=cases>Cases</h2>"
        f"<div id=filters><div class=chips>{chips}</div>"
        f"<label>role <select id=role>{options}</select></label>"
        f"<label>tag <select id=tag>{tag_options}</select></label>"
        "<input type=search id=search placeholder='search test, verdict, tag, message' aria-label=search></div>"
        "<p id=count class=muted></p>"
        f"<table class=cases><thead><tr>{head}</tr></thead><tbody id=rows></tbody></table>"
        "<button id=more class=chip hidden>Show more</button>"
        "<p class=muted>Click a case for its checks and each call's side-by-side diff; click a column to sort.</p>"
    )


# -- the cases, as the page's script reads them ----------------------------------------------------------


def _data(report: Report) -> dict[str, Any]:
    ordered = sorted(report.items, key=lambda i: (not fails(i.role, i.verdict), _RANK.get(i.verdict, 99), i.nodeid))
    rank = {item.nodeid + item.role: n for n, item in enumerate(ordered)}
    present = {item.verdict for item in report.items}
    return {
        "items": [_case(n, item, rank[item.nodeid + item.role]) for n, item in enumerate(report.items)],
        "verdicts": [v.value for v in ORDER if v in present],
        "defaultRole": "candidate" if report.role_items("candidate") else "all",
        "left": "current (live)" if report.run.baseline == "live" else "golden",
    }


def _case(index: int, item: ItemResult, rank: int) -> dict[str, Any]:
    case: dict[str, Any] = {
        "i": index,
        "rank": rank,
        "n": short_name(item),
        "id": item.nodeid,
        "r": item.role,
        "v": item.verdict.value,
        "f": int(fails(item.role, item.verdict)),
        "w": int(item.verdict in _NOTICE),
        "b": item.baseline_score,
        "s": item.score,
        "d": item.delta,
        "t": item.usage.get("input_tokens", 0) + item.usage.get("output_tokens", 0),
        "c": item.cost_usd,
        "l": round(median(item.latency_ms), 1) if item.latency_ms else None,
        "g": item.tags,
        "tg": " ".join(item.tags),
    }
    if item.golden:
        case["gp"] = item.golden
    message = item.message
    if item.not_called:
        message = f"{message}\nnot called: {item.not_called}".strip()
    if message:
        case["m"] = message
    if item.error:
        case["e"] = item.error
    notes = [n for n in item.notes if n]
    if notes:
        case["nt"] = notes
    if item.checks:
        case["k"] = [[c.name, c.baseline, c.score, c.passed, c.detail] for c in item.checks]
    if item.stats is not None:
        case["q"] = case_line(item, item.verdict.value, len(short_name(item))).strip()
    calls = _calls(item)
    if calls:
        case["x"] = calls
    elif item.output is not None:
        text = "\n".join(pretty(item.output))
        case["o"] = text if len(text) <= OUTPUT_SHOWN else text[:OUTPUT_SHOWN] + "\n… (the rest is in report.json)"
    return case


def _calls(item: ItemResult) -> list[list[Any]]:
    """[heading, request, side-by-side rows, lone answer] per call whose answers differ or stand alone."""
    if len(item.calls_detail) > 1:
        calls = []
        for number, call in enumerate(item.calls_detail, 1):
            rows = None
            if call.output is not None and call.baseline_output is not None:
                rows = side_by_side(call.baseline_output, call.output)
            heading = f"call {number} of {len(item.calls_detail)}"
            if call.output is not None and call.output == call.baseline_output:
                heading += " · same answer on both sides"
            elif call.error:
                heading += f" · no answer: {call.error}"
            alone = call.output if rows is None else None
            calls.append([heading, call.request, rows, "\n".join(pretty(alone)) if alone else None])
        return calls
    if item.output is not None and item.baseline_output is not None and item.output != item.baseline_output:
        return [["", "", side_by_side(item.baseline_output, item.output), None]]
    return []
