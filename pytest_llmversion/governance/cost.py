"""Money and time: usage times catalogue price, per item, per role and per run; latency percentiles; budgets.

``input_tokens`` counts every prompt token, ``cached_tokens`` the part of them billed at the cached rate
(the OpenAI and Gemini convention; adapters normalise Anthropic's separate cache counts to it). A model
whose cached rate is unknown is charged its input rate for cached tokens, the upper bound. A missing
input or output price makes the cost *unknown*, never $0.

The current side of a candidate run is usually replayed from goldens: its tokens and cost come from the
goldens' recorded usage (what the current model spent when it was recorded), its latency only from live
calls (``--llm-live``); without them the latency comparison says so instead of inventing a number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_llmversion.governance.catalog import Catalog
from pytest_llmversion.report.format import usd
from pytest_llmversion.report.governance import BudgetCheck, Comparison, FallbackCost, RoleCost
from pytest_llmversion.report.schema import ItemResult

MILLION = 1_000_000


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cached: float | None = None

    def cost(self, usage: Mapping[str, int]) -> float:
        cached = min(usage.get("cached_tokens", 0), usage.get("input_tokens", 0))
        fresh = usage.get("input_tokens", 0) - cached
        cached_rate = self.input if self.cached is None else self.cached
        return (fresh * self.input + cached * cached_rate + usage.get("output_tokens", 0) * self.output) / MILLION


def price_of(catalog: Catalog, model: str) -> Price | None:
    entry = catalog.get(model)
    if entry is None or entry.input_per_mtok is None or entry.output_per_mtok is None:
        return None
    return Price(entry.input_per_mtok, entry.output_per_mtok, entry.cached_per_mtok)


def tokens(usage: Mapping[str, int]) -> int:
    return usage.get("input_tokens", 0) + usage.get("output_tokens", 0)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (no interpolation: with 3 calls, p95 is the slowest call)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)


def priced(usage_by_model: Mapping[str, Mapping[str, int]], catalog: Catalog) -> tuple[float | None, set[str]]:
    """Cost of usage split by the model that answered; None (with the unpriced models) when any is unknown."""
    total, unpriced = 0.0, set()
    for model, usage in usage_by_model.items():
        if not tokens(usage):
            continue
        price = price_of(catalog, model)
        if price is None:
            unpriced.add(model)
        else:
            total += price.cost(usage)
    return (None if unpriced else total), unpriced


def item_usage_by_model(item: ItemResult) -> dict[str, dict[str, int]]:
    return dict(item.usage_by_model) if item.usage_by_model else {item.model: dict(item.usage)}


def live_cost(item: ItemResult, catalog: Catalog) -> float | None:
    """What an item's live calls cost (its own, and the current model's baseline top-ups); None when a model
    it called has no price. An item that made no live call costs nothing."""
    if not item.calls.get("live", 0):
        return 0.0
    own, _ = priced(item_usage_by_model(item), catalog)
    topups, _ = priced(item.baseline_live_usage_by_model, catalog)
    return None if own is None or topups is None else own + topups


def add_usage(into: dict[str, int], usage: Mapping[str, int]) -> None:
    for key in ("input_tokens", "output_tokens", "cached_tokens"):
        into[key] = into.get(key, 0) + int(usage.get(key, 0))


def role_cost(
    role: str, model: str, items: Sequence[ItemResult], catalog: Catalog, extra_latencies: Sequence[float] = ()
) -> RoleCost:
    """``extra_latencies``: live calls of this model made inside other items (the current model topping up
    a candidate item's baseline), which measure its latency too."""
    usage: dict[str, int] = {}
    latencies = [ms for item in items for ms in item.latency_ms] + list(extra_latencies)
    total: float | None = 0.0
    unpriced: set[str] = set()
    for item in items:
        add_usage(usage, item.usage)
        if item.cost_usd is not None and total is not None:
            total += item.cost_usd
        elif tokens(item.usage):
            total = None
        unpriced |= set(item.unpriced)
    live = sum(item.calls.get("live", 0) for item in items)
    # only a current item in replay mode answers its own calls from the golden
    replayed = sum(item.calls.get("replayed", 0) for item in items if item.role == "current" and item.mode == "replay")
    source = "none" if not tokens(usage) else "golden" if not live else "mixed" if replayed else "live"
    return RoleCost(
        model=model,
        items=len(items),
        calls_live=live,
        calls_replayed=replayed,
        input_tokens=usage.get("input_tokens", 0),
        output_tokens=usage.get("output_tokens", 0),
        cached_tokens=usage.get("cached_tokens", 0),
        token_source=source,
        cost_usd=None if total is None else round(total, 8),
        unpriced=sorted(unpriced),
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        latency_calls=len(latencies),
    )


def item_cost(item: ItemResult, catalog: Catalog, current_price: Price | None) -> dict[str, Any]:
    """An item's price, and its golden baseline's at the current model's price: the fields to set on it."""
    cost, unpriced = priced(item_usage_by_model(item), catalog)
    baseline = None
    if item.baseline_usage and tokens(item.baseline_usage) and current_price is not None:
        baseline = round(current_price.cost(item.baseline_usage), 8)
    return {
        "cost_usd": None if cost is None else round(cost, 8),
        "unpriced": sorted(unpriced),
        "baseline_cost_usd": baseline,
    }


def fallback_costs(items: Iterable[ItemResult], catalog: Catalog) -> list[FallbackCost]:
    """Per fallback model: the calls it answered for any item, their tokens and price."""
    totals: dict[str, dict[str, int]] = {}
    for item in items:
        for model, usage in item.fallback_usage_by_model.items():
            total = totals.setdefault(model, {})
            add_usage(total, usage)
            total["calls"] = total.get("calls", 0) + int(usage.get("calls", 0))
    out = []
    for model, usage in sorted(totals.items()):
        cost, _ = priced({model: usage}, catalog)
        out.append(
            FallbackCost(
                model=model,
                calls=usage["calls"],
                input_tokens=usage.get("input_tokens", 0),
                output_tokens=usage.get("output_tokens", 0),
                cost_usd=None if cost is None else round(cost, 8),
            )
        )
    return out


def compare(
    candidates: Sequence[ItemResult], current_role: RoleCost | None, candidate_role: RoleCost, current: str
) -> Comparison | None:
    """Candidate over current on the cases that have both: tokens and cost per sample, latency per call."""
    pairs = [i for i in candidates if tokens(i.usage) and i.samples and tokens(i.baseline_usage) and i.baseline_samples]
    if not pairs:
        return None
    cand_tokens = sum(tokens(i.usage) / i.samples for i in pairs)
    base_tokens = sum(tokens(i.baseline_usage) / i.baseline_samples for i in pairs)
    unpriced = sorted(
        {m for i in pairs for m in i.unpriced}
        | ({current} if any(i.baseline_cost_usd is None for i in pairs) else set())
    )
    cand_cost = base_cost = None
    if not unpriced:
        cand_cost = sum((i.cost_usd or 0.0) / i.samples for i in pairs)
        base_cost = sum((i.baseline_cost_usd or 0.0) / i.baseline_samples for i in pairs)
    comparison = Comparison(
        cases=len(pairs),
        current_tokens=round(base_tokens, 3),
        candidate_tokens=round(cand_tokens, 3),
        token_ratio=_ratio(cand_tokens, base_tokens),
        current_cost_usd=None if base_cost is None else round(base_cost, 8),
        candidate_cost_usd=None if cand_cost is None else round(cand_cost, 8),
        cost_ratio=_ratio(cand_cost, base_cost),
        unpriced=unpriced,
        candidate_latency_p50_ms=candidate_role.latency_p50_ms,
        candidate_latency_p95_ms=candidate_role.latency_p95_ms,
    )
    live_current = current_role is not None and current_role.latency_calls > 0
    if live_current and current_role is not None and candidate_role.latency_calls:
        comparison.current_latency_p50_ms = current_role.latency_p50_ms
        comparison.current_latency_p95_ms = current_role.latency_p95_ms
        comparison.latency_p50_ratio = _ratio(candidate_role.latency_p50_ms, current_role.latency_p50_ms)
        comparison.latency_p95_ratio = _ratio(candidate_role.latency_p95_ms, current_role.latency_p95_ms)
    elif not candidate_role.latency_calls:
        comparison.latency_note = "no live candidate latency"
    else:
        comparison.latency_note = (
            "no live current latency (its answers were replayed from goldens; add --llm-live to call it too)"
        )
    return comparison


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return round(numerator / denominator, 4)


@dataclass(frozen=True)
class Budgets:
    """Allowed increase of the candidate over the current model, in percent (None: no budget)."""

    cost_pct: float | None = None
    latency_pct: float | None = None
    token_pct: float | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.cost_pct, self.latency_pct, self.token_pct))


def check_budgets(budgets: Budgets, comparison: Comparison | None) -> list[BudgetCheck]:
    checks: list[BudgetCheck] = []
    if budgets.token_pct is not None:
        ratio = comparison.token_ratio if comparison else None
        detail = (
            f"{comparison.candidate_tokens:,.0f} tokens per run of {comparison.cases} cases vs "
            f"{comparison.current_tokens:,.0f} for current"
            if comparison
            else "no case has tokens on both sides to compare"
        )
        checks.append(_check("tokens", "--llm-max-token-increase", budgets.token_pct, ratio, detail))
    if budgets.cost_pct is not None:
        ratio = comparison.cost_ratio if comparison else None
        if comparison is None:
            detail = "no case has tokens on both sides to compare"
        elif comparison.unpriced:
            detail = f"cost unknown: no price for {', '.join(comparison.unpriced)}"
        else:
            detail = (
                f"{usd(comparison.candidate_cost_usd)} per run of {comparison.cases} cases vs "
                f"{usd(comparison.current_cost_usd)} for current"
            )
        checks.append(_check("cost", "--llm-max-cost-increase", budgets.cost_pct, ratio, detail))
    if budgets.latency_pct is not None:
        ratio = comparison.latency_p50_ratio if comparison else None
        if comparison is None:
            detail = "no case to compare"
        elif ratio is None:
            detail = f"cannot compare: {comparison.latency_note}"
        else:
            detail = (
                f"p50 {comparison.candidate_latency_p50_ms:,.0f} ms vs {comparison.current_latency_p50_ms:,.0f} ms "
                "for current"
            )
        checks.append(_check("latency", "--llm-max-latency-increase", budgets.latency_pct, ratio, detail))
    return checks


def _check(name: str, option: str, limit: float, ratio: float | None, detail: str) -> BudgetCheck:
    if ratio is None:
        return BudgetCheck(name=name, option=option, limit_pct=limit, passed=False, detail=detail)
    actual = round((ratio - 1) * 100, 1)
    passed = actual <= limit
    verdict = "within" if passed else "over"
    return BudgetCheck(
        name=name,
        option=option,
        limit_pct=limit,
        actual_pct=actual,
        passed=passed,
        detail=f"{actual:+.1f}% {verdict} the allowed {limit:+g}% ({detail})",
    )


def budget_reasons(checks: Iterable[BudgetCheck]) -> list[str]:
    return [f"{c.name} budget {c.option}={c.limit_pct:g}: {c.detail}" for c in checks if not c.passed]
