"""A run that ran no LLM item leaves the reports alone; a run of some of them writes a report marked partial, which
``llmversion report --fail-on-gate`` refuses unless ``--allow-partial``."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from conftest import LLMProject

from pytest_llmversion.cli import main

TESTS = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression
def test_extracts_city(llm, llm_golden):
    llm_golden.check(llm.complete("Ada Lovelace was born in London."), checks.json_field("city", "London"))

@pytest.mark.llm_regression
def test_extracts_name(llm, llm_golden):
    llm_golden.check(llm.complete("Alan Turing was born in Maida."), checks.json_field("name", "Alan Turing"))

@pytest.mark.llm_regression
def test_says_unknown(llm, llm_golden):
    llm_golden.check(llm.complete("Who was born where?"), checks.contains("know"))

@pytest.mark.skip(reason="skipped, not left out: a run of the rest is whole")
@pytest.mark.llm_regression
def test_skipped(llm):
    llm.complete("never")

def test_unmarked():
    pass
"""

FENCED = """\
# synthetic: the newer "model" wraps its answers in a code fence
extends: m1
transform: {fence: json}
"""

CANDIDATE = "--candidate-model=scripted/m2"
GATE_FAIL = "llmversion: gate FAIL: 2 candidate REGRESSED: test_extracts_city, test_extracts_name"


@pytest.fixture
def project(llm_project: LLMProject) -> LLMProject:
    """Four LLM tests (one skipped) and a plain one, goldens recorded; m2 breaks the JSON of two."""
    llm_project.test_file(TESTS)
    llm_project.model("m2", FENCED)
    llm_project.run("--llm-record").assert_outcomes(passed=4, skipped=1)
    return llm_project


def report_command(project: LLMProject, *args: str) -> tuple[int, str]:
    """``llmversion report --md summary.md ...``: the exit code and what it said on stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["--root", str(project.path), "report", "--md", str(project.path / "summary.md"), *args])
    return code, err.getvalue()


def written(project: LLMProject) -> dict[Path, bytes]:
    """Every file the plugin writes: the report, goldens, recordings, candidate copies."""
    roots = [project.path / ".llmversion", project.path / "tests" / "__llm_goldens__"]
    return {path: path.read_bytes() for root in roots for path in sorted(root.rglob("*")) if path.is_file()}


def test_a_run_in_which_no_llm_item_ran_leaves_the_report_goldens_and_candidate_copies_alone(
    project: LLMProject,
) -> None:
    project.run(CANDIDATE).assert_outcomes(passed=5, failed=2, skipped=2)
    before = written(project)
    assert project.report()["summary"]["gate"] == "fail"

    for args in (
        ["--fixtures"],
        ["--collect-only"],
        ["--setup-plan"],
        ["-k", "no_such_test"],
        ["-k", "unmarked", CANDIDATE],
        ["--llm-record", "-k", "no_such_test"],
    ):
        result = project.run(*args)
        assert written(project) == before, args
        assert "= llmversion =" not in result.stdout.str(), args
    result.stdout.fnmatch_lines(
        ["llmversion: no LLM item ran, so nothing was written (goldens, recordings and the report are as they were)"]
    )

    assert report_command(project, "--fail-on-gate") == (1, GATE_FAIL + "\n")  # the failed candidate run's gate


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["-k", "city or name"], "2 of 4 LLM items deselected (-k 'city or name')"),
        (["--deselect", "tests/test_llm.py::test_says_unknown[current]"], "1 of 4 LLM items deselected (--deselect)"),
        (
            ["tests/test_llm.py::test_extracts_city", "tests/test_llm.py::test_unmarked"],
            "only the tests named on the command line ran: tests/test_llm.py::test_extracts_city, "
            "tests/test_llm.py::test_unmarked",
        ),
    ],
    ids=["k", "deselect", "node-ids"],
)
def test_a_run_of_some_llm_items_is_partial_and_fail_on_gate_refuses_it_unless_allowed(
    project: LLMProject, args: list[str], reason: str
) -> None:
    project.run()
    assert project.report()["run"]["partial"] is False  # every LLM item ran (or was skipped by the test itself)
    assert report_command(project, "--fail-on-gate") == (0, "")

    result = project.run(*args)
    run = project.report()["run"]
    assert (run["partial"], run["partial_reasons"]) == (True, [reason])
    result.stdout.fnmatch_lines(
        [
            f"partial run: {reason}",
            "  the gate speaks for these items only (llmversion report --fail-on-gate refuses this report)",
            "gate: pass",
        ]
    )
    refusal = (
        f"llmversion: {project.path}/.llmversion/report.json is the report of a partial run ({reason}): its gate "
        "speaks only for the items that ran; run the whole suite, or pass --allow-partial\n"
    )
    assert report_command(project, "--fail-on-gate") == (1, refusal)
    assert report_command(project, "--fail-on-gate", "--allow-partial") == (0, "")
    assert f"**Partial run:** {reason}." in (project.path / "summary.md").read_text()


def test_a_run_stopped_by_x_is_partial_and_fail_on_gate_says_both_why(project: LLMProject) -> None:
    result = project.run(CANDIDATE, "-x")
    result.assert_outcomes(passed=1, failed=1)
    reason = "the run stopped after 2 of 8 selected LLM items (stopping after 1 failures)"
    assert project.report()["run"]["partial_reasons"] == [reason]
    result.stdout.fnmatch_lines([f"partial run: {reason}"])
    code, err = report_command(project, "--fail-on-gate", "--allow-partial")
    assert (code, err) == (1, "llmversion: gate FAIL: 1 candidate REGRESSED: test_extracts_city\n")
    code, err = report_command(project, "--fail-on-gate")
    assert code == 1
    assert err.splitlines()[1].endswith(
        f"is the report of a partial run ({reason}): its gate speaks only for the "
        "items that ran; run the whole suite, or pass --allow-partial"
    )


def test_lf_is_a_partial_run(project: LLMProject) -> None:
    pytester = project.pytester
    pytester.runpytest(CANDIDATE).assert_outcomes(passed=5, failed=2, skipped=2)
    pytester.runpytest(CANDIDATE, "--lf").assert_outcomes(failed=2)
    assert project.report()["run"]["partial_reasons"] == ["--lf ran only the tests that failed last time"]


def test_with_two_workers_a_partial_run_says_so_as_a_serial_one_does(project: LLMProject) -> None:
    project.run_subprocess("-n", "2", "-k", "city or name", CANDIDATE).assert_outcomes(passed=2, failed=2)
    assert project.report()["run"]["partial_reasons"] == ["4 of 8 LLM items deselected (-k 'city or name')"]

    project.run_subprocess("-n", "2", CANDIDATE).assert_outcomes(passed=5, failed=2, skipped=2)
    assert project.report()["run"]["partial"] is False

    result = project.run_subprocess("-n", "2", "-x", CANDIDATE)
    (reason,) = project.report()["run"]["partial_reasons"]
    assert re.fullmatch(r"the run stopped after [1-7] of 8 selected LLM items \(stopping after \d failures\)", reason)
    result.stdout.fnmatch_lines([f"partial run: {reason}"])
