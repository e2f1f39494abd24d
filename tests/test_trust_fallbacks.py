"""A fallback model keeps a feature up in production; in a test run its answers are never the model's.

A fallback's answer never becomes a golden or a recording, is never judged as the current model's or
the candidate's, and its tokens and price are reported on their own line, in neither model's figures.
"""

from __future__ import annotations

import pytest
from conftest import ENTITY_TEST, M1, LLMProject

from pytest_llmversion.testing import Emulator, Fault

CURRENT_ID = "gpt-4o-2024-08-06"
FALLBACK = "anthropic/claude-opus-4-6"
CURRENT = "tests/test_llm.py::test_extracts_city[current]"
CANDIDATE = "tests/test_llm.py::test_extracts_city[candidate]"
FAST = {"max_retries": 1, "retry_base_delay": 0.0, "retry_max_delay": 0.0}
PRICES = """
[tool.llmversion.catalog."anthropic/claude-opus-4-6"]
input_per_mtok = 5.0
output_per_mtok = 25.0
"""


@pytest.fixture
def project(llm_project: LLMProject, emu: Emulator) -> LLMProject:
    """The current model is openai/gpt-4o-2024-08-06 on the emulator, with an Anthropic fallback."""
    emu.add_model(CURRENT_ID, M1)
    emu.add_model("gpt-4o-2024-11-20", M1)
    # the fallback's answer passes the test's checks too: only where it came from tells it apart
    emu.add_model("claude-opus-4-6", M1.replace('"city": "{{city}}"', '"city": "{{city}}", "via": "fallback"'))
    llm_project.write_config(
        extra=emu.provider_tables() + PRICES, model=f"openai/{CURRENT_ID}", fallback_models=[FALLBACK], **FAST
    )
    llm_project.test_file(ENTITY_TEST)
    return llm_project


def test_record_never_writes_a_fallbacks_answer_as_the_golden(project: LLMProject, emu: Emulator) -> None:
    emu.add_fault(Fault.http(503, model=CURRENT_ID))
    result = project.run("--llm-record")

    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            f"ERROR: answered by fallback {FALLBACK}, not the current model openai/{CURRENT_ID} (*503*); a "
            "fallback's answer is never recorded as the current model's; the golden was left as it was",
            "gate: FAIL (1 current ERROR: test_extracts_city)",
        ]
    )
    assert not project.golden("test_llm/test_extracts_city.yaml").exists()
    assert project.verdicts() == {CURRENT: "ERROR"}


def test_record_keeps_the_old_golden_when_a_fallback_answers(project: LLMProject, emu: Emulator) -> None:
    project.run("--llm-record").assert_outcomes(passed=1)
    golden = project.golden("test_llm/test_extracts_city.yaml")
    before = golden.read_bytes()

    emu.add_fault(Fault.http(503, model=CURRENT_ID))
    project.run("--llm-record").assert_outcomes(failed=1)
    assert golden.read_bytes() == before
    assert "fallback" not in golden.read_text()
    emu.clear_faults()
    project.run().assert_outcomes(passed=1)  # the replay still answers with the current model's golden
    assert project.verdicts() == {CURRENT: "MATCH"}


def test_live_run_answered_by_a_fallback_is_an_error_not_drift(project: LLMProject, emu: Emulator) -> None:
    project.run("--llm-record").assert_outcomes(passed=1)
    emu.add_fault(Fault.http(503, model=CURRENT_ID))

    result = project.run("--llm-live")
    result.assert_outcomes(failed=1)
    assert project.verdicts() == {CURRENT: "ERROR"}
    result.stdout.fnmatch_lines(
        [f"ERROR: answered by fallback {FALLBACK}, not the current model openai/{CURRENT_ID} (*); a fallback's*"]
    )
    assert "DRIFT" not in result.stdout.str()


def test_candidate_recording_is_never_a_fallbacks_answer(project: LLMProject, emu: Emulator) -> None:
    project.run("--llm-record").assert_outcomes(passed=1)
    emu.add_fault(Fault.http(503, model="gpt-4o-2024-11-20"))

    project.run("--candidate-model=openai/gpt-4o-2024-11-20", "--llm-candidate-recordings=new").assert_outcomes(
        passed=1, failed=1
    )
    assert project.verdicts()[CANDIDATE] == "ERROR"
    assert not (project.path / ".llmversion" / "recordings").exists()
    assert not (project.path / ".llmversion" / "candidate").exists()  # nothing for promote to pick up


def test_a_fallbacks_spend_is_its_own_line_never_the_candidates(project: LLMProject, emu: Emulator) -> None:
    project.run("--llm-record").assert_outcomes(passed=1)
    emu.add_fault(Fault.http(503, model="gpt-4o-2024-11-20"))

    result = project.run("--candidate-model=openai/gpt-4o-2024-11-20", "--llm-candidate-recordings=new")
    cost = project.report()["summary"]["cost"]
    candidate = next(i for i in project.report()["items"] if i["role"] == "candidate")
    # the candidate answered nothing: no tokens, cost or latency of its own, and nothing to compare
    assert (candidate["usage"]["input_tokens"], candidate["usage"]["output_tokens"]) == (0, 0)
    assert candidate["latency_ms"] == []
    assert candidate["cost_usd"] == 0
    assert "candidate" not in cost["roles"]
    assert cost["comparison"] is None
    # the fallback's answer: on its own line, and in what the run spent
    (fallback,) = cost["fallbacks"]
    assert (fallback["model"], fallback["calls"]) == (FALLBACK, 1)
    assert fallback["cost_usd"] == pytest.approx((8 * 5 + 16 * 25) / 1e6)
    assert cost["spent_usd"] == pytest.approx(fallback["cost_usd"])
    result.stdout.fnmatch_lines(
        [
            f"  fallback   {FALLBACK} answered 1 call in place of the model asked for: tokens 8 in / 16 out, "
            "cost $0.000440 (in the spend above, in neither model's figures)"
        ]
    )
    assert "candidate/current per case" not in result.stdout.str()
