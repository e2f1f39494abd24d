"""Markdown and HTML views of the report, from the run and from `llmversion report`."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest
from report_factory import big_report

from pytest_llmversion.cli import main
from pytest_llmversion.report.html import render_html
from pytest_llmversion.report.markdown import MARKDOWN_LIMIT, render_markdown, size
from pytest_llmversion.report.schema import Report


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
    assert "http" not in page.split("<body>")[1]  # nothing is loaded from anywhere


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


def candidate_run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "--candidate-model=scripted/triage-2024-11", *args)


def page_data(page: str) -> dict:  # type: ignore[type-arg]
    blob = re.search(r'<script type="application/json" id="llm-data">(.*?)</script>', page, re.S)
    assert blob is not None
    return json.loads(blob.group(1))  # type: ignore[no-any-return]


def test_the_markdown_lists_failures_first_and_folds_unchanged_rows(pytester: pytest.Pytester, example: Path) -> None:
    candidate_run(pytester, "--llm-report-md=summary.md")
    markdown = (example / "summary.md").read_text()
    rows = [line for line in markdown.splitlines() if line.startswith("| test_")]
    assert [row.split(" | ")[0] for row in rows] == [
        "| test_triage[api-outage]",
        "| test_order_question[stuck-order]",
        "| test_triage[export-crash]",
        "| test_triage[spanish-account]",
    ]
    assert "⚪ UNCHANGED" not in markdown
    assert "15 UNCHANGED cases are not listed." in markdown
    # the per-tag table: the format-tagged cases lost half their pass rate to the code fence
    assert "| format | 2 | 50% (1/2) | -0.50 | 1 FORMAT_BREAK, 1 UNCHANGED |" in markdown


def test_the_markdown_stays_under_githubs_comment_limit_and_says_what_it_left_out() -> None:
    report = big_report(3000, regressed=1500)
    markdown = render_markdown(report)
    assert size(markdown) <= MARKDOWN_LIMIT
    left = re.search(
        r"_Left out to stay under GitHub's 65,536-character limit: (\d+) table rows and (\d+) failure", markdown
    )
    assert left is not None
    shown_rows = sum(line.startswith("| test_case[") for line in markdown.splitlines())
    shown_details = markdown.count("<details>")
    assert shown_rows + int(left.group(1)) == 1500  # UNCHANGED rows are a count, never rows
    assert shown_details + int(left.group(2)) == 1500
    assert "1500 UNCHANGED cases are not listed." in markdown
    # every tag and the cost table still fit
    assert "| regression | 750 |" in markdown
    assert "| candidate | openai/gpt-new-2026-01-01 |" in markdown


def test_the_markdown_is_appended_to_the_github_step_summary(
    pytester: pytest.Pytester, example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = example / "step_summary.md"
    summary.write_text("## Lint\n\nok\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    candidate_run(pytester)
    text = summary.read_text()
    assert text.startswith("## Lint\n\nok\n\n## pytest-llmversion\n")  # appended, the earlier summary kept
    assert "| test_triage[api-outage] | 1.00 | 0.75 | -0.25 | 🔴 REGRESSED | 149 |" in text
    candidate_run(pytester, "--llm-no-step-summary")
    candidate_run(pytester, "-o", "llm_no_step_summary=true")
    assert summary.read_text() == text


def test_the_html_page_filters_sorts_searches_and_loads_nothing(pytester: pytest.Pytester, example: Path) -> None:
    candidate_run(pytester, "--llm-report-html=report.html")
    page = (example / "report.html").read_text()
    head = page.split("<body>")[0]
    assert "default-src 'none'" in head
    assert "'unsafe-inline'" not in head
    assert not re.search(r"(src|href)=[\"']?(https?:|//)", page)
    assert "@import" not in page
    assert "url(" not in page
    for control in ('button class=chip data-verdict="REGRESSED"', "<select id=role>", "<select id=tag>", "id=search"):
        assert control in page
    assert page.count("<th data-key=") == 10  # every column sorts
    assert "<h2>Results per tag</h2>" in page
    assert "data-tag='format'" in page
    assert "<h2>Statistics</h2>" in page
    assert "--llm-samples=5" in page
    assert page.count('<svg class="chart"') == 2  # score change per case; cost and latency
    data = page_data(page)
    assert data["defaultRole"] == "candidate"
    by_name = {(c["n"], c["r"]): c for c in data["items"]}
    outage = by_name[("test_triage[api-outage]", "candidate")]
    assert (outage["v"], outage["f"], outage["t"], outage["g"]) == ("REGRESSED", 1, 149, ["regression", "triage"])
    assert outage["c"] == pytest.approx(0.00046625)
    assert outage["l"] > 0
    # the side-by-side diff is of the pretty-printed JSON: one field a row, so it fits the page
    ((_heading, _request, rows, _alone),) = outage["x"]
    assert ["~", '  "priority": "urgent",', '  "priority": "high",'] in rows
    assert ["=", '  "category": "bug",'] in rows
    assert "x" not in by_name[("test_triage[dark-mode]", "candidate")]  # unchanged: its output, folded in the page
    first = sorted(data["items"], key=lambda c: c["rank"])[:3]  # the table opens on what fails
    assert {c["n"] for c in first} == {
        "test_triage[api-outage]",
        "test_triage[export-crash]",
        "test_order_question[stuck-order]",
    }


def test_the_html_page_of_5000_cases_stays_within_its_size_budget() -> None:
    """The table is drawn from embedded data a page at a time; long outputs are cut in the page (report.json
    keeps them) and long equal runs of a diff fold, so 5,000 cases stay a few megabytes."""
    page = render_html(big_report(5000, regressed=500))
    assert len(page.encode()) < 15_000_000
    data = page_data(page)
    assert len(data["items"]) == 5000
    long = render_html(big_report(20, regressed=0, words=3000))
    output = page_data(long)["items"][0]["o"]
    assert output.endswith("… (the rest is in report.json)")
    assert len(output) < 4_100


def test_llmversion_report_renders_every_view_from_a_saved_report(pytester: pytest.Pytester, example: Path) -> None:
    candidate_run(pytester)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--root", str(example), "report", "--md", "s.md", "--html", "r.html", "--terminal"])
    assert code == 0
    report = Report.read(example / ".llmversion/report.json")
    assert (example / "s.md").read_text() == render_markdown(report)
    assert (example / "r.html").read_text() == render_html(report)
    terminal = out.getvalue()
    assert "candidate: 15 UNCHANGED, 2 FORMAT_BREAK, 1 IMPROVED, 1 REGRESSED · pass rate 84% (16/19)" in terminal
    assert "  format         2 cases  pass  50%  mean delta -0.50  1 FORMAT_BREAK, 1 UNCHANGED" in terminal
