"""The report as one self-contained HTML page: the table, and side-by-side diffs of each changed answer."""

from __future__ import annotations

import difflib
import html

from pytest_llmversion.report.schema import ItemResult, Report, short_name
from pytest_llmversion.verdict import Verdict

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1f23}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left}
.num{text-align:right;font-variant-numeric:tabular-nums}.bad{color:#b3261e;font-weight:600}
.good{color:#1a7f37}.muted{color:#57606a}details{margin:1rem 0}summary{cursor:pointer;font-weight:600}
table.diff{font:12px ui-monospace,monospace}table.diff td{border:none;vertical-align:top;white-space:pre-wrap}
.diff_add{background:#dafbe1}.diff_chg{background:#fff8c5}.diff_sub{background:#ffebe9}
"""

_BAD = {Verdict.REGRESSED, Verdict.FORMAT_BREAK, Verdict.ERROR, Verdict.FAILED, Verdict.STALE, Verdict.MISSING}


def _e(text: object) -> str:
    return html.escape(str(text))


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _side_by_side(item: ItemResult) -> str:
    if item.output is None or item.baseline_output is None or item.output == item.baseline_output:
        return ""
    return difflib.HtmlDiff(wrapcolumn=90).make_table(
        item.baseline_output.splitlines(), item.output.splitlines(), "golden", "candidate", context=True, numlines=3
    )


def render_html(report: Report) -> str:
    run, summary = report.run, report.summary
    title = "pytest-llmversion report"
    if run.current and run.candidate:
        title = f"{run.current.model} → {run.candidate.model}"
    items = report.role_items("candidate") or report.role_items("current")
    rows = []
    for item in items:
        css = "bad" if item.verdict in _BAD else "good" if item.verdict is Verdict.IMPROVED else ""
        delta = "" if item.delta is None else f"{item.delta:+.2f}"
        rows.append(
            f"<tr><td>{_e(short_name(item))}</td><td class=num>{_score(item.baseline_score)}</td>"
            f"<td class=num>{_score(item.score)}</td><td class=num>{delta}</td>"
            f"<td class={css}>{_e(item.verdict.value)}</td><td>{_e(item.message)}</td></tr>"
        )
    details = []
    for item in items:
        diff = _side_by_side(item)
        checks = "".join(
            f"<li><code>{_e(c.name)}</code> {_score(c.baseline)} → {_score(c.score)} <span class=muted>"
            f"{_e(c.detail)}</span></li>"
            for c in item.checks
        )
        if diff or not item.passed:
            details.append(
                f"<details{' open' if not item.passed else ''}><summary>{_e(short_name(item))}: "
                f"{_e(item.verdict.value)}</summary><ul>{checks}</ul>"
                + (f"<p>test body raised <code>{_e(item.error)}</code></p>" if item.error else "")
                + diff
                + "</details>"
            )
    gate = "pass" if summary.gate == "pass" else "FAIL"
    reasons = "".join(f"<li>{_e(r)}</li>" for r in summary.gate_reasons)
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><title>{_e(title)}</title><style>{_STYLE}</style></head>
<body><h1>{_e(title)}</h1>
<p>mode {_e(run.mode)} · gate <strong class={"good" if gate == "pass" else "bad"}>{gate}</strong>
· pass rate {(summary.pass_rate or 0) * 100:.0f}% ({summary.passed}/{summary.total})</p><ul>{reasons}</ul>
<table><tr><th>test</th><th>baseline</th><th>score</th><th>Δ</th><th>verdict</th><th>why</th></tr>
{"".join(rows)}</table>
{"".join(details)}
<p class=muted>pytest-llmversion {_e(run.plugin_version)} · {_e(run.finished_at)}</p></body></html>
"""
