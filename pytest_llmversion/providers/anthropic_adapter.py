"""``anthropic/<id>`` through the anthropic SDK (Messages API).

anthropic 2.x no longer takes ``temperature``/``top_p`` as arguments: they travel in ``extra_body`` (the
wire field is unchanged). System messages become the ``system`` field; Anthropic has no ``seed``, so a seed
is not sent. Tools go out as client tools (``input_schema``), calls come back as ``tool_use`` blocks and
results go in as ``tool_result`` blocks of a user turn. Token counts use ``/messages/count_tokens`` and model
lookups ``/models``; Anthropic has no embeddings. The SDK warns (DeprecationWarning) when a model is
retiring: that becomes a notice in the summary instead of an exception under ``pytest -W error``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pytest_llmversion.config import LLMConfig, ProviderSettings
from pytest_llmversion.providers.base import (
    PARAM_NAMES,
    BadRequest,
    Completion,
    MalformedResponse,
    Message,
    ProviderError,
    Request,
    ToolCall,
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
from pytest_llmversion.providers.tools import forced_tool, with_call_ids

#: Anthropic requires max_tokens; used when neither the request nor the config sets one.
DEFAULT_MAX_TOKENS = 1024
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "refusal": "content_filter",
    "tool_use": "tool_calls",
}


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
        if request.kind == "embedding":
            raise BadRequest(f"{ref}: Anthropic has no embeddings API", model=ref)
        try:
            with warnings_as_notices(ref, notices):
                response = self._send(request, model_id)
        except Exception as exc:
            raise self._error(ref, exc) from None
        if request.kind != "completion":
            answer = Completion("", model_id, model_id, latency_ms=elapsed_ms(started), kind=request.kind)
            if request.kind == "count_tokens":
                return replace(answer, token_count=int(response.input_tokens), notices=tuple(notices))
            if request.kind == "model_info":
                info = response.to_dict(mode="json")
                return replace(answer, model_served=str(info.get("id") or model_id), model_info=info)
            return replace(answer, model_info=[model.to_dict(mode="json") for model in response])
        return self._completion(ref, model_id, response, elapsed_ms(started), tuple(notices))

    def _send(self, request: Request, model_id: str) -> Any:
        if request.kind == "count_tokens":
            kwargs = self.message_kwargs(request, model_id)
            keep = ("model", "messages", "system", "tools", "tool_choice")
            return self.client.messages.count_tokens(**{k: v for k, v in kwargs.items() if k in keep})
        if request.kind == "model_info":
            return self.client.models.retrieve(model_id)
        if request.kind == "model_list":
            return list(self.client.models.list(limit=1000))
        return self.client.messages.create(**self.message_kwargs(request, model_id))

    def message_kwargs(self, request: Request, model_id: str) -> dict[str, Any]:
        params = request.params
        kwargs: dict[str, Any] = {
            "model": model_id,
            "messages": turns(request.messages),
            "max_tokens": params.get("max_tokens") or DEFAULT_MAX_TOKENS,
        }
        if request.system is not None:
            kwargs["system"] = request.system
        if request.tools:
            kwargs["tools"] = [
                {"name": t.name}
                | ({"description": t.description} if t.description else {})
                | {"input_schema": dict(t.parameters)}
                | ({"strict": t.strict} if t.strict is not None else {})
                for t in request.tools
            ]
        choice = _choice(request.tool_choice)
        if params.get("parallel_tool_calls") is False:
            choice = (choice or {"type": "auto"}) | {"disable_parallel_tool_use": True}
        if choice is not None:
            kwargs["tool_choice"] = choice
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
        calls = tuple(
            ToolCall(block.id, block.name, dict(block.input or {}))
            for block in content
            if getattr(block, "type", None) == "tool_use"
        )
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
            tool_calls=calls,
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


def turns(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """The conversation as Anthropic turns: tool results (and text that follows them) join one user turn."""
    out: list[dict[str, Any]] = []
    for message in with_call_ids(messages):
        if message.role == "system":
            continue
        if message.role == "assistant" and message.tool_calls:
            blocks: list[dict[str, Any]] = [{"type": "text", "text": message.content}] if message.content else []
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": dict(c.arguments)} for c in message.tool_calls
            ]
            out.append({"role": "assistant", "content": blocks})
            continue
        joins = bool(out) and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list)
        if message.role == "tool":
            block = {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.content}
            if joins:
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif message.role == "user" and joins:
            out[-1]["content"].append({"type": "text", "text": message.content})
        else:
            out.append({"role": message.role, "content": message.content})
    return out


def _choice(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    name = forced_tool(choice)
    if name is not None:
        return {"type": "tool", "name": name}
    return {"type": {"required": "any"}.get(str(choice), str(choice))}


def _message(body: Any, exc: Exception) -> str:
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and inner.get("message"):
            kind = inner.get("type")
            return f"{inner['message']}" + (f" ({kind})" if kind else "")
    if isinstance(body, str) and body:
        return body
    return str(getattr(exc, "message", "") or exc)
