"""``openai/<id>`` and named OpenAI-compatible endpoints (Ollama, vLLM, llama.cpp) through the openai SDK.

Chat Completions by default; the Responses API when ``openai_api = "responses"`` (built-in ``openai`` only)
or the provider table says ``api = "responses"``; tools as function tools of either API. Embeddings
(``/embeddings``), token counts (``/responses/input_tokens``, for either API) and model lookups (``/models``)
go to their own endpoints. The SDK's own retries are off: the router retries, with one policy for every
provider.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pytest_llmversion.config import LLMConfig, ProviderSettings
from pytest_llmversion.providers.base import (
    PARAM_NAMES,
    Completion,
    MalformedResponse,
    Message,
    ProviderError,
    Request,
    ToolCall,
    ToolChoice,
    Usage,
    float32_vector,
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
from pytest_llmversion.providers.tools import forced_tool, with_call_ids

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


#: What the token count endpoint reads of a Responses request.
COUNTED = ("model", "input", "instructions", "tools", "tool_choice")


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
                response = self._send(request, model_id)
        except Exception as exc:
            raise self._error(ref, exc) from None
        latency = elapsed_ms(started)
        if request.kind != "completion":
            return self._around(ref, request, model_id, response, latency, tuple(notices))
        parse = self._responses_completion if self.api == "responses" else self._chat_completion
        return parse(ref, model_id, response, latency, tuple(notices))

    def _send(self, request: Request, model_id: str) -> Any:
        client = self.client
        if request.kind == "embedding":
            dimensions = request.params.get("dimensions")
            extra = {"dimensions": dimensions} if dimensions is not None else {}
            return client.embeddings.create(
                model=model_id, input=list(request.inputs), encoding_format="float", **extra
            )
        if request.kind == "count_tokens":  # the one counting endpoint, whichever API the answers come from
            kwargs = self.responses_kwargs(request, model_id)
            fields = {k: v for k, v in kwargs.items() if k in COUNTED}
            counter = getattr(client.responses, "input_tokens", None)
            if counter is None:  # openai 2.x before its input_tokens resource: the same endpoint, posted as is
                return client.post("/responses/input_tokens", body=fields, cast_to=object)
            return counter.count(**fields)
        if request.kind == "model_info":
            return client.models.retrieve(model_id)
        if request.kind == "model_list":
            return list(client.models.list())
        if self.api == "responses":
            return client.responses.create(**self.responses_kwargs(request, model_id))
        return client.chat.completions.create(**self.chat_kwargs(request, model_id))

    def _around(
        self, ref: str, request: Request, model_id: str, response: Any, latency: float, notices: tuple[str, ...]
    ) -> Completion:
        """An embedding, a token count or a model lookup as a Completion of that kind."""
        answer = Completion("", model_id, model_id, latency_ms=latency, notices=notices, kind=request.kind)
        if request.kind == "embedding":
            data = sorted(getattr(response, "data", None) or [], key=lambda item: item.index)
            if not data:
                raise MalformedResponse(f"{ref}: the response holds no embeddings", model=ref)
            tokens = int(getattr(getattr(response, "usage", None), "prompt_tokens", 0) or 0)
            vectors = tuple(float32_vector(item.embedding) for item in data)
            served = str(getattr(response, "model", None) or model_id)
            return replace(answer, model_served=served, embeddings=vectors, usage=Usage(input_tokens=tokens))
        if request.kind == "count_tokens":
            counted = response["input_tokens"] if isinstance(response, dict) else response.input_tokens
            return replace(answer, token_count=int(counted))
        if request.kind == "model_info":
            info = response.to_dict(mode="json")
            return replace(answer, model_served=str(info.get("id") or model_id), model_info=info)
        return replace(answer, model_info=[model.to_dict(mode="json") for model in response])

    # -- requests --------------------------------------------------------------------------------------

    def chat_kwargs(self, request: Request, model_id: str) -> dict[str, Any]:
        params = request.params
        kwargs: dict[str, Any] = {
            "model": model_id,
            "messages": [_chat_message(m) for m in with_call_ids(request.messages)],
        }
        if request.tools:
            kwargs["tools"] = [{"type": "function", "function": tool.to_dict()} for tool in request.tools]
        if request.tool_choice is not None:
            kwargs["tool_choice"] = _choice(request.tool_choice, nested=True)
        for name in ("temperature", "seed", "top_p", "stop", "parallel_tool_calls"):
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
        turns = [item for m in with_call_ids(request.messages) if m.role != "system" for item in _input_items(m)]
        kwargs: dict[str, Any] = {"model": model_id, "input": turns}
        if request.system is not None:
            kwargs["instructions"] = request.system
        if request.tools:
            # Responses makes function tools strict unless told: a portable tool keeps its schema as written
            tools = [{"type": "function"} | tool.to_dict() | {"strict": bool(tool.strict)} for tool in request.tools]
            kwargs["tools"] = tools
        if request.tool_choice is not None:
            kwargs["tool_choice"] = _choice(request.tool_choice, nested=False)
        for name in ("temperature", "top_p", "parallel_tool_calls"):
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
        calls = tuple(
            ToolCall.from_text(call.id, call.function.name, call.function.arguments)
            for call in getattr(message, "tool_calls", None) or ()
            if getattr(call, "type", "function") == "function"
        )
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
            tool_calls=calls,
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
        calls = tuple(
            ToolCall.from_text(item.call_id, item.name, item.arguments)
            for item in response.output
            if getattr(item, "type", None) == "function_call"
        )
        if calls and finish == "stop":
            finish = "tool_calls"
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
            tool_calls=calls,
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


def _choice(choice: ToolChoice, *, nested: bool) -> Any:
    """Chat nests a forced tool under ``function``; Responses names it beside ``type``."""
    name = forced_tool(choice)
    if name is None:
        return choice
    return {"type": "function", "function": {"name": name}} if nested else {"type": "function", "name": name}


def _chat_message(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.tool_calls:
        calls = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
            for c in message.tool_calls
        ]
        return {"role": "assistant", "content": message.content or None, "tool_calls": calls}
    return {"role": message.role, "content": message.content}


def _input_items(message: Message) -> list[dict[str, Any]]:
    """A message as Responses input items: its text, then a ``function_call`` item per call; a tool result is a
    ``function_call_output`` item."""
    if message.role == "tool":
        return [{"type": "function_call_output", "call_id": message.tool_call_id, "output": message.content}]
    items: list[dict[str, Any]] = []
    if message.content or not message.tool_calls:
        items.append({"role": message.role, "content": message.content})
    for call in message.tool_calls:
        items.append({"type": "function_call", "call_id": call.id, "name": call.name, "arguments": call.arguments_json})
    return items


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
