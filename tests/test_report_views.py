"""Markdown and HTML views of the report, from the run and from `llmversion report`."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from pytest_llmversion.cli import main


def test_markdown_and_html_views_from_a_candidate_run(pytester: pytest.Pytester, example: Path) -> None:
    pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--candidate-model=scripted/triage-2024-11",
        "--llm-report-md=summary.md",
        "--llm-report-html=report.html",
    )
    markdown = (example / "summary.md").read_text()
    assert "**scripted/triage-2024-06** → **scripted/triage-2024-11** · gate **❌ fail**" in markdown
    assert "| test_triage[api-outage] | 1.00 | 0.75 | -0.25 | 🔴 REGRESSED | 149 |" in markdown
    assert '-  "priority": "urgent",' in markdown
    assert '+  "priority": "high",' in markdown
    page = (example / "report.html").read_text()
    assert page.startswith("<!doctype html>")
    assert "scripted/triage-2024-06 → scripted/triage-2024-11" in page
    assert 'class="diff"' in page  # a side-by-side diff table
    assert "<script" not in page
    assert "http" not in page.split("<body>")[1]


def test_llmversion_report_renders_the_saved_report(pytester: pytest.Pytester, example: Path) -> None:
    pytester.runpytest("-p", "no:cacheprovider", "--candidate-model=scripted/triage-2024-11")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--root", str(example), "report", "--fail-on-gate"])
    assert code == 1
    assert "| test_triage[export-crash] | 1.00 | 0.00 | -1.00 | 🔴 FORMAT_BREAK | 154 |" in out.getvalue()


def test_llmversion_report_without_a_report(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.llmversion]\nmodel = 'scripted/x'\n")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["--root", str(tmp_path), "report"])
    assert code == 1
    assert err.getvalue().startswith("llmversion: no report at ")
