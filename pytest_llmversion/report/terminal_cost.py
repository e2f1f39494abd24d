"""The cost and governance lines of the terminal summary and the Markdown report.

Cost lines never show an unknown price as $0: they say "unknown" and how to add the price. Latency
comes from live calls only; a role whose calls were all replayed from goldens has no latency.
"""

from __future__ import annotations

from pytest_llmversion.report.format import amount, plural, ratio, usd
from pytest_llmversion.report.governance import CheckCallCost, CostReport, GovernanceInfo, RoleCost

OVERRIDE_HINT = '[tool.llmversion.catalog."{model}"] input_per_mtok = ..., output_per_mtok = ...'


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def _role_line(role: str, cost: RoleCost) -> str:
    tokens = f"{cost.input_tokens:,} in / {cost.output_tokens:,} out"
    if cost.cached_tokens:
        tokens += f" ({cost.cached_tokens:,} cached)"
    source = {"golden": " from goldens", "live": " live", "mixed": " live and goldens"}.get(cost.token_source, "")
    latency = (
        f"latency p50 {_ms(cost.latency_p50_ms)}, p95 {_ms(cost.latency_p95_ms)} "
        f"({plural(cost.latency_calls, 'live call')})"
        if cost.latency_calls
        else "latency: no live calls"
    )
    return f"  {role:<9}  {cost.model}  tokens {tokens}{source}  cost {usd(cost.cost_usd)}  {latency}"


def cost_lines(report: CostReport | None) -> list[str]:
    if report is None or not report.roles:
        return []
    quiet = not report.budgets and not report.fallbacks and not any(c.calls_live for c in report.check_calls)
    if report.live_calls == 0 and report.comparison is None and quiet:
        return []  # a plain replay run: nothing was spent and there is nothing to compare
    lines = ["cost and latency (latency from live calls only):"]
    lines += [_role_line(role, cost) for role, cost in report.roles.items()]
    lines.append(
        f"  this run: {plural(report.live_calls, 'live call')}, {usd(report.spent_usd)} spent "
        "(replayed goldens are free)"
    )
    for fallback in report.fallbacks:
        lines.append(
            f"  fallback   {fallback.model} answered {plural(fallback.calls, 'call')} in place of the model asked for: "
            f"tokens {fallback.input_tokens:,} in / {fallback.output_tokens:,} out, cost {usd(fallback.cost_usd)} "
            "(in the spend above, in neither model's figures)"
        )
    lines += [check_call_line(cost) for cost in report.check_calls]
    unpriced = sorted({m for cost in report.roles.values() for m in cost.unpriced})
    unpriced += sorted({c.model for c in report.check_calls if c.cost_usd is None} - set(unpriced))
    comparison = report.comparison
    if comparison is not None:
        latency = (
            f"latency p50 {ratio(comparison.latency_p50_ratio)}, p95 {ratio(comparison.latency_p95_ratio)}"
            if comparison.latency_p50_ratio is not None
            else f"latency: {comparison.latency_note}"
        )
        lines.append(
            f"  candidate/current per case ({plural(comparison.cases, 'case')}): "
            f"tokens {ratio(comparison.token_ratio)}, cost {ratio(comparison.cost_ratio)}, {latency}"
        )
    for model in unpriced:
        lines.append(f"  price of {model} unknown: add {OVERRIDE_HINT.format(model=model)}")
    for budget in report.budgets:
        lines.append(
            f"  budget {budget.option}={budget.limit_pct:g}: {'ok' if budget.passed else 'FAIL'}, {budget.detail}"
        )
    return lines


def check_call_line(cost: CheckCallCost) -> str:
    """A judge's (or an embedding model's) own cost line: never inside the current or candidate model's."""
    what = "verdict" if cost.purpose == "judge" else "embedding call"
    replayed = f", {cost.calls_replayed:,} replayed" if cost.calls_replayed else ""
    return (
        f"  {cost.purpose:<9}  {cost.model}  {plural(cost.calls_live, 'live ' + what)}{replayed}  tokens "
        f"{cost.input_tokens:,} in / {cost.output_tokens:,} out  cost {usd(cost.cost_usd)} (in the spend above, "
        "in neither model's figures)"
    )


def governance_lines(info: GovernanceInfo | None) -> list[str]:
    if info is None:
        return []
    lines = [f"models: {notice}" for notice in info.notices]
    estimate = info.estimate
    if estimate is not None and estimate.spent_usd is not None:
        line = (
            f"budget: {usd(estimate.spent_usd)} spent of --llm-budget-usd={amount(estimate.budget_usd)} "
            f"(this run's worst case was {usd(estimate.cost_usd)} for {plural(estimate.calls, 'call')})"
        )
        if estimate.refused:
            line += f"; {plural(estimate.refused, 'item')} not run: the budget was reached"
        lines.append(line)
    return lines


def markdown_lines(info: GovernanceInfo | None, report: CostReport | None) -> list[str]:
    """Model notices and the cost table, for the Markdown report (CI step summary, PR comment)."""
    lines = [f"- {notice}" for notice in (info.notices if info else [])]
    if lines:
        lines.append("")
    if report is None or not report.roles:
        return lines
    lines += ["| role | model | tokens in / out | cost | latency p50 / p95 |", "| --- | --- | ---: | ---: | ---: |"]
    for role, cost in report.roles.items():
        latency = f"{_ms(cost.latency_p50_ms)} / {_ms(cost.latency_p95_ms)}" if cost.latency_calls else "–"
        source = " (goldens)" if cost.token_source == "golden" else ""
        lines.append(
            f"| {role} | {cost.model} | {cost.input_tokens:,} / {cost.output_tokens:,}{source} | "
            f"{usd(cost.cost_usd)} | {latency} |"
        )
    for check in report.check_calls:
        lines.append(
            f"| {check.purpose} | {check.model} | {check.input_tokens:,} / {check.output_tokens:,} | "
            f"{usd(check.cost_usd)} | – |"
        )
    comparison = report.comparison
    if comparison is not None:
        latency = (
            f"latency p50 {ratio(comparison.latency_p50_ratio)}"
            if comparison.latency_p50_ratio is not None
            else f"latency: {comparison.latency_note}"
        )
        lines += [
            "",
            f"Candidate/current: tokens {ratio(comparison.token_ratio)}, cost {ratio(comparison.cost_ratio)}, "
            f"{latency}.",
        ]
    return [*lines, ""]
