"""Samples and the statistical gate, as a user runs them: record k samples, compare a candidate, read the verdicts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import LLMProject

#: The current model: a case it always passes, a coin flip, and a case the candidate breaks.
CURRENT = """\
# synthetic
rules:
  - name: steady
    when: {user_contains: steady}
    respond: PASS
  - name: coin
    when: {user_contains: coin}
    choices: [{weight: 1, respond: PASS}, {weight: 1, respond: FAIL}]
  - name: breaks
    when: {user_contains: breaks}
    respond: PASS
default: {respond: PASS}
"""

#: Same behaviour drawn independently (another seed), except that ``breaks`` now always fails.
CANDIDATE = """\
# synthetic
extends: cur
seed: 7
rules:
  - name: breaks
    when: {user_contains: breaks}
    respond: FAIL
"""

CASES = """\
- {id: steady, input: steady one}
- {id: coin, input: coin one}
- {id: breaks, input: breaks one}
"""

ANSWER_TEST = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(cases="cases.yaml")
def test_answer(llm, llm_case, llm_golden):
    out = llm.complete(llm_case.input)
    llm_golden.check(out, checks.equals("PASS"))
"""


def project(llm_project: LLMProject, cases: str = CASES, test: str = ANSWER_TEST) -> LLMProject:
    llm_project.write_config(model="scripted/cur")
    llm_project.model("cur", CURRENT)
    llm_project.model("cand", CANDIDATE)
    llm_project.write("tests/cases.yaml", cases)
    llm_project.test_file(test)
    return llm_project


def candidate_items(llm_project: LLMProject) -> dict[str, dict[str, Any]]:
    """case id -> report item of the candidate."""
    return {i["case"]: i for i in llm_project.report()["items"] if i["role"] == "candidate"}


def test_samples_find_the_broken_case_and_call_the_coin_flip_flaky(llm_project: LLMProject) -> None:
    project(llm_project)
    record = llm_project.run("--llm-record", "--llm-samples=5")
    record.assert_outcomes(passed=3)
    golden = llm_project.golden("test_llm/test_answer/coin.yaml").read_text()
    assert golden.count("- score:") == 5
    assert "passed: false" in golden  # failing samples are the baseline too

    result = llm_project.run("--candidate-model=scripted/cand", "--llm-samples=5")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(
        [
            "REGRESSED: the candidate answers pass this case less often than the current ones",
            "  current    scripted/cur (golden 5 + live 15) *  20/20  pass  100%",
            "  candidate  scripted/cand *   0/20  pass  0%",
            "  Δ −100 pp (95% CI −100 … −77); one-sided exact test p=7.3e-12 ≤ 0.0083 (= 2.5% / 3 compared cases)",
            "    equals(PASS) *   0 · 20  *",
            "samples     3 cases · 5 samples/model (* topped up to 20) · * samples, * live calls *",
            "cases       1 regressed · 0 improved · 1 unchanged · 1 flaky",
            "  REGRESSED  test_answer?breaks? * 20/20 → 0/20 * Δ −100 pp ?−100, −77? * p=7.3e-12 * (BH q=2.2e-11)",
            "  flaky *    test_answer?coin? *",
            "suite test  exact stratified (first 5 samples/case): p=*",
            "gate: FAIL (1 candidate REGRESSED: test_answer?breaks?; suite test: *)",
            "  false-alarm budget 5%: 2.5% suite test + 2.5% per case (each case at 0.0083 = 2.5% / 3 while it runs)",
        ]
    )
    items = candidate_items(llm_project)
    assert {case: item["verdict"] for case, item in items.items()} == {
        "steady": "UNCHANGED",
        "coin": "FLAKY",
        "breaks": "REGRESSED",
    }
    broken = items["breaks"]["stats"]
    assert broken["current"] | {"errors": 0} == {
        "passes": 20,
        "samples": 20,
        "stage1_passes": 5,
        "stage1_samples": 5,
        "errors": 0,
        "format_failures": 0,
        "live_calls": 15,  # only the top-up samples the golden lacks are called live
        "replayed_calls": 5,
    }
    assert broken["candidate"]["passes"] == 0
    assert broken["candidate"]["live_calls"] == 20
    assert broken["topped_up"] is True
    assert broken["p_regression"] == pytest.approx(7.254444552e-12, rel=1e-9)
    assert broken["decided"] == "item"
    steady = items["steady"]["stats"]
    assert steady["topped_up"] is False  # unanimous cases stop at k
    assert steady["current"]["samples"] == steady["candidate"]["samples"] == 5
    assert steady["current"]["live_calls"] == 0
    statistics = llm_project.report()["summary"]["statistics"]
    assert statistics["cases"] == 3
    assert statistics["family_size"] == 3
    assert statistics["verdicts"] == {"FLAKY": 1, "REGRESSED": 1, "UNCHANGED": 1}
    assert statistics["budget"] == {"alpha": 0.05, "suite": 0.025, "per_case": 0.025}
    assert statistics["suite_test"]["current_samples"] == 15
    assert set(statistics["difference"]) >= {"mean", "se", "low", "high", "confidence", "r"}
    assert statistics["resolution"]["localized"] is not None


def test_k1_keeps_the_deterministic_comparison(llm_project: LLMProject) -> None:
    project(llm_project)
    llm_project.run("--llm-record", "--llm-samples=5").assert_outcomes(passed=3)
    result = llm_project.run("--candidate-model=scripted/cand")
    # one candidate answer against the golden's mean score: no statistics block, the old table
    result.stdout.fnmatch_lines(["*test_answer?breaks? * 1.00 * 0.00 * -1.00  REGRESSED*"])
    result.stdout.no_fnmatch_line("suite test*")
    report = llm_project.report()
    assert report["summary"]["statistics"] is None
    assert candidate_items(llm_project)["breaks"]["stats"] is None
    notes = candidate_items(llm_project)["steady"]["notes"]
    assert "the golden holds 5 samples; --llm-samples=5 compares the models with exact tests instead of one answer" in (
        notes
    )


LOGGING_TEST = """\
import json
import pytest
from pytest_llmversion import checks

@pytest.fixture
def expensive():
    with open("setups.log", "a") as log:
        log.write("setup\\n")
    return "ready"

@pytest.mark.llm_regression(cases="cases.yaml")
def test_answer(llm, llm_case, llm_golden, expensive):
    out = llm.complete(llm_case.input)
    with open("calls.log", "a") as log:
        log.write(json.dumps([str(llm.model), out.text, out.source]) + "\\n")
    llm_golden.check(out, checks.equals("PASS"))
"""


def test_samples_are_fresh_interleaved_calls_with_fixtures_set_up_once(llm_project: LLMProject) -> None:
    project(llm_project, cases="- {id: coin, input: coin one}\n", test=LOGGING_TEST)
    args = ("-k", "candidate", "--candidate-model=scripted/cand", "--llm-baseline=live", "--llm-samples=5")
    llm_project.run(*args).assert_outcomes(passed=1)  # a live baseline needs no golden
    assert (llm_project.path / "setups.log").read_text() == "setup\n"
    calls = [json.loads(line) for line in (llm_project.path / "calls.log").read_text().splitlines()]
    models = [model for model, _, _ in calls]
    item = candidate_items(llm_project)["coin"]
    stats = item["stats"]
    assert len(calls) == stats["current"]["samples"] + stats["candidate"]["samples"]
    # sampled in pairs, each pair in its own order: never three calls to one model in a row
    pairs = [tuple(models[i : i + 2]) for i in range(0, len(models), 2)]
    assert set(pairs) == {("scripted/cur", "scripted/cand"), ("scripted/cand", "scripted/cur")}
    # every sample is a fresh live call, so a coin flip comes up both ways for each model
    for model in ("scripted/cur", "scripted/cand"):
        answers = [text for m, text, source in calls if m == model]
        assert {source for m, _, source in calls if m == model} == {"live"}
        assert set(answers) == {"PASS", "FAIL"}
    assert stats["baseline"] == "live"
    assert stats["current"]["live_calls"] == stats["current"]["samples"]


def test_a_golden_sample_is_never_served_twice(llm_project: LLMProject) -> None:
    project(llm_project, cases="- {id: coin, input: coin one}\n", test=LOGGING_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)  # one sample
    (llm_project.path / "calls.log").unlink()
    llm_project.run("-k", "candidate", "--candidate-model=scripted/cand", "--llm-samples=5")
    calls = [json.loads(line) for line in (llm_project.path / "calls.log").read_text().splitlines()]
    current = [source for model, _, source in calls if model == "scripted/cur"]
    assert current[0] == "golden"
    assert set(current[1:]) == {"live"}  # samples the golden lacks are called, not replayed again
    assert candidate_items(llm_project)["coin"]["stats"]["golden_samples"] == 1
