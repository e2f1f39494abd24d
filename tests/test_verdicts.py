"""Verdicts of candidate items against the golden baseline, and of ``--llm-live`` current items, as the
user reads them: the failure message, the summary table, and the JSON report."""

from __future__ import annotations

import pytest
from conftest import LLMProject

CURRENT = """\
# synthetic: today's model
rules:
  - name: city
    when: {regex: "(?P<name>[A-Z]\\\\w+ \\\\w+) was born in (?P<city>\\\\w+)"}
    respond: '{"name": "{{name}}", "city": "{{city}}"}'
  - name: bio
    when: {contains: biography}
    respond: "Ada was born in London."
default:
  respond: "I don't know."
"""

CANDIDATES = {
    "same": "# synthetic: answers exactly as today\nextends: m1\n",
    "fenced": "# synthetic: wraps JSON in a code fence\nextends: m1\ntransform: {fence: json}\n",
    "forgetful": "# synthetic: drops the city\nextends: m1\ntransform: {drop_fields: [city]}\n",
    "wrong": "# synthetic: gets the city wrong\nextends: m1\ntransform: {set_fields: {city: Paris}}\n",
    "better": """\
        # synthetic: a fuller biography
        extends: m1
        rules:
          - name: bio
            when: {contains: biography}
            respond: "Ada Lovelace was born in London in 1815."
        """,
    "down": """\
        # synthetic: every call fails
        rules:
          - error: {kind: unavailable, message: "scripted/down: 503 service unavailable"}
        """,
}

TESTS = """\
import pytest
from pydantic import BaseModel
from pytest_llmversion import checks

class Person(BaseModel):
    name: str
    city: str

@pytest.mark.llm_regression
def test_extracts_city(llm, llm_golden):
    out = llm.complete("Ada Lovelace was born in London.")
    llm_golden.check(out, checks.valid_json(), checks.json_field("city", "London"))

@pytest.mark.llm_regression
def test_parses_in_code(llm):
    out = llm.complete("Alan Turing was born in Maida.")
    assert out.json()["name"] == "Alan Turing"

@pytest.mark.llm_regression
def test_validates_in_code(llm):
    out = llm.complete("Grace Hopper was born in Manhattan.")
    Person.model_validate_json(out.text)

@pytest.mark.llm_regression
def test_asserts_in_code(llm):
    out = llm.complete("Edsger Dijkstra was born in Rotterdam.")
    assert out.json().get("city") == "Rotterdam"

@pytest.mark.llm_regression
def test_biography(llm, llm_golden):
    out = llm.complete("Write a short biography of Ada Lovelace.")
    llm_golden.check(out, checks.similarity("Ada Lovelace was born in London in 1815.", threshold=0.5))
"""


@pytest.fixture
def project(llm_project: LLMProject) -> LLMProject:
    llm_project.write_config(retry_base_delay=0)
    llm_project.model("m1", CURRENT)
    for name, text in CANDIDATES.items():
        llm_project.model(name, text)
    llm_project.test_file(TESTS)
    llm_project.run("--llm-record").assert_outcomes(passed=5)
    return llm_project


def candidate_verdicts(project: LLMProject) -> dict[str, str]:
    return {
        item["test"].split("::")[1]: item["verdict"]
        for item in project.report()["items"]
        if item["role"] == "candidate"
    }


def test_the_same_answers_are_unchanged_and_the_gate_passes(project: LLMProject) -> None:
    result = project.run("--candidate-model=scripted/same")
    result.assert_outcomes(passed=10)
    assert set(candidate_verdicts(project).values()) == {"UNCHANGED"}
    result.stdout.fnmatch_lines(
        [
            "  test_extracts_city * 1.00 * 1.00 * +0.00  UNCHANGED *",
            "candidate: 5 UNCHANGED · pass rate 100% (5/5)",
            "gate: pass",
        ]
    )
    assert result.ret == pytest.ExitCode.OK


def test_a_format_check_that_breaks_is_format_break_with_both_outputs(project: LLMProject) -> None:
    result = project.run("--candidate-model=scripted/fenced")
    result.stdout.fnmatch_lines(
        [
            "*_ test_extracts_city[[]candidate] _*",
            "FORMAT_BREAK: a format check that passed on the golden fails on the candidate",
            "  current    scripted/m1 (golden)                         score 1.00",
            "  candidate  scripted/fenced                              score 0.00  (-1.00, tolerance 0.00)",
            "  checks that moved:",
            "    valid_json                       1.00 -> 0.00   output is not valid JSON at line 1 column 1: "
            "Expecting value (the JSON is wrapped in a ```json code fence)",
            "    json_field(city)                 1.00 -> 0.00   *",
            "  output, current (-) vs candidate (+):",
            "    @@ -1 +1,3 @@",
            "    +```json",
            '     {"name": "Ada Lovelace", "city": "London"}',
            "    +```",
        ]
    )
    assert candidate_verdicts(project)["test_extracts_city"] == "FORMAT_BREAK"


def test_an_output_parse_error_escaping_the_body_is_format_break(project: LLMProject) -> None:
    result = project.run("--candidate-model=scripted/fenced")
    result.stdout.fnmatch_lines(
        [
            "*_ test_parses_in_code[[]candidate] _*",
            "FORMAT_BREAK: a format check that passed on the golden fails on the candidate",
            "*",
            "  test body raised OutputParseError: output is not valid JSON at line 1 column 1: Expecting value "
            "(the JSON is wrapped in a ```json code fence)",
        ]
    )
    verdicts = candidate_verdicts(project)
    assert verdicts["test_parses_in_code"] == "FORMAT_BREAK"
    assert verdicts["test_validates_in_code"] == "FORMAT_BREAK"  # a pydantic ValidationError is a format break too


def test_a_lower_content_score_is_regressed_with_the_check_that_moved_and_the_diff(project: LLMProject) -> None:
    result = project.run("--candidate-model=scripted/forgetful")
    result.stdout.fnmatch_lines(
        [
            "*_ test_extracts_city[[]candidate] _*",
            "REGRESSED: the candidate scores lower than the golden",
            "  current    scripted/m1 (golden)                         score 1.00",
            "  candidate  scripted/forgetful                           score 0.50  (-0.50, tolerance 0.00)",
            "  checks that moved:",
            "    json_field(city)                 1.00 -> 0.00   city is missing (expected London)",
            "  output, current (-) vs candidate (+):",
            "    @@ -1,4 +1,3 @@",
            "     {",
            '    -  "city": "London",',
            '       "name": "Ada Lovelace"',
            "     }",
        ]
    )
    result.stdout.fnmatch_lines(["  test_extracts_city * 1.00 * 0.50 * -0.50  REGRESSED *"])
    verdicts = candidate_verdicts(project)
    assert verdicts["test_extracts_city"] == "REGRESSED"
    assert verdicts["test_validates_in_code"] == "FORMAT_BREAK"  # the model no longer validates: city is required
    item = next(i for i in project.report()["items"] if i["nodeid"].endswith("test_extracts_city[candidate]"))
    assert (item["score"], item["baseline_score"], item["delta"]) == (0.5, 1.0, -0.5)
    moved = {c["name"]: (c["baseline"], c["score"], c["passed"]) for c in item["checks"]}
    assert moved == {"valid_json": (1.0, 1.0, True), "json_field(city)": (1.0, 0.0, False)}


def test_an_assertion_failing_in_the_body_is_regressed_not_format_break(project: LLMProject) -> None:
    result = project.run("--candidate-model=scripted/wrong", "-k", "asserts_in_code")
    result.stdout.fnmatch_lines(
        [
            "REGRESSED: the candidate scores lower than the golden",
            "*",
            "  test body raised AssertionError: assert 'Paris' == 'Rotterdam'*",
        ]
    )
    assert candidate_verdicts(project) == {"test_asserts_in_code": "REGRESSED"}


@pytest.mark.parametrize(
    ("args", "verdict"),
    [
        pytest.param([], "REGRESSED", id="default"),
        pytest.param(["--llm-tolerance=0.5"], "UNCHANGED", id="cli-tolerance"),
    ],
)
def test_tolerance_is_the_drop_allowed_before_regressed(project: LLMProject, args: list[str], verdict: str) -> None:
    result = project.run("--candidate-model=scripted/forgetful", "-k", "extracts_city", *args)
    assert candidate_verdicts(project) == {"test_extracts_city": verdict}
    assert result.ret == (pytest.ExitCode.OK if verdict == "UNCHANGED" else pytest.ExitCode.TESTS_FAILED)


def test_a_higher_score_is_improved_and_passes(project: LLMProject) -> None:
    result = project.run("--candidate-model=scripted/better", "-k", "biography")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "  test                      baseline  candidate   delta  verdict       tokens",
            "  test_biography                0.73       1.00   +0.27  IMPROVED          20",
            "candidate: 1 IMPROVED · pass rate 100% (1/1)",
            "gate: pass",
        ]
    )
    assert candidate_verdicts(project) == {"test_biography": "IMPROVED"}


def test_a_provider_failure_is_error_never_regressed(project: LLMProject) -> None:
    result = project.run("--candidate-model=scripted/down")
    result.assert_outcomes(passed=5, failed=5)
    result.stdout.fnmatch_lines(
        [
            "*_ test_extracts_city[[]candidate] _*",
            "ERROR: the provider failed, so nothing was scored: RoutingFailed: scripted/down: 503 service unavailable "
            "(3 tries)",
        ]
    )
    result.stdout.fnmatch_lines(["  test_extracts_city * 1.00 *-*ERROR *", "gate: FAIL (5 candidate ERROR: *)"])
    assert set(candidate_verdicts(project).values()) == {"ERROR"}
    candidate = next(i for i in project.report()["items"] if i["role"] == "candidate")
    assert candidate["score"] is None


def test_a_candidate_answered_by_a_fallback_is_error_not_scored(project: LLMProject) -> None:
    project.write_config(fallback_models=["scripted/same"])
    result = project.run("--candidate-model=scripted/down", "-k", "extracts_city")
    result.stdout.fnmatch_lines(
        [
            "ERROR: answered by fallback scripted/same, not the candidate scripted/down "
            "(scripted/down: 503 service unavailable (3 tries)); a fallback's answer is never scored as the candidate's"
        ]
    )
    assert candidate_verdicts(project) == {"test_extracts_city": "ERROR"}


# -- --llm-live: the pinned current model called again -------------------------------------------------


def test_live_with_the_same_answers_is_match(project: LLMProject) -> None:
    result = project.run("--llm-live")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["llmversion: current scripted/m1 (*), mode live", "current:   5 MATCH"])
    assert {i["calls"]["live"] for i in project.report()["items"]} == {1}


def test_live_with_changed_text_but_the_same_scores_is_a_match_with_a_note(project: LLMProject) -> None:
    project.model("m1", CURRENT + "transform: {set_fields: {confidence: 0.9}}\n")
    result = project.run("--llm-live", "-k", "extracts_city")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "  test_extracts_city * 1.00 * 1.00 * +0.00  MATCH *",
            "  * note: output text changed; scores held",
            "current:   1 MATCH",
            "gate: pass",
        ]
    )
    assert project.verdicts() == {"tests/test_llm.py::test_extracts_city[current]": "MATCH"}


def test_live_with_lower_scores_is_drift_and_fails(project: LLMProject) -> None:
    project.model("m1", CURRENT + "transform: {drop_fields: [city]}\n")
    result = project.run("--llm-live", "-k", "extracts_city")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "DRIFT: the pinned current model no longer answers as its golden",
            "  golden     scripted/m1                                  score 1.00",
            "  live       scripted/m1                                  score 0.50  (-0.50, tolerance 0.00)",
            "  note: scores dropped",
            "  checks that moved:",
            "    json_field(city)                 1.00 -> 0.00   city is missing (expected London)",
            "  output, golden (-) vs live (+):",
        ]
    )


def test_live_with_another_model_served_is_drift_and_fails(project: LLMProject) -> None:
    project.model("m1", CURRENT + "served_as: m1-2025-01-01\n")
    result = project.run("--llm-live", "-k", "extracts_city")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "DRIFT: the pinned current model no longer answers as its golden",
            "*",
            "  note: the provider served m1-2025-01-01 for pinned m1",
        ]
    )
    assert project.verdicts() == {"tests/test_llm.py::test_extracts_city[current]": "DRIFT"}


def test_live_and_record_cannot_be_combined(project: LLMProject) -> None:
    result = project.run("--llm-live", "--llm-record")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: pytest-llmversion: --llm-record and --llm-live cannot be combined"])
