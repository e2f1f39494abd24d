"""``connect(rollout_key=...)``'s client: each call is served by the key's arm at the stage in force then."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmversion.client import LLMClient
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.prompts.registry import Prompt
from pytest_llmversion.providers.base import Completion, Message
from pytest_llmversion.rollout.arms import key_digest
from pytest_llmversion.rollout.recorder import Deployment, QualityChecks, QualityPlan, ServingArm, deployment_for

if TYPE_CHECKING:
    from pytest_llmversion.config import ResolvedConfig


class RolloutClient(LLMClient):
    """An :class:`LLMClient` whose model follows the rollout stage; ``model`` is the arm of the last call."""

    def __init__(
        self, deployment: Deployment, key: str, defaults: Mapping[str, Any], quality: QualityPlan | None
    ) -> None:
        self.deployment = deployment
        self._key = key
        self._digest = key_digest(key, deployment.secret)
        self._quality = quality
        arm = deployment.arm(key)
        catalog = deployment.catalog
        rejected = catalog.rejected_params if catalog is not None else None
        super().__init__(arm.ref, self._send_now, defaults, deployment.registry, rejected_params=rejected)

    def _follow(self, arm: ServingArm) -> None:
        self.model = self.prompt_model = arm.ref

    def _send_now(self, request: Any) -> Completion:
        arm = self.deployment.arm(self._key)
        self._follow(arm)
        return self.deployment.call(arm, self._digest, request, self._quality)

    def prompt(self, task: str) -> Prompt:
        self._follow(self.deployment.arm(self._key))
        return super().prompt(task)

    def complete(
        self, prompt: str | Prompt | Sequence[Mapping[str, Any] | Message | Completion], /, **kwargs: Any
    ) -> Completion:
        arm = self.deployment.arm(self._key)
        self._follow(arm)
        if isinstance(prompt, Prompt):
            # the stage may have changed since prompt(): the arm's model gets the version tuned for it
            prompt = self._for_model(prompt, arm.ref)
        return self.deployment.call(arm, self._digest, self.request(prompt, **kwargs), self._quality)

    def _for_model(self, prompt: Prompt, ref: ModelRef) -> Prompt:
        task = self.deployment.registry.tasks.get(prompt.task)
        if task is None or prompt not in task.versions.values():
            return prompt  # not from the registry: the application built it, send it as it is
        return self.deployment.registry.resolve(prompt.task, ref)

    def __repr__(self) -> str:
        return f"<RolloutClient {self.model}>"


def rollout_client(
    resolved: ResolvedConfig,
    base: Path,
    key: str,
    *,
    quality_checks: QualityChecks | None = None,
    quality_sample: float | None = None,
    meter_provider: object | None = None,
) -> RolloutClient:
    if quality_sample is not None and not 0 <= quality_sample <= 1:
        raise ValueError(f"connect(quality_sample={quality_sample!r}): expected a share from 0 to 1")
    config = resolved.config
    deployment = deployment_for(resolved, base, meter_provider=meter_provider)
    defaults = {"temperature": config.temperature, "max_tokens": config.max_tokens, "seed": config.seed}
    quality = QualityPlan(quality_checks, quality_sample) if quality_checks else None
    return RolloutClient(deployment, key, defaults, quality)
