"""``anthropic/<id>`` through the anthropic SDK (Messages API).

anthropic 2.x no longer takes ``temperature``/``top_p`` as arguments: they travel in ``extra_body`` (the
wire field is unchanged). System messages become the ``system`` field; Anthropic has no ``seed``, so a seed
is not sent. The SDK warns (DeprecationWarning) when a model is retiring: that becomes a notice in the
summary instead of an exception under ``pytest -W error``.
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
from pytest_llmversion.providers.json_mode import json_mode
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

#: Anthropic requires max_tokens; used when neither the request nor the config sets one.
DEFAULT_MAX_TOKENS = 1024
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "refusal": "content_filter"}


def build(name: str, settings: ProviderSettings | None, config: LLMConfig) -> AnthropicAdapter:
    sdk = import_sdk("anthropic", "anthropic")
    key = require_api_key(name, settings)
    client = sdk.Anthropic(
        api_key=key.value,
        base_url=settings.base_url if settings is not None else None,
        max_retries=0,
        timeout=config.timeout,
    )
    return AnthropicAdapter(name, client, sdk, key_env=key.env, timeout=config.timeout)


class AnthropicAdapter:
    def __init__(self, name: str, client: Any, sdk: Any, *, key_env: str, timeout: float) -> None:
        self.name = name
        self.client = client
        self.sdk = sdk
        self.key_env = key_env
        self.timeout = timeout

    def complete(self, request: Request, model_id: str, *, sample_index: int = 0) -> Completion:
        ref = f"{self.name}/{model_id}"
        notices: list[str] = []
        started = time.perf_counter()
        try:
            with warnings_as_notices(ref, notices):
                response = self.client.messages.create(**self.message_kwargs(request, model_id))
        except Exception as exc:
            raise self._error(ref, exc) from None
        return self._completion(ref, model_id, response, elapsed_ms(started), tuple(notices))

    def message_kwargs(self, request: Request, model_id: str) -> dict[str, Any]:
        params = request.params
        turns = [m.to_dict() for m in request.messages if m.role != "system"]
        kwargs: dict[str, Any] = {
            "model": model_id,
            "messages": turns,
            "max_tokens": params.get("max_tokens") or DEFAULT_MAX_TOKENS,
        }
        if request.system is not None:
            kwargs["system"] = request.system
        stop = params.get("stop")
        if stop is not None:
            kwargs["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        mode = json_mode(params.get("response_format"))
        if mode is not None:
            # No schema-less JSON mode exists: plain JSON is asked for as "any object".
            schema = mode.schema if mode.schema is not None else {"type": "object"}
            kwargs["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
        extra = {k: params[k] for k in ("temperature", "top_p") if params.get(k) is not None}
        extra |= {k: v for k, v in params.items() if k not in PARAM_NAMES and v is not None}
        if extra:
            kwargs["extra_body"] = extra
        return kwargs

    def _completion(
        self, ref: str, model_id: str, response: Any, latency: float, notices: tuple[str, ...]
    ) -> Completion:
        content = getattr(response, "content", None)
        served = getattr(response, "model", None)
        if content is None or not isinstance(served, str):
            raise MalformedResponse(f"{ref}: the response is not a message (no content or no model)", model=ref)
        text = "".join(block.text for block in content if getattr(block, "type", None) == "text")
        usage = getattr(response, "usage", None)
        stop_reason = getattr(response, "stop_reason", None)
        return Completion(
            text=text,
            model_requested=model_id,
            model_served=served,
            usage=Usage(
                int(getattr(usage, "input_tokens", 0) or 0),
                int(getattr(usage, "output_tokens", 0) or 0),
                int(getattr(usage, "cache_read_input_tokens", 0) or 0),
            ),
            latency_ms=latency,
            finish_reason=_FINISH.get(str(stop_reason), str(stop_reason)) if stop_reason else "stop",
            notices=notices,
        )

    def _error(self, ref: str, exc: Exception) -> ProviderError:
        sdk = self.sdk
        if isinstance(exc, ProviderError):
            return exc
        if isinstance(exc, sdk.APIStatusError):
            return error_for_status(
                ref,
                exc.status_code,
                _message(exc.body, exc),
                key_env=self.key_env,
                retry_after=retry_after_seconds(getattr(exc.response, "headers", None)),
            )
        if isinstance(exc, sdk.APIConnectionError):  # includes APITimeoutError
            return unavailable(ref, exc.__cause__ or exc, self.timeout)
        return unexpected(ref, "anthropic", exc)


def _message(body: Any, exc: Exception) -> str:
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and inner.get("message"):
            kind = inner.get("type")
            return f"{inner['message']}" + (f" ({kind})" if kind else "")
    if isinstance(body, str) and body:
        return body
    return str(getattr(exc, "message", "") or exc)
