"""The report: ``.llmversion/report.json`` (always), the terminal summary, and the gate in the exit status."""

from __future__ import annotations

import pytest
from conftest import LLMProject

from pytest_llmversion.report.schema import Report

CASES = """\
- id: ada
  input: Ada Lovelace was born in London.
  tags: [happy-path]
- id: alan
  input: Alan Turing was born in Maida.
- id: grace
  input: Grace Hopper was born in Manhattan.
"""

TESTS = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(cases="cases/people.yaml", tags=["people"])
def test_people(llm, llm_case, llm_golden):
    out = llm.complete(llm_case.input)
    llm_golden.check(out, checks.valid_json(), checks.json_field("name", llm_case.input.split(" was")[0]))

@pytest.mark.llm_regression
def test_greeting(llm, llm_golden):
    llm_golden.check(llm.complete("hello"), checks.max_words(5))
"""

#: The candidate fences Grace's answer and drops Alan's name; Ada is answered as before.
CANDIDATE = """\
# synthetic
extends: m1
rules:
  - when: {contains: Grace}
    respond: '{"name": "Grace Hopper", "city": "Manhattan"}'
    transform: {fence: json}
  - when: {contains: Alan}
    respond: '{"city": "Maida"}'
"""


@pytest.fixture
def project(llm_project: LLMProject) -> LLMProject:
    llm_project.write("tests/cases/people.yaml", CASES)
    llm_project.test_file(TESTS)
    llm_project.model("m2", CANDIDATE)
    llm_project.run("--llm-record").assert_outcomes(passed=4)
    return llm_project


def test_the_json_report_has_the_run_every_item_and_a_summary(project: LLMProject) -> None:
    result = project.run("--candidate-model=scripted/m2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = project.report()
    assert (
        Report.read(project.path / ".llmversion" / "report.json").summary.gate == "fail"
    )  # the pydantic model reads it

    assert report["schema"] == 2
    run = report["run"]
    assert run["mode"] == "replay"
    assert run["current"] == {"model": "scripted/m1", "source": "pyproject.toml [tool.llmversion]"}
    assert run["candidate"] == {"model": "scripted/m2", "source": "--candidate-model"}
    assert (run["tolerance"], run["samples"], run["config_file"], run["exit_status"]) == (0.0, 1, "pyproject.toml", 1)
    assert {"plugin_version", "pytest_version", "started_at", "finished_at"} <= set(run)

    items = {item["nodeid"]: item for item in report["items"]}
    assert list(items) == [  # candidate items first, then current, each sorted by node id
        "tests/test_llm.py::test_greeting[candidate]",
        "tests/test_llm.py::test_people[ada-candidate]",
        "tests/test_llm.py::test_people[alan-candidate]",
        "tests/test_llm.py::test_people[grace-candidate]",
        "tests/test_llm.py::test_greeting[current]",
        "tests/test_llm.py::test_people[ada-current]",
        "tests/test_llm.py::test_people[alan-current]",
        "tests/test_llm.py::test_people[grace-current]",
    ]
    alan = items["tests/test_llm.py::test_people[alan-candidate]"]
    assert {k: alan[k] for k in ("test", "case", "role", "model", "verdict", "passed", "score", "baseline_score")} == {
        "test": "tests/test_llm.py::test_people",
        "case": "alan",
        "role": "candidate",
        "model": "scripted/m2",
        "verdict": "REGRESSED",
        "passed": False,
        "score": 0.5,
        "baseline_score": 1.0,
    }
    assert alan["checks"] == [
        {"name": "valid_json", "kind": "format", "passed": True, "score": 1.0, "baseline": 1.0, "detail": ""},
        {
            "name": "json_field(name)",
            "kind": "content",
            "passed": False,
            "score": 0.0,
            "baseline": 1.0,
            "detail": "name is missing (expected Alan Turing)",
        },
    ]
    assert alan["usage"] == {"input_tokens": 8, "output_tokens": 5, "cached_tokens": 0}
    assert alan["tags"] == ["people"]
    assert alan["golden"] == "tests/__llm_goldens__/test_llm/test_people/alan.yaml"
    assert alan["message"] == "REGRESSED: the candidate scores lower than the golden"
    assert items["tests/test_llm.py::test_people[ada-current]"]["tags"] == ["happy-path", "people"]

    summary = report["summary"]
    assert summary["counts"] == {
        "current": {"MATCH": 4},
        "candidate": {"FORMAT_BREAK": 1, "REGRESSED": 1, "UNCHANGED": 2},
    }
    assert (summary["pass_rate"], summary["passed"], summary["total"], summary["gate"]) == (0.5, 2, 4, "fail")
    assert summary["gate_reasons"] == [
        "1 candidate FORMAT_BREAK: test_people[grace]",
        "1 candidate REGRESSED: test_people[alan]",
    ]


def test_the_terminal_summary_has_a_row_per_case_counts_pass_rate_and_gate(project: LLMProject) -> None:
    result = project.run("--candidate-model=scripted/m2")
    result.stdout.fnmatch_lines(
        [
            "*= llmversion =*",
            "current    scripted/m1  (pyproject.toml [tool.llmversion])  mode: replay",
            "candidate  scripted/m2  (--candidate-model)",
            "",
            "  test                      baseline  candidate   delta  verdict       tokens",
            "  test_greeting                 1.00       1.00   +0.00  UNCHANGED          6",
            "  test_people[ada]              1.00       1.00   +0.00  UNCHANGED         19",
            "  test_people[alan]             1.00       0.50   -0.50  REGRESSED         13",
            "  test_people[grace]            1.00       0.00   -1.00  FORMAT_BREAK      24",
            "",
            "current:   4 MATCH",
            "candidate: 2 UNCHANGED, 1 FORMAT_BREAK, 1 REGRESSED · pass rate 50% (2/4)",
            "gate: FAIL (1 candidate FORMAT_BREAK: test_people[grace]; 1 candidate REGRESSED: test_people[alan])",
            "report: .llmversion/report.json",
        ]
    )


def test_a_passing_gate_exits_zero(project: LLMProject) -> None:
    project.model("m2", "extends: m1\n")
    result = project.run("--candidate-model=scripted/m2")
    result.stdout.fnmatch_lines(["candidate: 4 UNCHANGED · pass rate 100% (4/4)", "gate: pass"])
    assert result.ret == pytest.ExitCode.OK
    assert project.report()["summary"]["gate"] == "pass"
    assert project.report()["run"]["exit_status"] == 0


def test_a_failing_gate_fails_the_run_even_when_pytest_would_pass_it(project: LLMProject) -> None:
    project.test_file("import pytest\n\npytestmark = pytest.mark.xfail(reason='known problem')\n\n" + TESTS)
    result = project.run("--candidate-model=scripted/m2")
    result.assert_outcomes(xfailed=2, xpassed=6)
    result.stdout.fnmatch_lines(["gate: FAIL (*)"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert project.report()["run"]["exit_status"] == 1


def test_a_replay_only_run_reports_current_items(project: LLMProject) -> None:
    result = project.run()
    result.stdout.fnmatch_lines(["current:   4 MATCH", "gate: pass", "report: .llmversion/report.json"])
    summary = project.report()["summary"]
    assert (summary["counts"], summary["pass_rate"], summary["gate"]) == ({"current": {"MATCH": 4}}, 1.0, "pass")


def test_the_report_path_can_be_chosen(project: LLMProject) -> None:
    result = project.run("--llm-report=build/llm.json")
    result.stdout.fnmatch_lines(["report: build/llm.json"])
    assert (project.path / "build" / "llm.json").is_file()
    project.write_config(report_dir="reports")
    project.run().stdout.fnmatch_lines(["report: reports/report.json"])
    assert Report.read(project.path / "reports" / "report.json").summary.gate == "pass"


def test_a_long_run_lists_only_the_rows_that_changed(llm_project: LLMProject) -> None:
    llm_project.write("tests/cases/many.yaml", "".join(f"- id: c{n:02}\n  input: item {n}\n" for n in range(45)))
    llm_project.test_file(
        """\
        import pytest
        from pytest_llmversion import checks

        @pytest.mark.llm_regression(cases="cases/many.yaml")
        def test_many(llm, llm_case, llm_golden):
            llm_golden.check(llm.complete(llm_case.input), checks.not_contains("refuse"))
        """
    )
    llm_project.model("m2", "extends: m1\nrules:\n  - when: {contains: item 7}\n    respond: I refuse.\n")
    llm_project.run("--llm-record").assert_outcomes(passed=45)
    result = llm_project.run("--candidate-model=scripted/m2")
    result.stdout.fnmatch_lines(
        [
            "(44 UNCHANGED rows not listed; all are in .llmversion/report.json)",
            "",
            "  test * baseline  candidate   delta  verdict       tokens",
            "  test_many[[]c07] * 1.00       0.00   -1.00  REGRESSED *",
            "",
            "current:   45 MATCH",
            "candidate: 44 UNCHANGED, 1 REGRESSED · pass rate 98% (44/45)",
        ]
    )
    assert len(llm_project.report()["items"]) == 90


def test_without_llm_tests_there_is_no_report(llm_project: LLMProject) -> None:
    llm_project.test_file("def test_plain():\n    pass\n")
    result = llm_project.run()
    result.assert_outcomes(passed=1)
    assert "= llmversion =" not in result.stdout.str()
    assert not (llm_project.path / ".llmversion").exists()


def test_collect_only_keeps_the_last_report(project: LLMProject) -> None:
    project.run("--candidate-model=scripted/m2")
    before = (project.path / ".llmversion" / "report.json").read_bytes()
    result = project.run("--co", "--candidate-model=scripted/m2", "--llm-prune-unused")
    result.stdout.fnmatch_lines(["*8 tests collected*"])
    assert "= llmversion =" not in result.stdout.str()
    assert (project.path / ".llmversion" / "report.json").read_bytes() == before


def test_an_item_whose_fixture_fails_is_reported_as_error_with_the_exception(llm_project: LLMProject) -> None:
    llm_project.test_file(
        """\
        import pytest

        @pytest.fixture
        def database():
            raise RuntimeError("database is down")

        @pytest.mark.llm_regression
        def test_lookup(llm, database):
            llm.complete("hello")
        """
    )
    result = llm_project.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["  test_lookup * ERROR *", "gate: FAIL (1 current ERROR: test_lookup)"])
    item = llm_project.report()["items"][0]
    assert (item["verdict"], item["message"]) == ("ERROR", "setup failed: RuntimeError: database is down")


def test_results_per_tag_are_in_the_json_summary_and_the_terminal(project: LLMProject) -> None:
    """Tags come from the marker and from each case; an item counts under every tag it has."""
    result = project.run("--candidate-model=scripted/m2")
    tags = project.report()["summary"]["tags"]
    assert sorted(tags) == ["happy-path", "people"]
    assert tags["people"]["candidate"] == {
        "items": 3,
        "verdicts": {"FORMAT_BREAK": 1, "REGRESSED": 1, "UNCHANGED": 1},
        "passed": 1,
        "pass_rate": 0.3333,
        "mean_delta": -0.5,
    }
    assert tags["people"]["current"]["mean_delta"] is None  # a score change is the candidate's
    assert tags["happy-path"]["candidate"]["verdicts"] == {"UNCHANGED": 1}
    result.stdout.fnmatch_lines(
        [
            "tags (candidate):",
            "  people         3 cases  pass  33%  mean delta -0.50  1 FORMAT_BREAK, 1 REGRESSED, 1 UNCHANGED",
            "  happy-path     1 case   pass 100%  mean delta +0.00  1 UNCHANGED",
        ]
    )
