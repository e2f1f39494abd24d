"""Advance, hold or roll back: the two arms compared, rule by rule, from the thresholds in config.

* **Error rate and quality** (the share of sampled calls failing the checks): the always-valid
  sequential tests of :mod:`pytest_llmversion.judge.sequential` on pairs of calls close in time, at level
  ``alpha`` split between the rates measured. "Above the tolerance" rolls back; "within" is needed to
  advance. Reading the status often does not make a false roll-back likelier.
* **p95 latency** (answered calls): judged once each arm has ``min_calls``; over the limit when even
  the distribution-free 97.5 % bounds (order statistics) put the candidate's p95 above the current's
  by more than ``max_p95_latency_increase``; within it when the estimates are; otherwise open.
* **Cost per answered call**: judged once each arm has ``min_calls`` priced calls; over the limit
  when the candidate's mean exceeds the current's by more than ``max_cost_increase``.
* **Advancing** also needs ``min_calls`` per arm and ``min_stage_hours`` at the stage.

Any rule over its limit: roll back. Every rule satisfied: advance. Otherwise hold, and each open rule
says what it still needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from pytest_llmversion.governance.cost import percentile
from pytest_llmversion.judge.sequential import NegligibleRate, PairCounts, pairs_needed, sequential_test
from pytest_llmversion.judge.stats import betainc
from pytest_llmversion.rollout.arms import Arm
from pytest_llmversion.rollout.records import CallRecord
from pytest_llmversion.rollout.settings import Rollout

Action = Literal["advance", "hold", "rollback"]
State = Literal["over", "ok", "open"]
#: Unpaired calls kept while waiting for the other arm (pairing is last-in first-out: nearest in time).
_PENDING = 64


@dataclass(frozen=True)
class ArmStats:
    arm: Arm
    model: str
    calls: int = 0
    errors: int = 0
    fallbacks: int = 0
    #: Latencies of answered calls, sorted.
    latencies: tuple[float, ...] = ()
    cost: float = 0.0
    priced: int = 0
    scored: int = 0
    checks_failed: int = 0
    quality_sum: float = 0.0
    keys: int = 0

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None

    def latency(self, q: float) -> float | None:
        return percentile(self.latencies, q)

    @property
    def cost_per_call(self) -> float | None:
        return self.cost / self.priced if self.priced else None

    @property
    def quality_rate(self) -> float | None:
        """The share of scored calls that passed every check."""
        return 1 - self.checks_failed / self.scored if self.scored else None

    @property
    def quality_mean(self) -> float | None:
        return self.quality_sum / self.scored if self.scored else None


def arm_stats(records: Sequence[CallRecord], arm: Arm, model: str) -> ArmStats:
    mine = [r for r in records if r.arm == arm]
    answered = [r for r in mine if r.error is None]
    priced = [r for r in answered if r.cost_usd is not None]
    scored = [r for r in mine if r.quality is not None]
    return ArmStats(
        arm,
        model,
        calls=len(mine),
        errors=len(mine) - len(answered),
        fallbacks=sum(r.fallback for r in mine),
        latencies=tuple(sorted(r.latency_ms for r in answered)),
        cost=sum(r.cost_usd or 0.0 for r in priced),
        priced=len(priced),
        scored=len(scored),
        checks_failed=sum(not r.quality_passed for r in scored),
        quality_sum=sum(r.quality or 0.0 for r in scored),
        keys=len({r.key for r in mine}),
    )


def pair_counts(records: Sequence[CallRecord], failed: Callable[[CallRecord], bool | None]) -> PairCounts:
    """Pair each call with the nearest unpaired call of the other arm, in the order they were made.

    Only arms and order decide the pairs, never outcomes, which keeps the sequential test valid.
    ``failed`` gives None for a call that does not count (e.g. not scored for quality).
    """
    waiting: dict[str, list[bool]] = {"current": [], "candidate": []}
    pairs = losses = wins = 0
    for record in records:
        outcome = failed(record)
        if outcome is None:
            continue
        other = waiting["candidate" if record.arm == "current" else "current"]
        if not other:
            own = waiting[record.arm]
            own.append(outcome)
            if len(own) > _PENDING:
                del own[0]
            continue
        partner = other.pop()
        current, candidate = (outcome, partner) if record.arm == "current" else (partner, outcome)
        pairs += 1
        losses += candidate and not current
        wins += current and not candidate
    return PairCounts(pairs, losses, wins)


def calls_failed(record: CallRecord) -> bool:
    return record.error is not None


def checks_failed(record: CallRecord) -> bool | None:
    return None if record.quality_passed is None else not record.quality_passed


@dataclass(frozen=True)
class Finding:
    rule: str
    state: State
    detail: str


@dataclass(frozen=True)
class Recommendation:
    action: Action
    findings: tuple[Finding, ...]

    def finding(self, rule: str) -> Finding:
        return next(f for f in self.findings if f.rule == rule)


def recommend(
    current: ArmStats,
    candidate: ArmStats,
    errors: PairCounts,
    quality: PairCounts,
    rollout: Rollout,
    *,
    hours_at_stage: float | None,
) -> Recommendation:
    measured = 2 if current.scored and candidate.scored else 1
    alpha = rollout.alpha / measured
    share = rollout.candidate_percent / 100
    own = _negligible(candidate.errors, candidate.calls, rollout)
    findings = [
        _rate_rule("error rate", errors, rollout.max_error_rate_increase, alpha, current.error_rate, share, own),
        _quality_rule(current, candidate, quality, rollout, alpha, share),
        _latency_rule(current, candidate, rollout),
        _cost_rule(current, candidate, rollout),
        _volume_rule(current, candidate, rollout),
        _time_rule(hours_at_stage, rollout),
    ]
    states = {f.state for f in findings}
    action: Action = "rollback" if "over" in states else "advance" if states == {"ok"} else "hold"
    if rollout.candidate_percent == 0 and action == "hold":
        action = "advance"  # nothing to watch yet: start the rollout
    return Recommendation(action, tuple(findings))


def _more_calls(pairs: int | None, share: float) -> str:
    if pairs is None:
        return "the arms are too close to the tolerance to tell apart"
    if share <= 0:
        return "the candidate serves no traffic at 0 %"
    if share >= 1:
        return "no new pairs at 100 % (the current model serves nobody): decide on the pairs so far"
    minority = "candidate" if share <= 0.5 else "current"
    in_all = math.ceil(pairs / min(share, 1 - share))
    return f"~{pairs:,} more {minority} calls (~{in_all:,} in all at {share * 100:g} %)"


def _negligible(failures: int, calls: int, rollout: Rollout) -> NegligibleRate | None:
    level = rollout.negligible_failure_rate
    return None if level is None else NegligibleRate(failures, calls, level / 100)


def _rate_rule(
    rule: str,
    counts: PairCounts,
    increase: float,
    alpha: float,
    base_rate: float | None,
    share: float,
    negligible: NegligibleRate | None,
) -> Finding:
    test = sequential_test(counts, 1 + increase / 100, alpha, negligible=negligible)
    evidence = f"e = {test.e_value:.3g} vs {1 / alpha:g}, {counts.pairs:,} pairs"
    if test.reading == "above":
        return Finding(rule, "over", f"above the +{increase:g} % tolerance ({evidence})")
    if test.reading == "within":
        return Finding(rule, "ok", f"within the +{increase:g} % tolerance ({evidence})")
    lean, more = pairs_needed(counts, 1 + increase / 100, alpha, failure_rate=base_rate or 0.0, negligible=negligible)
    goal = "confirm it is above" if lean == "above" else "show it is within"
    return Finding(rule, "open", f"{_more_calls(more, share)} to {goal} +{increase:g} % ({evidence})")


def _quality_rule(
    current: ArmStats, candidate: ArmStats, counts: PairCounts, rollout: Rollout, alpha: float, share: float
) -> Finding:
    if not current.scored and not candidate.scored:
        return Finding("quality", "ok", "not measured (connect(..., quality_checks=[...]) scores a sample)")
    failing = None if current.quality_rate is None else 1 - current.quality_rate
    own = _negligible(candidate.checks_failed, candidate.scored, rollout)
    return _rate_rule("quality", counts, rollout.max_check_failure_increase, alpha, failing, share, own)


def quantile_bounds(values: Sequence[float], q: float, confidence: float = 0.975) -> tuple[float, float]:
    """Distribution-free one-sided bounds for the q-th percentile of sorted ``values``, from order statistics.

    The k-th smallest of n values lies below the true quantile with probability P(Binomial(n, q) >= k):
    the lower bound is the largest such order statistic with that probability >= ``confidence``, the upper
    bound the mirror image. Without enough values a bound is 0 or infinity.
    """
    n, p = len(values), q / 100

    def at_most(k: int) -> float:  # P(Binomial(n, p) <= k), increasing in k
        return 0.0 if k < 0 else 1.0 if k >= n else betainc(n - k, k + 1, 1 - p)

    def first(condition: Callable[[int], bool]) -> int:  # the smallest k in [0, n] where condition turns true
        low, high = -1, n
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (low, middle) if condition(middle) else (middle, high)
        return high

    # lower: the largest rank k with P(Binomial >= k) >= confidence, i.e. at_most(k - 1) <= 1 - confidence
    lower = first(lambda j: at_most(j) > 1 - confidence)
    # upper: the smallest rank k with at_most(k - 1) >= confidence
    upper = first(lambda j: at_most(j) >= confidence) + 1
    return (values[lower - 1] if lower >= 1 else 0.0), (values[upper - 1] if upper <= n else math.inf)


def _change(now: float | None, new: float | None) -> str:
    return f"{round((new / now - 1) * 100):+d} %" if now and new else "n/a"


def _latency_rule(current: ArmStats, candidate: ArmStats, rollout: Rollout) -> Finding:
    limit = rollout.max_p95_latency_increase
    shortest = min(len(current.latencies), len(candidate.latencies))
    now, new = current.latency(95), candidate.latency(95)
    change = _change(now, new)
    if limit is None:
        return Finding("p95 latency", "ok", f"{change} (no limit set)")
    if shortest < rollout.min_calls:
        return Finding("p95 latency", "open", f"{rollout.min_calls - shortest:,} more answered calls per arm")
    assert now is not None
    assert new is not None
    allowed = 1 + limit / 100
    if quantile_bounds(candidate.latencies, 95)[0] > quantile_bounds(current.latencies, 95)[1] * allowed:
        return Finding("p95 latency", "over", f"{change}, above the +{limit:g} % limit with 97.5 % confidence")
    if new <= now * allowed:
        return Finding("p95 latency", "ok", f"{change} (limit +{limit:g} %)")
    return Finding("p95 latency", "open", f"{change}, over the +{limit:g} % limit but not yet confidently")


def _cost_rule(current: ArmStats, candidate: ArmStats, rollout: Rollout) -> Finding:
    limit = rollout.max_cost_increase
    now, new = current.cost_per_call, candidate.cost_per_call
    change = _change(now, new)
    if limit is None:
        return Finding("cost per call", "ok", f"{change} (no limit set)")
    shortest = min(current.priced, candidate.priced)
    if shortest < rollout.min_calls:
        unpriced = " (is the model in the catalogue?)" if not shortest and (current.calls or candidate.calls) else ""
        return Finding("cost per call", "open", f"{rollout.min_calls - shortest:,} more priced calls per arm{unpriced}")
    assert now is not None
    assert new is not None
    if new > now * (1 + limit / 100):
        return Finding("cost per call", "over", f"{change}, above the +{limit:g} % limit")
    return Finding("cost per call", "ok", f"{change} (limit +{limit:g} %)")


def _volume_rule(current: ArmStats, candidate: ArmStats, rollout: Rollout) -> Finding:
    shortest = min(current.calls, candidate.calls)
    if shortest >= rollout.min_calls:
        return Finding("calls", "ok", f"{shortest:,} or more per arm (min_calls = {rollout.min_calls})")
    return Finding("calls", "open", f"{rollout.min_calls - shortest:,} more per arm (min_calls = {rollout.min_calls})")


def _time_rule(hours: float | None, rollout: Rollout) -> Finding:
    at = f"{rollout.candidate_percent:g} %"
    if hours is not None and hours >= rollout.min_stage_hours:
        return Finding("time at stage", "ok", f"{hours:.0f} h at {at} (min_stage_hours = {rollout.min_stage_hours:g})")
    left = rollout.min_stage_hours - (hours or 0.0)
    return Finding(
        "time at stage", "open", f"{left:.1f} h more at {at} (min_stage_hours = {rollout.min_stage_hours:g})"
    )
