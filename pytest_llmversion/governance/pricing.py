"""Session end: what the run's calls cost. Each item priced at the catalogue's prices of the models that
answered it, the cost per role, candidate against current, the cost, token and latency budgets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pytest_llmversion.governance.catalog import Catalog
from pytest_llmversion.governance.cost import (
    add_usage,
    budget_reasons,
    check_budgets,
    compare,
    fallback_costs,
    item_cost,
    price_of,
    priced,
    role_cost,
)
from pytest_llmversion.governance.startup import Governance
from pytest_llmversion.report.governance import CheckCallCost, CostReport
from pytest_llmversion.report.schema import ItemResult


@dataclass
class Pricing:
    #: The items with their prices filled in (new objects: the ones given are not changed).
    items: list[ItemResult]
    cost: CostReport
    #: Budgets the candidate broke: each one fails the gate.
    reasons: list[str] = field(default_factory=list)


def price_run(gov: Governance, items: Sequence[ItemResult]) -> Pricing:
    """Price the items, sum per role, compare candidate and current, apply the budgets."""
    models = gov.models
    current_price = price_of(gov.catalog, str(models.current)) if models.current else None
    items = [item.model_copy(update=item_cost(item, gov.catalog, current_price)) for item in items]
    report = CostReport()
    by_role: dict[str, list[ItemResult]] = {"current": [], "candidate": []}
    for item in items:
        by_role.setdefault(item.role, []).append(item)
    baseline_latencies = [ms for item in by_role["candidate"] for ms in item.baseline_latency_ms]
    for role, ref in (("current", models.current), ("candidate", models.candidate)):
        if ref is not None and by_role.get(role):
            extra = baseline_latencies if role == "current" else ()
            cost = role_cost(role, str(ref), by_role[role], gov.catalog, extra)
            if cost.tokens or cost.calls_live:  # a role whose items never got an answer has nothing to price
                report.roles[role] = cost
    live = [cost for cost in report.roles.values() if cost.calls_live]
    # live calls the current model made for candidate items' baselines (samples its goldens lack)
    topped_up: dict[str, dict[str, int]] = {}
    for item in by_role["candidate"]:
        for model, usage in item.baseline_live_usage_by_model.items():
            add_usage(topped_up.setdefault(model, {}), usage)
    topup_cost, topup_unpriced = priced(topped_up, gov.catalog)
    report.fallbacks = fallback_costs(items, gov.catalog)
    report.check_calls = check_call_costs(items, gov.catalog)
    report.live_calls = (
        sum(cost.calls_live for cost in live) + len(baseline_latencies) + sum(f.calls for f in report.fallbacks)
    ) + sum(c.calls_live for c in report.check_calls)
    unknown = (
        any(cost.cost_usd is None for cost in live)
        or bool(topup_unpriced)
        or any(f.cost_usd is None for f in report.fallbacks)
        or any(c.cost_usd is None for c in report.check_calls)
    )
    spent = sum(cost.cost_usd or 0.0 for cost in live) + (topup_cost or 0.0)
    spent += sum(f.cost_usd or 0.0 for f in report.fallbacks)
    spent += sum(c.cost_usd or 0.0 for c in report.check_calls)
    report.spent_usd = None if unknown else round(spent, 8)
    if models.candidate is not None and "candidate" in report.roles:
        report.comparison = compare(
            by_role["candidate"], report.roles.get("current"), report.roles["candidate"], str(models.current)
        )
        report.budgets = check_budgets(gov.budgets, report.comparison)
    return Pricing(items, report, budget_reasons(report.budgets))


def check_call_costs(items: Sequence[ItemResult], catalog: Catalog) -> list[CheckCallCost]:
    """Per purpose and model, what the checks' own calls cost (live ones; replayed ones are free)."""
    totals: dict[tuple[str, str], dict[str, int]] = {}
    for item in items:
        for purpose, by_model in item.check_calls.items():
            for model, usage in by_model.items():
                total = totals.setdefault((purpose, model), {})
                for key, value in usage.items():
                    total[key] = total.get(key, 0) + value
    out = []
    for (purpose, model), usage in sorted(totals.items()):
        cost, _ = priced({model: usage}, catalog)
        out.append(
            CheckCallCost(
                purpose=purpose,
                model=model,
                calls_live=usage.get("calls_live", 0),
                calls_replayed=usage.get("calls_replayed", 0),
                input_tokens=usage.get("input_tokens", 0),
                output_tokens=usage.get("output_tokens", 0),
                cost_usd=None if cost is None else round(cost, 8),
            )
        )
    return out
