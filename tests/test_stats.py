"""stats.py against the reference vectors of docs/gate.md §14 (tests/data/stat_vectors.json).

Tolerances as docs/gate.md §14 states: exact tail probabilities relative 1e-9, interval endpoints absolute
1e-8 (Clopper-Pearson and Jeffreys, which invert a beta distribution by bisection, 1e-7).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_llmversion.judge import stats

VECTORS: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "stat_vectors.json").read_text())
EXACT = 1e-9
ENDPOINT = 1e-8
BISECTED = 1e-7


def close(value: float, expected: float, rel: float = EXACT) -> bool:
    return value == pytest.approx(expected, rel=rel, abs=0)


def interval(got: tuple[float, float], expected: list[float], tol: float = ENDPOINT) -> bool:
    return got == pytest.approx(tuple(expected), abs=tol, rel=0)


def label(row: dict[str, Any]) -> str:
    return "-".join(f"{v}" for k, v in row.items() if isinstance(v, int))


# -- TV-1 binomial intervals -----------------------------------------------------------------------


@pytest.mark.parametrize("row", VECTORS["binomial_intervals"], ids=label)
def test_binomial_intervals(row: dict[str, Any]) -> None:
    x, n = row["x"], row["n"]
    assert interval(stats.wilson(x, n, 0.95), row["wilson95"])
    assert interval(stats.wilson(x, n, 0.90), row["wilson90"])


# -- TV-2 Newcombe ---------------------------------------------------------------------------------


@pytest.mark.parametrize("row", VECTORS["newcombe_diff"], ids=label)
def test_newcombe_difference(row: dict[str, Any]) -> None:
    got = stats.newcombe_difference(row["x_current"], row["k_current"], row["x_candidate"], row["k_candidate"])
    assert interval(got, row["newcombe95"])
    assert row["x_current"] / row["k_current"] - row["x_candidate"] / row["k_candidate"] == pytest.approx(
        row["diff_current_minus_candidate"]
    )


# -- TV-4 per-case Fisher --------------------------------------------------------------------------


@pytest.mark.parametrize("row", VECTORS["fisher_one_sided"], ids=label)
def test_fisher_one_sided(row: dict[str, Any]) -> None:
    k, a, b = row["k"], row["x_current"], row["x_candidate"]
    p_regression, p_improvement = stats.fisher_one_sided(a, k, b, k)
    assert close(p_regression, row["fisher_p_regression"])
    assert close(p_improvement, row["fisher_p_improvement"])


def test_impossible_counts_name_the_culprit() -> None:
    with pytest.raises(ValueError, match="candidate: 6 passes out of 5 samples is impossible"):
        stats.fisher_one_sided(5, 5, 6, 5)


# -- TV-5 suite tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("row", VECTORS["suite_tests"], ids=lambda row: row["suite"])
def test_suite_tests(row: dict[str, Any]) -> None:
    tables = [tuple(case) for case in row["cases_(x_cur,k_cur,x_cand,k_cand)"]]
    assert close(stats.exact_stratified_p(tables), row["exact_stratified_p_regression"])
    assert close(stats.cmh_z(tables), row["cmh_z"]) or row["cmh_z"] == stats.cmh_z(tables) == 0
    assert close(stats.cmh_z(tables) ** 2, row["cmh_chi2_statsmodels"]) or row["cmh_chi2_statsmodels"] == 0


def test_worked_example_two_of_the_notes() -> None:
    """docs/gate.md §14, example 2: 50 cases x 5 samples; the exact stratified p is 0.0739."""
    discordant = [(5, 2), (4, 3), (3, 4), (5, 4), (2, 1), (4, 2), (1, 1), (3, 3)]
    tables = [(5, 5, 5, 5)] * 38 + [(0, 5, 0, 5)] * 4 + [(a, 5, b, 5) for a, b in discordant]
    assert stats.exact_stratified_p(tables) == pytest.approx(0.0739, abs=5e-5)
    assert stats.cmh_z(tables) == pytest.approx(1.676, abs=5e-4)
    topped = [(20, 9), (16, 15), (12, 14), (19, 17), (9, 7), (17, 12)]
    p_regression = [stats.fisher_one_sided(a, 20, b, 20)[0] for a, b in topped] + [1.0] * 44
    q = stats.bh_adjust(p_regression)
    assert p_regression[0] == pytest.approx(7.2653e-5, rel=1e-4)
    assert q[0] == pytest.approx(0.0036, abs=5e-5)
    assert [round(x, 2) for x in p_regression[1:6]] == [0.5, 0.84, 0.3, 0.37, 0.08]
    assert min(q[1:]) == 1.0


# -- TV-6 multiplicity -----------------------------------------------------------------------------


def test_multiplicity_adjustments() -> None:
    row = VECTORS["multiplicity"]
    assert stats.bh_adjust(row["p"]) == pytest.approx(row["bh_adjusted"], rel=EXACT)


# -- TV-7 t quantiles ------------------------------------------------------------------------------


@pytest.mark.parametrize("row", VECTORS["t_quantiles"], ids=lambda row: f"p{row['p']}-df{row['df']}")
def test_t_quantiles(row: dict[str, Any]) -> None:
    assert stats.t_quantile(row["p"], row["df"]) == pytest.approx(row["t"], abs=ENDPOINT, rel=0)
    assert stats.t_cdf(row["t"], row["df"]) == pytest.approx(row["p"], rel=EXACT)


# -- TV-8 Miller standard errors, paired difference, power -----------------------------------------


def test_miller_clt_and_clustered_standard_errors() -> None:
    row = VECTORS["miller_clt_and_clustered"]
    scores, clusters = row["scores"], row["clusters"]
    assert sum(scores) / len(scores) == pytest.approx(row["mean"])
    assert close(stats.se_clt(scores), row["se_clt"])
    assert close(stats.se_clustered(scores, clusters), row["se_clustered_miller"])
    assert close(stats.se_clustered(scores, clusters, small_sample=True), row["se_clustered_inspect_style(C/(C-1))"])


def test_miller_paired_difference() -> None:
    row = VECTORS["miller_paired"]
    got = stats.paired_difference(row["current"], row["candidate"], confidence=0.95)
    assert close(got.mean, row["mean_diff"])
    assert close(got.se, row["se_paired"])
    assert interval((got.low, got.high), row["ci95_t"])
    assert got.r is not None
    assert close(got.r, row["pearson_r"])
    assert close(got.se_unpaired, row["se_unpaired"])
    assert close(got.p_two_sided, row["ttest_rel_p_two_sided"], rel=1e-8)


def test_miller_power() -> None:
    row = VECTORS["miller_power"]
    paired = stats.cases_needed(0.03, omega2=2 * 0.16 * (1 - 0.5))
    unpaired = stats.cases_needed(0.03, omega2=2 * 0.16)
    assert close(paired, row["n_for_delta_0.03_binary_p0.8_omega2_from_r0.5"])
    assert close(unpaired, row["n_unpaired_delta_0.03_p0.8"])
    example = stats.mde(50, omega2=0.0, sigma2_a=0.1, sigma2_b=0.1, k_a=5, k_b=5)
    assert close(example, row["mde_n50_k5_example"])
    # docs/gate.md §9: Beta(4,1) suite, E[p(1-p)] = 2/15, one-sided 5 %, 80 % power, 50 x 5 -> 8.1 pp
    beta41 = stats.mde(50, omega2=0.0, sigma2_a=2 / 15, sigma2_b=2 / 15, k_a=5, k_b=5, two_sided=False)
    assert beta41 == pytest.approx(0.081, abs=5e-4)


# -- TV-9 SPRT -------------------------------------------------------------------------------------


def test_sprt() -> None:
    row = VECTORS["sprt"]
    upper, lower = stats.sprt_bounds(row["alpha"], row["beta"])
    assert close(upper, row["upper_log_A"])
    assert close(lower, row["lower_log_B"])
    theta = row["theta1"]
    assert close(stats.sprt_llr(1, 0, theta), row["llr_per_loss"])
    assert close(stats.sprt_llr(0, 1, theta), row["llr_per_win"])
    assert close(stats.sprt_llr(5, 0, theta), row["llr_5_losses_0_wins"])
    assert close(stats.sprt_llr(4, 0, theta), row["llr_4_losses_0_wins"])
    assert close(stats.sprt_llr(6, 1, theta), row["llr_6_losses_1_win"])
    assert stats.sprt_llr(5, 0, theta) >= upper > stats.sprt_llr(4, 0, theta)


# -- what the plugin builds on top -----------------------------------------------------------------


def test_noninferiority_reads_the_interval_three_ways() -> None:
    assert stats.noninferiority(-0.040, 0.002, 0.05) == "met"
    assert stats.noninferiority(-0.090, -0.010, 0.05) == "worse"
    assert stats.noninferiority(-0.090, 0.010, 0.05) == "inconclusive"


def test_diffuse_mde_matches_miller_on_a_uniform_suite() -> None:
    # every case at 0.8, k = 5: Miller's z-test MDE (docs/gate.md §9) with sigma^2 = 0.16 (no spread in rates)
    rates = [0.8] * 50
    got = stats.diffuse_mde(rates, [5] * 50, [5] * 50, alpha=0.05)
    assert got is not None
    expected = stats.mde(50, omega2=0, sigma2_a=0.16, sigma2_b=0.16, k_a=5, k_b=5, two_sided=False)
    assert got == pytest.approx(expected, abs=0.01)
    assert stats.diffuse_mde([0.0] * 10, [5] * 10, [5] * 10, alpha=0.05) is None


def test_localized_mde_shows_why_top_up_to_20_is_needed() -> None:
    # docs/gate.md §2: one case 1.0 -> 0.5 is flagged 59 % of the time at k = 20 and alpha = 0.0005
    at_20 = stats.localized_mde(5, 20, 0.025 / 50)
    assert at_20 is not None
    assert 0.3 < at_20 < 0.5
    assert stats.localized_mde(5, 5, 0.025 / 50) is None  # 5 samples can never convict one of 50 cases
    assert stats.localized_mde(5, 10, 0.025 / 50) is not None
