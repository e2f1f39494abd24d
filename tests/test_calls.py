"""Tests that call the model more than once: each call's request and the diff of each call's answer, on the
failure screen, in report.json (``calls_detail``), the Markdown and the HTML page."""

from __future__ import annotations

import json
import re

import pytest
from conftest import LLMProject

TWO_CALLS = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(tags=["two-step"])
def test_two_people(llm, llm_golden):
    ada = llm.complete("Ada Lovelace was born in London.")
    grace = llm.complete("Grace Hopper was born in Manhattan.")
    llm_golden.check(grace, checks.json_field("city", "Manhattan"))

@pytest.mark.llm_regression
def test_two_unchanged(llm, llm_golden):
    llm.complete("Alan Turing was born in Maida.")
    llm_golden.check(llm.complete("Ada Lovelace was born in London."), checks.valid_json())
"""

#: The candidate answers Ada as before and moves Grace to Arlington.
CANDIDATE = """\
# synthetic
extends: m1
rules:
  - when: {contains: Grace}
    respond: '{"name": "Grace Hopper", "city": "Arlington"}'
"""


@pytest.fixture
def project(llm_project: LLMProject) -> LLMProject:
    llm_project.test_file(TWO_CALLS)
    llm_project.model("m2", CANDIDATE)
    llm_project.run("--llm-record").assert_outcomes(passed=2)
    return llm_project


def test_the_failure_screen_shows_each_calls_request_and_answer_diff(project: LLMProject) -> None:
    result = project.run("--candidate-model=scripted/m2", "--llm-report-md=summary.md", "--llm-report-html=r.html")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "REGRESSED: the candidate scores lower than the golden",
            "  2 calls, current (-) vs candidate (+):",
            "  call 1: user: Ada Lovelace was born in London.",
            "    same answer",
            "  call 2: user: Grace Hopper was born in Manhattan.",
            "    @@ *",
            '    -  "city": "Manhattan",',
            '    +  "city": "Arlington",',
        ]
    )
    items = {item["nodeid"]: item for item in project.report()["items"]}
    calls = items["tests/test_llm.py::test_two_people[candidate]"]["calls_detail"]
    assert [call["request"] for call in calls] == [
        "user: Ada Lovelace was born in London.",
        "user: Grace Hopper was born in Manhattan.",
    ]
    assert calls[0]["output"] == calls[0]["baseline_output"]
    assert json.loads(calls[1]["output"])["city"] == "Arlington"
    assert json.loads(calls[1]["baseline_output"])["city"] == "Manhattan"
    # a passing item whose answers did not change keeps report.json small: its calls are its golden's
    assert items["tests/test_llm.py::test_two_unchanged[candidate]"]["calls_detail"] == []
    markdown = (project.path / "summary.md").read_text()
    assert "**Call 1 of 2**, request:" in markdown
    assert "Same answer on both sides." in markdown
    assert '-  "city": "Manhattan",\n+  "city": "Arlington",' in markdown
    page = (project.path / "r.html").read_text()
    blob = re.search(r'id="llm-data">(.*?)</script>', page, re.S)
    assert blob is not None
    cases = {case["id"]: case for case in json.loads(blob.group(1))["items"]}
    first, second = cases["tests/test_llm.py::test_two_people[candidate]"]["x"]
    assert first[0] == "call 1 of 2 · same answer on both sides"
    assert second[1] == "user: Grace Hopper was born in Manhattan."
    assert ["~", '  "city": "Manhattan",', '  "city": "Arlington",'] in second[2]


def test_with_samples_the_failure_screen_diffs_each_call_of_a_passing_and_a_failing_sample(
    project: LLMProject,
) -> None:
    result = project.run("--candidate-model=scripted/m2", "--llm-samples=3", "-k", "test_two_people")
    result.stdout.fnmatch_lines(
        [
            "REGRESSED: the candidate answers pass this case less often than the current ones",
            "  a passing current sample (-) vs a failing candidate sample (+), call by call:",
            "  call 1: user: Ada Lovelace was born in London.",
            "    same answer",
            "  call 2: user: Grace Hopper was born in Manhattan.",
            "    @@ *",
            '    -  "city": "Manhattan",',
            '    +  "city": "Arlington",',
        ]
    )
