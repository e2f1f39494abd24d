"""The report as Markdown, for a CI step summary or a pull-request comment.

Failures come first and UNCHANGED rows are folded into a count. GitHub refuses a comment over 65,536
characters, so the page is built to a budget: the head, the per-tag table, the statistics and the cost always
fit; then table rows and failure details are added in order of importance while they fit, and a line says what
was left out. The size is counted in UTF-16 code units (an emoji counts twice), the larger of the counts GitHub
might use.
"""

from __future__ import annotations

from pytest_llmversion.report.diff import output_diff
from pytest_llmversion.report.schema import CallView, ItemResult, Report, TagResult, short_name
from pytest_llmversion.report.terminal_cost import markdown_lines
from pytest_llmversion.report.terminal_statistics import budget_line, statistics_lines
from pytest_llmversion.verdict import REPORT_ORDER, Verdict

#: GitHub's limit on a comment (and what one step-summary append is kept under).
MARKDOWN_LIMIT = 65_536
#: Tags listed in the per-tag table; the rest are counted.
TAGS_SHOWN = 40

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
#: Row order: what fails first, then what changed, then the rest.
_ORDER = {v: n for n, v in enumerate(REPORT_ORDER)}
#: Verdicts folded into a count instead of a row each.
_FOLDED = (Verdict.UNCHANGED, Verdict.MATCH, Verdict.RECORDED)


def size(text: str) -> int:
    """Length as UTF-16 code units: never less than the character count, whichever GitHub applies."""
    return len(text.encode("utf-16-le")) // 2


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fence(text: str, info: str = "") -> list[str]:
    """A code block whose fence is longer than any run of backticks inside (answers may hold ``` fences)."""
    longest, run = 0, 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{info}", *text.splitlines(), fence]


def _code(text: str) -> str:
    """Inline code that survives backticks inside (an error quoting a ```json fence)."""
    longest, run = 0, 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    ticks = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _row(item: ItemResult) -> str:
    delta = "" if item.delta is None else f"{item.delta:+.2f}"
    tokens = item.usage.get("input_tokens", 0) + item.usage.get("output_tokens", 0)
    note = " (prompt changed too)" if item.prompt_change else ""
    return (
        f"| {_cell(short_name(item))} | {_score(item.baseline_score)} | {_score(item.score)} | {delta} | "
        f"{_ICON.get(item.verdict, '')} {item.verdict.value}{note} | {tokens or '–'} |"
    )


def _tag_rows(report: Report) -> list[str]:
    tags = report.summary.tags
    if not tags:
        return []
    role = "candidate" if report.role_items("candidate") else "current"
    rows = [(tag, by_role[role]) for tag, by_role in tags.items() if role in by_role]
    if not rows:
        return []
    lines = [
        f"### Results per tag ({role})",
        "",
        "| tag | cases | pass rate | mean Δ | verdicts |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for tag, result in rows[:TAGS_SHOWN]:
        lines.append(
            f"| {_cell(tag)} | {result.items} | {_rate(result)} | {_mean_delta(result)} | {_verdicts(result)} |"
        )
    if len(rows) > TAGS_SHOWN:
        lines.append(f"| … {len(rows) - TAGS_SHOWN} more tags (report.json `summary.tags`) | | | | |")
    return [*lines, ""]


def _rate(result: TagResult) -> str:
    return "–" if result.pass_rate is None else f"{result.pass_rate * 100:.0f}% ({result.passed}/{result.items})"


def _mean_delta(result: TagResult) -> str:
    return "–" if result.mean_delta is None else f"{result.mean_delta:+.2f}"


def _verdicts(result: TagResult) -> str:
    ordered = sorted(result.verdicts.items(), key=lambda kv: (_ORDER.get(Verdict(kv[0]), 99), kv[0]))
    return ", ".join(f"{n} {verdict}" for verdict, n in ordered)


def _calls_block(calls: list[CallView]) -> list[str]:
    lines: list[str] = []
    for number, call in enumerate(calls, 1):
        lines += ["", f"**Call {number} of {len(calls)}**, request:", "", *_fence(call.request, "text")]
        if call.output is not None and call.baseline_output is not None:
            if call.output == call.baseline_output:
                lines += ["", "Same answer on both sides."]
            else:
                lines += [
                    "",
                    *_fence("\n".join(output_diff(call.baseline_output, call.output, "golden", "new")), "diff"),
                ]
        elif call.output is not None:
            lines += ["", "Answer (no golden answer to compare):", "", *_fence(call.output, "text")]
        if call.error:
            lines += ["", f"No answer: {call.error}"]
    return lines


def _details(item: ItemResult) -> list[str]:
    lines = [f"<details><summary>{short_name(item)}: {item.verdict.value}</summary>", ""]
    if item.message:
        lines += [item.message]
    moved = [c for c in item.checks if c.baseline is not None and c.score != c.baseline]
    if moved or item.error:
        lines.append("")
    for check in moved:
        lines.append(f"- `{check.name}` {check.baseline:.2f} → {check.score:.2f} {check.detail}")
    if item.error:
        lines.append(f"- test body raised {_code(item.error)}")
    if len(item.calls_detail) > 1:
        lines += _calls_block(item.calls_detail)
    elif item.output is not None and item.baseline_output is not None and item.output != item.baseline_output:
        diff = output_diff(item.baseline_output, item.output, "golden", "candidate")
        lines += ["", *_fence("\n".join(diff), "diff")]
    while lines[-1] == "":
        lines.pop()
    return [*lines, "", "</details>", ""]


def render_markdown(report: Report, limit: int = MARKDOWN_LIMIT) -> str:
    run, summary = report.run, report.summary
    gate = "✅ pass" if summary.gate == "pass" else "❌ fail"
    head = ["## pytest-llmversion", ""]
    if run.candidate and run.current:
        head.append(f"**{run.current.model}** → **{run.candidate.model}** · gate **{gate}**")
    elif run.current:
        head.append(f"**{run.current.model}** ({run.mode}) · gate **{gate}**")
    head.append("")
    if run.partial:
        head += [f"> **Partial run:** {'; '.join(run.partial_reasons)}. The gate speaks for these items only.", ""]
    head += [f"- {reason}" for reason in summary.gate_reasons]
    if summary.gate_reasons:
        head.append("")

    judged = report.role_items("candidate") or report.role_items("current")
    ordered = sorted(judged, key=lambda i: (_ORDER.get(i.verdict, 99), short_name(i)))
    listed = [i for i in ordered if i.verdict not in _FOLDED]
    folded: dict[str, int] = {}
    for item in ordered:
        if item.verdict in _FOLDED:
            folded[item.verdict.value] = folded.get(item.verdict.value, 0) + 1
    fold_line = ""
    if folded:
        counted = " and ".join(f"{n} {verdict}" for verdict, n in folded.items())
        fold_line = f"{counted} {'case is' if sum(folded.values()) == 1 else 'cases are'} not listed."

    rest: list[str] = []
    if summary.pass_rate is not None:
        rest += [f"Pass rate {summary.pass_rate * 100:.0f}% ({summary.passed}/{summary.total}).", ""]
    rest += _tag_rows(report)
    if summary.statistics is not None:  # with samples: the same block the terminal shows
        rest += ["```text", *statistics_lines(report), budget_line(summary.statistics), "```", ""]
    rest += markdown_lines(run.governance, summary.cost)

    rows = [_row(item) for item in listed]
    details = [_details(item) for item in listed if not item.passed]
    # what always fits, with room for the line that says what was left out
    table_head = ["| test | baseline | candidate | Δ | verdict | tokens |", "| --- | ---: | ---: | ---: | --- | ---: |"]
    fixed = size("\n".join([*head, *table_head, "", fold_line, "", *rest])) + 400
    room = limit - fixed
    kept_rows = _fitting([[row] for row in rows], room)
    room -= sum(size(row) + 1 for row in rows[:kept_rows])
    kept_details = _fitting(details, room)

    lines = list(head)
    if kept_rows:
        lines += [*table_head, *rows[:kept_rows], ""]
    if fold_line:
        lines += [fold_line, ""]
    left_rows, left_details = len(rows) - kept_rows, len(details) - kept_details
    if left_rows or left_details:
        parts = [f"{n} {what}" for n, what in ((left_rows, "table rows"), (left_details, "failure details")) if n]
        lines += [
            f"_Left out to stay under GitHub's {limit:,}-character limit: {' and '.join(parts)}. Every item is in "
            "report.json, and `llmversion report --html report.html` shows them all._",
            "",
        ]
    lines += rest
    for block in details[:kept_details]:
        lines += block
    text = "\n".join(lines).rstrip() + "\n"
    return text if size(text) <= limit else _cut(text, limit)


def _fitting(blocks: list[list[str]], room: int) -> int:
    """How many blocks, in order, fit in ``room``."""
    used = 0
    for count, block in enumerate(blocks):
        used += sum(size(line) + 1 for line in block)
        if used > room:
            return count
    return len(blocks)


def _cut(text: str, limit: int) -> str:
    """Last resort (a head longer than the budget): whole lines up to the limit, and a line saying so."""
    note = "\n_Cut here to stay under the size limit; the whole report is in report.json._\n"
    kept: list[str] = []
    used = size(note)
    for line in text.splitlines():
        used += size(line) + 1
        if used > limit:
            break
        kept.append(line)
    return "\n".join(kept) + note
