"""What is kept of one production call: arm, models, latency, tokens, cost, error kind, fallback, quality.

No prompt or answer text unless ``store_text = true``; the rollout key only as a keyed digest.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_llmversion.rollout.arms import Arm


@dataclass(frozen=True)
class CallRecord:
    #: Unix time the call started.
    at: float
    arm: Arm
    #: ``candidate_percent`` when the call was routed.
    stage: float
    #: The arm's model (``provider/model-id``), also when a fallback answered.
    model: str
    #: :func:`arms.key_digest` of the rollout key.
    key: str
    #: Wall-clock milliseconds of the whole call (retries and fallbacks included), or the latency a
    #: scripted model reports, whichever is larger.
    latency_ms: float
    #: The error kind (``rate_limited``, ``unavailable``, ``auth``, ...) when no model answered.
    error: str | None = None
    #: The model that answered (a fallback's ``provider/model-id`` when ``fallback``).
    answered_by: str | None = None
    #: What the provider said served the call.
    model_served: str | None = None
    fallback: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    #: USD from the catalogue's prices; None when the answering model has no price.
    cost_usd: float | None = None
    #: Mean score of the quality checks, on the sampled share of calls; None when not sampled.
    quality: float | None = None
    quality_passed: bool | None = None
    #: ``task@version`` of a registry prompt.
    prompt_version: str | None = None
    prompt_text: str | None = None
    answer_text: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None
