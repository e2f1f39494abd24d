"""The statistics behind the gate, standard library only: exact tests, intervals, power.

Everything here is deterministic (no bootstrap, no permutation sampling, no seeds), so results are
reproducible bit for bit and the unit tests pin them to reference values computed with scipy and
statsmodels. ``docs/gate.md`` (§3 to §9) describes the procedure these pieces serve:

* per case, a one-sided Fisher exact test on (current passes, candidate passes): :func:`fisher_one_sided`;
* across cases, Benjamini-Hochberg (:func:`bh_adjust`), so the gate's false-alarm share stays at ``q``;
* suite-wide, the exact stratified conditional test (multi-table Fisher, "exact CMH"): :func:`exact_stratified_p`;
* the effect size: Miller's paired mean difference with a t interval (:func:`paired_difference`), the
  non-inferiority reading of it (:func:`noninferiority`) and what the suite can resolve (:func:`diffuse_mde`,
  :func:`localized_mde`).

Counts are "passes out of samples"; ``a`` is the current model (A), ``b`` the candidate (B).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

#: A case's 2x2 table: (current passes, current samples, candidate passes, candidate samples).
Table = tuple[int, int, int, int]

_NORMAL = NormalDist()


def _check_counts(x: int, n: int, name: str = "count") -> None:
    if n < 0 or not 0 <= x <= n:
        raise ValueError(f"{name}: {x} passes out of {n} samples is impossible")


# -- distributions ---------------------------------------------------------------------------------


def normal_quantile(p: float) -> float:
    return _NORMAL.inv_cdf(p)


def binom_pmf(x: int, n: int, p: float) -> float:
    if not 0 <= x <= n:
        return 0.0
    return math.comb(n, x) * p**x * (1.0 - p) ** (n - x)


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    # Modified Lentz evaluation of the incomplete beta continued fraction (Numerical Recipes 6.4).
    tiny, eps = 1e-300, 1e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def log_betainc(a: float, b: float, x: float) -> float:
    """ln I_x(a, b), without underflow for large ``a`` and ``b`` (sequential tests need tails below 1e-308)."""
    if x <= 0.0:
        return -math.inf
    if x >= 1.0:
        return 0.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return log_front + math.log(_beta_continued_fraction(a, b, x)) - math.log(a)
    complement = math.exp(log_front + math.log(_beta_continued_fraction(b, a, 1.0 - x)) - math.log(b))
    return math.log1p(-complement) if complement < 1.0 else -math.inf


def _bisect(f: Callable[[float], float], target: float, low: float, high: float) -> float:
    """The x in [low, high] where the increasing ``f`` reaches ``target``."""
    for _ in range(200):
        mid = (low + high) / 2.0
        if mid in (low, high):
            break
        if f(mid) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def t_cdf(t: float, df: float) -> float:
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    high = 1.0
    while t_cdf(high, df) < p:
        high *= 2.0
    return _bisect(lambda t: t_cdf(t, df), p, 0.0, high)


# -- per case: one 2x2 table -----------------------------------------------------------------------


def hypergeom_pmf(a: int, ka: int, kb: int, m: int) -> float:
    """P(the current model holds ``a`` of the ``m`` passes | the models are interchangeable)."""
    if a < max(0, m - kb) or a > min(ka, m):
        return 0.0
    return math.comb(ka, a) * math.comb(kb, m - a) / math.comb(ka + kb, m)


def fisher_one_sided(xa: int, ka: int, xb: int, kb: int) -> tuple[float, float]:
    """(p_regression, p_improvement) of the one-sided Fisher exact test, computed in exact integers.

    p_regression answers: if the two models were interchangeable on this case, how often would the
    current model get at least ``xa`` of the ``xa + xb`` passes?
    """
    _check_counts(xa, ka, "current")
    _check_counts(xb, kb, "candidate")
    m = xa + xb
    low, high = max(0, m - kb), min(ka, m)
    total = math.comb(ka + kb, m)
    upper = sum(math.comb(ka, a) * math.comb(kb, m - a) for a in range(xa, high + 1))
    lower = sum(math.comb(ka, a) * math.comb(kb, m - a) for a in range(low, xa + 1))
    return min(1.0, upper / total), min(1.0, lower / total)


# -- binomial intervals ----------------------------------------------------------------------------


def _z(confidence: float) -> float:
    return normal_quantile(1.0 - (1.0 - confidence) / 2.0)


def _clip(low: float, high: float) -> tuple[float, float]:
    return max(0.0, low), min(1.0, high)


def wilson(x: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    _check_counts(x, n)
    if n == 0:
        return 0.0, 1.0
    z, p = _z(confidence), x / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return _clip(centre - half, centre + half)


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10) for p1 - p2 from two independent samples."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, confidence)
    l2, u2 = wilson(x2, n2, confidence)
    diff = p1 - p2
    return diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


# -- across cases ----------------------------------------------------------------------------------


def exact_stratified_p(tables: Sequence[Table]) -> float:
    """One-sided exact stratified conditional test ("exact CMH", multi-table Fisher) for regression.

    T = total current passes, against the convolution of each case's hypergeometric law given its total
    passes. Cases where every sample agreed (all pass or all fail) add nothing, as they should.
    """
    dist, observed = [1.0], 0
    for xa, ka, xb, kb in tables:
        _check_counts(xa, ka, "current")
        _check_counts(xb, kb, "candidate")
        m = xa + xb
        low, high = max(0, m - kb), min(ka, m)
        observed += xa - low
        if low == high:
            continue
        pmf = [hypergeom_pmf(a, ka, kb, m) for a in range(low, high + 1)]
        combined = [0.0] * (len(dist) + len(pmf) - 1)
        for i, p in enumerate(dist):
            if p:
                for j, q in enumerate(pmf):
                    combined[i + j] += p * q
        dist = combined
    return min(1.0, sum(dist[observed:]))


def _cmh_parts(tables: Sequence[Table]) -> tuple[float, float]:
    excess, variance = 0.0, 0.0
    for xa, ka, xb, kb in tables:
        n, m = ka + kb, xa + xb
        if n < 2:
            continue
        excess += xa - ka * m / n
        variance += ka * kb * m * (n - m) / (n * n * (n - 1))
    return excess, variance


def cmh_z(tables: Sequence[Table]) -> float:
    """Cochran-Mantel-Haenszel z (positive: the current model holds more passes than expected)."""
    excess, variance = _cmh_parts(tables)
    return excess / math.sqrt(variance) if variance > 0 else 0.0


# -- multiplicity ----------------------------------------------------------------------------------


def bh_adjust(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (flag a case when its adjusted value is <= q)."""
    m = len(p_values)
    order = sorted(range(m), key=p_values.__getitem__)
    adjusted, running = [1.0] * m, 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        adjusted[i] = min(1.0, running)
    return adjusted


# -- effect size (Miller 2024) ---------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _sd(values: Sequence[float]) -> float:
    centre = _mean(values)
    return math.sqrt(sum((v - centre) ** 2 for v in values) / (len(values) - 1))


def se_clt(scores: Sequence[float]) -> float:
    return _sd(scores) / math.sqrt(len(scores))


def se_clustered(scores: Sequence[float], clusters: Sequence[str], *, small_sample: bool = False) -> float:
    """Cluster-robust SE of a mean. Miller's main-text form by default; ``small_sample`` gives the CR1
    form with the C / (C - 1) factor that Inspect AI uses."""
    n, centre = len(scores), _mean(scores)
    sums: dict[str, float] = {}
    for score, cluster in zip(scores, clusters, strict=True):
        sums[cluster] = sums.get(cluster, 0.0) + score - centre
    if small_sample:
        c = len(sums)
        return math.sqrt(c / (c - 1) * sum(s * s for s in sums.values())) / n
    within = sum(s * s for s in sums.values()) - sum((s - centre) ** 2 for s in scores)
    return math.sqrt(se_clt(scores) ** 2 + within / (n * n))


def pearson_r(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    mx, my = _mean(xs), _mean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / math.sqrt(sxx * syy)


@dataclass(frozen=True)
class PairedDifference:
    """Candidate minus current, per case, averaged with cases weighted equally."""

    n: int
    mean: float
    se: float
    low: float
    high: float
    confidence: float
    r: float | None
    se_unpaired: float
    p_two_sided: float


def paired_difference(
    current: Sequence[float], candidate: Sequence[float], confidence: float = 0.90
) -> PairedDifference:
    """Miller's paired analysis: mean of d_i = candidate_i - current_i, SE = sd(d)/sqrt(n), t interval."""
    n = len(current)
    if n < 2 or len(candidate) != n:
        raise ValueError(f"a paired difference needs two equally long lists of at least 2 cases, got {n}")
    d = [b - a for a, b in zip(current, candidate, strict=True)]
    mean, se = _mean(d), se_clt(d)
    half = t_quantile(1 - (1 - confidence) / 2, n - 1) * se
    below = t_cdf(mean / se, n - 1) if se > 0 else (0.5 if mean == 0 else float(mean > 0))
    unpaired = math.sqrt(se_clt(current) ** 2 + se_clt(candidate) ** 2)
    r, p = pearson_r(current, candidate), min(1.0, 2 * min(below, 1 - below))
    return PairedDifference(n, mean, se, mean - half, mean + half, confidence, r, unpaired, p)


NonInferiority = Literal["met", "worse", "inconclusive"]


def noninferiority(low: float, high: float, margin: float) -> NonInferiority:
    """TOST-style reading of the interval for candidate - current against the margin delta.

    met: the lower bound is above -delta (not worse by more than delta, even if a small drop is
    significant); worse: the whole interval is below 0 and it reaches -delta; else inconclusive.
    """
    if low > -margin:
        return "met"
    if high < 0:
        return "worse"
    return "inconclusive"


# -- power and what a suite can resolve ------------------------------------------------------------


def _z_sum(alpha: float, power: float, two_sided: bool) -> float:
    return normal_quantile(1 - alpha / 2 if two_sided else 1 - alpha) + normal_quantile(power)


def mde(
    n: int,
    *,
    omega2: float,
    sigma2_a: float,
    sigma2_b: float,
    k_a: float,
    k_b: float,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
) -> float:
    """Miller's minimum detectable effect of a paired comparison of n cases with k samples per model."""
    return _z_sum(alpha, power, two_sided) * math.sqrt((omega2 + sigma2_a / k_a + sigma2_b / k_b) / n)


def cases_needed(
    delta: float,
    *,
    omega2: float,
    sigma2_a: float = 0.0,
    sigma2_b: float = 0.0,
    k_a: float = 1.0,
    k_b: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
) -> float:
    """Cases needed to detect a true difference ``delta`` (Miller's recommendation 5)."""
    return _z_sum(alpha, power, two_sided) ** 2 * (omega2 + sigma2_a / k_a + sigma2_b / k_b) / delta**2


def diffuse_mde(
    rates: Sequence[float], samples_a: Sequence[int], samples_b: Sequence[int], *, alpha: float, power: float = 0.8
) -> float | None:
    """The smallest drop delta in every case's pass rate the suite test catches with ``power``.

    Model: the candidate's rate in case i is max(0, p_i - delta), p_i the current model's observed rate,
    with the samples per model the suite test used. Power is that of the one-sided z test on the mean
    difference, whose variance is the within-case binomial noise (the suite is held fixed, as the
    conditional tests hold it). None when even a drop to 0 everywhere could not be seen.
    """
    n = len(rates)
    if n == 0:
        return None
    z_alpha = normal_quantile(1 - alpha)

    def achieved(delta: float) -> float:
        shift, variance = 0.0, 0.0
        for p, ka, kb in zip(rates, samples_a, samples_b, strict=True):
            q = max(0.0, p - delta)
            shift += p - q
            variance += p * (1 - p) / ka + q * (1 - q) / kb
        if shift <= 0:
            return 0.0
        if variance <= 0:
            return 1.0
        return _NORMAL.cdf((shift / n) / math.sqrt(variance / (n * n)) - z_alpha)

    if achieved(1.0) < power:
        return None
    return _bisect(achieved, power, 0.0, 1.0)


def localized_mde(k: int, k_max: int, alpha: float, power: float = 0.8) -> float | None:
    """The highest pass rate an always-passing case may fall to and still be flagged with ``power``.

    Two stages as the gate runs them: k samples each, then (only if the candidate lost a pass) up to
    k_max, tested once at level ``alpha``. None when no drop, not even to 0, is flagged that often.
    """

    def flagged(p_b: float) -> float:
        extra = k_max - k
        total = 0.0
        for x1 in range(k):  # stage one: the candidate lost at least one pass, so the case is topped up
            for x2 in range(extra + 1):
                if fisher_one_sided(k_max, k_max, x1 + x2, k_max)[0] <= alpha:
                    total += binom_pmf(x1, k, p_b) * binom_pmf(x2, extra, p_b)
        return total

    if flagged(0.0) < power:
        return None
    # flagged() falls as p_b rises; bisect on its mirror image
    return 1.0 - _bisect(lambda u: flagged(1.0 - u), power, 0.0, 1.0)


# -- sequential probability ratio test on discordant pairs -----------------------------------------


def sprt_bounds(alpha: float, beta: float) -> tuple[float, float]:
    """Wald's log boundaries (reject at or above the first, accept at or below the second)."""
    return math.log((1 - beta) / alpha), math.log(beta / (1 - alpha))


def sprt_llr(losses: int, wins: int, theta1: float) -> float:
    """Log likelihood ratio after ``losses`` discordant pairs against the candidate and ``wins`` for it."""
    return losses * math.log(theta1 / 0.5) + wins * math.log((1 - theta1) / 0.5)
