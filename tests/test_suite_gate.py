"""The session-end gate on report items, without pytest: BH across cases, the suite test, the reasons."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_llmversion.judge.comparison import GatePolicy
from pytest_llmversion.judge.suite_gate import suite_statistics
from pytest_llmversion.report.schema import ReportItem, build_summary


def case(
    name: str,
    current: tuple[int, int],
    candidate: tuple[int, int],
    *,
    p_regression: float = 1.0,
    p_improvement: float = 1.0,
    verdict: str = "FLAKY",
    family_size: int = 2,
    stage1: tuple[int, int] | None = None,
) -> ReportItem:
    """A compared candidate item as the item runner reports it."""
    first = stage1 or (min(current[0], 5), min(candidate[0], 5))

    def arm(counts: tuple[int, int], stage_one: int) -> dict[str, Any]:
        passes, samples = counts
        return {
            "passes": passes,
            "samples": samples,
            "stage1_passes": stage_one,
            "stage1_samples": 5,
            "errors": 0,
            "format_failures": 0,
            "live_calls": samples,
            "replayed_calls": 0,
        }

    stats = {
        "k": 5,
        "max_samples": 20,
        "baseline": "live",
        "current": arm(current, first[0]),
        "candidate": arm(candidate, first[1]),
        "topped_up": current[1] > 5,
        "p_regression": p_regression,
        "p_improvement": p_improvement,
        "family_size": family_size,
        "alpha_case": 0.025 / family_size,
        "decided": "item",
    }
    return ReportItem(
        nodeid=f"tests/test_x.py::test_x[{name}-candidate]",
        test="tests/test_x.py::test_x",
        case=name,
        role="candidate",
        model="scripted/cand",
        verdict=verdict,
        passed=verdict not in ("REGRESSED", "FORMAT_BREAK"),
        stats=stats,
    )


def test_bh_flags_at_session_end_what_each_item_alone_could_not() -> None:
    # each p is above the per-item 0.025 / 2 = 0.0125, but BH at 0.025 takes both (0.02 * 2 / 2 <= 0.025)
    items = [
        case("a", (20, 20), (15, 20), p_regression=0.020),
        case("b", (20, 20), (15, 20), p_regression=0.022),
    ]
    result = suite_statistics(items, GatePolicy())
    assert result is not None
    assert [i.verdict.value for i in items] == ["REGRESSED", "REGRESSED"]
    assert [i.passed for i in items] == [False, False]
    assert items[0].stats is not None
    assert items[0].stats["decided"] == "suite"
    assert items[0].stats["q_regression"] == pytest.approx(0.022)
    assert items[0].notes == [
        "REGRESSED at session end: BH q=0.022 ≤ 0.025 across 2 compared cases "
        "(its own p=0.02 was above the per-item 0.0125)"
    ]
    summary = build_summary(items, statistics=result)
    assert summary.gate == "fail"
    assert summary.gate_reasons[0] == "2 candidate REGRESSED: test_x[a], test_x[b]"


def test_cases_that_were_not_tested_still_count_in_the_family() -> None:
    # the same two p-values among 4 collected cases: BH needs 0.02 * 4 / 2 = 0.04 > 0.025
    items = [
        case("a", (20, 20), (15, 20), p_regression=0.020, family_size=4),
        case("b", (20, 20), (15, 20), p_regression=0.022, family_size=4),
    ]
    result = suite_statistics(items, GatePolicy())
    assert result is not None
    assert result.family_size == 4
    assert [i.verdict.value for i in items] == ["FLAKY", "FLAKY"]
    assert result.gate_reasons == []


def test_improvements_get_their_own_family_and_never_gate() -> None:
    items = [case("a", (0, 20), (20, 20), p_improvement=1e-6, stage1=(0, 5)), case("b", (5, 5), (5, 5))]
    result = suite_statistics(items, GatePolicy())
    assert result is not None
    assert items[0].verdict.value == "IMPROVED"
    assert items[0].passed
    assert build_summary(items, statistics=result).gate == "pass"


def test_the_suite_test_uses_stage_one_counts_and_names_them() -> None:
    items = [case(f"c{i}", (5, 5), (3, 5), stage1=(5, 3), family_size=6) for i in range(6)]
    result = suite_statistics(items, GatePolicy())
    assert result is not None
    assert result.suite_test is not None
    assert result.suite_test.current_passes == 30
    assert result.suite_test.candidate_passes == 18
    assert result.suite_test.failed
    assert result.gate_reasons == [
        f"suite test: the candidate passed 18/30 stage-one samples, the current model 30/30; exact stratified "
        f"p={result.suite_test.p:.1e} ≤ 0.025"
    ]
    assert result.difference is not None
    assert result.difference.mean == pytest.approx(-0.4)
    assert result.noninferiority.status == "worse"


def test_lenient_budget_splits_evenly() -> None:
    result = suite_statistics([case("a", (5, 5), (5, 5)), case("b", (5, 5), (5, 5))], GatePolicy(alpha=0.1))
    assert result is not None
    assert (result.budget.suite, result.budget.per_case) == (0.05, 0.05)
    assert result.alpha_case == pytest.approx(0.025)
    assert result.verdicts == {"FLAKY": 2}


def test_no_compared_items_no_statistics() -> None:
    item = case("a", (5, 5), (5, 5))
    item.stats = None
    assert suite_statistics([item], GatePolicy()) is None
