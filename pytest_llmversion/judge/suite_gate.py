"""Session end, on the controller: the statistical gate over every compared candidate case.

1. Benjamini-Hochberg over the per-case regression p-values at q (m = the compared cases collected;
   a case that could not be tested counts with p = 1). Items were already judged at q / m while they
   ran, the first step of BH; a case BH flags beyond that becomes REGRESSED here (FORMAT_BREAK when its
   format checks broke), fails the gate and says so. Improvements get their own BH family and never gate.
   An ERROR case (no usable samples, a lasting provider failure) is never relabelled: it counts with p = 1.
2. The exact stratified test on stage-one samples, at alpha_suite: a diffuse drop no single case shows.
3. The effect size (Miller's paired mean difference with a t interval), non-inferiority within the
   margin (gating only when asked) and what the run could resolve.

By the union bound the gate's false-alarm probability is at most alpha_suite + q (2.5 % + 2.5 %).
The method is written up in docs/gate.md (§5 to §9).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from pytest_llmversion.judge import stats
from pytest_llmversion.judge.comparison import GatePolicy
from pytest_llmversion.report.format import fmt_level, fmt_p, signed_pp
from pytest_llmversion.report.schema import ItemResult
from pytest_llmversion.report.statistics import (
    AlphaSplit,
    ArmCounts,
    CallCounts,
    Difference,
    NonInferiority,
    PassRates,
    Resolution,
    SampleCounts,
    SuiteStatistics,
    SuiteTest,
)
from pytest_llmversion.verdict import Verdict

#: Verdicts an item's own test gave that the suite's Benjamini-Hochberg step may still change.
_OPEN = (Verdict.UNCHANGED, Verdict.IMPROVED, Verdict.FLAKY)


@dataclass(frozen=True)
class CaseDecision:
    """What the session end adds to one compared case: its q-values, and the verdict BH gives it."""

    verdict: Verdict
    q_regression: float
    q_improvement: float
    decided: str = "item"
    note: str | None = None


@dataclass
class SuiteAssessment:
    statistics: SuiteStatistics | None = None
    #: By node id, for the cases that were tested (the others keep what their item decided).
    cases: dict[str, CaseDecision] = field(default_factory=dict)

    def apply(self, items: Sequence[ItemResult]) -> list[ItemResult]:
        """The items, each compared case with what the suite decided for it (new objects; ``items`` unchanged)."""
        out = []
        for item in items:
            decision = self.cases.get(item.nodeid)
            if decision is None or item.stats is None:
                out.append(item)
                continue
            stats = item.stats.model_copy(
                update={
                    "q_regression": decision.q_regression,
                    "q_improvement": decision.q_improvement,
                    "decided": decision.decided,
                }
            )
            notes = [*item.notes, decision.note] if decision.note else item.notes
            out.append(item.model_copy(update={"stats": stats, "verdict": decision.verdict, "notes": notes}))
        return out


def _arms(item: ItemResult) -> tuple[ArmCounts, ArmCounts]:
    assert item.stats is not None
    return item.stats.current, item.stats.candidate


def _usable(item: ItemResult) -> bool:
    """A case with samples of both models that its item could judge; an ERROR counts with p = 1."""
    current, candidate = _arms(item)
    return item.verdict is not Verdict.ERROR and bool(current.samples and candidate.samples)


def assess(items: Sequence[ItemResult], policy: GatePolicy) -> SuiteAssessment:
    """The gate's statistics over the compared candidate cases, and what BH decides for each; the items
    are read, never changed (the session end builds the report from both)."""
    compared = [i for i in items if i.role == "candidate" and i.stats is not None]
    if not compared:
        return SuiteAssessment()
    usable = [i for i in compared if _usable(i)]
    family = max([len(compared)] + [i.stats.family_size for i in compared if i.stats])
    cases = _benjamini_hochberg(usable, family, policy)
    verdicts = Counter((cases[i.nodeid].verdict if i.nodeid in cases else i.verdict).value for i in compared)
    k, k_max = _most_common(compared, "k"), _most_common(compared, "max_samples")
    alpha_case = policy.alpha_case(family)
    first = compared[0].stats
    assert first is not None
    replay_only = [i.stats.replay_only for i in compared if i.stats and i.stats.replay_only]
    result = SuiteStatistics(
        cases=len(usable),
        family_size=family,
        k=k,
        max_samples=max(k, k_max),
        baseline=first.baseline,
        topped_up=sum(bool(i.stats and i.stats.topped_up) for i in usable),
        threshold=policy.threshold,
        replay_only=len(replay_only),
        replay_only_reason=replay_only[0] if replay_only else None,
        samples=SampleCounts(
            current=sum(_arms(i)[0].samples for i in compared),
            candidate=sum(_arms(i)[1].samples for i in compared),
        ),
        calls=CallCounts(
            current_live=sum(_arms(i)[0].live_calls for i in compared),
            candidate_live=sum(_arms(i)[1].live_calls for i in compared),
            replayed=sum(_arms(i)[0].replayed_calls + _arms(i)[1].replayed_calls for i in compared),
        ),
        verdicts=dict(sorted(verdicts.items())),
        noninferiority=NonInferiority(margin=policy.margin, gating=policy.noninferiority),
        resolution=Resolution(),
        budget=AlphaSplit(alpha=policy.alpha, suite=policy.alpha_suite, per_case=policy.q),
        alpha_case=alpha_case,
    )
    if usable:
        _suite_test(result, usable, policy)
        _effect_size(result, usable, policy)
        _resolution(result, usable, policy, k, k_max, alpha_case)
    result.gate_reasons = _gate_reasons(result, policy)
    return SuiteAssessment(result, cases)


def _most_common(items: Sequence[ItemResult], key: str) -> int:
    values = Counter(int(getattr(i.stats, key)) for i in items if i.stats)
    return values.most_common(1)[0][0]


def _benjamini_hochberg(usable: Sequence[ItemResult], family: int, policy: GatePolicy) -> dict[str, CaseDecision]:
    padding = [1.0] * (family - len(usable))  # cases that could not be tested count with p = 1
    stats_of = [i.stats for i in usable if i.stats is not None]
    q_regression = stats.bh_adjust([c.p_regression for c in stats_of] + padding)
    q_improvement = stats.bh_adjust([c.p_improvement for c in stats_of] + padding)
    decisions = {}
    for item, case, q_reg, q_imp in zip(usable, stats_of, q_regression, q_improvement, strict=False):
        decision = CaseDecision(item.verdict, q_reg, q_imp)
        if q_reg <= policy.q and item.verdict in _OPEN:
            own, level = fmt_p(case.p_regression), fmt_level(case.alpha_case)
            broke = _formats_broke(case.current, case.candidate, policy.q)
            verdict = Verdict.FORMAT_BREAK if broke else Verdict.REGRESSED
            note = (
                f"{verdict.value} at session end: BH q={fmt_p(q_reg)} ≤ {policy.q:g} across {family} compared cases "
                f"(its own p={own} was above the per-item {level})"
            )
            decision = CaseDecision(verdict, q_reg, q_imp, "suite", note)
        elif q_imp <= policy.q and item.verdict is Verdict.FLAKY:
            note = f"IMPROVED at session end: BH q={fmt_p(q_imp)} ≤ {policy.q:g}"
            decision = CaseDecision(Verdict.IMPROVED, q_reg, q_imp, "suite", note)
        decisions[item.nodeid] = decision
    return decisions


def _formats_broke(current: ArmCounts, candidate: ArmCounts, level: float) -> bool:
    """The rule an item uses for FORMAT_BREAK (``comparison.judge_case``), at the session end's level."""
    a_ok, b_ok = current.samples - current.format_failures, candidate.samples - candidate.format_failures
    return stats.fisher_one_sided(a_ok, current.samples, b_ok, candidate.samples)[0] <= level


def _suite_test(result: SuiteStatistics, usable: Sequence[ItemResult], policy: GatePolicy) -> None:
    tables = []
    for item in usable:
        current, candidate = _arms(item)
        if current.stage1_samples and candidate.stage1_samples:
            tables.append(
                (current.stage1_passes, current.stage1_samples, candidate.stage1_passes, candidate.stage1_samples)
            )
    if not tables:
        return
    p = stats.exact_stratified_p(tables)
    result.suite_test = SuiteTest(
        p=p,
        alpha=policy.alpha_suite,
        failed=p <= policy.alpha_suite,
        current_passes=sum(t[0] for t in tables),
        current_samples=sum(t[1] for t in tables),
        candidate_passes=sum(t[2] for t in tables),
        candidate_samples=sum(t[3] for t in tables),
        cmh_z=round(stats.cmh_z(tables), 6),
    )


def _rates(usable: Sequence[ItemResult]) -> tuple[list[float], list[float]]:
    current = [_arms(i)[0].passes / _arms(i)[0].samples for i in usable]
    candidate = [_arms(i)[1].passes / _arms(i)[1].samples for i in usable]
    return current, candidate


def _effect_size(result: SuiteStatistics, usable: Sequence[ItemResult], policy: GatePolicy) -> None:
    current, candidate = _rates(usable)
    result.pass_rate = PassRates(current=sum(current) / len(current), candidate=sum(candidate) / len(candidate))
    if len(usable) < 2:
        return
    paired = stats.paired_difference(current, candidate, confidence=0.90)
    clusters = [i.test for i in usable]
    distinct = len(set(clusters))
    differences = [b - a for a, b in zip(current, candidate, strict=True)]
    result.difference = Difference(
        mean=paired.mean,
        se=paired.se,
        # a difference of pass rates lies in [-1, 1]; clipping the t interval there keeps its coverage
        low=max(-1.0, paired.low),
        high=min(1.0, paired.high),
        confidence=paired.confidence,
        r=paired.r,
        se_unpaired=paired.se_unpaired,
        se_clustered=stats.se_clustered(differences, clusters, small_sample=True) if distinct >= 2 else None,
        clusters=distinct,
    )
    result.noninferiority.lower = result.difference.low
    result.noninferiority.status = stats.noninferiority(result.difference.low, result.difference.high, policy.margin)


def _resolution(
    result: SuiteStatistics, usable: Sequence[ItemResult], policy: GatePolicy, k: int, k_max: int, alpha_case: float
) -> None:
    rates, samples_a, samples_b = [], [], []
    for item in usable:
        current, candidate = _arms(item)
        if current.stage1_samples and candidate.stage1_samples:
            rates.append(current.stage1_passes / current.stage1_samples)
            samples_a.append(current.stage1_samples)
            samples_b.append(candidate.stage1_samples)
    power = result.resolution.power
    result.resolution.diffuse = stats.diffuse_mde(rates, samples_a, samples_b, alpha=policy.alpha_suite, power=power)
    result.resolution.localized = stats.localized_mde(k, max(k, k_max), alpha_case, power)


def _gate_reasons(result: SuiteStatistics, policy: GatePolicy) -> list[str]:
    reasons = []
    test = result.suite_test
    if test is not None and test.failed:
        reasons.append(
            f"suite test: the candidate passed {test.candidate_passes}/{test.candidate_samples} stage-one samples, "
            f"the current model {test.current_passes}/{test.current_samples}; exact stratified "
            f"p={fmt_p(test.p)} ≤ {test.alpha:g}"
        )
    ni = result.noninferiority
    if policy.noninferiority and ni.status != "met":
        lower = "not computed (fewer than 2 compared cases)" if ni.lower is None else f"{signed_pp(ni.lower, 1)} pp"
        reasons.append(f"non-inferiority within {policy.margin * 100:g} pp not shown: lower bound {lower}")
    return reasons
