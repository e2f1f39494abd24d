"""Always-valid sequential tests for a rollout: does the candidate fail more often than allowed?

Standard library only, deterministic, like :mod:`pytest_llmversion.judge.stats`.

A rollout is watched while it runs: ``llmversion rollout status`` may be read every minute, by anyone,
for days. A fixed-sample test (Fisher's, a confidence interval) keeps its error rate for *one* look at a
sample size chosen in advance; read after every new batch of calls it raises false alarms far above its
level (``notes/statistics.md`` section 3.6 measured 10 % instead of 2.5 % for 20 looks). A rollout needs
a test whose guarantee holds at every sample size at once, so that acting on the first "roll back" is
still wrong at most alpha of the time. The choices, and why:

* **Pairs, not two rates.** Each candidate call is paired with the current model's call nearest to it in
  time; the pairing looks at arms and times only, never at outcomes. A pair where both calls failed, or
  both succeeded, says nothing about which model is better. A *discordant* pair (exactly one failed) goes
  against the candidate with probability theta = OR / (1 + OR), OR the odds ratio of the two failure
  rates. The shared failure rate, a nuisance that also moves over the day, drops out: "the candidate is
  no worse" means theta <= 1/2 whatever that rate is, and calls close in time share it. This is the
  discordant-pair setting of :func:`stats.sprt_llr`, made valid at any time below.
* **The tolerance is an odds ratio.** ``max_error_rate_increase = 50`` (percent) accepts OR <= 1.5; for
  rare failures OR is close to the ratio of the rates (2 % may become 3 %). A margin in percentage points
  would bring the nuisance rate back into the test.
* **A mixture of likelihood ratios.** Wald's SPRT tests one alternative theta1 and is slow when the truth
  lies elsewhere. Averaging the likelihood ratio over every alternative beyond the tolerance (uniformly
  over theta in [theta0, 1]) gives a statistic that, for any truth within the tolerance, is a nonnegative
  supermartingale starting at 1; by Ville's maximal inequality it *ever* reaches 1/alpha with probability
  at most alpha. How often, and when, anybody looks changes nothing. The mirror image (uniform over
  [0, theta0]) tests "the candidate is within the tolerance", which is what advancing needs. Both are
  closed forms in the regularized incomplete beta function.
* **Why not the alternatives.** A mixture over a normal approximation of the rate difference is too
  liberal with the handful of failures a 1 % stage sees; alpha-spending boundaries need the number of
  looks and the final sample size in advance, which a rollout does not have; a likelihood ratio over
  both rates with a maximised denominator is valid too, but it pays for learning two rates and so needs
  more calls for the same decision.

* **Zero failures prove no ratio.** When both arms almost never fail, discordant pairs are too rare to
  show any odds ratio, and a candidate with no failures in thousands of calls would wait forever. So
  "within" also accepts a second route: the candidate's own failure rate shown below a negligible level
  (a one-sample mixture over [0, level], the same construction). The two e-values are averaged, which
  is again an e-value: the guarantee stands, for the price of a doubled threshold.

What it assumes: calls are independent given their arm (calls of one key are treated as independent,
although a heavy user whose requests are all hard sits in one arm), and the guarantee is per rate, so
``rollout status`` splits alpha between the rates it tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pytest_llmversion.judge.stats import log_betainc

#: "above": the candidate fails more often than the tolerance allows; "within": it does not; "open": not yet known.
Reading = Literal["above", "within", "open"]

#: Extra pairs beyond which :func:`pairs_needed` gives up (the arms sit too close to the tolerance to tell).
MAX_PAIRS = 10**8


@dataclass(frozen=True)
class PairCounts:
    """Pairs of (current call, candidate call) close in time, and the discordant ones."""

    pairs: int = 0
    #: The candidate's call failed and the current model's did not.
    losses: int = 0
    #: The current model's call failed and the candidate's did not.
    wins: int = 0

    def __post_init__(self) -> None:
        if min(self.pairs, self.losses, self.wins) < 0 or self.losses + self.wins > self.pairs:
            raise ValueError(f"impossible pair counts: {self}")


def theta_for(ratio: float) -> float:
    """The share of discordant pairs that go against the candidate when its failure odds are ``ratio`` times."""
    if ratio <= 0:
        raise ValueError(f"an odds ratio must be positive, got {ratio}")
    return ratio / (1.0 + ratio)


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def log_e_above(losses: float, wins: float, ratio: float) -> float:
    """ln of the e-value against "the candidate's failure odds are at most ``ratio`` times the current's".

    The mixture, uniform over theta in [theta0, 1], of the likelihood ratio theta^L (1 - theta)^W against
    theta0^L (1 - theta0)^W. Counts may be fractional (for planning).
    """
    t = theta_for(ratio)
    mass = _log_beta(losses + 1, wins + 1) + log_betainc(wins + 1, losses + 1, 1.0 - t)
    return mass - math.log1p(-t) - (losses * math.log(t) + wins * math.log1p(-t))


def log_e_within(losses: float, wins: float, ratio: float) -> float:
    """ln of the e-value against "the candidate's failure odds are ``ratio`` times the current's, or more"."""
    t = theta_for(ratio)
    mass = _log_beta(losses + 1, wins + 1) + log_betainc(losses + 1, wins + 1, t)
    return mass - math.log(t) - (losses * math.log(t) + wins * math.log1p(-t))


def log_e_rate_below(failures: float, calls: float, level: float) -> float:
    """ln of the e-value against "one arm's failure rate is ``level`` or more" (mixture uniform over [0, level])."""
    if not 0 < level < 1:
        raise ValueError(f"a failure rate level must be between 0 and 1, got {level}")
    mass = _log_beta(failures + 1, calls - failures + 1) + log_betainc(failures + 1, calls - failures + 1, level)
    return mass - math.log(level) - (failures * math.log(level) + (calls - failures) * math.log1p(-level))


def _log_mean_exp(a: float, b: float) -> float:
    high = max(a, b)
    return high + math.log((math.exp(a - high) + math.exp(b - high)) / 2)


@dataclass(frozen=True)
class SequentialTest:
    """Both always-valid tests on one set of pairs, and what they say at level ``alpha``."""

    counts: PairCounts
    ratio: float
    alpha: float
    log_e_above: float
    #: "Within", by the odds ratio alone or averaged with the candidate's rate shown negligible.
    log_e_within: float

    @property
    def threshold(self) -> float:
        return math.log(1.0 / self.alpha)

    @property
    def reading(self) -> Reading:
        if self.log_e_above >= self.threshold:
            return "above"
        if self.log_e_within >= self.threshold:
            return "within"
        return "open"

    @property
    def e_value(self) -> float:
        """The e-value of the reading (or the larger of the two while open), capped for display."""
        return math.exp(min(700.0, max(self.log_e_above, self.log_e_within)))


@dataclass(frozen=True)
class NegligibleRate:
    """The candidate's own calls, for the second route to "within": its rate shown below ``level``."""

    failures: int
    calls: int
    level: float


def _log_e_within(losses: float, wins: float, ratio: float, negligible: NegligibleRate | None) -> float:
    by_ratio = log_e_within(losses, wins, ratio)
    if negligible is None:
        return by_ratio
    by_level = log_e_rate_below(negligible.failures, negligible.calls, negligible.level)
    return _log_mean_exp(by_ratio, by_level)


def sequential_test(
    counts: PairCounts, ratio: float, alpha: float, *, negligible: NegligibleRate | None = None
) -> SequentialTest:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    above = log_e_above(counts.losses, counts.wins, ratio)
    return SequentialTest(counts, ratio, alpha, above, _log_e_within(counts.losses, counts.wins, ratio, negligible))


def pairs_needed(
    counts: PairCounts,
    ratio: float,
    alpha: float,
    *,
    failure_rate: float,
    negligible: NegligibleRate | None = None,
) -> tuple[Reading, int | None]:
    """Which reading the calls so far lean to, and how many more pairs like them would reach it.

    Before any discordant pair the guess is "within", both arms failing at ``failure_rate`` (the current
    model's rate so far). None when the lean sits exactly on the tolerance or needs more than
    :data:`MAX_PAIRS`: the arms are too close to the tolerance to tell apart. Planning assumes one new
    candidate call per new pair (the candidate is the smaller arm until the last stages).
    """
    threshold = math.log(1.0 / alpha)
    discordant = counts.losses + counts.wins
    if discordant and counts.pairs:
        rate = discordant / counts.pairs
        share = (counts.losses + 0.5) / (discordant + 1.0)
    else:
        p = min(max(failure_rate, 1e-4), 0.5)
        rate, share = 2 * p * (1 - p), 0.5
    t = theta_for(ratio)
    own_rate = 0.0
    if negligible is not None and negligible.calls:
        own_rate = negligible.failures / negligible.calls
    if share == t and (negligible is None or own_rate >= negligible.level):
        return "open", None
    reading: Reading = "above" if share > t else "within"

    def reached(more: float) -> bool:
        new = more * rate
        losses, wins = counts.losses + new * share, counts.wins + new * (1 - share)
        if reading == "above":
            return log_e_above(losses, wins, ratio) >= threshold
        within = log_e_within(losses, wins, ratio)
        if negligible is not None:
            failures = negligible.failures + more * own_rate
            level = log_e_rate_below(failures, negligible.calls + more, negligible.level)
            within = _log_mean_exp(within, level)
        return within >= threshold

    if reached(0):
        return reading, 0
    high = 1
    while not reached(high):
        high *= 2
        if high > MAX_PAIRS:
            return reading, None
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if reached(middle) else (middle, high)
    return reading, high
