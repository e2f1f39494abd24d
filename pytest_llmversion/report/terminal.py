"""The terminal summary: current -> candidate, a row per case, counts per verdict, the gate."""

from __future__ import annotations

from pytest_llmversion.report.format import plural
from pytest_llmversion.report.schema import ItemResult, Report, SentAhead, short_name
from pytest_llmversion.report.terminal_cost import cost_lines, governance_lines
from pytest_llmversion.report.terminal_statistics import budget_line, statistics_lines
from pytest_llmversion.verdict import Verdict

#: With more candidate rows than this, only the rows that changed are listed.
MAX_ROWS = 40
#: Tags listed in the per-tag block; the rest are counted.
MAX_TAGS = 20


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _delta(value: float | None) -> str:
    return "" if value is None else f"{value:+.2f}"


def _tokens(item: ItemResult) -> str:
    total = item.usage.get("input_tokens", 0) + item.usage.get("output_tokens", 0)
    return str(total) if total else "-"


def _table(items: list[ItemResult], baseline_title: str, score_title: str) -> list[str]:
    width = max([len(short_name(i)) for i in items] + [24])
    lines = [
        f"  {'test':<{width}}  {baseline_title:>8}  {score_title:>9}  {'delta':>6}  {'verdict':<12}  {'tokens':>6}"
    ]
    for item in items:
        change = item.prompt_change
        suffix = f"  prompt changed too ({change['from']} -> {change['to']})" if change else ""
        lines.append(
            f"  {short_name(item):<{width}}  {_score(item.baseline_score):>8}  {_score(item.score):>9}  "
            f"{_delta(item.delta):>6}  {item.verdict.value:<12}  {_tokens(item):>6}{suffix}"
        )
        for note in item.notes:
            if not note.startswith("prompt changed too"):
                lines.append(f"  {'':<{width}}    note: {note}")
    return lines


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def tag_lines(report: Report) -> list[str]:
    """Results per tag for the judged role (the candidate when there is one): cases, pass rate, mean score
    change, verdicts; the worst pass rate first."""
    role = "candidate" if report.role_items("candidate") else "current"
    rows = [(tag, roles[role]) for tag, roles in report.summary.tags.items() if role in roles]
    if not rows:
        return []
    rows.sort(key=lambda row: (row[1].pass_rate if row[1].pass_rate is not None else 1.0, row[0]))
    width = max(len(tag) for tag, _ in rows[:MAX_TAGS])
    lines = [f"tags ({role}):"]
    for tag, result in rows[:MAX_TAGS]:
        rate = "-" if result.pass_rate is None else f"{result.pass_rate * 100:.0f}%"
        delta = f"  mean delta {result.mean_delta:+.2f}" if result.mean_delta is not None else ""
        lines.append(
            f"  {tag:<{width}}  {result.items:>4} case{'s' if result.items != 1 else ' '}  pass {rate:>4}{delta}  "
            f"{_counts(result.verdicts)}"
        )
    if len(rows) > MAX_TAGS:
        lines.append(f"  ... {len(rows) - MAX_TAGS} more tags (summary.tags in the report)")
    return lines


def _provider_lines(report: Report) -> list[str]:
    """Served-model drift, SDK notices, and what recordings did (replayed, written)."""
    summary = report.summary
    lines = [f"warning: {warning}" for warning in summary.served_model_warnings]
    lines += [f"notice: {notice}" for notice in summary.provider_notices]
    replayed = [i for i in report.items if i.replayed_from_recording]
    if replayed:
        lines.append(
            f"recordings: {len(replayed)} candidate item(s) re-scored from recorded answers, no call made "
            "(--llm-candidate-recordings=all calls again)"
        )
    if summary.recordings_written:
        folder = summary.recordings_written[0].split("/recordings/")[0] + "/recordings/"
        lines.append(f"recordings: {len(summary.recordings_written)} written under {folder}")
    return lines


def summary_lines(report: Report, report_path: str) -> list[str]:
    run, summary = report.run, report.summary
    lines: list[str] = []
    if run.current:
        lines.append(f"current    {run.current.model}  ({run.current.source})  mode: {run.mode}")
    if run.candidate:
        lines.append(f"candidate  {run.candidate.model}  ({run.candidate.source})")
    candidates = report.role_items("candidate")
    currents = report.role_items("current")
    # compared cases (samples >= 2) are summarised by the statistics block, not one row each
    tabled = [i for i in candidates if i.stats is None]
    if tabled:
        shown = tabled
        if len(tabled) > MAX_ROWS:
            shown = [i for i in tabled if i.verdict is not Verdict.UNCHANGED]
            lines.append(f"({len(tabled) - len(shown)} UNCHANGED rows not listed; all are in {report_path})")
        lines.append("")
        lines += _table(shown, "baseline", "candidate")
    # a live run's MATCH may carry a note worth seeing (the text changed, the scores held)
    unusual = [
        i for i in currents if i.verdict not in (Verdict.MATCH, Verdict.RECORDED) or (run.mode == "live" and i.notes)
    ]
    if unusual and not candidates:
        lines.append("")
        lines += _table(unusual[:MAX_ROWS], "golden", "current")
    if summary.statistics is not None:
        lines.append("")
        lines += statistics_lines(report)
    lines.append("")
    changed = [i for i in candidates if i.prompt_change]
    if changed:
        lines.append(
            f"warning: {len(changed)} of {len(candidates)} candidate items also used another prompt version, so "
            "their comparison mixes a model change with a prompt change; --llm-candidate-prompt=current "
            "measures the model change alone"
        )
    if currents:
        lines.append(f"current:   {_counts(summary.counts.get('current', {}))}")
    if candidates:
        lines.append(
            f"candidate: {_counts(summary.counts.get('candidate', {}))} · pass rate "
            f"{(summary.pass_rate or 0) * 100:.0f}% ({summary.passed}/{summary.total})"
        )
    lines += tag_lines(report)
    if summary.goldens_written or summary.goldens_unchanged:
        renamed = f", {len(summary.goldens_renamed)} renamed from legacy names" if summary.goldens_renamed else ""
        lines.append(
            f"goldens: {len(summary.goldens_written)} written, {summary.goldens_unchanged} unchanged{renamed} "
            "(review them with git diff, then commit)"
        )
    if summary.unused_goldens:
        verb = "removed" if summary.pruned_goldens else "unused"
        lines.append(f"{len(summary.unused_goldens)} golden(s) {verb}, no collected test uses them:")
        lines += [f"  {path}" for path in summary.unused_goldens[:20]]
        if not summary.pruned_goldens:
            lines.append("  delete them with: pytest --llm-prune-unused")
    for cause, count in summary.not_called.items():
        lines.append(f"not called: {count} item{'s' if count != 1 else ''}, because of {cause}")
    lines += governance_lines(run.governance) + cost_lines(summary.cost)
    lines += _provider_lines(report)
    if run.sent_ahead is not None:
        lines.append(sent_ahead_line(run.sent_ahead))
    if run.partial:
        lines.append(f"partial run: {'; '.join(run.partial_reasons)}")
        lines.append("  the gate speaks for these items only (llmversion report --fail-on-gate refuses this report)")
    if summary.gate == "fail":
        lines.append(f"gate: FAIL ({'; '.join(summary.gate_reasons)})")
    else:
        lines.append("gate: pass")
    if summary.statistics is not None:
        lines.append(f"  {budget_line(summary.statistics)}")
    lines.append(f"report: {report_path}")
    return lines


def sent_ahead_line(sent: SentAhead) -> str:
    """What the call pool did: wasted calls were billed for answers no test body took."""
    line = (
        f"sent ahead: {plural(sent.planned, 'live call')}, {sent.concurrency} at a time: {sent.used} used, "
        f"{sent.wasted} wasted"
    )
    if sent.dropped:
        line += f", {sent.dropped} left to their tests by the budget cap"
    if sent.errors:
        line += f", {plural(sent.errors, 'error')}"
    return line
