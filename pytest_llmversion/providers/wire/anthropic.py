"""Anthropic Messages (``/v1/messages``), its token count (``/v1/messages/count_tokens``) and models.

A tool call is a ``tool_use`` content block (``stop_reason: tool_use``); results come back as ``tool_result``
blocks of a user turn. Streamed, a call is ``content_block_start`` of type ``tool_use`` then ``input_json_delta``
fragments of its input. docs/providers.md §2.3.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pytest_llmversion.providers.base import Message, Request, ToolCall
from pytest_llmversion.providers.tools import choice_from, tools_from
from pytest_llmversion.providers.wire.common import (
    Answer,
    Codec,
    chunks,
    json_format,
    model_id_of,
    pieces,
    sse,
    text_of,
)

_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}
_STOP = {"stop": "end_turn", "length": "max_tokens", "content_filter": "refusal", "tool_calls": "tool_use"}


def turn_messages(role: str, content: Any) -> list[Message]:
    """One Anthropic turn as portable messages: a user turn's ``tool_result`` blocks become ``tool`` messages (its
    text, a user message); an assistant turn's ``tool_use`` blocks become the calls of one assistant message."""
    if not isinstance(content, list):
        return [Message("user" if role == "user" else "assistant", text_of(content))]
    if role == "assistant":
        said = "".join(str(b.get("text", "")) for b in content if b.get("type", "text") == "text")
        calls = tuple(
            ToolCall(str(b.get("id") or ""), str(b.get("name")), dict(b.get("input") or {}))
            for b in content
            if b.get("type") == "tool_use"
        )
        return [Message("assistant", said, calls)]
    messages: list[Message] = []
    text: list[str] = []
    for block in content:
        if block.get("type") == "tool_result":
            if text:
                messages.append(Message("user", "".join(text)))
                text = []
            messages.append(Message("tool", text_of(block.get("content")), tool_call_id=block.get("tool_use_id")))
        else:
            text.append(text_of(block))
    if text or not messages:
        messages.append(Message("user", "".join(text)))
    return messages


class AnthropicMessages(Codec):
    name = "anthropic"
    family = "anthropic"
    request_id_header = "request-id"

    def request_from(self, body: Mapping[str, Any]) -> Request:
        messages: list[Message] = []
        if body.get("system"):
            messages.append(Message("system", text_of(body["system"])))
        for item in body.get("messages") or []:
            if item.get("role") in ("user", "assistant"):
                messages += turn_messages(item["role"], item.get("content"))
        params: dict[str, Any] = {k: body[k] for k in ("temperature", "top_p", "max_tokens") if k in body}
        stops = body.get("stop_sequences")
        if stops:
            params["stop"] = stops[0] if len(stops) == 1 else list(stops)
        fmt = (body.get("output_config") or {}).get("format")
        if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
            schema = fmt.get("schema")
            params["response_format"] = "json" if schema == {"type": "object"} else json_format(schema)
        choice = body.get("tool_choice")
        if isinstance(choice, Mapping) and choice.get("disable_parallel_tool_use") is not None:
            params["parallel_tool_calls"] = not choice["disable_parallel_tool_use"]
        tools = tools_from(body.get("tools"))
        return Request(tuple(messages), params, tools=tools, tool_choice=choice_from(choice))

    def _usage(self, answer: Answer) -> dict[str, Any]:
        usage = answer.completion.usage
        return {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_input_tokens": usage.cached_tokens,
            "cache_creation_input_tokens": 0,
        }

    def _message(self, answer: Answer, content: list[dict[str, Any]], stop: str | None) -> dict[str, Any]:
        return {
            "id": answer.response_id,
            "type": "message",
            "role": "assistant",
            "model": answer.served,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": self._usage(answer),
        }

    def _blocks(self, answer: Answer) -> list[dict[str, Any]]:
        completion = answer.completion
        said = completion.text or not completion.tool_calls
        blocks: list[dict[str, Any]] = [{"type": "text", "text": completion.text}] if said else []
        for index, call in enumerate(completion.tool_calls):
            blocks.append(
                {"type": "tool_use", "id": answer.call_id(index), "name": call.name, "input": dict(call.arguments)}
            )
        return blocks

    def completion_body(self, answer: Answer) -> dict[str, Any]:
        stop = _STOP.get(answer.completion.finish_reason, "end_turn")
        return self._message(answer, self._blocks(answer), stop)

    def events(self, answer: Answer, body: Mapping[str, Any]) -> Iterator[bytes]:
        yield sse({"type": "message_start", "message": self._message(answer, [], None)}, "message_start")
        for index, block in enumerate(self._blocks(answer)):
            if block["type"] == "text":
                start = {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
                deltas = [{"type": "text_delta", "text": piece} for piece in pieces(block["text"])]
            else:
                call = answer.completion.tool_calls[index - (1 if answer.completion.text else 0)]
                start = {"type": "content_block_start", "index": index, "content_block": block | {"input": {}}}
                deltas = [{"type": "input_json_delta", "partial_json": p} for p in chunks(call.arguments_json)]
            yield sse(start, "content_block_start")
            for delta in deltas:
                yield sse({"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta")
            yield sse({"type": "content_block_stop", "index": index}, "content_block_stop")
        stop = _STOP.get(answer.completion.finish_reason, "end_turn")
        ending = {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}}
        yield sse(ending | {"usage": {"output_tokens": answer.completion.usage.output_tokens}}, "message_delta")
        yield sse({"type": "message_stop"}, "message_stop")

    def count_body(self, tokens: int) -> dict[str, Any]:
        return {"input_tokens": tokens}

    def model_body(self, info: Mapping[str, Any], served: str) -> dict[str, Any]:
        model = model_id_of(info, served)
        defaults = {"type": "model", "display_name": model, "created_at": "2025-01-01T00:00:00Z", "lifecycle": "active"}
        return defaults | dict(info) | {"id": model}

    def models_body(self, models: list[dict[str, Any]]) -> dict[str, Any]:
        first, last = (models[0]["id"], models[-1]["id"]) if models else (None, None)
        return {"data": models, "has_more": False, "first_id": first, "last_id": last}

    def error_body(self, status: int, message: str, retry_after: float | None = None) -> dict[str, Any]:
        kind = _ERRORS.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_emulator"}
