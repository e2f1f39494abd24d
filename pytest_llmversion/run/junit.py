"""An LLM item's JUnit XML properties (``--junitxml``): what a CI dashboard reads without report.json.

Built from the item's ``ItemResult`` when its call phase ends. The cost is priced there too, at the catalogue's
prices of the models that answered (the function the session end uses, so the property equals the report's
``cost_usd``): pytest writes a test case's properties before the session ends, so a price known only at the end
could not reach the XML. A property whose value is unknown (no baseline, no price, no live call) is left out.
"""

from __future__ import annotations

from statistics import median

from pytest_llmversion.governance.catalog import Catalog
from pytest_llmversion.governance.cost import item_usage_by_model, priced
from pytest_llmversion.redaction import redactor
from pytest_llmversion.report.schema import ItemResult

#: The properties, in the order they are written (README, "JUnit properties").
NAMES = (
    "llm_verdict",
    "llm_role",
    "llm_model",
    "llm_baseline_score",
    "llm_score",
    "llm_delta",
    "llm_input_tokens",
    "llm_output_tokens",
    "llm_cost_usd",
    "llm_latency_ms",
    "llm_golden",
)


def junit_properties(result: ItemResult, catalog: Catalog) -> list[tuple[str, str]]:
    cost, _ = priced(item_usage_by_model(result), catalog)
    values: dict[str, object | None] = {
        "llm_verdict": result.verdict.value,
        "llm_role": result.role,
        "llm_model": result.model,
        "llm_baseline_score": result.baseline_score,
        "llm_score": result.score,
        "llm_delta": result.delta,
        "llm_input_tokens": result.usage.get("input_tokens", 0),
        "llm_output_tokens": result.usage.get("output_tokens", 0),
        "llm_cost_usd": None if cost is None else f"{cost:.8f}".rstrip("0").rstrip("."),
        # the item's own live calls; replayed answers took no time worth reporting
        "llm_latency_ms": round(median(result.latency_ms), 1) if result.latency_ms else None,
        "llm_golden": result.golden,
    }
    # the XML is a CI artifact: nothing in it may carry a key a server or a test echoed back
    redact = redactor()
    return [(name, redact(str(value))) for name in NAMES if (value := values[name]) is not None]
