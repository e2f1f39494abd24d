"""The report as Markdown, for a CI step summary or a pull-request comment."""

from __future__ import annotations

from pytest_llmversion.report.diff import output_diff
from pytest_llmversion.report.schema import ItemResult, Report, short_name
from pytest_llmversion.report.terminal_cost import markdown_lines
from pytest_llmversion.report.terminal_statistics import budget_line, statistics_lines
from pytest_llmversion.verdict import Verdict

_ICON = {
    Verdict.REGRESSED: "🔴",
    Verdict.FORMAT_BREAK: "🔴",
    Verdict.ERROR: "⚠️",
    Verdict.IMPROVED: "🟢",
    Verdict.UNCHANGED: "⚪",
    Verdict.FLAKY: "🟡",
    Verdict.STALE: "🟠",
    Verdict.MISSING: "🟠",
    Verdict.DRIFT: "🟡",
    Verdict.FAILED: "🔴",
}


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(item: ItemResult) -> str:
    delta = "" if item.delta is None else f"{item.delta:+.2f}"
    tokens = item.usage.get("input_tokens", 0) + item.usage.get("output_tokens", 0)
    note = " (prompt changed too)" if item.prompt_change else ""
    return (
        f"| {_cell(short_name(item))} | {_score(item.baseline_score)} | {_score(item.score)} | {delta} | "
        f"{_ICON.get(item.verdict, '')} {item.verdict.value}{note} | {tokens or '–'} |"
    )


def render_markdown(report: Report) -> str:
    run, summary = report.run, report.summary
    gate = "✅ pass" if summary.gate == "pass" else "❌ fail"
    lines = ["## pytest-llmversion", ""]
    if run.candidate and run.current:
        lines.append(f"**{run.current.model}** → **{run.candidate.model}** · gate **{gate}**")
    elif run.current:
        lines.append(f"**{run.current.model}** ({run.mode}) · gate **{gate}**")
    lines.append("")
    if run.partial:
        lines += [f"> **Partial run:** {'; '.join(run.partial_reasons)}. The gate speaks for these items only.", ""]
    for reason in summary.gate_reasons:
        lines.append(f"- {reason}")
    if summary.gate_reasons:
        lines.append("")
    shown = report.role_items("candidate") or [i for i in report.role_items("current") if not i.passed]
    if shown:
        lines += [
            "| test | baseline | candidate | Δ | verdict | tokens |",
            "| --- | ---: | ---: | ---: | --- | ---: |",
            *(_row(item) for item in shown),
            "",
        ]
    if summary.pass_rate is not None:
        lines.append(f"Pass rate {summary.pass_rate * 100:.0f}% ({summary.passed}/{summary.total}).")
        lines.append("")
    if summary.statistics is not None:  # with samples: the same block the terminal shows
        lines += ["```text", *statistics_lines(report), budget_line(summary.statistics), "```", ""]
    lines += markdown_lines(run.governance, summary.cost)
    for item in shown:
        if item.passed:
            continue
        lines.append(f"<details><summary>{short_name(item)}: {item.verdict.value}</summary>")
        lines.append("")
        if item.message:
            lines.append(f"{item.message}")
            lines.append("")
        moved = [c for c in item.checks if c.baseline is not None and c.score != c.baseline]
        for check in moved:
            lines.append(f"- `{check.name}` {check.baseline:.2f} → {check.score:.2f} {check.detail}")
        if item.error:
            lines.append(f"- test body raised `{item.error}`")
        if item.output is not None and item.baseline_output is not None and item.output != item.baseline_output:
            lines += ["", "```diff", *output_diff(item.baseline_output, item.output, "golden", "candidate"), "```"]
        lines += ["", "</details>", ""]
    return "\n".join(lines).rstrip() + "\n"
