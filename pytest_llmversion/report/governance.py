"""The governance and cost parts of report.json: model statuses, the budget estimate, cost per role."""

from __future__ import annotations

from pydantic import BaseModel, Field


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


class CheckCallCost(BaseModel):
    """What the calls of checks cost (an LLM judge, an embedding model): spent, but in neither role's figures."""

    purpose: str
    model: str
    calls_live: int = 0
    calls_replayed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None


class CostReport(BaseModel):
    roles: dict[str, RoleCost] = Field(default_factory=dict)
    #: The judge's and embedding models' calls, one line each (in ``spent_usd`` and ``live_calls``).
    check_calls: list[CheckCallCost] = Field(default_factory=list)
    #: What this run's live calls cost (replayed goldens cost nothing); None when a price is unknown.
    live_calls: int = 0
    spent_usd: float | None = None
    fallbacks: list[FallbackCost] = Field(default_factory=list)
    comparison: Comparison | None = None
    budgets: list[BudgetCheck] = Field(default_factory=list)
