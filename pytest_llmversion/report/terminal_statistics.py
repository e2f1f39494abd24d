"""The statistics block of the terminal summary (docs/gate.md §13), for runs with samples."""

from __future__ import annotations

from pytest_llmversion.report.format import fmt_level, fmt_p, plural, signed_pp
from pytest_llmversion.report.schema import ItemResult, Report, short_name
from pytest_llmversion.report.statistics import ArmCounts, SuiteStatistics
from pytest_llmversion.verdict import Verdict

#: Flaky cases listed by name (the most nearly regressed first); the rest are summarised.
FLAKY_SHOWN = 3
LISTED = (Verdict.REGRESSED, Verdict.FORMAT_BREAK, Verdict.IMPROVED, Verdict.ERROR, Verdict.NO_BASELINE)


def _pp(value: float) -> str:
    return f"{signed_pp(value, 1)} pp"


def _counts(arm: ArmCounts) -> str:
    return f"{arm.passes}/{arm.samples}"


def case_line(item: ItemResult, label: str, width: int) -> str:
    case = item.stats
    if case is None or not case.current.samples or not case.candidate.samples:
        return f"  {label:<13}{short_name(item):<{width}}  {item.message}".rstrip()
    counts = f"{_counts(case.current)} → {_counts(case.candidate)}"
    parts = [f"  {label:<13}{short_name(item):<{width}}  {counts:<15}"]
    ci = case.difference_ci95
    if case.difference is not None and ci and ci[0] is not None and ci[1] is not None:
        parts.append(f"Δ {signed_pp(case.difference)} pp [{signed_pp(ci[0])}, {signed_pp(ci[1])}]".ljust(24))
    # an improvement is tested in its own direction: show that test's p and q
    improvement = item.verdict is Verdict.IMPROVED
    p = case.p_improvement if improvement else case.p_regression
    q = case.q_improvement if improvement else case.q_regression
    parts.append(f"p={fmt_p(p)}".ljust(10))
    if q is not None:
        parts.append(f"(BH q={fmt_p(q)})")
    return " ".join(parts).rstrip()


def _p_regression(item: ItemResult) -> float:
    return item.stats.p_regression if item.stats is not None else 1.0


def _direction(item: ItemResult) -> str:
    difference = item.stats.difference if item.stats is not None else None
    if difference is None or abs(difference) < 1e-12:
        return "="
    return "↓" if difference < 0 else "↑"


def statistics_lines(report: Report) -> list[str]:
    stats = report.summary.statistics
    if stats is None:
        return []
    compared = [i for i in report.items if i.role == "candidate" and i.stats is not None]
    lines = [_samples_line(stats)]
    if stats.replay_only:
        lines.append(
            f"baseline    {plural(stats.replay_only, 'case')} compared with the golden's samples alone: "
            f"the current model could not be called for more ({stats.replay_only_reason})"
        )
    if stats.pass_rate is not None:
        rates = stats.pass_rate
        rate = f"pass rate   current {rates.current * 100:.1f}%  candidate {rates.candidate * 100:.1f}%"
        d = stats.difference
        if d is not None:
            r = f", r={d.r:.2f}" if d.r is not None else ""
            rate += f"   Δ {_pp(d.mean)}  ({d.confidence * 100:.0f}% CI {_pp(d.low)} … {_pp(d.high)}, paired{r})"
        lines.append(rate)
    verdicts = stats.verdicts
    counts = [
        f"{verdicts.get(v.value, 0)} {name}"
        for v, name in (
            (Verdict.REGRESSED, "regressed"),
            (Verdict.IMPROVED, "improved"),
            (Verdict.UNCHANGED, "unchanged"),
            (Verdict.FLAKY, "flaky"),
        )
    ]
    extra = (Verdict.FORMAT_BREAK, Verdict.ERROR, Verdict.NO_BASELINE)
    counts += [f"{verdicts[v.value]} {v.value.lower().replace('_', ' ')}" for v in extra if verdicts.get(v.value)]
    lines.append("cases       " + " · ".join(counts))
    width = max([len(short_name(i)) for i in compared] + [20])
    order = {v: n for n, v in enumerate(LISTED)}
    listed = sorted((i for i in compared if i.verdict in order), key=lambda i: (order[i.verdict], short_name(i)))
    lines += [case_line(i, i.verdict.value, width) for i in listed]
    flaky = sorted((i for i in compared if i.verdict is Verdict.FLAKY), key=_p_regression)
    lines += [case_line(i, f"flaky {_direction(i)}", width) for i in flaky[:FLAKY_SHOWN]]
    if len(flaky) > FLAKY_SHOWN:
        rest = [_p_regression(i) for i in flaky[FLAKY_SHOWN:]]
        lines.append(f"  … {len(rest)} more flaky (all p ≥ {fmt_p(min(rest))})")
    lines += _tests_lines(stats)
    return lines


def _samples_line(stats: SuiteStatistics) -> str:
    topped = f" ({plural(stats.topped_up, 'case')} topped up to {stats.max_samples})"
    calls = stats.calls
    live = calls.current_live + calls.candidate_live
    return (
        f"samples     {plural(stats.cases, 'case')} · {stats.k} samples/model{topped if stats.topped_up else ''} · "
        f"{stats.samples.current + stats.samples.candidate} samples, {live} live calls "
        f"(current {calls.current_live}, candidate {calls.candidate_live}), {calls.replayed} replayed"
    )


def _tests_lines(stats: SuiteStatistics) -> list[str]:
    lines = []
    test = stats.suite_test
    if test is not None:
        relation = "≤" if test.failed else ">"
        passes = f"{test.current_passes}/{test.current_samples} → {test.candidate_passes}/{test.candidate_samples}"
        lines.append(
            f"suite test  exact stratified (first {stats.k} samples/case): p={fmt_p(test.p)} {relation} {test.alpha:g}"
            f"  (passes {passes})"
        )
    ni = stats.noninferiority
    margin = f"{ni.margin * 100:g} pp"
    if ni.lower is not None:
        gating = ", gating" if ni.gating else ""
        lines.append(f"non-inferiority (δ={margin}{gating}): {ni.status} (lower bound {_pp(ni.lower)})")
    resolution = stats.resolution
    seen = []
    if resolution.diffuse is not None:
        seen.append(f"a drop of {resolution.diffuse * 100:.1f} pp in every case (suite test)")
    if resolution.localized is not None:
        seen.append(f"one always-passing case falling to {resolution.localized * 100:.0f}% (its own test)")
    if seen:
        lines.append(f"resolution  caught {resolution.power * 100:.0f}% of the time: " + ", or ".join(seen))
    else:
        lines.append(
            f"resolution  too few samples to flag any one case at {fmt_level(stats.alpha_case)}; "
            "raise --llm-max-samples"
        )
    return lines


def budget_line(stats: SuiteStatistics) -> str:
    b = stats.budget
    return (
        f"false-alarm budget {b.alpha * 100:g}%: {b.suite * 100:g}% suite test + {b.per_case * 100:g}% per case "
        f"(each case at {fmt_level(stats.alpha_case)} = {b.per_case * 100:g}% / {stats.family_size} while it runs)"
    )
