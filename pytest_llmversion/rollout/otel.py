"""Call records as OpenTelemetry metrics, named by the GenAI semantic conventions, plus the arm.

This is how a fleet of hosts reports a rollout: each process adds to the metrics of the MeterProvider
the application configured (its exporter, its collector), and the dashboards that already chart
``gen_ai.client.operation.duration`` by ``gen_ai.request.model`` split by ``llmversion.arm`` too.
Only attributes of bounded cardinality are sent: models, provider, arm, error kind, never a key or text.
OpenTelemetry is imported here only, when ``metrics`` includes "otel".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pytest_llmversion.rollout.records import CallRecord
from pytest_llmversion.rollout.settings import TABLE, RolloutError
from pytest_llmversion.version import __version__

#: The conventions' well-known provider names for the plugin's providers; others keep their own name.
PROVIDER_NAMES = {"openai": "openai", "anthropic": "anthropic", "gemini": "gcp.gemini", "google-legacy": "gcp.gemini"}
#: Bucket boundaries the conventions recommend (seconds; tokens).
DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]


def attributes(record: CallRecord) -> dict[str, str | bool]:
    """The attributes every metric of one call carries."""
    provider, _, model_id = record.model.partition("/")
    name = PROVIDER_NAMES.get(provider, provider)
    found: dict[str, str | bool] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": name,
        "gen_ai.system": name,  # the attribute's name before semantic conventions 1.37, still charted
        "gen_ai.request.model": model_id,
        "llmversion.arm": record.arm,
        "llmversion.fallback": record.fallback,
    }
    if record.model_served:
        found["gen_ai.response.model"] = record.model_served
    if record.error:
        found["error.type"] = record.error
    return found


class OtelSink:
    """Writes each record to the instruments of one meter."""

    def __init__(self, meter_provider: Any | None = None) -> None:
        try:
            from opentelemetry import metrics
        except ImportError:
            raise RolloutError(
                f"{TABLE} metrics includes 'otel', but OpenTelemetry is not installed: "
                "pip install 'pytest-llmversion[otel]'"
            ) from None
        provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
        meter = provider.get_meter("pytest_llmversion", __version__)
        self.duration = _histogram(
            meter, "gen_ai.client.operation.duration", "s", "GenAI operation duration.", DURATION_BUCKETS
        )
        self.tokens = _histogram(
            meter, "gen_ai.client.token.usage", "{token}", "Number of input and output tokens used.", TOKEN_BUCKETS
        )
        self.cost = meter.create_counter(
            "llmversion.rollout.cost", unit="{USD}", description="Catalogue price of the calls, in US dollars."
        )
        self.quality = meter.create_histogram(
            "llmversion.rollout.quality", unit="1", description="Mean quality-check score of sampled calls."
        )

    def write(self, record: CallRecord) -> None:
        common = attributes(record)
        self.duration.record(record.latency_ms / 1000, common)
        if record.error is None:
            self.tokens.record(record.input_tokens, {**common, "gen_ai.token.type": "input"})
            self.tokens.record(record.output_tokens, {**common, "gen_ai.token.type": "output"})
        if record.cost_usd is not None:
            self.cost.add(record.cost_usd, common)
        if record.quality is not None:
            self.quality.record(record.quality, {**common, "llmversion.quality.passed": bool(record.quality_passed)})


def _histogram(meter: Any, name: str, unit: str, description: str, buckets: Sequence[float]) -> Any:
    try:
        return meter.create_histogram(
            name, unit=unit, description=description, explicit_bucket_boundaries_advisory=buckets
        )
    except TypeError:  # opentelemetry-api before 1.23 takes no bucket advice
        return meter.create_histogram(name, unit=unit, description=description)
