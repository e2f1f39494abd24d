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

    result = llm_project.run("--candidate-model=scripted/cand", "--llm-samples=5", "--llm-report-md=summary.md")
    result.assert_outcomes(passed=5, failed=1)
    markdown = (llm_project.path / "summary.md").read_text()
    assert "cases       1 regressed · 0 improved · 1 unchanged · 1 flaky\n" in markdown
    assert "false-alarm budget 5%: 2.5% suite test + 2.5% per case" in markdown
    result.stdout.fnmatch_lines(
        [
            "REGRESSED: the candidate answers pass this case less often than the current ones",
            "  current    scripted/cur (golden 5 + live 15) *  20/20  pass  100%",
            "  candidate  scripted/cand *   0/20  pass  0%",
            "  Δ −100 pp (95% CI −100 … −77); one-sided exact test p=7.3e-12 ≤ 0.00833 (= 2.5% / 3 compared cases)",
            "    equals(PASS) *   0 · 20  *",
            "samples     3 cases · 5 samples/model (* topped up to 20) · * samples, * live calls *",
            "cases       1 regressed · 0 improved · 1 unchanged · 1 flaky",
            "  REGRESSED    test_answer?breaks? * 20/20 → 0/20 * Δ −100 pp ?−100, −77? * p=7.3e-12 * (BH q=2.2e-11)",
            "  flaky *      test_answer?coin? *",
            "suite test  exact stratified (first 5 samples/case): p=*",
            "gate: FAIL (1 candidate REGRESSED: test_answer?breaks?; suite test: *)",
            "  false-alarm budget 5%: 2.5% suite test + 2.5% per case (each case at 0.00833 = 2.5% / 3 while it runs)",
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


DRIFTING = """\
# synthetic
rules:
  - name: drift
    when: {user_contains: drift}
    respond: PASS
default: {respond: PASS}
"""

DRIFTED = """\
# synthetic: every case a little worse, none broken
extends: cur
seed: 3
rules:
  - name: drift
    when: {user_contains: drift}
    choices: [{weight: 85, respond: PASS}, {weight: 15, respond: FAIL}]
"""


def test_the_suite_test_fails_a_diffuse_drop_no_single_case_shows(llm_project: LLMProject) -> None:
    project(llm_project, cases="".join(f"- {{id: c{i}, input: drift {i}}}\n" for i in range(16)))
    llm_project.model("cur", DRIFTING)
    llm_project.model("cand", DRIFTED)
    args = ("-k", "candidate", "--candidate-model=scripted/cand", "--llm-baseline=live", "--llm-samples=5")
    result = llm_project.run(*args)
    result.assert_outcomes(passed=16)  # every case passes its own test ...
    result.stdout.fnmatch_lines(
        [
            "cases       0 regressed · 0 improved · * unchanged · * flaky",
            "suite test  exact stratified (first 5 samples/case): p=* ≤ 0.025  (passes 80/80 → */80)",
            "gate: FAIL (suite test: the candidate passed */80 stage-one samples, the current model 80/80; exact "
            "stratified p=* ≤ 0.025)",
        ]
    )
    report = llm_project.report()  # ... and the gate fails the run at session end, saying why
    assert report["summary"]["gate"] == "fail"
    assert report["run"]["exit_status"] == 1
    suite = report["summary"]["statistics"]["suite_test"]
    assert suite["failed"] is True
    assert suite["p"] <= 0.025
    assert report["summary"]["statistics"]["difference"]["high"] < 0


def test_noninferiority_is_reported_and_gates_only_when_asked(llm_project: LLMProject) -> None:
    project(llm_project, cases="- {id: coin, input: coin one}\n- {id: coin2, input: coin two}\n")
    args = ("-k", "candidate", "--candidate-model=scripted/cand", "--llm-baseline=live", "--llm-samples=5")
    reported = llm_project.run(*args, "--llm-margin=0.01")
    reported.stdout.fnmatch_lines(["non-inferiority (δ=1 pp): inconclusive (lower bound −*)", "gate: pass"])
    assert llm_project.report()["summary"]["statistics"]["noninferiority"]["gating"] is False

    gated = llm_project.run(*args, "--llm-margin=0.01", "--llm-noninferiority")
    gated.stdout.fnmatch_lines(
        [
            "non-inferiority (δ=1 pp, gating): inconclusive (lower bound −*)",
            "gate: FAIL (non-inferiority within 1 pp not shown: lower bound −*)",
        ]
    )
    noninferiority = llm_project.report()["summary"]["statistics"]["noninferiority"]
    assert noninferiority["gating"] is True
    assert noninferiority["margin"] == 0.01
    assert noninferiority["status"] == "inconclusive"


SCORED = """\
# synthetic
default: {respond: "0.9"}
"""

SCORED_LOWER = """\
# synthetic
seed: 5
default: {respond: "0.3"}
"""

SCORE_TEST = """\
import pytest
from pytest_llmversion import checks

def quality(out):
    return float(out.text)

@pytest.mark.llm_regression(threshold=0.5)
def test_binarised(llm, llm_golden):
    llm_golden.check(llm.complete("rate this"), checks.custom(quality, threshold=0.0))

@pytest.mark.llm_regression
def test_every_check_passes(llm, llm_golden):
    llm_golden.check(llm.complete("rate this"), checks.custom(quality, threshold=0.0))
"""


def test_continuous_scores_are_binarised_at_the_threshold(llm_project: LLMProject) -> None:
    project(llm_project, test=SCORE_TEST)
    llm_project.model("cur", SCORED)
    llm_project.model("cand", SCORED_LOWER)
    args = ("-k", "candidate", "--candidate-model=scripted/cand", "--llm-baseline=live", "--llm-samples=5")
    result = llm_project.run(*args, "--llm-max-samples=8")
    result.assert_outcomes(passed=1, failed=1)
    verdicts = {i["test"].rsplit("::", 1)[1]: i for i in llm_project.report()["items"]}
    binarised = verdicts["test_binarised"]
    assert binarised["verdict"] == "REGRESSED"  # 0.3 < 0.5: every candidate sample fails
    assert binarised["stats"]["threshold"] == 0.5
    assert binarised["stats"]["candidate"]["samples"] == 8  # --llm-max-samples
    # without a threshold a sample passes when its checks pass, and this check always does
    assert verdicts["test_every_check_passes"]["verdict"] == "UNCHANGED"

    llm_project.write_config(threshold=0.5)  # a project-wide default
    llm_project.run(*args).assert_outcomes(failed=2)


FENCED = """\
# synthetic
extends: cur
seed: 9
transform: {fence: json}
"""

JSON_MODEL = """\
# synthetic
default: {respond: '{"city": "London"}'}
"""

JSON_TEST = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(samples=5)
def test_city(llm, llm_golden):
    llm_golden.check(llm.complete("Where?"), checks.valid_json(), checks.json_field("city", "London"))

@pytest.mark.llm_regression
def test_city_once(llm, llm_golden):
    llm_golden.check(llm.complete("Where, once?"), checks.valid_json())
"""


def test_marker_samples_and_a_format_break_judged_by_counts(llm_project: LLMProject) -> None:
    project(llm_project, test=JSON_TEST)
    llm_project.model("cur", JSON_MODEL)
    llm_project.model("cand", FENCED)
    llm_project.run("--llm-record").assert_outcomes(passed=2)
    assert llm_project.golden("test_llm/test_city.yaml").read_text().count("- score:") == 5  # marker samples=5
    result = llm_project.run("--candidate-model=scripted/cand")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "FORMAT_BREAK: the candidate answers break a format check the current ones pass",
            "*test_city_once * 1.00 * 0.00 * -1.00  FORMAT_BREAK*",  # samples=1: the table as before
            "samples     1 case · 5 samples/model (1 case topped up to 20) *",
            "cases       0 regressed · 0 improved · 0 unchanged · 0 flaky · 1 format break",
            "  FORMAT_BREAK test_city * 20/20 → 0/20 *",
        ]
    )
    city = next(i for i in llm_project.report()["items"] if i["nodeid"].endswith("test_city[candidate]"))
    assert city["stats"]["candidate"]["format_failures"] == 20
    assert city["stats"]["family_size"] == 1


AUTH_FAILS = """\
# synthetic: the current model's key is missing in CI
rules:
  - when: {}
    error: {kind: auth, message: "no API key in OPENAI_API_KEY"}
"""

STANDALONE_CANDIDATE = """\
# synthetic
seed: 7
rules:
  - name: breaks
    when: {user_contains: breaks}
    respond: FAIL
default: {respond: PASS}
"""


def test_replay_only_compares_with_what_the_golden_has_and_says_so(llm_project: LLMProject) -> None:
    project(llm_project, cases="- {id: breaks, input: breaks one}\n")
    llm_project.run("--llm-record", "--llm-samples=5").assert_outcomes(passed=1)
    llm_project.model("cur", AUTH_FAILS)
    llm_project.model("cand", STANDALONE_CANDIDATE)
    result = llm_project.run("--candidate-model=scripted/cand", "--llm-samples=5")
    result.stdout.fnmatch_lines(
        [
            "baseline    1 case compared with the golden's samples alone: the current model could not be called "
            "for more (AuthError: no API key in OPENAI_API_KEY)",
        ]
    )
    item = candidate_items(llm_project)["breaks"]
    assert item["stats"]["current"]["samples"] == 5  # the golden's
    assert item["stats"]["current"]["live_calls"] == 0
    assert item["stats"]["candidate"]["samples"] == 20  # the candidate is still topped up
    assert item["stats"]["replay_only"] == "AuthError: no API key in OPENAI_API_KEY"
    assert item["verdict"] == "REGRESSED"  # 5/5 -> 0/20 is p = 1/C(25, 5) = 1.9e-5 <= 0.025
    assert any("compared with what the golden has" in note for note in item["notes"])


FAILS_SOMETIMES = """\
# synthetic
extends: cur
seed: 11
rules:
  - name: steady
    when: {user_contains: steady}
    respond: PASS
    error: {kind: unavailable, probability: 0.4}
"""


def test_provider_failures_are_not_counted_as_model_failures(llm_project: LLMProject) -> None:
    project(llm_project, cases="- {id: steady, input: steady one}\n")
    llm_project.write_config(max_retries=0)
    llm_project.model("cand", FAILS_SOMETIMES)
    args = ("-k", "candidate", "--candidate-model=scripted/cand", "--llm-baseline=live", "--llm-samples=5")
    llm_project.run(*args).assert_outcomes(passed=1)
    item = candidate_items(llm_project)["steady"]
    candidate = item["stats"]["candidate"]
    assert candidate["errors"] > 0
    assert candidate["passes"] == candidate["samples"] == 5 - candidate["errors"]
    assert item["verdict"] == "UNCHANGED"
    assert any("candidate sample(s) not counted (RoutingFailed" in note for note in item["notes"])


def test_llm_live_with_samples_flags_a_drop_not_a_coin_flip(llm_project: LLMProject) -> None:
    project(llm_project)
    llm_project.run("--llm-record", "--llm-samples=5").assert_outcomes(passed=3)
    live = llm_project.run("--llm-live", "--llm-samples=5")
    live.assert_outcomes(passed=3)
    assert set(llm_project.verdicts().values()) == {"MATCH"}

    llm_project.model("cur", CURRENT.replace("    respond: PASS\ndefault", "    respond: FAIL\ndefault"))
    drifted = llm_project.run("--llm-live", "--llm-samples=5")
    drifted.assert_outcomes(passed=2, failed=1)
    drifted.stdout.fnmatch_lines(
        [
            "DRIFT: the live answers pass this case less often than the golden ones",
            "  golden     scripted/cur (golden) *   5/5   pass  100%",
            "  live       scripted/cur *   0/20  pass  0%",
        ]
    )


def test_verdicts_are_the_same_under_xdist(llm_project: LLMProject) -> None:
    project(llm_project)
    llm_project.run("--llm-record", "--llm-samples=5").assert_outcomes(passed=3)
    llm_project.run("--candidate-model=scripted/cand", "--llm-samples=5")
    alone = llm_project.report()
    llm_project.run_subprocess("-n", "2", "--candidate-model=scripted/cand", "--llm-samples=5")
    spread = llm_project.report()

    def essentials(report: dict[str, Any]) -> dict[str, Any]:
        return {
            i["nodeid"]: (i["verdict"], i["stats"] and (i["stats"]["p_regression"], i["stats"]["family_size"]))
            for i in report["items"]
        }

    assert essentials(spread) == essentials(alone)
    assert spread["summary"]["statistics"] == alone["summary"]["statistics"]


def test_an_improvement_is_listed_with_its_own_test(llm_project: LLMProject) -> None:
    project(llm_project, cases="- {id: breaks, input: breaks one}\n")
    llm_project.model("cur", CURRENT.replace("    respond: PASS\ndefault", "    respond: FAIL\ndefault"))
    llm_project.model("cand", CANDIDATE.replace("respond: FAIL", "respond: PASS"))
    args = ("-k", "candidate", "--candidate-model=scripted/cand", "--llm-baseline=live", "--llm-samples=5")
    llm_project.run(*args).stdout.fnmatch_lines(
        [
            "cases       0 regressed · 1 improved · 0 unchanged · 0 flaky",
            "  IMPROVED     test_answer?breaks? * 0/20 → 20/20 * Δ +100 pp ?+77, +100? * p=7.3e-12  (BH q=7.3e-12)",
            "gate: pass",
        ]
    )


def test_a_fixed_seed_is_flagged_because_samples_must_be_independent(llm_project: LLMProject) -> None:
    project(llm_project)
    llm_project.write_config(seed=42)
    result = llm_project.run("--co", "--llm-samples=5")
    result.stdout.fnmatch_lines(
        [
            "llmversion: seed = 42 is fixed; a provider that honours it may answer every sample alike, and the "
            "statistics assume independent samples",
        ]
    )


def test_without_a_golden_the_candidate_is_sampled_once_and_has_no_baseline(llm_project: LLMProject) -> None:
    project(llm_project, cases="- {id: steady, input: steady one}\n")
    result = llm_project.run("-k", "candidate", "--candidate-model=scripted/cand", "--llm-samples=5")
    result.assert_outcomes(passed=1)
    item = candidate_items(llm_project)["steady"]
    assert item["verdict"] == "NO_BASELINE"
    assert item["samples"] == 1  # no point drawing more: there is nothing to compare them with
    assert item["stats"] is None
    assert "record it: pytest --llm-record" in item["message"]


CANDIDATE_WITHOUT_KEY = """\
# synthetic
rules:
  - when: {}
    error: {kind: auth, message: "no API key in ANTHROPIC_API_KEY"}
"""


def test_a_lasting_provider_failure_is_an_error_and_stops_sampling(llm_project: LLMProject) -> None:
    project(llm_project, cases="- {id: coin, input: coin one}\n")
    llm_project.model("cand", CANDIDATE_WITHOUT_KEY)
    args = ("-k", "candidate", "--candidate-model=scripted/cand", "--llm-baseline=live", "--llm-samples=5")
    llm_project.run(*args).stdout.fnmatch_lines(["*AuthError: no API key in ANTHROPIC_API_KEY*"])
    item = candidate_items(llm_project)["coin"]
    assert item["verdict"] == "ERROR"
    assert item["samples"] == 1  # one refusal is enough: the next call would be refused alike
