"""The session-end gate, without pytest: each case judged by the real per-case code from its samples, then
Benjamini-Hochberg across cases, the suite test and the reasons the gate gives."""

from __future__ import annotations

import pytest

from pytest_llmversion.checks import CheckResult
from pytest_llmversion.judge.comparison import GatePolicy, judge_case
from pytest_llmversion.judge.samples import SampleResult
from pytest_llmversion.judge.suite_gate import assess
from pytest_llmversion.report.schema import ItemResult
from pytest_llmversion.run.finish import gate_reasons
from pytest_llmversion.verdict import Verdict

K = 5


def samples(passes: int, total: int, first: int | None = None) -> list[SampleResult]:
    """``total`` samples of which ``passes`` pass, ``first`` of them among the first K (stage one)."""
    first = min(passes, K) if first is None else first
    passing = set(range(first)) | set(range(K, K + passes - first))
    out = []
    for index in range(total):
        sample = SampleResult(index)
        sample.add_checks(None, [CheckResult("answer", "content", index in passing, float(index in passing), "")])
        out.append(sample)
    return out


def case(
    name: str,
    current: tuple[int, int],
    candidate: tuple[int, int],
    *,
    family_size: int = 2,
    stage1: tuple[int, int] | None = None,
) -> ItemResult:
    """A compared candidate item as its kind judges it: ``judge_case`` on the two models' samples."""
    first_a, first_b = stage1 or (None, None)
    outcome, stats = judge_case(
        samples(*current, first=first_a),
        samples(*candidate, first=first_b),
        k=K,
        policy=GatePolicy(),
        threshold=None,
        family_size=family_size,
    )
    return ItemResult(
        nodeid=f"tests/test_x.py::test_x[{name}-candidate]",
        test="tests/test_x.py::test_x",
        case=name,
        role="candidate",
        model="scripted/cand",
        verdict=outcome.verdict,
        stats=stats.statistics(),
    )


def test_bh_flags_at_session_end_what_each_item_alone_could_not() -> None:
    # 20/20 -> 15/20 is p = 0.0236: above the per-item 0.025 / 2 = 0.0125, but BH at 0.025 takes both
    items = [case(n, (20, 20), (15, 20), stage1=(5, 4)) for n in "ab"]
    assert [i.verdict.value for i in items] == ["FLAKY", "FLAKY"]
    suite = assess(items, GatePolicy())
    judged = suite.apply(items)
    assert [i.verdict.value for i in judged] == ["REGRESSED", "REGRESSED"]
    assert [i.passed for i in judged] == [False, False]
    assert [i.verdict.value for i in items] == ["FLAKY", "FLAKY"]  # the items given are not changed
    stats = judged[0].stats
    assert stats is not None
    assert (stats.decided, stats.q_regression) == ("suite", pytest.approx(0.02356, abs=1e-5))
    assert judged[0].notes == [
        "REGRESSED at session end: BH q=0.024 ≤ 0.025 across 2 compared cases "
        "(its own p=0.024 was above the per-item 0.0125)"
    ]
    assert gate_reasons(judged, suite.statistics, [], False)[0] == "2 candidate REGRESSED: test_x[a], test_x[b]"


def test_cases_that_were_not_tested_still_count_in_the_family() -> None:
    # the same two p-values among 4 collected cases: BH needs 0.0236 * 4 / 2 = 0.047 > 0.025
    items = [case(n, (20, 20), (15, 20), family_size=4, stage1=(5, 4)) for n in "ab"]
    suite = assess(items, GatePolicy())
    assert suite.statistics is not None
    assert suite.statistics.family_size == 4
    assert [i.verdict.value for i in suite.apply(items)] == ["FLAKY", "FLAKY"]
    assert suite.statistics.gate_reasons == []


def test_an_error_case_is_never_relabelled_and_counts_with_p_one() -> None:
    broken = case("a", (20, 20), (15, 20), stage1=(5, 4)).model_copy(update={"verdict": Verdict.ERROR})
    items = [broken, case("b", (20, 20), (15, 20), stage1=(5, 4))]
    suite = assess(items, GatePolicy())
    judged = suite.apply(items)
    assert judged[0].verdict.value == "ERROR"
    assert suite.statistics is not None
    assert suite.statistics.cases == 1  # the ERROR case is in the family, not in the tests


def test_improvements_get_their_own_family_and_never_gate() -> None:
    items = [case(n, (15, 20), (20, 20), stage1=(4, 5)) for n in "ab"]
    assert items[0].verdict.value == "FLAKY"  # p = 0.0236 for improvement: above the per-item level
    suite = assess(items, GatePolicy())
    judged = suite.apply(items)
    assert judged[0].verdict.value == "IMPROVED"
    assert judged[0].passed
    assert gate_reasons(judged, suite.statistics, [], False) == []


def test_the_suite_test_uses_stage_one_counts_and_names_them() -> None:
    items = [case(f"c{i}", (5, 5), (3, 5), family_size=6) for i in range(6)]
    suite = assess(items, GatePolicy())
    result = suite.statistics
    assert result is not None
    assert result.suite_test is not None
    assert (result.suite_test.current_passes, result.suite_test.candidate_passes) == (30, 18)
    assert result.suite_test.failed
    assert result.gate_reasons == [
        f"suite test: the candidate passed 18/30 stage-one samples, the current model 30/30; exact stratified "
        f"p={result.suite_test.p:.1e} ≤ 0.025"
    ]
    assert result.difference is not None
    assert result.difference.mean == pytest.approx(-0.4)
    assert result.noninferiority.status == "worse"


def test_lenient_budget_splits_evenly() -> None:
    suite = assess([case("a", (5, 5), (5, 5)), case("b", (5, 5), (5, 5))], GatePolicy(alpha=0.1))
    result = suite.statistics
    assert result is not None
    assert (result.budget.suite, result.budget.per_case) == (0.05, 0.05)
    assert result.alpha_case == pytest.approx(0.025)
    assert result.verdicts == {"UNCHANGED": 2}


def test_no_compared_items_no_statistics() -> None:
    item = case("a", (5, 5), (5, 5)).model_copy(update={"stats": None})
    assert assess([item], GatePolicy()).statistics is None
