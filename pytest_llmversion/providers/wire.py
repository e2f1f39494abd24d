"""The providers' wire formats, as the emulator speaks them: request bodies in, response and error bodies out.

One codec per protocol: OpenAI Chat Completions, OpenAI Responses, Anthropic Messages and Gemini
generateContent (google-genai and google-generativeai send the same JSON). A codec turns a request body into
the plugin's :class:`Request` (so the scripted rules can answer it) and a :class:`Completion` back into the
body, the server-sent events or the error body that provider sends. Bodies follow what the official SDKs
accept in strict mode (see ``docs/providers.md`` §2).
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pytest_llmversion.providers.base import Completion, Message, Request, Role

#: (status) -> (OpenAI error type, code), (Anthropic error type), (Google status)
_OPENAI_ERRORS = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", "server_error"),
    503: ("server_error", "service_unavailable"),
    529: ("server_error", "overloaded"),
}
_ANTHROPIC_ERRORS = {
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
_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "content_filter": "refusal"}
_GEMINI_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


@dataclass(frozen=True)
class Answer:
    """What the emulator says back: the completion, and how it presents itself."""

    completion: Completion
    served: str
    response_id: str
    system_fingerprint: str | None = None
    #: Unix time the answer claims; None means now. Replays pass a fixed one, so the app sees the same answer.
    created: int | None = None

    def timestamp(self) -> int:
        return int(time.time()) if self.created is None else self.created


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"{head}data: {payload}\n\n".encode()


def pieces(text: str) -> list[str]:
    """Text split as a model streams it: word by word, whitespace kept."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


def text_of(content: Any) -> str:
    """Text of a message's content: a string, or a list of text parts (any provider's shape)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        return str(content.get("text", "")) if "text" in content else text_of(content.get("parts"))
    if isinstance(content, list):
        return "".join(text_of(part) for part in content)
    return str(content)


def _json_format(schema: Any) -> Any:
    return "json" if not isinstance(schema, Mapping) else {"type": "json_schema", "schema": dict(schema)}


class Codec:
    """One provider protocol."""

    name: ClassVar[str]
    #: The header this provider puts its request id in.
    request_id_header: ClassVar[str] = "x-request-id"

    def request_from(self, body: Mapping[str, Any]) -> Request:
        raise NotImplementedError

    def wants_stream(self, body: Mapping[str, Any], path: str) -> bool:
        return bool(body.get("stream"))

    def body(self, answer: Answer) -> dict[str, Any]:
        raise NotImplementedError

    def events(self, answer: Answer, body: Mapping[str, Any]) -> Iterator[bytes]:
        raise NotImplementedError

    def error_body(self, status: int, message: str, retry_after: float | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def count_tokens(self, request: Request) -> dict[str, Any]:
        raise NotImplementedError


def _estimate_tokens(request: Request) -> int:
    return max(1, sum(len(m.content) for m in request.messages) // 4)


class OpenAIChat(Codec):
    name = "openai-chat"

    def request_from(self, body: Mapping[str, Any]) -> Request:
        messages = []
        for item in body.get("messages") or []:
            role = {"developer": "system"}.get(item.get("role"), item.get("role"))
            if role in ("system", "user", "assistant"):
                messages.append(Message(role, text_of(item.get("content"))))
        params: dict[str, Any] = {k: body[k] for k in ("temperature", "seed", "top_p", "stop") if k in body}
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        fmt = body.get("response_format")
        if isinstance(fmt, Mapping) and fmt.get("type") in ("json_object", "json_schema"):
            params["response_format"] = _json_format((fmt.get("json_schema") or {}).get("schema"))
        return Request(tuple(messages), params)

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

    def body(self, answer: Answer) -> dict[str, Any]:
        completion = answer.completion
        message = {"role": "assistant", "content": completion.text}
        choice = {"index": 0, "message": message, "finish_reason": self.finish(completion.finish_reason)}
        return self._head(answer, "chat.completion") | {"choices": [choice], "usage": self._usage(completion)}

    def events(self, answer: Answer, body: Mapping[str, Any]) -> Iterator[bytes]:
        head = self._head(answer, "chat.completion.chunk")
        first = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
        yield sse(head | {"choices": [first]})
        for piece in pieces(answer.completion.text):
            yield sse(head | {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
        last = {"index": 0, "delta": {}, "finish_reason": self.finish(answer.completion.finish_reason)}
        yield sse(head | {"choices": [last]})
        if (body.get("stream_options") or {}).get("include_usage"):
            yield sse(head | {"choices": [], "usage": self._usage(answer.completion)})
        yield sse("[DONE]")

    def error_body(self, status: int, message: str, retry_after: float | None = None) -> dict[str, Any]:
        kind, code = _OPENAI_ERRORS.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def count_tokens(self, request: Request) -> dict[str, Any]:
        return {"object": "response.input_tokens", "input_tokens": _estimate_tokens(request)}


class OpenAIResponses(OpenAIChat):
    name = "openai-responses"

    def request_from(self, body: Mapping[str, Any]) -> Request:
        messages: list[Message] = []
        if body.get("instructions"):
            messages.append(Message("system", str(body["instructions"])))
        given = body.get("input")
        if isinstance(given, str):
            messages.append(Message("user", given))
        for item in given if isinstance(given, list) else []:
            role = {"developer": "system"}.get(item.get("role"), item.get("role"))
            if role in ("system", "user", "assistant"):
                messages.append(Message(role, text_of(item.get("content"))))
        params: dict[str, Any] = {k: body[k] for k in ("temperature", "top_p") if k in body}
        if body.get("max_output_tokens") is not None:
            params["max_tokens"] = body["max_output_tokens"]
        fmt = (body.get("text") or {}).get("format")
        if isinstance(fmt, Mapping) and fmt.get("type") in ("json_object", "json_schema"):
            params["response_format"] = _json_format(fmt.get("schema"))
        return Request(tuple(messages), params)

    def _response(self, answer: Answer, status: str, text: str | None) -> dict[str, Any]:
        completion = answer.completion
        output: list[dict[str, Any]] = []
        if text is not None:
            part = {"type": "output_text", "text": text, "annotations": []}
            message = {"type": "message", "id": f"msg_{answer.response_id}", "status": "completed"}
            output.append(message | {"role": "assistant", "content": [part]})
        body: dict[str, Any] = {
            "id": answer.response_id,
            "object": "response",
            "created_at": answer.timestamp(),
            "status": status,
            "model": answer.served,
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        }
        if status != "in_progress":
            usage = completion.usage
            body["usage"] = {
                "input_tokens": usage.input_tokens,
                "input_tokens_details": {"cached_tokens": usage.cached_tokens, "cache_write_tokens": 0},
                "output_tokens": usage.output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": usage.total_tokens,
            }
        if completion.finish_reason == "length":
            body["status"] = "incomplete"
            body["incomplete_details"] = {"reason": "max_output_tokens"}
        return body

    def body(self, answer: Answer) -> dict[str, Any]:
        return self._response(answer, "completed", answer.completion.text)

    def events(self, answer: Answer, body: Mapping[str, Any]) -> Iterator[bytes]:
        """The whole event sequence, so the SDK's ``responses.stream()`` helper can accumulate it too."""
        text = answer.completion.text
        item_id = f"msg_{answer.response_id}"
        numbers = itertools.count()
        where = {"item_id": item_id, "output_index": 0, "content_index": 0}

        def event(kind: str, **fields: Any) -> bytes:
            return sse({"type": kind, "sequence_number": next(numbers), **fields}, kind)

        yield event("response.created", response=self._response(answer, "in_progress", None))
        item = {"type": "message", "id": item_id, "status": "in_progress", "role": "assistant", "content": []}
        yield event("response.output_item.added", output_index=0, item=item)
        part = {"type": "output_text", "text": "", "annotations": []}
        yield event("response.content_part.added", **where, part=part)
        for piece in pieces(text):
            yield event("response.output_text.delta", **where, delta=piece, logprobs=[])
        yield event("response.output_text.done", **where, text=text, logprobs=[])
        yield event("response.content_part.done", **where, part=part | {"text": text})
        final = self.body(answer)
        yield event("response.output_item.done", output_index=0, item=final["output"][0])
        yield event("response.completed", response=final)


class AnthropicMessages(Codec):
    name = "anthropic"
    request_id_header = "request-id"

    def request_from(self, body: Mapping[str, Any]) -> Request:
        messages: list[Message] = []
        if body.get("system"):
            messages.append(Message("system", text_of(body["system"])))
        for item in body.get("messages") or []:
            if item.get("role") in ("user", "assistant"):
                messages.append(Message(item["role"], text_of(item.get("content"))))
        params: dict[str, Any] = {k: body[k] for k in ("temperature", "top_p", "max_tokens") if k in body}
        stops = body.get("stop_sequences")
        if stops:
            params["stop"] = stops[0] if len(stops) == 1 else list(stops)
        fmt = (body.get("output_config") or {}).get("format")
        if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
            schema = fmt.get("schema")
            params["response_format"] = "json" if schema == {"type": "object"} else _json_format(schema)
        return Request(tuple(messages), params)

    def _usage(self, completion: Completion) -> dict[str, Any]:
        usage = completion.usage
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
            "usage": self._usage(answer.completion),
        }

    def body(self, answer: Answer) -> dict[str, Any]:
        stop = _ANTHROPIC_STOP.get(answer.completion.finish_reason, "end_turn")
        return self._message(answer, [{"type": "text", "text": answer.completion.text}], stop)

    def events(self, answer: Answer, body: Mapping[str, Any]) -> Iterator[bytes]:
        yield sse({"type": "message_start", "message": self._message(answer, [], None)}, "message_start")
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        yield sse(block, "content_block_start")
        for piece in pieces(answer.completion.text):
            delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
            yield sse(delta, "content_block_delta")
        yield sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        stop = _ANTHROPIC_STOP.get(answer.completion.finish_reason, "end_turn")
        ending = {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}}
        yield sse(ending | {"usage": {"output_tokens": answer.completion.usage.output_tokens}}, "message_delta")
        yield sse({"type": "message_stop"}, "message_stop")

    def error_body(self, status: int, message: str, retry_after: float | None = None) -> dict[str, Any]:
        kind = _ANTHROPIC_ERRORS.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_emulator"}

    def count_tokens(self, request: Request) -> dict[str, Any]:
        return {"input_tokens": _estimate_tokens(request)}


class Gemini(Codec):
    name = "gemini"

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
            role: Role = "assistant" if item.get("role") == "model" else "user"
            messages.append(Message(role, text_of(item.get("parts"))))
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
            params["response_format"] = _json_format(config.get("responseJsonSchema") or config.get("responseSchema"))
        return Request(tuple(messages), params)

    def _chunk(self, answer: Answer, text: str, finish: str | None, usage: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
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

    def body(self, answer: Answer) -> dict[str, Any]:
        finish = _GEMINI_FINISH.get(answer.completion.finish_reason, "STOP")
        return self._chunk(answer, answer.completion.text, finish, True)

    def events(self, answer: Answer, body: Mapping[str, Any]) -> Iterator[bytes]:
        parts = pieces(answer.completion.text)
        for piece in parts[:-1]:
            yield sse(self._chunk(answer, piece, None, False))
        finish = _GEMINI_FINISH.get(answer.completion.finish_reason, "STOP")
        yield sse(self._chunk(answer, parts[-1], finish, True))

    def error_body(self, status: int, message: str, retry_after: float | None = None) -> dict[str, Any]:
        code = _GOOGLE_STATUS.get(status, "UNAVAILABLE" if status >= 500 else "FAILED_PRECONDITION")
        error: dict[str, Any] = {"code": status, "message": message, "status": code}
        if retry_after is not None:
            error["details"] = [{"@type": _RETRY_INFO, "retryDelay": f"{retry_after:g}s"}]
        return {"error": error}

    def count_tokens(self, request: Request) -> dict[str, Any]:
        return {"totalTokens": _estimate_tokens(request)}


CODECS: dict[str, Codec] = {c.name: c for c in (OpenAIChat(), OpenAIResponses(), AnthropicMessages(), Gemini())}
