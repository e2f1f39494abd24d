"""OpenAI Chat Completions (``/chat/completions``), embeddings (``/embeddings``) and models (``/models``).

Tool calls go out as ``message.tool_calls`` (``finish_reason: tool_calls``, ``content: null`` when the model
said nothing else); streamed, each call is a ``delta.tool_calls`` entry with its id and name, then fragments of
its arguments. docs/providers.md §2.1.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pytest_llmversion.providers.base import BadRequest, Completion, Message, Request, ToolCall
from pytest_llmversion.providers.tools import choice_from, tools_from
from pytest_llmversion.providers.wire.common import (
    Answer,
    Codec,
    chunks,
    float32_base64,
    json_format,
    model_id_of,
    pieces,
    sse,
    text_of,
)

#: status -> (OpenAI error type, code)
_ERRORS = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", "server_error"),
    503: ("server_error", "service_unavailable"),
    529: ("server_error", "overloaded"),
}


def calls_of(message: Mapping[str, Any]) -> tuple[ToolCall, ...]:
    """The function calls of a Chat assistant message (``tool_calls[].function``)."""
    found = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        found.append(
            ToolCall.from_text(str(call.get("id") or ""), str(function.get("name")), function.get("arguments"))
        )
    return tuple(found)


class OpenAIChat(Codec):
    name = "openai-chat"
    family = "openai"

    def request_from(self, body: Mapping[str, Any]) -> Request:
        messages = []
        for item in body.get("messages") or []:
            role = {"developer": "system"}.get(item.get("role"), item.get("role"))
            if role in ("system", "user"):
                messages.append(Message(role, text_of(item.get("content"))))
            elif role == "assistant":
                messages.append(Message("assistant", text_of(item.get("content")), calls_of(item)))
            elif role == "tool":
                messages.append(Message("tool", text_of(item.get("content")), tool_call_id=item.get("tool_call_id")))
        params: dict[str, Any] = {k: body[k] for k in ("temperature", "seed", "top_p", "stop") if k in body}
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        fmt = body.get("response_format")
        if isinstance(fmt, Mapping) and fmt.get("type") in ("json_object", "json_schema"):
            inner = fmt.get("json_schema") or {}
            params["response_format"] = json_format(inner.get("schema"), inner.get("name"), inner.get("strict") is True)
        if body.get("parallel_tool_calls") is not None:
            params["parallel_tool_calls"] = body["parallel_tool_calls"]
        tools = tools_from(body.get("tools"))
        return Request(tuple(messages), params, tools=tools, tool_choice=choice_from(body.get("tool_choice")))

    def embedding_request(self, body: Mapping[str, Any], model: str | None) -> Request:
        given = body.get("input")
        inputs = [given] if isinstance(given, str) else given
        if not isinstance(inputs, list) or not all(isinstance(text, str) for text in inputs):
            raise BadRequest("the embedding input is token ids, not text")
        params = {"dimensions": body["dimensions"]} if body.get("dimensions") is not None else {}
        named = model or body.get("model")
        return Request((), params, kind="embedding", model=f"{self.family}/{named}", inputs=tuple(inputs))

    @staticmethod
    def finish(reason: str) -> str:
        return reason if reason in ("stop", "length", "tool_calls", "content_filter") else "stop"

    def _usage(self, completion: Completion) -> dict[str, Any]:
        usage = completion.usage
        return {
            "prompt_tokens": usage.input_tokens,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens,
            "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        }

    def _head(self, answer: Answer, obj: str) -> dict[str, Any]:
        head: dict[str, Any] = {"id": answer.response_id, "object": obj, "created": answer.timestamp()}
        head["model"] = answer.served
        if answer.system_fingerprint:
            head["system_fingerprint"] = answer.system_fingerprint
        return head

    def completion_body(self, answer: Answer) -> dict[str, Any]:
        completion = answer.completion
        calls = completion.tool_calls
        message: dict[str, Any] = {
            "role": "assistant",
            "content": completion.text if completion.text or not calls else None,
        }
        if calls:
            message["tool_calls"] = [
                {
                    "id": answer.call_id(i),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json},
                }
                for i, call in enumerate(calls)
            ]
        choice = {"index": 0, "message": message, "finish_reason": self.finish(completion.finish_reason)}
        return self._head(answer, "chat.completion") | {"choices": [choice], "usage": self._usage(completion)}

    def events(self, answer: Answer, body: Mapping[str, Any]) -> Iterator[bytes]:
        head = self._head(answer, "chat.completion.chunk")

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return sse(head | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

        completion = answer.completion
        yield chunk({"role": "assistant", "content": ""})
        if completion.text or not completion.tool_calls:
            for piece in pieces(completion.text):
                yield chunk({"content": piece})
        for index, call in enumerate(completion.tool_calls):
            start = {"index": index, "id": answer.call_id(index), "type": "function"}
            yield chunk({"tool_calls": [start | {"function": {"name": call.name, "arguments": ""}}]})
            for fragment in chunks(call.arguments_json):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
        yield chunk({}, self.finish(completion.finish_reason))
        if (body.get("stream_options") or {}).get("include_usage"):
            yield sse(head | {"choices": [], "usage": self._usage(completion)})
        yield sse("[DONE]")

    def embedding_body(self, answer: Answer, sent: Mapping[str, Any]) -> dict[str, Any]:
        # the openai SDK asks for base64 unless the code chose: it decodes it into the floats the code sees
        as_base64 = sent.get("encoding_format") == "base64"
        data = [
            {"object": "embedding", "index": i, "embedding": float32_base64(vector) if as_base64 else list(vector)}
            for i, vector in enumerate(answer.completion.embeddings)
        ]
        tokens = answer.completion.usage.input_tokens
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return {"object": "list", "data": data, "model": answer.served, "usage": usage}

    def model_body(self, info: Mapping[str, Any], served: str) -> dict[str, Any]:
        body = {"object": "model", "created": 0, "owned_by": "system"} | dict(info)
        return body | {"id": model_id_of(info, served)}

    def models_body(self, models: list[dict[str, Any]]) -> dict[str, Any]:
        return {"object": "list", "data": models}

    def error_body(self, status: int, message: str, retry_after: float | None = None) -> dict[str, Any]:
        kind, code = _ERRORS.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}
