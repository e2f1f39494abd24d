"""Session end, on the controller, in one pass: the items' messages in, the report out.

1. write the artifacts (goldens, the candidate's answers for ``llmversion promote``, recordings; the
   unused goldens listed or pruned);
2. adjust for multiple testing (``judge.suite_gate``: Benjamini-Hochberg, the suite test);
3. price (``governance.pricing``: per item, per role, the budgets);
4. decide the gate: the one rule of failing verdicts (``verdict.FAILING``), the statistical gate, the
   budgets, goldens kept unwritten, an interrupted run;
5. build the report, and write it with the views asked for.

Each step makes new values from the last; nothing changes a result, or the report, once it is built.
Only a run in which an LLM item ran gets here; a run of some of them is marked partial (``selection``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_llmversion.atomic import write_atomic
from pytest_llmversion.config import config_hash
from pytest_llmversion.governance.pricing import price_run
from pytest_llmversion.judge.suite_gate import assess
from pytest_llmversion.report.governance import CostReport
from pytest_llmversion.report.schema import (
    ItemResult,
    ModelInfo,
    Report,
    RunInfo,
    SentAhead,
    Summary,
    TagResult,
    short_name,
)
from pytest_llmversion.report.statistics import SuiteStatistics
from pytest_llmversion.run.artifacts import (
    prune,
    unused_goldens,
    write_candidate_goldens,
    write_recorded_goldens,
    write_recordings,
)
from pytest_llmversion.run.context import RunContext
from pytest_llmversion.run.gather import Collected, Results
from pytest_llmversion.run.result import ItemReport
from pytest_llmversion.verdict import fails

#: pytest's exit statuses this module decides between.
EXIT_OK, EXIT_TESTS_FAILED, EXIT_INTERRUPTED = 0, 1, 2


@dataclass(frozen=True)
class RunEnd:
    """What pytest knows at the end of the session, as plain values."""

    exit_status: int
    partial: list[str]
    prune_unused: bool
    started_at: str
    finished_at: str
    pytest_version: str
    plugin_version: str
    report_path: Path
    markdown_path: Path | None = None
    html_path: Path | None = None
    sent_ahead: SentAhead | None = None
    #: ``$GITHUB_STEP_SUMMARY``: the Markdown report is appended to it (GitHub Actions shows it on the run's page).
    step_summary: Path | None = None


@dataclass
class Finished:
    report: Report
    #: pytest's exit status with the gate applied: a failed gate fails a run pytest thought passed.
    exit_status: int
    #: One line each, for the terminal summary (a view that could not be written).
    problems: list[str] = field(default_factory=list)


@dataclass
class _Files:
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    renamed: list[str] = field(default_factory=list)
    #: Goldens not written: the file there is not valid YAML, kept as it is (one line each, with the fix).
    kept: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    recordings: list[str] = field(default_factory=list)
    #: Each candidate item's answers kept for ``llmversion promote``, by node id.
    candidate_copies: dict[str, str] = field(default_factory=dict)


def finish_run(ctx: RunContext, results: Results, end: RunEnd) -> Finished:
    reports = results.reports()
    files = _write_artifacts(ctx, reports, results.collected, end)
    items = sorted((r.result for r in reports), key=lambda i: (i.role != "candidate", i.nodeid))
    items = [i.model_copy(update={"candidate_golden": files.candidate_copies.get(i.nodeid)}) for i in items]
    suite = assess(items, ctx.policy)
    items = suite.apply(items)
    cost, budget_reasons = None, []
    if ctx.governance is not None:
        pricing = price_run(ctx.governance, items)
        items, cost, budget_reasons = pricing.items, pricing.cost, pricing.reasons
    interrupted = end.exit_status == EXIT_INTERRUPTED
    kept = [f"golden not written: {line}" for line in files.kept]
    reasons = gate_reasons(items, suite.statistics, [*budget_reasons, *kept], interrupted)
    exit_status = EXIT_TESTS_FAILED if reasons and end.exit_status == EXIT_OK else end.exit_status
    summary = _summary(items, suite.statistics, cost, reasons, files)
    report = Report(run=_run_info(ctx, end, exit_status, summary), items=items, summary=summary)
    if ctx.ledger_path is not None:
        ctx.ledger_path.unlink(missing_ok=True)  # the run's shared spend ledger; the report keeps what it spent
    problems = []
    try:
        report.write(end.report_path)
    except OSError as exc:  # a folder made read-only, a full disk: one line, and the run fails without its report
        problems.append(f"llmversion: could not write the report to {ctx.rel(end.report_path)}: {_reason(exc)}")
        exit_status = EXIT_TESTS_FAILED if exit_status == EXIT_OK else exit_status
    return Finished(report, exit_status, problems + _write_views(report, end, ctx.rel))


def _write_artifacts(ctx: RunContext, reports: list[ItemReport], collected: Collected, end: RunEnd) -> _Files:
    folder = ctx.base / ctx.config.report_dir / "candidate"
    files = _Files(candidate_copies=write_candidate_goldens(reports, folder, ctx.rel))
    writes = write_recorded_goldens(reports, ctx.rootpath, collected.legacy)
    files.written, files.unchanged, files.renamed = writes.written, len(writes.unchanged), writes.renamed
    files.kept = writes.kept
    files.recordings = write_recordings(reports, ctx.rootpath)
    unused = unused_goldens(collected)
    files.unused = [ctx.rel(p) for p in unused]
    files.pruned = [ctx.rel(p) for p in prune(unused)] if end.prune_unused else []
    return files


def gate_reasons(
    items: Iterable[ItemResult], statistics: SuiteStatistics | None, others: Sequence[str], interrupted: bool
) -> list[str]:
    """Why the gate fails: failing verdicts (one line per verdict, naming the items), the statistical gate,
    ``others`` (the budgets, goldens that could not be written), and an interrupted run (items that never ran
    cannot pass a gate). Empty: it passes."""
    failing: dict[tuple[str, str], list[str]] = {}
    for item in items:
        if fails(item.role, item.verdict):
            failing.setdefault((item.role, item.verdict.value), []).append(short_name(item))
    reasons = []
    for (role, verdict), names in sorted(failing.items()):
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        reasons.append(f"{len(names)} {role} {verdict}: {shown}")
    reasons += statistics.gate_reasons if statistics else []
    reasons += others
    if interrupted:
        reasons.append("the run was interrupted before every item ran")
    return reasons


def _summary(
    items: list[ItemResult],
    statistics: SuiteStatistics | None,
    cost: CostReport | None,
    reasons: list[str],
    files: _Files,
) -> Summary:
    counts: dict[str, Counter[str]] = {"current": Counter(), "candidate": Counter()}
    for item in items:
        counts[item.role][item.verdict.value] += 1
    judged = [i for i in items if i.role == "candidate"] or [i for i in items if i.role == "current"]
    passed = sum(i.passed for i in judged)
    not_called = Counter(item.not_called for item in items if item.not_called)
    return Summary(
        counts={role: dict(sorted(c.items())) for role, c in counts.items() if c},
        pass_rate=round(passed / len(judged), 4) if judged else None,
        passed=passed,
        total=len(judged),
        gate="fail" if reasons else "pass",
        gate_reasons=reasons,
        goldens_written=files.written,
        goldens_unchanged=files.unchanged,
        goldens_renamed=files.renamed,
        unused_goldens=files.unused,
        pruned_goldens=files.pruned,
        statistics=statistics,
        cost=cost,
        recordings_written=files.recordings,
        served_model_warnings=served_model_warnings(items),
        provider_notices=sorted({notice for item in items for notice in item.provider_notices}),
        not_called=dict(sorted(not_called.items())),
        tags=tag_results(items),
    )


def tag_results(items: Iterable[ItemResult]) -> dict[str, dict[str, TagResult]]:
    """Per tag, then role: counts per verdict, the pass rate (``verdict.fails``, as the gate) and, for
    candidates, the mean score change. An item with several tags counts under each."""
    grouped: dict[str, dict[str, list[ItemResult]]] = {}
    for item in items:
        for tag in item.tags:
            grouped.setdefault(tag, {}).setdefault(item.role, []).append(item)
    results: dict[str, dict[str, TagResult]] = {}
    for tag, roles in sorted(grouped.items()):
        results[tag] = {}
        for role in ("current", "candidate"):
            tagged = roles.get(role)
            if not tagged:
                continue
            passed = sum(i.passed for i in tagged)
            deltas = [i.delta for i in tagged if i.delta is not None]
            results[tag][role] = TagResult(
                items=len(tagged),
                verdicts=dict(sorted(Counter(i.verdict.value for i in tagged).items())),
                passed=passed,
                pass_rate=round(passed / len(tagged), 4),
                mean_delta=round(sum(deltas) / len(deltas), 4) if role == "candidate" and deltas else None,
            )
    return results


def served_model_warnings(items: Iterable[ItemResult]) -> list[str]:
    """One line per model that answered under another name than the id asked for (an alias moved, or a
    provider swapped the snapshot behind a pinned id)."""
    served: dict[str, set[str]] = {}
    counts: Counter[str] = Counter()
    for item in items:
        if item.served_instead:
            served.setdefault(item.model, set()).update(item.served_instead)
            counts[item.model] += 1
    return [
        f"{model} was answered by {', '.join(sorted(names))} ({counts[model]} item{'s' if counts[model] > 1 else ''}): "
        "the provider served another model than the id requested"
        for model, names in sorted(served.items())
    ]


def _run_info(ctx: RunContext, end: RunEnd, exit_status: int, summary: Summary) -> RunInfo:
    resolved, policy = ctx.resolved, ctx.policy
    governance = ctx.governance.info() if ctx.governance else None
    if governance is not None and ctx.estimate is not None:
        refused = sum(n for cause, n in summary.not_called.items() if cause.startswith("--llm-budget-usd"))
        spent = round(ctx.ledger().spent(), 8)
        governance.estimate = ctx.estimate.model_copy(update={"spent_usd": spent, "refused": refused})
    return RunInfo(
        plugin_version=end.plugin_version,
        pytest_version=end.pytest_version,
        started_at=end.started_at,
        finished_at=end.finished_at,
        mode=ctx.mode,
        current=ModelInfo(model=str(ctx.current), source=resolved.source("model")) if ctx.current else None,
        candidate=(
            ModelInfo(model=str(ctx.candidate), source=resolved.source("candidate_model")) if ctx.candidate else None
        ),
        tolerance=ctx.tolerance,
        samples=ctx.samples,
        max_samples=policy.max_samples,
        baseline=policy.baseline,
        threshold=policy.threshold,
        alpha=policy.alpha,
        margin=policy.margin,
        noninferiority=policy.noninferiority,
        config_file=ctx.rel(resolved.pyproject) if resolved.pyproject else None,
        config_hash=config_hash(resolved.table),
        rootdir=str(ctx.rootpath),
        exit_status=exit_status,
        governance=governance,
        sent_ahead=end.sent_ahead,
        partial=bool(end.partial),
        partial_reasons=end.partial,
    )


def _write_views(report: Report, end: RunEnd, rel: Callable[[Path], str]) -> list[str]:
    """The Markdown and HTML views on request, and the Markdown appended to GitHub's step summary; the
    problems met, one line each (a view that cannot be written does not change the run's outcome)."""
    from pytest_llmversion.report.markdown import render_markdown

    problems = []
    markdown = render_markdown(report) if end.markdown_path is not None or end.step_summary is not None else ""
    if end.markdown_path is not None:
        try:
            write_atomic(end.markdown_path, markdown)
        except OSError as exc:
            problems.append(
                f"llmversion: could not write the Markdown report to {rel(end.markdown_path)}: {_reason(exc)}"
            )
    if end.html_path is not None:
        from pytest_llmversion.report.html import render_html

        try:
            write_atomic(end.html_path, render_html(report))
        except OSError as exc:
            problems.append(f"llmversion: could not write the HTML report to {rel(end.html_path)}: {_reason(exc)}")
    summary = end.step_summary
    if summary is None or (end.markdown_path is not None and _same_file(summary, end.markdown_path)):
        return problems  # --llm-report-md="$GITHUB_STEP_SUMMARY" wrote it already
    try:
        # appended: earlier commands of the same step may have written their own summary
        with summary.open("a", encoding="utf-8", newline="\n") as file:
            file.write(("\n" if summary.is_file() and summary.stat().st_size else "") + markdown)
    except OSError as exc:
        problems.append(f"llmversion: could not append the report to $GITHUB_STEP_SUMMARY ({summary}): {_reason(exc)}")
    return problems


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def nothing_ran_line(ctx: RunContext, prune: bool) -> str | None:
    """Said only where silence would surprise: the run was asked to write goldens or prune them."""
    if ctx.mode != "record" and not prune:
        return None
    return "llmversion: no LLM item ran, so nothing was written (goldens, recordings and the report are as they were)"
