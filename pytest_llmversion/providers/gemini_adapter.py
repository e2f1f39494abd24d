"""``gemini/<id>`` through google-genai (``client.models.generate_content``, Gemini Developer API).

google-genai quirks handled here: its timeout is in milliseconds; it retries only when given retry options
(none are given: the router retries); timeouts and refused connections arrive as raw ``httpx2`` errors, not
SDK errors; the client must stay referenced (a dropped ``Client`` closes the shared HTTP client). The API
version defaults to ``v1beta``, like Google's REST documentation (``api_version = "v1"`` in the provider
table selects the stable surface). ``Completion.model_served`` is the response's ``modelVersion``.

Tools go out as function declarations (``parameters_json_schema``: the portable JSON schema as it is), calls
come back as ``function_call`` parts, results go in as ``function_response`` parts paired by name. Embeddings
use ``embed_content``, token counts ``count_tokens`` and model lookups ``models.get`` / ``models.list``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from pytest_llmversion.config import LLMConfig, ProviderSettings
from pytest_llmversion.providers.base import (
    Completion,
    MalformedResponse,
    ProviderError,
    Request,
    ToolCall,
    Usage,
    float32_vector,
)
from pytest_llmversion.providers.json_mode import json_mode
from pytest_llmversion.providers.sdk_common import (
    elapsed_ms,
    error_for_status,
    google_retry_delay,
    import_sdk,
    require_api_key,
    retry_after_seconds,
    unavailable,
    unexpected,
    warnings_as_notices,
)
from pytest_llmversion.providers.tools import finish_with_calls, forced_tool, result_object

DEFAULT_API_VERSION = "v1beta"
#: Gemini finish reasons in the plugin's vocabulary (anything unlisted is kept, lower-cased).
FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}


def build(name: str, settings: ProviderSettings | None, config: LLMConfig) -> GeminiAdapter:
    import_sdk("google.genai", "gemini")
    from google import genai
    from google.genai import types

    key = require_api_key(name, settings)
    options = types.HttpOptions(
        base_url=settings.base_url if settings is not None else None,
        api_version=(settings.api_version if settings is not None else None) or DEFAULT_API_VERSION,
        timeout=int(config.timeout * 1000),
    )
    client = genai.Client(api_key=key.value, vertexai=False, http_options=options)
    return GeminiAdapter(name, client, key_env=key.env, timeout=config.timeout)


class GeminiAdapter:
    def __init__(self, name: str, client: Any, *, key_env: str, timeout: float) -> None:
        from google.genai import errors, types

        self.name = name
        self.client = client  # keep it referenced: a collected Client closes its HTTP client
        self.key_env = key_env
        self.timeout = timeout
        self.types = types
        self.errors = errors

    def complete(self, request: Request, model_id: str, *, sample_index: int = 0) -> Completion:
        ref = f"{self.name}/{model_id}"
        notices: list[str] = []
        started = time.perf_counter()
        try:
            with warnings_as_notices(ref, notices):
                response = self._send(request, model_id)
        except Exception as exc:
            raise self._error(ref, exc) from None
        if request.kind == "completion":
            return completion_from(ref, model_id, response, elapsed_ms(started), tuple(notices))
        answer = Completion("", model_id, model_id, latency_ms=elapsed_ms(started), kind=request.kind)
        if request.kind == "embedding":
            vectors = tuple(float32_vector(e.values or ()) for e in response.embeddings or ())
            if not vectors:
                raise MalformedResponse(f"{ref}: the response holds no embeddings", model=ref)
            return replace(answer, embeddings=vectors)
        if request.kind == "count_tokens":
            return replace(answer, token_count=int(response.total_tokens or 0))
        if request.kind == "model_info":
            info = _described(response)
            return replace(
                answer, model_served=str(info.get("name", model_id)).removeprefix("models/"), model_info=info
            )
        return replace(answer, model_info=[_described(model) for model in response])

    def _send(self, request: Request, model_id: str) -> Any:
        models = self.client.models
        if request.kind == "embedding":
            params = request.params
            names = {"dimensions": "output_dimensionality", "task_type": "task_type", "title": "title"}
            config = self.types.EmbedContentConfig(
                **{theirs: params[ours] for ours, theirs in names.items() if ours in params}
            )
            return models.embed_content(model=model_id, contents=list(request.inputs), config=config)
        if request.kind == "count_tokens":
            return models.count_tokens(model=model_id, contents=contents(request))
        if request.kind == "model_info":
            return models.get(model=model_id)
        if request.kind == "model_list":
            return list(models.list())
        return models.generate_content(
            model=model_id, contents=contents(request), config=self.generation_config(request)
        )

    def generation_config(self, request: Request) -> Any:
        params = request.params
        fields: dict[str, Any] = {"system_instruction": request.system}
        for ours, theirs in (("temperature", "temperature"), ("max_tokens", "max_output_tokens"), ("seed", "seed")):
            if params.get(ours) is not None:
                fields[theirs] = params[ours]
        if params.get("top_p") is not None:
            fields["top_p"] = params["top_p"]
        stop = params.get("stop")
        if stop is not None:
            fields["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        mode = json_mode(params.get("response_format"))
        if mode is not None:
            fields["response_mime_type"] = "application/json"
            if mode.schema is not None:
                fields["response_json_schema"] = mode.schema
        types = self.types
        if request.tools:
            declarations = [
                types.FunctionDeclaration(
                    name=t.name, description=t.description or None, parameters_json_schema=dict(t.parameters)
                )
                for t in request.tools
            ]
            fields["tools"] = [types.Tool(function_declarations=declarations)]
        if request.tool_choice is not None:
            name = forced_tool(request.tool_choice)
            mode_name = "ANY" if name else {"required": "ANY", "none": "NONE"}.get(str(request.tool_choice), "AUTO")
            calling = types.FunctionCallingConfig(mode=mode_name, allowed_function_names=[name] if name else None)
            fields["tool_config"] = types.ToolConfig(function_calling_config=calling)
        return types.GenerateContentConfig(**{k: v for k, v in fields.items() if v is not None})

    def _error(self, ref: str, exc: Exception) -> ProviderError:
        if isinstance(exc, ProviderError):
            return exc
        if isinstance(exc, self.errors.APIError):
            response = getattr(exc, "response", None)
            retry_after = retry_after_seconds(getattr(response, "headers", None))
            if retry_after is None:
                retry_after = google_retry_delay(exc.details)
            message = exc.message or exc.status or ""
            return error_for_status(ref, int(exc.code), str(message), key_env=self.key_env, retry_after=retry_after)
        if _is_transport_error(exc):
            return unavailable(ref, exc, self.timeout)
        return unexpected(ref, "google-genai", exc)


def contents(request: Request) -> list[dict[str, Any]]:
    """The turns as Gemini ``contents``: assistant turns are role ``model`` (their calls ``function_call`` parts);
    tool results are ``function_response`` parts of a user turn, named after the tool; system goes to the config."""
    names = {c.id: c.name for m in request.messages for c in m.tool_calls if c.id}
    out: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            name = m.name or names.get(m.tool_call_id or "", "")
            part = {"function_response": {"name": name, "response": result_object(m.content)}}
            if out and out[-1]["role"] == "user" and "function_response" in out[-1]["parts"][-1]:
                out[-1]["parts"].append(part)  # the results of one turn's calls answer together
            else:
                out.append({"role": "user", "parts": [part]})
            continue
        parts: list[dict[str, Any]] = [{"text": m.content}] if m.content or not m.tool_calls else []
        # ids are left out: Gemini pairs a result with its call by name, and ids from another provider mean nothing
        parts += [{"function_call": {"name": c.name, "args": dict(c.arguments)}} for c in m.tool_calls]
        out.append({"role": "model" if m.role == "assistant" else "user", "parts": parts})
    return out


def _described(model: Any) -> dict[str, Any]:
    described: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return described


def completion_from(ref: str, model_id: str, response: Any, latency: float, notices: tuple[str, ...]) -> Completion:
    """A Gemini response (google-genai or the legacy SDK; both use the same field names) as a Completion."""
    candidates = getattr(response, "candidates", None)
    usage = getattr(response, "usage_metadata", None)
    feedback = getattr(response, "prompt_feedback", None)
    calls: tuple[ToolCall, ...] = ()
    if not candidates:
        if getattr(feedback, "block_reason", None):
            text, finish = "", "content_filter"  # the prompt itself was blocked: an answer, not an outage
        else:
            raise MalformedResponse(f"{ref}: the response has no candidates", model=ref)
    else:
        candidate = candidates[0]
        parts = getattr(getattr(candidate, "content", None), "parts", None) or []
        text = "".join(p.text for p in parts if getattr(p, "text", None) and not getattr(p, "thought", False))
        calls = tuple(
            ToolCall(
                str(getattr(p.function_call, "id", None) or ""),
                str(p.function_call.name),
                dict(p.function_call.args or {}),
            )
            for p in parts
            if getattr(p, "function_call", None) is not None
        )
        reason = getattr(candidate, "finish_reason", None)
        name = getattr(reason, "name", None) or (str(reason) if reason else "STOP")
        finish = finish_with_calls(FINISH.get(name, name.lower()), calls)
    served = getattr(response, "model_version", None) or model_id
    return Completion(
        text=text,
        model_requested=model_id,
        model_served=served.removeprefix("models/"),
        usage=Usage(
            int(getattr(usage, "prompt_token_count", 0) or 0),
            int(getattr(usage, "candidates_token_count", 0) or 0),
            int(getattr(usage, "cached_content_token_count", 0) or 0),
        ),
        latency_ms=latency,
        finish_reason=finish,
        notices=notices,
        tool_calls=calls,
    )


def _is_transport_error(exc: BaseException) -> bool:
    """httpx2/httpx transport errors (timeouts, refused connections, resets), without importing either."""
    module = type(exc).__module__.split(".")[0]
    if module in ("httpx2", "httpx"):
        names = {cls.__name__ for cls in type(exc).__mro__}
        return bool(names & {"TransportError", "TimeoutException"})
    return isinstance(exc, ConnectionError | TimeoutError)
