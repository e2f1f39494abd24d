"""``openai/<id>`` and named OpenAI-compatible endpoints (Ollama, vLLM, llama.cpp) through the openai SDK.

Chat Completions by default; the Responses API when ``openai_api = "responses"`` (built-in ``openai`` only)
or the provider table says ``api = "responses"``. The SDK's own retries are off: the router retries, with
one policy for every provider.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pytest_llmversion.config import LLMConfig, ProviderSettings
from pytest_llmversion.providers.base import (
    PARAM_NAMES,
    Completion,
    MalformedResponse,
    ProviderError,
    Request,
    Usage,
)
from pytest_llmversion.providers.json_mode import JsonMode, json_mode
from pytest_llmversion.providers.sdk_common import (
    elapsed_ms,
    error_for_status,
    import_sdk,
    require_api_key,
    retry_after_seconds,
    unavailable,
    unexpected,
    warnings_as_notices,
)

#: Chat finish reasons are already the plugin's vocabulary; Responses' incomplete reasons are mapped.
_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


def build(name: str, settings: ProviderSettings | None, config: LLMConfig) -> OpenAIAdapter:
    sdk = import_sdk("openai", "openai")
    key = require_api_key(name, settings)
    api = settings.api if settings is not None and settings.api else config.openai_api if name == "openai" else "chat"
    client = sdk.OpenAI(
        # an endpoint that needs no key still needs a non-empty string for the SDK
        api_key=key.value or "no-key",
        base_url=settings.base_url if settings is not None else None,
        max_retries=0,
        timeout=config.timeout,
    )
    return OpenAIAdapter(name, client, sdk, api=api, key_env=key.env, timeout=config.timeout)


class OpenAIAdapter:
    def __init__(self, name: str, client: Any, sdk: Any, *, api: str, key_env: str, timeout: float) -> None:
        self.name = name
        self.client = client
        self.sdk = sdk
        self.api = api
        self.key_env = key_env
        self.timeout = timeout
        # OpenAI itself wants max_completion_tokens; OpenAI-compatible servers widely know only max_tokens.
        self.max_tokens_param = "max_completion_tokens" if name == "openai" else "max_tokens"

    def complete(self, request: Request, model_id: str, *, sample_index: int = 0) -> Completion:
        ref = f"{self.name}/{model_id}"
        notices: list[str] = []
        started = time.perf_counter()
        try:
            with warnings_as_notices(ref, notices):
                if self.api == "responses":
                    response = self.client.responses.create(**self.responses_kwargs(request, model_id))
                else:
                    response = self.client.chat.completions.create(**self.chat_kwargs(request, model_id))
        except Exception as exc:
            raise self._error(ref, exc) from None
        latency = elapsed_ms(started)
        parse = self._responses_completion if self.api == "responses" else self._chat_completion
        return parse(ref, model_id, response, latency, tuple(notices))

    # -- requests --------------------------------------------------------------------------------------

    def chat_kwargs(self, request: Request, model_id: str) -> dict[str, Any]:
        params = request.params
        kwargs: dict[str, Any] = {"model": model_id, "messages": [m.to_dict() for m in request.messages]}
        for name in ("temperature", "seed", "top_p", "stop"):
            if params.get(name) is not None:
                kwargs[name] = params[name]
        if params.get("max_tokens") is not None:
            kwargs[self.max_tokens_param] = params["max_tokens"]
        mode = json_mode(params.get("response_format"))
        if mode is not None:
            kwargs["response_format"] = _chat_format(mode)
        return kwargs | _extra_body(params)

    def responses_kwargs(self, request: Request, model_id: str) -> dict[str, Any]:
        params = request.params
        turns = [m.to_dict() for m in request.messages if m.role != "system"]
        kwargs: dict[str, Any] = {"model": model_id, "input": turns}
        if request.system is not None:
            kwargs["instructions"] = request.system
        for name in ("temperature", "top_p"):
            if params.get(name) is not None:
                kwargs[name] = params[name]
        if params.get("max_tokens") is not None:
            kwargs["max_output_tokens"] = params["max_tokens"]
        mode = json_mode(params.get("response_format"))
        if mode is not None:
            fmt = _chat_format(mode)
            kwargs["text"] = {"format": fmt.get("json_schema", {}) | {"type": fmt["type"]}}
        # The Responses API has no seed and no stop sequences: they are not sent.
        return kwargs | _extra_body(params)

    # -- responses -------------------------------------------------------------------------------------

    def _chat_completion(
        self, ref: str, model_id: str, response: Any, latency: float, notices: tuple[str, ...]
    ) -> Completion:
        choices = getattr(response, "choices", None)
        served = getattr(response, "model", None)
        if not choices or not isinstance(served, str):
            raise MalformedResponse(f"{ref}: the response is not a chat completion (no choices or no model)", model=ref)
        choice = choices[0]
        message = getattr(choice, "message", None)
        text = getattr(message, "content", None) or ""
        finish = getattr(choice, "finish_reason", None) or "stop"
        if not text and getattr(message, "refusal", None):
            finish = "content_filter"
        usage = getattr(response, "usage", None)
        details = getattr(usage, "prompt_tokens_details", None)
        return Completion(
            text=text,
            model_requested=model_id,
            model_served=served,
            usage=Usage(
                int(getattr(usage, "prompt_tokens", 0) or 0),
                int(getattr(usage, "completion_tokens", 0) or 0),
                int(getattr(details, "cached_tokens", 0) or 0),
            ),
            latency_ms=latency,
            finish_reason=str(finish),
            system_fingerprint=getattr(response, "system_fingerprint", None),
            notices=notices,
        )

    def _responses_completion(
        self, ref: str, model_id: str, response: Any, latency: float, notices: tuple[str, ...]
    ) -> Completion:
        served = getattr(response, "model", None)
        if getattr(response, "output", None) is None or not isinstance(served, str):
            raise MalformedResponse(f"{ref}: the response is not a Responses API object (no output or no model)")
        finish = "stop"
        if getattr(response, "status", None) == "incomplete":
            reason = getattr(getattr(response, "incomplete_details", None), "reason", None)
            finish = _INCOMPLETE.get(str(reason), "length")
        usage = getattr(response, "usage", None)
        details = getattr(usage, "input_tokens_details", None)
        return Completion(
            text=response.output_text or "",
            model_requested=model_id,
            model_served=served,
            usage=Usage(
                int(getattr(usage, "input_tokens", 0) or 0),
                int(getattr(usage, "output_tokens", 0) or 0),
                int(getattr(details, "cached_tokens", 0) or 0),
            ),
            latency_ms=latency,
            finish_reason=finish,
            notices=notices,
        )

    # -- errors ----------------------------------------------------------------------------------------

    def _error(self, ref: str, exc: Exception) -> ProviderError:
        sdk = self.sdk
        if isinstance(exc, ProviderError):
            return exc
        if isinstance(exc, sdk.APIStatusError):
            response = getattr(exc, "response", None)
            return error_for_status(
                ref,
                exc.status_code,
                _message(exc.body, exc),
                key_env=self.key_env,
                retry_after=retry_after_seconds(getattr(response, "headers", None)),
            )
        if isinstance(exc, sdk.APIConnectionError):  # includes APITimeoutError
            return unavailable(ref, exc.__cause__ or exc, self.timeout)
        return unexpected(ref, "openai", exc)


def _chat_format(mode: JsonMode) -> dict[str, Any]:
    if mode.schema is None:
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": {"name": mode.name, "schema": mode.schema, "strict": mode.strict}}


def _extra_body(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters the plugin has no name for travel as they are (a provider-specific knob)."""
    extra = {k: v for k, v in params.items() if k not in PARAM_NAMES and v is not None}
    return {"extra_body": extra} if extra else {}


def _message(body: Any, exc: Exception) -> str:
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and inner.get("message"):
            return str(inner["message"])
    if isinstance(body, str) and body:
        return body
    return str(getattr(exc, "message", "") or exc)
