"""The governance and cost parts of the report: what report.json holds, and the lines the terminal shows.

Cost lines never show an unknown price as $0: they say "unknown" and how to add the price. Latency
comes from live calls only; a role whose calls were all replayed from goldens has no latency.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

OVERRIDE_HINT = '[tool.llmversion.catalog."{model}"] input_per_mtok = ..., output_per_mtok = ...'


class ModelStatus(BaseModel):
    role: str
    model: str
    kind: str
    pinned: bool
    resolves_to: str | None = None
    basis: str
    state: str
    retires: str | None = None
    deprecated: str | None = None
    days_left: int | None = None
    #: A pinned id, ready for --candidate-model and ``llmversion promote``.
    successor: str | None = None
    #: The successor when no pinned snapshot of it is known yet.
    successor_unpinned: str | None = None
    source: str | None = None


class Estimate(BaseModel):
    """``--llm-budget-usd``: every live call the run may make, priced before the first is sent."""

    budget_usd: float
    cost_usd: float | None
    calls: int
    goldens: int
    #: Items priced without a golden: ``prompt_tokens`` in and ``output_tokens`` (max_tokens) out a call.
    without_golden: int = 0
    prompt_tokens: int = 0
    output_tokens: int = 0
    by_model: dict[str, float | None] = Field(default_factory=dict)
    #: At session end: what the run spent, and how many calls the cap refused.
    spent_usd: float | None = None
    refused: int = 0


class GovernanceInfo(BaseModel):
    today: str
    catalog: str
    warn_days: int
    urgent_days: int
    models: list[ModelStatus] = Field(default_factory=list)
    notices: list[str] = Field(default_factory=list)
    estimate: Estimate | None = None


class RoleCost(BaseModel):
    model: str
    items: int = 0
    calls_live: int = 0
    calls_replayed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    #: "live", "golden" (every call replayed), "mixed" or "none".
    token_source: str = "none"
    cost_usd: float | None = None
    unpriced: list[str] = Field(default_factory=list)
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_calls: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class Comparison(BaseModel):
    """Candidate against current on the same cases, per sample; current tokens come from the goldens."""

    cases: int
    current_tokens: float
    candidate_tokens: float
    token_ratio: float | None = None
    current_cost_usd: float | None = None
    candidate_cost_usd: float | None = None
    cost_ratio: float | None = None
    unpriced: list[str] = Field(default_factory=list)
    current_latency_p50_ms: float | None = None
    candidate_latency_p50_ms: float | None = None
    latency_p50_ratio: float | None = None
    current_latency_p95_ms: float | None = None
    candidate_latency_p95_ms: float | None = None
    latency_p95_ratio: float | None = None
    latency_note: str | None = None


class BudgetCheck(BaseModel):
    name: str
    option: str
    limit_pct: float
    actual_pct: float | None = None
    passed: bool
    detail: str


class FallbackCost(BaseModel):
    """What a fallback model answered in place of the model asked for: spent, but in neither role's figures."""

    model: str
    calls: int
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None


class CostReport(BaseModel):
    roles: dict[str, RoleCost] = Field(default_factory=dict)
    #: What this run's live calls cost (replayed goldens cost nothing); None when a price is unknown.
    live_calls: int = 0
    spent_usd: float | None = None
    fallbacks: list[FallbackCost] = Field(default_factory=list)
    comparison: Comparison | None = None
    budgets: list[BudgetCheck] = Field(default_factory=list)


# -- terminal ------------------------------------------------------------------------------------------


def usd(value: float | None) -> str:
    if value is None:
        return "unknown"
    if value >= 100:
        return f"${value:,.2f}"
    if value >= 0.01:
        return f"${value:.4f}"
    return f"${value:.6f}"


def amount(value: float) -> str:
    """A number as typed on a command line: 0.00001, not 1e-05."""
    return f"{value:.8f}".rstrip("0").rstrip(".")


def pct(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"x{ratio:.2f} ({(ratio - 1) * 100:+.1f}%)"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def _role_line(role: str, cost: RoleCost) -> str:
    tokens = f"{cost.input_tokens:,} in / {cost.output_tokens:,} out"
    if cost.cached_tokens:
        tokens += f" ({cost.cached_tokens:,} cached)"
    source = {"golden": " from goldens", "live": " live", "mixed": " live and goldens"}.get(cost.token_source, "")
    latency = (
        f"latency p50 {_ms(cost.latency_p50_ms)}, p95 {_ms(cost.latency_p95_ms)} "
        f"({_n(cost.latency_calls, 'live call')})"
        if cost.latency_calls
        else "latency: no live calls"
    )
    return f"  {role:<9}  {cost.model}  tokens {tokens}{source}  cost {usd(cost.cost_usd)}  {latency}"


def cost_lines(report: CostReport | None) -> list[str]:
    if report is None or not report.roles:
        return []
    if report.live_calls == 0 and report.comparison is None and not report.budgets and not report.fallbacks:
        return []  # a plain replay run: nothing was spent and there is nothing to compare
    lines = ["cost and latency (latency from live calls only):"]
    lines += [_role_line(role, cost) for role, cost in report.roles.items()]
    lines.append(
        f"  this run: {_n(report.live_calls, 'live call')}, {usd(report.spent_usd)} spent (replayed goldens are free)"
    )
    for fallback in report.fallbacks:
        lines.append(
            f"  fallback   {fallback.model} answered {_n(fallback.calls, 'call')} in place of the model asked for: "
            f"tokens {fallback.input_tokens:,} in / {fallback.output_tokens:,} out, cost {usd(fallback.cost_usd)} "
            "(in the spend above, in neither model's figures)"
        )
    unpriced = sorted({m for cost in report.roles.values() for m in cost.unpriced})
    comparison = report.comparison
    if comparison is not None:
        latency = (
            f"latency p50 {pct(comparison.latency_p50_ratio)}, p95 {pct(comparison.latency_p95_ratio)}"
            if comparison.latency_p50_ratio is not None
            else f"latency: {comparison.latency_note}"
        )
        lines.append(
            f"  candidate/current per case ({_n(comparison.cases, 'case')}): tokens {pct(comparison.token_ratio)}, "
            f"cost {pct(comparison.cost_ratio)}, {latency}"
        )
    for model in unpriced:
        lines.append(f"  price of {model} unknown: add {OVERRIDE_HINT.format(model=model)}")
    for budget in report.budgets:
        lines.append(
            f"  budget {budget.option}={budget.limit_pct:g}: {'ok' if budget.passed else 'FAIL'}, {budget.detail}"
        )
    return lines


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def governance_lines(info: GovernanceInfo | None) -> list[str]:
    if info is None:
        return []
    lines = [f"models: {notice}" for notice in info.notices]
    estimate = info.estimate
    if estimate is not None and estimate.spent_usd is not None:
        line = (
            f"budget: {usd(estimate.spent_usd)} spent of --llm-budget-usd={amount(estimate.budget_usd)} "
            f"(this run's worst case was {usd(estimate.cost_usd)} for {_n(estimate.calls, 'call')})"
        )
        if estimate.refused:
            line += f"; {_n(estimate.refused, 'item')} not run: the budget was reached"
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
    comparison = report.comparison
    if comparison is not None:
        latency = (
            f"latency p50 {pct(comparison.latency_p50_ratio)}"
            if comparison.latency_p50_ratio is not None
            else f"latency: {comparison.latency_note}"
        )
        lines += [
            "",
            f"Candidate/current: tokens {pct(comparison.token_ratio)}, cost {pct(comparison.cost_ratio)}, {latency}.",
        ]
    return [*lines, ""]
