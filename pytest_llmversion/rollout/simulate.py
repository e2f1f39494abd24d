"""Simulated rollouts: what the sequential error-rate test decides, and after how many calls.

Each simulated rollout sends calls to both arms in equal numbers, failing at the given rates, and reads the
test after every ``every`` calls per arm, as somebody running ``llmversion rollout status`` that often
would; it stops at the first "above the tolerance" (roll back) or "within" (advance). Over many runs
this measures the false roll-back rate of equal arms and how many calls a real regression needs, for
the project's own ``alpha`` and ``max_error_rate_increase`` (``llmversion rollout simulate``). Only the
error-rate test is simulated; latency, cost and time at a stage are stated rules, not statistics.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pytest_llmversion.judge.sequential import NegligibleRate, PairCounts, sequential_test
from pytest_llmversion.rollout.decide import Action
from pytest_llmversion.rollout.settings import Rollout


@dataclass(frozen=True)
class SimulatedRollout:
    action: Action
    #: Calls per arm when the test decided (or when the run gave up, for "hold").
    calls_per_arm: int


@dataclass(frozen=True)
class Simulation:
    current_error: float
    candidate_error: float
    every: int
    max_calls: int
    alpha: float
    runs: tuple[SimulatedRollout, ...]

    def share(self, action: Action) -> float:
        return sum(run.action == action for run in self.runs) / len(self.runs)

    def calls(self, action: Action, quantile: float) -> int | None:
        """Calls per arm by which ``quantile`` of the runs that ended in ``action`` had decided."""
        found = sorted(run.calls_per_arm for run in self.runs if run.action == action)
        if not found:
            return None
        return found[min(len(found) - 1, max(0, round(quantile * len(found)) - 1))]


def _binomial(n: int, p: float, rng: random.Random) -> int:
    """A Binomial(n, p) draw by inversion (``random.binomialvariate`` is Python 3.12+)."""
    if p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if p > 0.5:
        return n - _binomial(n, 1.0 - p, rng)
    u, k = rng.random(), 0
    term = (1.0 - p) ** n
    total = term
    while u > total and k < n:
        term *= (n - k) / (k + 1) * p / (1.0 - p)
        k += 1
        total += term
    return k


def simulate_one(
    current_error: float,
    candidate_error: float,
    rollout: Rollout,
    *,
    every: int,
    max_calls: int,
    alpha: float,
    rng: random.Random,
) -> SimulatedRollout:
    ratio = 1 + rollout.max_error_rate_increase / 100
    level = rollout.negligible_failure_rate
    # each pair of calls: both fail, only the candidate fails (a loss), only the current fails (a win), neither
    p_both = current_error * candidate_error
    p_loss = candidate_error * (1 - current_error)
    p_win = current_error * (1 - candidate_error)
    losses = wins = failures = calls = 0
    while calls < max_calls:
        batch = min(every, max_calls - calls)
        both = _binomial(batch, p_both, rng)
        lost = _binomial(batch - both, p_loss / (1 - p_both), rng)
        won = _binomial(batch - both - lost, p_win / (1 - p_both - p_loss), rng) if p_both + p_loss < 1 else 0
        losses, wins, calls = losses + lost, wins + won, calls + batch
        failures += both + lost
        negligible = None if level is None else NegligibleRate(failures, calls, level / 100)
        reading = sequential_test(PairCounts(calls, losses, wins), ratio, alpha, negligible=negligible).reading
        if reading == "above":
            return SimulatedRollout("rollback", calls)
        if reading == "within":
            return SimulatedRollout("advance", calls)
    return SimulatedRollout("hold", calls)


def simulate(
    current_error: float,
    candidate_error: float,
    rollout: Rollout,
    *,
    runs: int = 200,
    every: int = 100,
    max_calls: int = 20_000,
    seed: int = 0,
    rates_tested: int = 1,
) -> Simulation:
    """``runs`` rollouts; ``rates_tested = 2`` splits alpha as status does when quality is measured too."""
    for name, rate in (("current_error", current_error), ("candidate_error", candidate_error)):
        if not 0 <= rate < 1:
            raise ValueError(f"{name} = {rate}: expected a rate from 0 to below 1, e.g. 0.02")
    rng = random.Random(seed)
    alpha = rollout.alpha / rates_tested
    done = tuple(
        simulate_one(current_error, candidate_error, rollout, every=every, max_calls=max_calls, alpha=alpha, rng=rng)
        for _ in range(runs)
    )
    return Simulation(current_error, candidate_error, every, max_calls, alpha, done)
