"""Session end on the controller: goldens written, report built and saved, gate applied to the exit status.

Only a run in which an LLM item ran gets here; a run of some of them is marked partial (``selection``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pytest_llmversion import __version__
from pytest_llmversion.report.schema import Report
from pytest_llmversion.report.terminal import summary_lines
from pytest_llmversion.run.session import Results, RunContext, finish_run
from pytest_llmversion.yamlio import write_atomic


def report_path(ctx: RunContext, option: str | None) -> Path:
    return _resolve(ctx, option) if option else ctx.base / ctx.config.report_dir / "report.json"


def finish(
    ctx: RunContext, results: Results, session: pytest.Session, started_at: str, path: Path, partial: list[str]
) -> Report:
    report = finish_run(
        ctx,
        results,
        partial=partial,
        prune_unused=bool(session.config.getoption("llm_prune_unused")),
        started_at=started_at,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        pytest_version=pytest.__version__,
        plugin_version=__version__,
    )
    if session.exitstatus == pytest.ExitCode.INTERRUPTED:
        # items that never ran cannot pass a gate
        report.summary.gate = "fail"
        report.summary.gate_reasons.append("the run was interrupted before every item ran")
    if report.summary.gate == "fail" and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    report.run.exit_status = int(session.exitstatus)
    report.write(path)
    write_views(report, ctx, session.config.getoption("llm_report_md"), session.config.getoption("llm_report_html"))
    return report


def nothing_ran_line(ctx: RunContext, prune: bool) -> str | None:
    """Said only where silence would surprise: the run was asked to write goldens or prune them."""
    if ctx.mode != "record" and not prune:
        return None
    return "llmversion: no LLM item ran, so nothing was written (goldens, recordings and the report are as they were)"


def write_views(report: Report, ctx: RunContext, markdown: str | None, page: str | None) -> None:
    """The Markdown and HTML views, on request."""
    if markdown:
        from pytest_llmversion.report.markdown import render_markdown

        write_atomic(_resolve(ctx, markdown), render_markdown(report))
    if page:
        from pytest_llmversion.report.html import render_html

        write_atomic(_resolve(ctx, page), render_html(report))


def _resolve(ctx: RunContext, option: str) -> Path:
    path = Path(option)
    return path if path.is_absolute() else ctx.rootpath / path


def terminal_lines(ctx: RunContext, report: Report, path: Path) -> list[str]:
    return summary_lines(report, ctx.rel(path))
