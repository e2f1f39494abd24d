"""``connect()``: the production client, keeping the rules of a pytest run (pinning, parameters a model
rejects) and, with a rollout key, serving and measuring each call's arm."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_llmversion.client import LLMClient

if TYPE_CHECKING:
    from pytest_llmversion.rollout.recorder import QualityChecks


def connect(
    root: str | Path = ".",
    *,
    model: str | None = None,
    rollout_key: str | None = None,
    environ: Mapping[str, str] | None = None,
    quality_checks: QualityChecks | None = None,
    quality_sample: float | None = None,
    meter_provider: object | None = None,
) -> LLMClient:
    """A production client from the project's ``[tool.llmversion]``: retries, fallbacks, prompt registry.

    It keeps the rules of a pytest run: an unpinned current model or fallback raises ``GovernanceError`` (the
    same one-line message; ``allow_unpinned`` or ``LLMVERSION_ALLOW_UNPINNED`` allows it), and a parameter the
    catalogue says a model rejects is not sent to it. A rollout's candidate that is an alias serves nobody: every
    key stays on the current model and the log says why, once (``llmversion rollout advance`` refuses it too).

    With ``rollout_key`` (a user, tenant or ticket id), the key's arm serves each call at the stage in
    ``[tool.llmversion.rollout] candidate_percent`` (re-read when pyproject.toml changes): that share of
    keys gets ``candidate_model``, always the same keys. Each such call is recorded for ``llmversion
    rollout status``; ``quality_checks`` (the checks the tests use, or a task -> checks mapping) score a
    ``quality_sample`` share of calls; ``meter_provider`` receives the OpenTelemetry metrics when
    ``metrics`` includes "otel" (default: the global provider).

    The client holds SDK clients and their connections: ``close()`` it, or use it in a ``with`` block, when the
    application is done with it. Rollout clients share their project's (one deployment per process), which
    ``rollout.recorder.close_deployments()`` closes.
    """
    from pytest_llmversion.config import load_config
    from pytest_llmversion.governance import startup as governance
    from pytest_llmversion.prompts.registry import PromptRegistry
    from pytest_llmversion.providers import ProviderFactory

    root_path = Path(root).resolve()
    resolved = load_config(root_path, environ=environ, cli={"model": (model, "connect(model=...)")} if model else None)
    config = resolved.config
    if config.model is None:
        raise LookupError("no model configured: set model in [tool.llmversion] or LLMVERSION_MODEL")
    base = resolved.pyproject.parent if resolved.pyproject else root_path
    # production holds the pinning rule of a pytest run: an alias (current or fallback) raises GovernanceError
    catalog = governance.load(resolved, base)
    governance.check_configured_pinning(resolved, catalog)
    if rollout_key is not None:
        from pytest_llmversion.rollout.client import rollout_client

        return rollout_client(
            resolved,
            base,
            str(rollout_key),
            quality_checks=quality_checks,
            quality_sample=quality_sample,
            meter_provider=meter_provider,
        )
    factory = ProviderFactory(config, base)
    ref = config.ref(config.model)
    router = factory.router(ref, rejected_params=catalog.rejected_params)
    defaults = {"temperature": config.temperature, "max_tokens": config.max_tokens, "seed": config.seed}
    registry = PromptRegistry.load(config.prompts, base)
    return LLMClient(
        ref,
        lambda request: router.complete(request),
        defaults,
        registry,
        rejected_params=catalog.rejected_params,
        release=factory.close,  # the SDK clients it built, and their connection pools
    )
