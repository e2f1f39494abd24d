"""Usage times price, percentiles, the candidate/current comparison, budgets (the spend cap: test_spend_cap.py)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_llmversion.governance.catalog import load_catalog
from pytest_llmversion.governance.cost import (
    Budgets,
    Price,
    check_budgets,
    compare,
    item_cost,
    percentile,
    price_of,
    priced,
    role_cost,
)
from pytest_llmversion.report.schema import ItemResult

PRICES = {
    "scripted/cur": {"input_per_mtok": 2.0, "output_per_mtok": 10.0, "cached_per_mtok": 0.5},
    "scripted/cand": {"input_per_mtok": 1.0, "output_per_mtok": 8.0},
}


def test_cached_tokens_are_priced_as_cached() -> None:
    usage = {"input_tokens": 1_000_000, "output_tokens": 100_000, "cached_tokens": 400_000}
    assert Price(2.0, 10.0, 0.5).cost(usage) == pytest.approx(600_000 * 2e-6 + 400_000 * 0.5e-6 + 1.0)
    # no cached rate known: charged as input, the upper bound
    assert Price(2.0, 10.0).cost(usage) == pytest.approx(2.0 + 1.0)


def test_unknown_price_is_none_never_zero() -> None:
    catalog = load_catalog(overrides=PRICES)
    cost, unpriced = priced({"scripted/cand": {"input_tokens": 10}, "scripted/other": {"output_tokens": 5}}, catalog)
    assert (cost, unpriced) == (None, {"scripted/other"})
    cost, unpriced = priced({"scripted/cand": {"input_tokens": 10}, "scripted/other": {}}, catalog)
    assert (cost, unpriced) == (pytest.approx(1e-5), set())


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([300.0, 100.0, 200.0], 50) == 200.0
    assert percentile([300.0, 100.0, 200.0], 95) == 300.0
    assert percentile([float(n) for n in range(1, 101)], 95) == 95.0


def _item(role: str, model: str, usage: dict[str, int], **extra: Any) -> ItemResult:
    data: dict[str, Any] = {"nodeid": f"t::x[{role}]", "test": "t::x", "role": role, "model": model}
    data |= {"verdict": "UNCHANGED" if role == "candidate" else "MATCH", "usage": usage}
    return ItemResult.model_validate(data | extra)


def test_items_roles_and_comparison() -> None:
    catalog = load_catalog(overrides=PRICES)
    golden = {"input_tokens": 1000, "output_tokens": 200}
    current = _item("current", "scripted/cur", golden, calls={"live": 0, "replayed": 1})
    candidate = _item(
        "candidate",
        "scripted/cand",
        {"input_tokens": 2000, "output_tokens": 600},
        samples=2,
        baseline_samples=1,
        baseline_usage=golden,
        latency_ms=[150.0, 250.0],
        calls={"live": 2, "replayed": 1},
        usage_by_model={"scripted/cand": {"input_tokens": 1000, "output_tokens": 300}, "scripted/cur": golden},
    )
    current_price = price_of(catalog, "scripted/cur")
    current, candidate = (i.model_copy(update=item_cost(i, catalog, current_price)) for i in (current, candidate))
    assert current.cost_usd == pytest.approx(0.004)
    # a fallback answered one call: each call is priced at the rate of the model that answered it
    assert candidate.cost_usd == pytest.approx(0.0034 + 0.004)
    assert candidate.baseline_cost_usd == pytest.approx(0.004)
    cur_role = role_cost("current", "scripted/cur", [current], catalog)
    cand_role = role_cost("candidate", "scripted/cand", [candidate], catalog)
    assert (cur_role.token_source, cur_role.latency_calls, cur_role.cost_usd) == ("golden", 0, pytest.approx(0.004))
    assert (cand_role.token_source, cand_role.latency_p50_ms, cand_role.latency_p95_ms) == ("live", 150.0, 250.0)
    comparison = compare([candidate], cur_role, cand_role, "scripted/cur")
    assert comparison is not None
    assert (comparison.current_tokens, comparison.candidate_tokens) == (1200, 1300)  # per sample
    assert comparison.cost_ratio == pytest.approx(7.4e-3 / 2 / 0.004, abs=1e-4)
    assert comparison.latency_p50_ratio is None
    assert comparison.latency_note is not None
    assert "no live current latency" in comparison.latency_note


def test_budgets_pass_fail_and_cannot_compare() -> None:
    catalog = load_catalog(overrides=PRICES)
    candidate = _item(
        "candidate",
        "scripted/cand",
        {"input_tokens": 1000, "output_tokens": 300},
        baseline_usage={"input_tokens": 1000, "output_tokens": 200},
        baseline_samples=1,
        latency_ms=[150.0],
        calls={"live": 1},
    )
    live_current = _item("current", "scripted/cur", {"input_tokens": 1000, "output_tokens": 200}, latency_ms=[100.0])
    current_price = price_of(catalog, "scripted/cur")
    candidate, live_current = (
        i.model_copy(update=item_cost(i, catalog, current_price)) for i in (candidate, live_current)
    )
    comparison = compare(
        [candidate],
        role_cost("current", "scripted/cur", [live_current], catalog),
        role_cost("candidate", "scripted/cand", [candidate], catalog),
        "scripted/cur",
    )
    checks = check_budgets(Budgets(cost_pct=0, latency_pct=40, token_pct=10), comparison)
    assert [(c.name, c.passed, c.actual_pct) for c in checks] == [
        ("tokens", True, 8.3),
        ("cost", True, -15.0),
        ("latency", False, 50.0),
    ]
    assert checks[2].detail == "+50.0% over the allowed +40% (p50 150 ms vs 100 ms for current)"
    nothing = check_budgets(Budgets(cost_pct=10), None)
    assert (nothing[0].passed, nothing[0].detail) == (False, "no case has tokens on both sides to compare")
