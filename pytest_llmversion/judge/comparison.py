"""One candidate case compared with the current model over several samples: counts, exact test, verdict.

With two or more samples per model a case is judged on pass counts, not on one answer:

* a sample *passes* when every check passes, or, with a ``threshold``, when every format check
  passes and the mean check score reaches it (continuous scores are binarised there);
* stage one draws ``k`` samples per model; a case whose two pass rates differ is topped up to
  ``max_samples`` per model, and only then tested (one-sided Fisher exact test on all samples); a case
  the models agree on keeps p = 1, which keeps the p-values valid under this adaptive design;
* the item fails at once when p <= q / m (``q`` half the gate's budget, ``m`` the number of compared
  cases collected): Bonferroni, the first step of the Benjamini-Hochberg procedure the session end runs.

Provider failures that a later call may not repeat (rate limits, outages, after the router's retries)
and answers from a fallback model are not evidence about the model: they are dropped from the counts
and reported. A lasting failure (authentication, unknown model, bad request, no recording) makes the
item an ERROR. The method is written up in docs/gate.md (§1 to §4, §10).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pytest_llmversion.judge import stats
from pytest_llmversion.judge.samples import SampleResult
from pytest_llmversion.judge.verdicts import ItemOutcome, answer_diff, call_diff_lines, several_calls, shown
from pytest_llmversion.report.format import fmt_level, fmt_p, rate, signed_pp
from pytest_llmversion.report.statistics import ArmCounts, CaseStatistics
from pytest_llmversion.verdict import Verdict

BaselineMode = Literal["golden", "live"]


@dataclass(frozen=True)
class GatePolicy:
    """Run-wide settings of the statistical gate (docs/gate.md: top-up §2, budget §7, margin §8)."""

    max_samples: int = 20
    baseline: BaselineMode = "golden"
    threshold: float | None = None
    #: The gate's false-alarm budget, split evenly between the suite test and the per-case tests.
    alpha: float = 0.05
    margin: float = 0.05
    noninferiority: bool = False

    @property
    def alpha_suite(self) -> float:
        return self.alpha / 2

    @property
    def q(self) -> float:
        """Benjamini-Hochberg level of the per-case REGRESSED flags."""
        return self.alpha / 2

    def alpha_case(self, family_size: int) -> float:
        """The level one case is judged at while it runs: q / m."""
        return self.q / max(1, family_size)


@dataclass(frozen=True)
class Arm:
    """One model's samples in one case."""

    passes: int
    samples: int
    stage1_passes: int
    stage1_samples: int
    errors: int = 0
    format_failures: int = 0
    live_calls: int = 0
    replayed_calls: int = 0

    @property
    def rate(self) -> float | None:
        return self.passes / self.samples if self.samples else None

    @property
    def stage1_rate(self) -> float | None:
        return self.stage1_passes / self.stage1_samples if self.stage1_samples else None

    @property
    def unanimous(self) -> bool:
        return self.passes in (0, self.samples)

    def counts(self) -> ArmCounts:
        return ArmCounts(
            passes=self.passes,
            samples=self.samples,
            stage1_passes=self.stage1_passes,
            stage1_samples=self.stage1_samples,
            errors=self.errors,
            format_failures=self.format_failures,
            live_calls=self.live_calls,
            replayed_calls=self.replayed_calls,
        )


def arm(samples: Sequence[SampleResult], threshold: float | None, stage_one: int) -> Arm:
    counted = [s for s in samples if s.counted]
    first = [s for s in counted if s.index < stage_one]
    completions = [c for s in samples for c in s.completions()]
    return Arm(
        passes=sum(s.passes(threshold) for s in counted),
        samples=len(counted),
        stage1_passes=sum(s.passes(threshold) for s in first),
        stage1_samples=len(first),
        errors=len(samples) - len(counted),
        format_failures=sum(not s.format_ok for s in counted),
        live_calls=sum(c.source == "live" for c in completions),
        replayed_calls=sum(c.source != "live" for c in completions),
    )


def stage_one_differs(
    baseline: Sequence[SampleResult], candidate: Sequence[SampleResult], threshold: float | None, k: int
) -> bool:
    """Whether the case is topped up: the models' stage-one pass rates differ."""
    a, b = arm(baseline, threshold, k), arm(candidate, threshold, k)
    return a.stage1_rate is not None and b.stage1_rate is not None and a.stage1_rate != b.stage1_rate


@dataclass
class CaseStats:
    """Everything the report says about a compared case; q-values are added at session end."""

    k: int
    max_samples: int
    threshold: float | None
    family_size: int
    alpha_case: float
    baseline: BaselineMode
    current: Arm
    candidate: Arm
    topped_up: bool
    p_regression: float
    p_improvement: float
    golden_samples: int = 0
    #: Why the current model could not be called for samples the golden lacks (replay-only runs).
    replay_only: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def difference(self) -> float | None:
        """Candidate minus current pass rate."""
        a, b = self.current.rate, self.candidate.rate
        return None if a is None or b is None else b - a

    @property
    def difference_ci(self) -> tuple[float, float] | None:
        """Newcombe 95 % interval for candidate minus current."""
        a, b = self.current, self.candidate
        if not a.samples or not b.samples:
            return None
        return stats.newcombe_difference(b.passes, b.samples, a.passes, a.samples)

    def statistics(self) -> CaseStatistics:
        """What the report says about the case (its q-values are the session end's to add)."""
        ci = self.difference_ci
        a, b = self.current, self.candidate
        return CaseStatistics(
            k=self.k,
            max_samples=self.max_samples,
            threshold=self.threshold,
            baseline=self.baseline,
            golden_samples=self.golden_samples,
            replay_only=self.replay_only,
            current=a.counts(),
            candidate=b.counts(),
            topped_up=self.topped_up,
            difference=_round(self.difference),
            difference_ci95=[_round(ci[0]), _round(ci[1])] if ci else None,
            wilson95_current=_interval(a),
            wilson95_candidate=_interval(b),
            p_regression=self.p_regression,
            p_improvement=self.p_improvement,
            family_size=self.family_size,
            alpha_case=self.alpha_case,
            notes=list(self.notes),
        )


def _interval(a: Arm) -> list[float] | None:
    if not a.samples:
        return None
    low, high = stats.wilson(a.passes, a.samples)
    return [round(low, 4), round(high, 4)]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def judge_case(
    baseline: Sequence[SampleResult],
    candidate: Sequence[SampleResult],
    *,
    k: int,
    policy: GatePolicy,
    threshold: float | None,
    family_size: int,
    golden_samples: int = 0,
) -> tuple[ItemOutcome, CaseStats]:
    """The case's verdict from both models' samples; REGRESSED and FORMAT_BREAK fail the item."""
    a, b = arm(baseline, threshold, k), arm(candidate, threshold, k)
    topped_up = stage_one_differs(baseline, candidate, threshold, k)
    p_regression, p_improvement = 1.0, 1.0
    if topped_up and a.samples and b.samples:
        p_regression, p_improvement = stats.fisher_one_sided(a.passes, a.samples, b.passes, b.samples)
    alpha_case = policy.alpha_case(family_size)
    case = CaseStats(
        k=k,
        max_samples=policy.max_samples,
        threshold=threshold,
        family_size=family_size,
        alpha_case=alpha_case,
        baseline=policy.baseline,
        current=a,
        candidate=b,
        topped_up=topped_up,
        p_regression=p_regression,
        p_improvement=p_improvement,
        golden_samples=golden_samples,
    )
    for name, counts, samples in (("current", a, baseline), ("candidate", b, candidate)):
        if counts.errors:
            first = next(s for s in samples if not s.counted)
            why = f"answered by fallback {first.fallback.model_requested}" if first.fallback else first.message
            case.notes.append(f"{counts.errors} {name} sample(s) not counted ({why})")
    # Auth, an unknown model, a bad request, a missing recording: no retry fixes these, and comparing the
    # samples that happened to run before would hide the problem. Outages and rate limits are dropped.
    lasting = next((s for s in (*candidate, *baseline) if s.outcome == "provider_error" and not s.transient), None)
    if lasting is not None:
        outcome = ItemOutcome(Verdict.ERROR, b.rate, a.rate, lasting.message)
        outcome.notes.extend(case.notes)
        return outcome, case
    if not b.samples or not a.samples:
        which, samples = ("candidate", candidate) if not b.samples else ("current", baseline)
        first_error = next((s for s in samples if not s.counted), None)
        why = first_error.message if first_error else "no samples ran"
        outcome = ItemOutcome(Verdict.ERROR, b.rate, a.rate, f"no usable {which} sample: {why}")
        outcome.notes.extend(case.notes)
        return outcome, case
    if p_regression <= alpha_case:
        formats = stats.fisher_one_sided(
            a.samples - a.format_failures, a.samples, b.samples - b.format_failures, b.samples
        )[0]
        verdict = Verdict.FORMAT_BREAK if formats <= alpha_case else Verdict.REGRESSED
    elif p_improvement <= alpha_case:
        verdict = Verdict.IMPROVED
    elif a.unanimous and b.unanimous and a.passes / a.samples == b.passes / b.samples:
        verdict = Verdict.UNCHANGED
    else:
        verdict = Verdict.FLAKY
    outcome = ItemOutcome(verdict, b.rate, a.rate, notes=list(case.notes))
    return outcome, case


def pass_rate_message(
    outcome: ItemOutcome,
    case: CaseStats,
    *,
    baseline: tuple[str, Sequence[SampleResult]],
    candidate: tuple[str, Sequence[SampleResult]],
    names: tuple[str, str] = ("current", "candidate"),
    verdict: str | None = None,
) -> str:
    """One screen: pass counts per model, the difference and the test, failing checks, an output diff.

    ``names`` are the two sides' short names ("golden", "live" for ``--llm-live``).
    """
    (base_label, base_samples), (cand_label, cand_samples) = baseline, candidate
    base_name, cand_name = names
    a, b = case.current, case.candidate
    head = {
        Verdict.REGRESSED: f"the {cand_name} answers pass this case less often than the {base_name} ones",
        Verdict.FORMAT_BREAK: f"the {cand_name} answers break a format check the {base_name} ones pass",
    }.get(outcome.verdict, outcome.verdict.value.lower())
    lines = [f"{verdict or outcome.verdict.value}: {head}"]
    lines.append(f"  {base_name:<10} {base_label:<44} {a.passes:>3}/{a.samples:<3} pass  {rate(a.rate)}")
    lines.append(f"  {cand_name:<10} {cand_label:<44} {b.passes:>3}/{b.samples:<3} pass  {rate(b.rate)}")
    ci = case.difference_ci
    if case.difference is not None and ci is not None:
        lines.append(
            f"  Δ {signed_pp(case.difference)} pp (95% CI {signed_pp(ci[0])} … {signed_pp(ci[1])}); one-sided exact "
            f"test p={fmt_p(case.p_regression)} ≤ {fmt_level(case.alpha_case)} "
            f"(= {case.alpha_case * case.family_size * 100:g}% / {case.family_size} compared cases)"
        )
    lines.extend(f"  note: {note}" for note in outcome.notes)
    failing = [s for s in cand_samples if s.counted and not s.passes(case.threshold)]
    failures = [s.message for s in failing if s.message]
    if failures:
        lines.append(f"  test body raised {failures[0]}")
    rows = _failing_checks(base_samples, cand_samples)
    if rows:
        lines.append(f"  checks that failed ({base_name} · {cand_name} samples):")
        lines.extend(f"    {name:<32} {n_a:>3} · {n_b:<3} {detail}".rstrip() for name, n_a, n_b, detail in rows)
    good = next((s for s in base_samples if s.counted and s.passes(case.threshold) and s.completions()), None)
    bad = next((s for s in failing if s.completions()), None)
    if good is not None and bad is not None and several_calls(good, bad):
        lines.append(f"  a passing {base_name} sample (-) vs a failing {cand_name} sample (+), call by call:")
        lines.extend(call_diff_lines(good, bad, base_name, cand_name)[1:])
    elif good is not None and bad is not None and shown(good.completions()[0]) != shown(bad.completions()[0]):
        lines.append(f"  output, a passing {base_name} sample (-) vs a failing {cand_name} sample (+):")
        diff = answer_diff(good.completions()[0], bad.completions()[0], base_name, cand_name)
        lines.extend(f"    {line}" for line in diff)
    return "\n".join(lines)


def _failing_checks(
    baseline: Sequence[SampleResult], candidate: Sequence[SampleResult]
) -> list[tuple[str, int, int, str]]:
    def failures(samples: Sequence[SampleResult]) -> dict[str, list[str]]:
        table: dict[str, list[str]] = {}
        for sample in samples:
            for result in sample.checks:
                if not result.passed:
                    table.setdefault(result.name, []).append(result.detail)
        return table

    base, cand = failures(baseline), failures(candidate)
    return [(name, len(base.get(name, [])), len(details), details[0]) for name, details in cand.items()]
