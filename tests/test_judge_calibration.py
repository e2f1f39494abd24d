"""Calibration: a noisy LLM judge does not make the gate cry wolf.

The judge on the loopback emulator draws its score around a true value (0.5 to 0.9, most often 0.7), seeded, so
the same answer passes ``threshold=0.7`` about two times in three. Current and candidate answer alike, so any
failed gate is a false alarm. A whole candidate run (samples from both models, every answer judged live through
the real OpenAI SDK) passes its gate; and the gate's own statistics (per-case Fisher tests, Benjamini-Hochberg,
the exact stratified suite test: docs/gate.md) applied to 400 suites of verdicts drawn from that judge keep the
false-alarm rate within the budget ``alpha`` (0.05). Pass/fail at a threshold of a noisy score is a Bernoulli
draw per sample, which is what the gate's tests assume; this checks the plugin turns judge verdicts into exactly
that.
"""

from __future__ import annotations

import random
import textwrap

import openai
from conftest import LLMProject

from pytest_llmversion.checks.judge import judge_request, parse_verdict
from pytest_llmversion.judge import stats
from pytest_llmversion.judge.comparison import GatePolicy
from pytest_llmversion.testing import Emulator

CURRENT, CANDIDATE, JUDGE = "gpt-4o-2024-08-06", "gpt-4o-2024-11-20", "gpt-4o-mini-2024-07-18"
THRESHOLD = 0.7
NOISY_JUDGE = """\
default:
  choices:
    - {weight: 1, respond: '{"score": 0.5, "reason": "misses a point"}'}
    - {weight: 2, respond: '{"score": 0.6, "reason": "mostly there"}'}
    - {weight: 3, respond: '{"score": 0.7, "reason": "meets the rubric"}'}
    - {weight: 2, respond: '{"score": 0.8, "reason": "good"}'}
    - {weight: 1, respond: '{"score": 0.9, "reason": "very good"}'}
"""
CASES = "\n".join(f"- id: c{i}\n  input: 'customer message {i}: my parcel is late'" for i in range(6))
TEST = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(cases="cases.yaml")
def test_reply(llm, llm_case, llm_golden):
    out = llm.complete(llm_case.input)
    llm_golden.check(out, checks.judge("The reply apologises and offers a remedy.", threshold=0.7))
"""


def test_a_noisy_judge_passes_a_whole_candidate_run_of_alike_models(llm_project: LLMProject, emu: Emulator) -> None:
    same = {"default": {"respond": "Sorry for the delay: a replacement ships today."}}
    emu.add_model(CURRENT, same)
    emu.add_model(CANDIDATE, same)
    emu.add_model(JUDGE, NOISY_JUDGE)
    config = {"model": f"openai/{CURRENT}", "judge_model": f"openai/{JUDGE}", "max_retries": 0}
    llm_project.write_config(emu.provider_tables(), **config)
    llm_project.write("tests/cases.yaml", CASES)
    llm_project.test_file(TEST)
    args = ("--llm-samples=5", "--llm-max-samples=5", "--llm-baseline=live", "-k", "candidate")
    result = llm_project.run(f"--candidate-model=openai/{CANDIDATE}", *args)
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["gate: pass*"])
    assert len(emu.requests(JUDGE)) == 6 * 5 * 2  # every answer of both models judged, live
    report = llm_project.report()
    scores = {check["score"] for item in report["items"] for check in item["checks"]}
    assert len(scores) > 1  # the judge really was noisy
    assert report["summary"]["statistics"]["suite_test"]["failed"] is False


def judge_scores(emu: Emulator, draws: int) -> list[float]:
    """The noisy judge's scores for one answer, asked ``draws`` times through the OpenAI SDK and read as the
    plugin reads a verdict."""
    request = judge_request("The reply apologises and offers a remedy.", "Sorry: a replacement ships today.")
    messages = [m.to_dict() for m in request.messages]
    with openai.OpenAI(api_key="sk-7Qv2xK9pLm4Rt8Wz", base_url=emu.openai_base_url, max_retries=0) as client:
        answers = [
            client.chat.completions.create(model=JUDGE, messages=messages, temperature=0.0)  # type: ignore[arg-type]
            for _ in range(draws)
        ]
    return [parse_verdict(a.choices[0].message.content or "", JUDGE).score for a in answers]


def gate_fails(rng: random.Random, pool: list[float], cases: int, k: int, policy: GatePolicy) -> bool:
    """One suite of alike models judged by the noisy judge: does the gate fail (a false alarm)?"""
    tables = []
    for _ in range(cases):
        current = sum(rng.choice(pool) >= THRESHOLD for _ in range(k))
        candidate = sum(rng.choice(pool) >= THRESHOLD for _ in range(k))
        tables.append((current, k, candidate, k))
    p_regression = [stats.fisher_one_sided(*table)[0] for table in tables]
    if min(stats.bh_adjust(p_regression)) <= policy.q:
        return True  # a case flagged REGRESSED
    return stats.exact_stratified_p(tables) <= policy.alpha_suite


def test_a_noisy_judge_keeps_the_false_alarm_rate_within_the_budget(emu: Emulator) -> None:
    emu.add_model(JUDGE, textwrap.dedent(NOISY_JUDGE))
    pool = judge_scores(emu, 300)
    passing = sum(score >= THRESHOLD for score in pool) / len(pool)
    assert 0.5 < passing < 0.85  # about 6 in 9: noisy enough to flip verdicts often
    assert len(set(pool)) == 5
    policy = GatePolicy()
    rng = random.Random(20261124)
    suites = 400
    alarms = sum(gate_fails(rng, pool, cases=10, k=5, policy=policy) for _ in range(suites))
    # the budget is alpha = 0.05 (half to the suite test, half to the per-case tests): measured 2-3 % here
    assert alarms / suites <= policy.alpha, f"{alarms} false alarms in {suites} suites"
