"""OpenAI Responses (``/responses``) and its token count (``/responses/input_tokens``).

Tool calls are ``function_call`` output items (``call_id``, ``name``, ``arguments``); results come back as
``function_call_output`` input items. Streamed, a call is ``response.output_item.added``, argument fragments
in ``response.function_call_arguments.delta``, then ``.done`` and ``response.output_item.done``.
docs/providers.md §2.2.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from pytest_llmversion.providers.base import Message, Request, ToolCall
from pytest_llmversion.providers.tools import choice_from, tools_from
from pytest_llmversion.providers.wire.common import Answer, chunks, json_format, pieces, sse, text_of
from pytest_llmversion.providers.wire.openai_chat import OpenAIChat


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
            kind = item.get("type", "message")
            if kind == "function_call":
                call = ToolCall.from_text(str(item.get("call_id") or ""), str(item.get("name")), item.get("arguments"))
                last = messages[-1] if messages else None
                if last is not None and last.role == "assistant":  # the text and the calls of one answer
                    messages[-1] = Message("assistant", last.content, (*last.tool_calls, call))
                else:
                    messages.append(Message("assistant", "", (call,)))
            elif kind == "function_call_output":
                messages.append(Message("tool", text_of(item.get("output")), tool_call_id=item.get("call_id")))
            else:
                role = {"developer": "system"}.get(item.get("role"), item.get("role"))
                if role in ("system", "user", "assistant"):
                    messages.append(Message(role, text_of(item.get("content"))))
        params: dict[str, Any] = {k: body[k] for k in ("temperature", "top_p") if k in body}
        if body.get("max_output_tokens") is not None:
            params["max_tokens"] = body["max_output_tokens"]
        fmt = (body.get("text") or {}).get("format")
        if isinstance(fmt, Mapping) and fmt.get("type") in ("json_object", "json_schema"):
            params["response_format"] = json_format(fmt.get("schema"), fmt.get("name"), fmt.get("strict") is True)
        if body.get("parallel_tool_calls") is not None:
            params["parallel_tool_calls"] = body["parallel_tool_calls"]
        tools = tools_from(body.get("tools"))
        return Request(tuple(messages), params, tools=tools, tool_choice=choice_from(body.get("tool_choice")))

    def _call_item(self, answer: Answer, index: int, done: bool) -> dict[str, Any]:
        call = answer.completion.tool_calls[index]
        call_id = answer.call_id(index)
        return {
            "type": "function_call",
            "id": f"fc_{call_id}",
            "call_id": call_id,
            "name": call.name,
            "arguments": call.arguments_json if done else "",
            "status": "completed" if done else "in_progress",
        }

    def _response(self, answer: Answer, status: str, text: str | None) -> dict[str, Any]:
        completion = answer.completion
        output: list[dict[str, Any]] = []
        if text is not None:
            if text or not completion.tool_calls:
                part = {"type": "output_text", "text": text, "annotations": []}
                message = {"type": "message", "id": f"msg_{answer.response_id}", "status": "completed"}
                output.append(message | {"role": "assistant", "content": [part]})
            output += [self._call_item(answer, i, True) for i in range(len(completion.tool_calls))]
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

    def completion_body(self, answer: Answer) -> dict[str, Any]:
        return self._response(answer, "completed", answer.completion.text)

    def events(self, answer: Answer, body: Mapping[str, Any]) -> Iterator[bytes]:
        """The whole event sequence, so the SDK's ``responses.stream()`` helper can accumulate it too."""
        text = answer.completion.text
        numbers = itertools.count()

        def event(kind: str, **fields: Any) -> bytes:
            return sse({"type": kind, "sequence_number": next(numbers), **fields}, kind)

        final = self.completion_body(answer)
        yield event("response.created", response=self._response(answer, "in_progress", None))
        output_index = 0
        if text or not answer.completion.tool_calls:
            item_id = f"msg_{answer.response_id}"
            where = {"item_id": item_id, "output_index": 0, "content_index": 0}
            item = {"type": "message", "id": item_id, "status": "in_progress", "role": "assistant", "content": []}
            yield event("response.output_item.added", output_index=0, item=item)
            part = {"type": "output_text", "text": "", "annotations": []}
            yield event("response.content_part.added", **where, part=part)
            for piece in pieces(text):
                yield event("response.output_text.delta", **where, delta=piece, logprobs=[])
            yield event("response.output_text.done", **where, text=text, logprobs=[])
            yield event("response.content_part.done", **where, part=part | {"text": text})
            yield event("response.output_item.done", output_index=0, item=final["output"][0])
            output_index = 1
        for index in range(len(answer.completion.tool_calls)):
            started = self._call_item(answer, index, False)
            done = self._call_item(answer, index, True)
            where = {"item_id": started["id"], "output_index": output_index}
            yield event("response.output_item.added", output_index=output_index, item=started)
            for fragment in chunks(done["arguments"]):
                yield event("response.function_call_arguments.delta", **where, delta=fragment)
            # the API names the function here too (openai 2.x requires it)
            finished = {"name": done["name"], "arguments": done["arguments"]}
            yield event("response.function_call_arguments.done", **where, **finished)
            yield event("response.output_item.done", output_index=output_index, item=done)
            output_index += 1
        yield event("response.completed", response=final)

    def count_body(self, tokens: int) -> dict[str, Any]:
        return {"object": "response.input_tokens", "input_tokens": tokens}
