"""Gemini ``generateContent`` / ``streamGenerateContent``, ``countTokens``, ``embedContent`` /
``batchEmbedContents`` and models (google-genai and google-generativeai send the same JSON).

Tools are ``tools[].functionDeclarations``; a call is a ``functionCall`` part of the model's turn (whole, also
when streamed: Gemini does not stream arguments), a result a ``functionResponse`` part of a user turn, paired by
name (and by id when the call had one). docs/providers.md §2.4.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pytest_llmversion.providers.base import BadRequest, Message, Request, Role, ToolCall, ToolChoice
from pytest_llmversion.providers.tools import result_text, tools_from
from pytest_llmversion.providers.wire.common import Answer, Codec, json_format, model_id_of, pieces, sse, text_of

_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY", "tool_calls": "STOP"}
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def content_messages(content: Mapping[str, Any]) -> list[Message]:
    """One Gemini content as portable messages: a model turn's ``functionCall`` parts are the calls of one assistant
    message; a user (or ``function``) turn's ``functionResponse`` parts are ``tool`` messages, its text a user one."""
    parts = content.get("parts") or []
    if content.get("role") == "model":
        said = "".join(str(p.get("text", "")) for p in parts if "text" in p and not p.get("thought"))
        calls = tuple(
            ToolCall(str(call.get("id") or ""), str(call.get("name")), dict(call.get("args") or {}))
            for call in (p.get("functionCall") or p.get("function_call") for p in parts)
            if call
        )
        return [Message("assistant", said, calls)]
    messages: list[Message] = []
    text: list[str] = []
    for part in parts:
        result = part.get("functionResponse") or part.get("function_response")
        if result:
            if text:
                messages.append(Message("user", "".join(text)))
                text = []
            response = result_text(result.get("response") or {})
            messages.append(Message("tool", response, tool_call_id=result.get("id"), name=result.get("name")))
        else:
            text.append(text_of(part))
    role: Role = "user"
    if text or not messages:
        messages.append(Message(role, "".join(text)))
    return messages


def tools_of(body: Mapping[str, Any]) -> list[Any]:
    declarations: list[Any] = []
    for tool in body.get("tools") or []:
        others = sorted(k for k, v in tool.items() if k not in ("functionDeclarations", "function_declarations") and v)
        if others:
            raise BadRequest(f"it uses the {', '.join(others)} tool, which runs on Google's side")
        declarations += tool.get("functionDeclarations") or tool.get("function_declarations") or []
    return declarations


def choice_of(body: Mapping[str, Any]) -> ToolChoice | None:
    config = body.get("toolConfig") or body.get("tool_config") or {}
    calling = config.get("functionCallingConfig") or config.get("function_calling_config")
    if not calling:
        return None
    mode = str(calling.get("mode", "AUTO")).upper()
    allowed = calling.get("allowedFunctionNames") or calling.get("allowed_function_names") or []
    if mode == "ANY" and len(allowed) == 1:
        return {"name": str(allowed[0])}
    if mode in ("AUTO", "ANY", "NONE", "MODE_UNSPECIFIED") and not allowed:
        return {"AUTO": "auto", "ANY": "required", "NONE": "none"}.get(mode, "auto")
    raise BadRequest(f"its function calling config (mode {mode}, allowed {allowed}) has no portable form")


class Gemini(Codec):
    name = "gemini"
    family = "gemini"

    def wants_stream(self, body: Mapping[str, Any], path: str) -> bool:
        return path.endswith(":streamGenerateContent")

    def request_from(self, body: Mapping[str, Any]) -> Request:
        if "generateContentRequest" in body:  # countTokens from google-generativeai
            body = body["generateContentRequest"]
        messages: list[Message] = []
        system = body.get("systemInstruction") or body.get("system_instruction")
        if system:
            messages.append(Message("system", text_of(system)))
        for item in body.get("contents") or []:
            messages += content_messages(item)
        config = body.get("generationConfig") or body.get("generation_config") or {}
        params: dict[str, Any] = {}
        for theirs, ours in (("temperature", "temperature"), ("maxOutputTokens", "max_tokens"), ("seed", "seed")):
            if theirs in config:
                params[ours] = config[theirs]
        if "topP" in config:
            params["top_p"] = config["topP"]
        stops = config.get("stopSequences")
        if stops:
            params["stop"] = stops[0] if len(stops) == 1 else list(stops)
        if config.get("responseMimeType") == "application/json":
            params["response_format"] = json_format(config.get("responseJsonSchema") or config.get("responseSchema"))
        return Request(tuple(messages), params, tools=tools_from(tools_of(body)), tool_choice=choice_of(body))

    def embedding_request(self, body: Mapping[str, Any], model: str | None) -> Request:
        batch = body.get("requests")
        asks: list[Mapping[str, Any]] = batch if isinstance(batch, list) else [body]
        inputs = tuple(text_of(ask.get("content")) for ask in asks)
        settings = {(ask.get("outputDimensionality"), ask.get("taskType"), ask.get("title")) for ask in asks}
        if len(settings) > 1:
            raise BadRequest("its embedding requests differ in dimensions, task type or title")
        dimensions, task, title = settings.pop() if settings else (None, None, None)
        params = {"dimensions": dimensions, "task_type": task, "title": title}
        named = model or str(asks[0].get("model", "")).removeprefix("models/")
        params = {k: v for k, v in params.items() if v is not None}
        return Request((), params, kind="embedding", model=f"{self.family}/{named}", inputs=inputs)

    def _chunk(self, answer: Answer, text: str | None, calls: bool, finish: str | None, usage: bool) -> dict[str, Any]:
        parts: list[dict[str, Any]] = [{"text": text}] if text is not None else []
        if calls:
            for index, call in enumerate(answer.completion.tool_calls):
                function: dict[str, Any] = {"name": call.name, "args": dict(call.arguments)}
                parts.append({"functionCall": function | {"id": answer.call_id(index)}})
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        body: dict[str, Any] = {"candidates": [candidate], "modelVersion": answer.served}
        body["responseId"] = answer.response_id
        if usage:
            u = answer.completion.usage
            body["usageMetadata"] = {
                "promptTokenCount": u.input_tokens,
                "candidatesTokenCount": u.output_tokens,
                "totalTokenCount": u.total_tokens,
            }
            if u.cached_tokens:
                body["usageMetadata"]["cachedContentTokenCount"] = u.cached_tokens
        return body

    def completion_body(self, answer: Answer) -> dict[str, Any]:
        completion = answer.completion
        finish = _FINISH.get(completion.finish_reason, "STOP")
        text = completion.text if completion.text or not completion.tool_calls else None
        return self._chunk(answer, text, True, finish, True)

    def events(self, answer: Answer, body: Mapping[str, Any]) -> Iterator[bytes]:
        completion = answer.completion
        parts: list[str | None] = list(pieces(completion.text))
        if completion.tool_calls and not completion.text:
            parts = [None]
        for piece in parts[:-1]:
            yield sse(self._chunk(answer, piece, False, None, False))
        finish = _FINISH.get(completion.finish_reason, "STOP")
        yield sse(self._chunk(answer, parts[-1], True, finish, True))

    def embedding_body(self, answer: Answer, sent: Mapping[str, Any]) -> dict[str, Any]:
        vectors = [{"values": list(vector)} for vector in answer.completion.embeddings]
        if isinstance(sent.get("requests"), list):
            return {"embeddings": vectors}
        return {"embedding": vectors[0] if vectors else {"values": []}}

    def count_body(self, tokens: int) -> dict[str, Any]:
        return {"totalTokens": tokens}

    def model_body(self, info: Mapping[str, Any], served: str) -> dict[str, Any]:
        model = model_id_of(info, served)
        defaults = {"version": "001", "displayName": model}
        return defaults | {k: v for k, v in info.items() if k != "id"} | {"name": f"models/{model}"}

    def models_body(self, models: list[dict[str, Any]]) -> dict[str, Any]:
        return {"models": models}

    def error_body(self, status: int, message: str, retry_after: float | None = None) -> dict[str, Any]:
        code = _STATUS.get(status, "UNAVAILABLE" if status >= 500 else "FAILED_PRECONDITION")
        error: dict[str, Any] = {"code": status, "message": message, "status": code}
        if retry_after is not None:
            error["details"] = [{"@type": _RETRY_INFO, "retryDelay": f"{retry_after:g}s"}]
        return {"error": error}
