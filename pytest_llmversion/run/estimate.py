"""``--llm-budget-usd`` before the first call: the items collected, priced at their worst (``governance.budget``)."""

from __future__ import annotations

from pytest_llmversion.governance.budget import PlannedItem, RunShape, check_estimate, estimate
from pytest_llmversion.governance.cost import price_of
from pytest_llmversion.report.governance import Estimate
from pytest_llmversion.run.context import RunContext
from pytest_llmversion.run.goldens import GoldenError, load_golden
from pytest_llmversion.run.recordings import recording_path
from pytest_llmversion.run.spec import ItemSpec


def estimate_spend(ctx: RunContext, planned: list[ItemSpec]) -> Estimate:
    """``--llm-budget-usd`` before the first call: the worst case of every call the items may make, priced.
    Raises ``budget.BudgetError`` when it is above the budget or cannot be priced."""
    assert ctx.current is not None
    assert ctx.config.budget_usd is not None
    candidate = ctx.candidate
    shape = RunShape(
        ctx.mode,
        str(ctx.current),
        str(candidate) if candidate else None,
        ctx.policy.max_samples,
        ctx.policy.baseline,
        ctx.config.max_tokens,
    )
    cache = ctx.base / ctx.config.report_dir / "cache" / "goldens"
    recordings = ctx.base / ctx.config.report_dir / "recordings"
    plans = []
    for spec in planned:
        key = spec.golden_key
        try:
            golden = load_golden(key.path, cache)
        except GoldenError:
            golden = None  # the item reports it; it makes no baseline call either way
        per_sample = golden.calls_per_sample(0) if golden else 0
        usage = None
        if golden is not None and per_sample:
            recorded = golden.samples
            tokens_in = sum(s.usage.get("input_tokens", 0) for s in recorded) / len(recorded) / per_sample
            tokens_out = sum(s.usage.get("output_tokens", 0) for s in recorded) / len(recorded) / per_sample
            usage = (tokens_in, tokens_out)
        sends = True
        if spec.role == "candidate" and candidate is not None and candidate.provider != "scripted":
            has_recording = recording_path(recordings, ctx.base, candidate, key).is_file()
            sends = ctx.recordings in ("new", "all") or (ctx.recordings == "once" and not has_recording)
        golden_samples = len(golden.samples) if golden else 0
        samples = ctx.item_samples(spec.marker)
        plans.append(PlannedItem(spec.role, str(key.path), samples, golden_samples, per_sample, usage, sends))
    catalog = ctx.catalog()
    result, unpriced = estimate(shape, plans, ctx.config.budget_usd, lambda model: price_of(catalog, model))
    check_estimate(result, unpriced)
    return result
