"""Failures every later call would repeat are said once in full; the other items are "not called"."""

from __future__ import annotations

import pytest
from conftest import M1, LLMProject

from pytest_llmversion.testing import Emulator, Fault

CASES = "\n".join(f"- id: person-{n}\n  input: Person{n} Name{n} was born in City{n}." for n in range(6))
CASE_TEST = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(cases="cases.yaml")
def test_city(llm, llm_case, llm_golden):
    out = llm.complete(llm_case.input)
    llm_golden.check(out, checks.valid_json())
"""
FAST = {"max_retries": 1, "retry_base_delay": 0.0, "retry_max_delay": 0.0}


@pytest.fixture
def six_cases(llm_project: LLMProject, emu: Emulator) -> LLMProject:
    emu.add_model("gpt-4o-2024-08-06", M1)
    emu.add_model("gpt-4o-2024-11-20", M1)
    llm_project.write_config(extra=emu.provider_tables(), model="openai/gpt-4o-2024-08-06", **FAST)
    llm_project.write("tests/cases.yaml", CASES)
    llm_project.test_file(CASE_TEST)
    return llm_project


def test_a_missing_key_is_said_once_and_nothing_is_called(
    six_cases: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    result = six_cases.run("--llm-record")

    result.assert_outcomes(failed=6)
    items = sorted(six_cases.report()["items"], key=lambda i: i["case"])
    assert items[0]["error"].startswith("AuthError: openai: no API key: set OPENAI_API_KEY")
    assert items[0]["not_called"] is None
    for item in items[1:]:
        assert item["verdict"] == "ERROR"
        assert item["error"].startswith("AuthError: not called: openai: no API key: set OPENAI_API_KEY")
    assert emu.requests() == []
    firsts = [line for line in result.outlines if line.startswith("AuthError: openai: no API key")]
    assert len(firsts) == 1  # the first item says it in full; the others say they were not called
    result.stdout.fnmatch_lines(
        [
            "not called: 5 items, because of AuthError: openai: no API key: set OPENAI_API_KEY (or name another "
            "variable in [tool.llmversion.providers.openai] api_key_env)"
        ]
    )
    assert six_cases.report()["summary"]["not_called"] == {
        "AuthError: openai: no API key: set OPENAI_API_KEY (or name another variable in "
        "[tool.llmversion.providers.openai] api_key_env)": 5
    }


def test_a_rejected_key_is_one_call(six_cases: LLMProject, emu: Emulator) -> None:
    emu.add_fault(Fault.http(401))
    six_cases.run("--llm-record").assert_outcomes(failed=6)
    assert len(emu.requests()) == 1  # 401 is not retried, and no later item calls again
    first = next(i["error"] for i in six_cases.report()["items"] if not i["not_called"])
    assert first.startswith("AuthError: openai/gpt-4o-2024-08-06: ")
    assert six_cases.report()["summary"]["not_called"] == {first: 5}


def test_an_unknown_candidate_stops_only_the_candidate(six_cases: LLMProject, emu: Emulator) -> None:
    six_cases.run("--llm-record").assert_outcomes(passed=6)
    emu.clear_requests()
    emu.add_fault(Fault.http(404, model="gpt-4o-2024-11-20"))

    result = six_cases.run("--candidate-model=openai/gpt-4o-2024-11-20", "--llm-candidate-recordings=new")
    result.assert_outcomes(passed=6, failed=6)  # the current items replay their goldens as always
    assert len(emu.requests("gpt-4o-2024-11-20")) == 1
    report = six_cases.report()
    candidates = [i for i in report["items"] if i["role"] == "candidate"]
    assert [i["verdict"] for i in candidates] == ["ERROR"] * 6
    assert sum(i["not_called"] is not None for i in candidates) == 5
    (cause,) = report["summary"]["not_called"]
    assert cause.startswith("ModelNotFound: ")


def test_outages_are_not_lasting(six_cases: LLMProject, emu: Emulator) -> None:
    emu.add_fault(Fault.http(503, first=4))  # the first item's two tries and the second's fail, then it recovers
    six_cases.run("--llm-record").assert_outcomes(passed=4, failed=2)
    assert six_cases.report()["summary"]["not_called"] == {}
