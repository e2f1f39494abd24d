"""The always-valid sequential tests: exact values, the guarantee under repeated looks, planning."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from pytest_llmversion.judge.sequential import (
    NegligibleRate,
    PairCounts,
    log_e_above,
    log_e_rate_below,
    log_e_within,
    pairs_needed,
    sequential_test,
)
from pytest_llmversion.judge.stats import betainc, log_betainc

THETA = Fraction(3, 5)  # odds ratio 1.5


def _binomial_cdf(k: int, n: int, p: Fraction) -> Fraction:
    return sum((math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1)), Fraction(0))


def _exact_log_e(losses: int, wins: int, above: bool) -> float:
    """The mixture e-value in exact rationals: the beta integral is a binomial tail for integer counts."""
    n = losses + wins + 1
    beta = Fraction(math.factorial(losses) * math.factorial(wins), math.factorial(n))
    below = _binomial_cdf(losses, n, THETA)
    mass = beta * below / (1 - THETA) if above else beta * (1 - below) / THETA
    value = mass / (THETA**losses * (1 - THETA) ** wins)
    return math.log(value.numerator) - math.log(value.denominator)


@pytest.mark.parametrize(("losses", "wins"), [(0, 0), (5, 0), (12, 3), (40, 25), (300, 100), (700, 650), (10, 2000)])
def test_both_e_values_match_exact_rational_arithmetic(losses: int, wins: int) -> None:
    assert log_e_above(losses, wins, 1.5) == pytest.approx(_exact_log_e(losses, wins, True), abs=1e-9)
    assert log_e_within(losses, wins, 1.5) == pytest.approx(_exact_log_e(losses, wins, False), abs=1e-9)


def test_log_betainc_agrees_with_betainc_and_goes_where_it_underflows() -> None:
    assert log_betainc(3, 4, 0.3) == pytest.approx(math.log(betainc(3, 4, 0.3)), rel=1e-12)
    assert log_betainc(3000, 4000, 0.2) < -700  # betainc would be 0.0 here
    assert log_betainc(40, 2, 0.9999) == pytest.approx(math.log(betainc(40, 2, 0.9999)), rel=1e-9)


def test_one_sample_route_needs_about_a_thousand_clean_calls_to_show_a_rate_below_half_a_percent() -> None:
    threshold = math.log(2 / 0.05)  # averaged with the ratio route: a doubled threshold
    assert log_e_rate_below(0, 700, 0.005) < threshold < log_e_rate_below(0, 1100, 0.005)
    assert log_e_rate_below(30, 1000, 0.005) < 0  # 3 % failing is no evidence of a rate below 0.5 %


def test_no_pairs_is_no_evidence_either_way() -> None:
    test = sequential_test(PairCounts(0, 0, 0), 1.5, 0.05)
    assert (test.reading, test.e_value) == ("open", pytest.approx(1.0))


def test_a_one_sided_lopsided_record_reads_above_and_the_mirror_reads_within() -> None:
    assert sequential_test(PairCounts(1000, 60, 10), 1.5, 0.05).reading == "above"
    assert sequential_test(PairCounts(1000, 10, 60), 1.5, 0.05).reading == "within"


def test_false_alarms_stay_under_alpha_when_read_after_every_pair() -> None:
    """The guarantee that a fixed-sample test lacks: 200 discordant pairs at the tolerance, read after each."""
    rng = random.Random(7)
    alarms = 0
    for _ in range(200):
        losses = wins = 0
        for _ in range(200):
            if rng.random() < 0.6:  # exactly at the tolerance: odds ratio 1.5
                losses += 1
            else:
                wins += 1
            if log_e_above(losses, wins, 1.5) >= math.log(1 / 0.05):
                alarms += 1
                break
    assert alarms / 200 <= 0.05


def test_pairs_needed_plans_in_the_direction_the_data_lean() -> None:
    lean, more = pairs_needed(PairCounts(300, 20, 6), 1.5, 0.025, failure_rate=0.02)
    assert lean == "above"
    assert more is not None
    assert 300 < more < 1500
    lean, more = pairs_needed(PairCounts(0, 0, 0), 1.5, 0.025, failure_rate=0.02)
    assert lean == "within"
    assert more is not None
    assert 3_000 < more < 15_000


def test_pairs_needed_counts_the_negligible_route_when_nothing_fails() -> None:
    clean = NegligibleRate(failures=0, calls=300, level=0.005)
    lean, more = pairs_needed(PairCounts(300, 0, 0), 1.5, 0.05, failure_rate=0.0, negligible=clean)
    assert lean == "within"
    assert more is not None
    assert 500 < more < 1200
    assert (
        sequential_test(PairCounts(2000, 0, 0), 1.5, 0.05, negligible=NegligibleRate(0, 2000, 0.005)).reading
        == "within"
    )


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="impossible pair counts"):
        PairCounts(pairs=3, losses=2, wins=2)
