"""Advance, hold or roll back: operating characteristics on simulated rollouts, and each stated rule."""

from __future__ import annotations

import random

import pytest

from pytest_llmversion.judge.sequential import PairCounts
from pytest_llmversion.rollout import Rollout
from pytest_llmversion.rollout.decide import (
    ArmStats,
    arm_stats,
    calls_failed,
    pair_counts,
    quantile_bounds,
    recommend,
)
from pytest_llmversion.rollout.records import CallRecord
from pytest_llmversion.rollout.simulate import simulate

DEFAULTS = Rollout(candidate_percent=50, min_stage_hours=0)


def test_equal_arms_advance_and_false_roll_backs_stay_under_five_percent_when_read_every_100_calls() -> None:
    result = simulate(0.02, 0.02, DEFAULTS, runs=200, every=100, max_calls=20_000, seed=1, rates_tested=2)
    assert result.share("rollback") <= 0.05
    assert result.share("advance") >= 0.9


def test_a_candidate_failing_7_percent_against_2_is_rolled_back_within_2000_calls_per_arm() -> None:
    result = simulate(0.02, 0.07, DEFAULTS, runs=200, every=100, max_calls=2_000, seed=2, rates_tested=2)
    assert result.share("rollback") >= 0.95
    assert result.share("advance") == 0


def test_a_candidate_inside_the_tolerance_is_not_rolled_back() -> None:
    result = simulate(0.02, 0.025, DEFAULTS, runs=100, every=100, max_calls=5_000, seed=3)
    assert result.share("rollback") <= 0.05


def _record(arm: str, *, error: str | None = None, latency: float = 100.0, cost: float | None = 0.001) -> CallRecord:
    return CallRecord(0.0, arm, 50, f"scripted/{arm}", "k", latency, error=error, cost_usd=None if error else cost)  # type: ignore[arg-type]


def test_pairs_are_made_by_order_and_arm_only() -> None:
    records = [
        _record("current"),
        _record("current"),
        _record("candidate", error="unavailable"),  # pairs with the latest current call: a loss
        _record("candidate"),
        _record("candidate"),  # the current calls are used up: it waits
        _record("current", error="unavailable"),  # pairs with the waiting candidate call: a win
        _record("current"),  # nothing waits: unpaired
    ]
    assert pair_counts(records, calls_failed) == PairCounts(pairs=3, losses=1, wins=1)


def test_arm_stats_summarise_one_arm() -> None:
    records = [_record("candidate", latency=v) for v in (100, 200, 300)] + [_record("candidate", error="auth")]
    stats = arm_stats([*records, _record("current")], "candidate", "scripted/candidate")
    assert (stats.calls, stats.errors, stats.error_rate, stats.latency(50), stats.cost_per_call) == (
        4,
        1,
        0.25,
        200.0,
        pytest.approx(0.001),
    )


def test_quantile_bounds_bracket_the_true_p95() -> None:
    rng = random.Random(5)
    misses = 0
    for _ in range(200):
        values = sorted(rng.random() for _ in range(400))
        low, high = quantile_bounds(values, 95)
        misses += not low <= 0.95 <= high
    assert misses / 200 <= 0.05 + 0.03  # each side misses at most 2.5 % of the time
    assert quantile_bounds([1.0, 2.0, 3.0], 95) == (2.0, float("inf"))  # no upper bound from 3 values


def _arms(current: list[CallRecord], candidate: list[CallRecord]) -> tuple[ArmStats, ArmStats]:
    records = current + candidate
    return arm_stats(records, "current", "scripted/current"), arm_stats(records, "candidate", "scripted/candidate")


def test_a_slower_candidate_is_rolled_back_by_the_p95_rule() -> None:
    rollout = Rollout(candidate_percent=50, min_calls=100, min_stage_hours=0)
    current = [_record("current", latency=100 + n % 50) for n in range(300)]
    candidate = [_record("candidate", latency=200 + n % 50) for n in range(300)]
    verdict = recommend(*_arms(current, candidate), PairCounts(), PairCounts(), rollout, hours_at_stage=1)
    assert verdict.action == "rollback"
    assert verdict.finding("p95 latency").state == "over"
    assert "+68 %, above the +25 % limit with 97.5 % confidence" in verdict.finding("p95 latency").detail


def test_a_dearer_candidate_is_rolled_back_by_the_cost_rule_only_when_a_limit_is_set() -> None:
    current = [_record("current", cost=0.001) for _ in range(300)]
    candidate = [_record("candidate", cost=0.0015) for _ in range(300)]
    limited = Rollout(candidate_percent=50, min_calls=100, max_cost_increase=20, min_stage_hours=0)
    verdict = recommend(*_arms(current, candidate), PairCounts(), PairCounts(), limited, hours_at_stage=1)
    assert verdict.finding("cost per call").state == "over"
    unlimited = Rollout(candidate_percent=50, min_calls=100, min_stage_hours=0)
    verdict = recommend(*_arms(current, candidate), PairCounts(), PairCounts(), unlimited, hours_at_stage=1)
    assert verdict.finding("cost per call").detail == "+50 % (no limit set)"


def test_too_early_holds_and_says_what_is_missing() -> None:
    rollout = Rollout(candidate_percent=10, min_calls=200)
    current = [_record("current") for _ in range(900)]
    candidate = [_record("candidate") for _ in range(100)]
    verdict = recommend(*_arms(current, candidate), PairCounts(100, 0, 0), PairCounts(), rollout, hours_at_stage=2)
    assert verdict.action == "hold"
    assert verdict.finding("calls").detail == "100 more per arm (min_calls = 200)"
    assert verdict.finding("time at stage").detail == "46.0 h more at 10 % (min_stage_hours = 48)"
    assert verdict.finding("error rate").detail.startswith("~")
    assert "more candidate calls (~" in verdict.finding("error rate").detail
    assert "in all at 10 %) to show it is within +50 %" in verdict.finding("error rate").detail


def test_at_stage_zero_with_nothing_against_it_the_advice_is_to_start() -> None:
    verdict = recommend(*_arms([], []), PairCounts(), PairCounts(), Rollout(), hours_at_stage=None)
    assert verdict.action == "advance"
