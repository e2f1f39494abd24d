"""``LLMClient``: what the ``llm`` fixture returns, and what application code can use in production.

The client builds a :class:`Request` from a prompt (a string, a list of messages, or a registry
prompt with its variables) and hands it to a *send* function: in tests, the item's runner (golden
replay, recording, candidate calls); in production, the router (retries and fallbacks). The request
is built for the client's model: parameters the catalogue says it rejects are left out, so what is
sent, recorded and stored in a golden is one and the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.prompts.registry import Prompt, PromptRegistry
from pytest_llmversion.providers.base import PARAM_NAMES, BadRequest, Completion, Message, Request, build_messages

if TYPE_CHECKING:
    from pytest_llmversion.rollout.recorder import QualityChecks

Send = Callable[[Request], Completion]
#: The request parameters a model rejects (``Catalog.rejected_params``).
RejectedParams = Callable[[ModelRef], tuple[str, ...]]


class LLMClient:
    def __init__(
        self,
        model: ModelRef,
        send: Send,
        defaults: Mapping[str, Any] | None = None,
        registry: Callable[[], PromptRegistry] | PromptRegistry | None = None,
        prompt_model: ModelRef | None = None,
        rejected_params: RejectedParams | None = None,
    ) -> None:
        self.model = model
        self._send = send
        self._defaults = {k: v for k, v in (defaults or {}).items() if v is not None}
        self._registry = registry
        self._rejected_params = rejected_params
        #: The model whose prompt versions are used (the current model when measuring a model change alone).
        self.prompt_model = prompt_model or model

    def prompt(self, task: str) -> Prompt:
        """The registry's prompt for ``task``, resolved for this client's model."""
        registry = self._registry() if callable(self._registry) else self._registry
        if registry is None:
            raise LookupError('no prompt registry is configured (set prompts = "prompts" in [tool.llmversion])')
        return registry.resolve(task, self.prompt_model)

    def request(self, prompt: str | Prompt | Sequence[Mapping[str, str] | Message], /, **kwargs: Any) -> Request:
        params = dict(self._defaults)
        variables = {k: v for k, v in kwargs.items() if k not in PARAM_NAMES}
        if isinstance(prompt, Prompt):
            params.update(prompt.params)
            messages = prompt.render(variables)
            identity: Mapping[str, str] | None = prompt.identity
        else:
            if variables:
                raise TypeError(
                    f"llm.complete() got unexpected keyword(s) {', '.join(sorted(variables))}: "
                    f"template variables need a prompt from llm.prompt(task); parameters are {', '.join(PARAM_NAMES)}"
                )
            messages, identity = build_messages(prompt), None
        explicit = {k: v for k, v in kwargs.items() if k in PARAM_NAMES}
        rejected = self._rejected_params(self.model) if self._rejected_params is not None else ()
        # a default or a prompt version's value is configuration: left out for a model that rejects it; a
        # value written in the call is the code's intent, so dropping it would test another request
        refused = [k for k in rejected if explicit.get(k) is not None]
        if refused:
            values = ", ".join(f"{k}={explicit[k]!r}" for k in refused)
            raise BadRequest(
                f"{self.model} rejects {', '.join(refused)} (rejects_params in the model catalogue), but this call "
                f"sets {values}: leave it out of the call (a prompt version can set it for the models that take it)",
                model=str(self.model),
            )
        params.update(explicit)
        return Request(messages, {k: v for k, v in params.items() if v is not None and k not in rejected}, identity)

    def complete(self, prompt: str | Prompt | Sequence[Mapping[str, str] | Message], /, **kwargs: Any) -> Completion:
        """Send one request. ``kwargs`` are sampling parameters or the prompt's template variables."""
        return self._send(self.request(prompt, **kwargs))

    async def acomplete(
        self, prompt: str | Prompt | Sequence[Mapping[str, str] | Message], /, **kwargs: Any
    ) -> Completion:
        """:meth:`complete` for async code: the call (retries, fallbacks, recording) runs in a worker thread,
        so the event loop keeps serving other requests while the provider answers."""
        return await asyncio.to_thread(self.complete, prompt, **kwargs)

    def __repr__(self) -> str:
        return f"<LLMClient {self.model}>"


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
    catalogue says a model rejects is not sent to it.

    With ``rollout_key`` (a user, tenant or ticket id), the key's arm serves each call at the stage in
    ``[tool.llmversion.rollout] candidate_percent`` (re-read when pyproject.toml changes): that share of
    keys gets ``candidate_model``, always the same keys. Each such call is recorded for ``llmversion
    rollout status``; ``quality_checks`` (the checks the tests use, or a task -> checks mapping) score a
    ``quality_sample`` share of calls; ``meter_provider`` receives the OpenTelemetry metrics when
    ``metrics`` includes "otel" (default: the global provider).
    """
    from pytest_llmversion.config import load_config
    from pytest_llmversion.governance import startup as governance
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
        ref, lambda request: router.complete(request), defaults, registry, rejected_params=catalog.rejected_params
    )
