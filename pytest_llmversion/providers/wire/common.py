"""What every wire codec shares: the answer being rendered, server-sent events, text and vector helpers."""

from __future__ import annotations

import base64
import json
import re
import struct
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from pytest_llmversion.providers.base import Completion, Request


@dataclass(frozen=True)
class Answer:
    """What the emulator (or the SDK fixtures' transport) says back: the completion, and how it presents itself."""

    completion: Completion
    served: str
    response_id: str
    system_fingerprint: str | None = None
    #: Unix time the answer claims; None means now. Replays pass a fixed one, so the app sees the same answer.
    created: int | None = None

    def timestamp(self) -> int:
        return int(time.time()) if self.created is None else self.created

    def call_id(self, index: int) -> str:
        """The id of tool call ``index``: the model's, else one made from the response id (Gemini gives none,
        and OpenAI's and Anthropic's SDKs pair results with calls by id)."""
        given = self.completion.tool_calls[index].id
        return given or f"call_{self.response_id[-12:]}_{index}"


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"{head}data: {payload}\n\n".encode()


def pieces(text: str) -> list[str]:
    """Text split as a model streams it: word by word, whitespace kept."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


def chunks(text: str, size: int = 12) -> list[str]:
    """Tool-call arguments split as providers stream them: fragments that are not JSON on their own."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


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


def json_format(schema: Any, name: Any = None, strict: Any = True) -> Any:
    """``response_format`` as a request holds it: ``"json"``, or a schema with the name and strictness the wire gave
    (what the plugin's own JSON mode assumes, ``name="response"`` and ``strict=True``, is left out, so requests that
    say nothing else keep their fingerprints). OpenAI's ``json_schema`` is not strict unless it says so: sent
    strict, a schema written for the lenient mode would be refused (docs/providers.md §2.1)."""
    if not isinstance(schema, Mapping):
        return "json"
    found: dict[str, Any] = {"type": "json_schema", "schema": dict(schema)}
    if name not in (None, "", "response"):
        found["name"] = str(name)
    if strict is not True:
        found["strict"] = bool(strict)
    return found


def float32_base64(vector: tuple[float, ...]) -> str:
    """A vector as OpenAI's ``encoding_format: base64`` sends it: little-endian float32."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


class Codec:
    """One provider protocol: request bodies in, answer and error bodies out."""

    name: ClassVar[str]
    #: The provider whose API this is (the ``provider/`` of an embedding model named in its requests).
    family: ClassVar[str]
    #: The header this provider puts its request id in.
    request_id_header: ClassVar[str] = "x-request-id"

    def request_from(self, body: Mapping[str, Any]) -> Request:
        """A completion request; ``BadRequest`` for a tool the portable form cannot hold."""
        raise NotImplementedError

    def count_request(self, body: Mapping[str, Any]) -> Request:
        """A token-count request: the completion it would count, minus what a count ignores."""
        return replace(self.request_from(body), kind="count_tokens", params={})

    def embedding_request(self, body: Mapping[str, Any], model: str | None) -> Request:
        raise NotImplementedError(f"{self.name} has no embeddings endpoint")

    def wants_stream(self, body: Mapping[str, Any], path: str) -> bool:
        return bool(body.get("stream"))

    def body(self, answer: Answer, sent: Mapping[str, Any] | None = None) -> Any:
        """The JSON body of the answer to ``sent`` (the request body, which says how embeddings are encoded)."""
        completion = answer.completion
        if completion.kind == "embedding":
            return self.embedding_body(answer, sent or {})
        if completion.kind == "count_tokens":
            return self.count_body(completion.token_count or 0)
        if completion.kind == "model_info":
            return self.model_body(completion.model_info or {}, answer.served)
        if completion.kind == "model_list":
            return self.models_body([self.model_body(info, "") for info in completion.model_info or []])
        return self.completion_body(answer)

    def completion_body(self, answer: Answer) -> dict[str, Any]:
        raise NotImplementedError

    def events(self, answer: Answer, body: Mapping[str, Any]) -> Iterator[bytes]:
        raise NotImplementedError

    def embedding_body(self, answer: Answer, sent: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError(f"{self.name} has no embeddings endpoint")

    def count_body(self, tokens: int) -> dict[str, Any]:
        raise NotImplementedError(f"{self.name} has no token-count endpoint")

    def model_body(self, info: Mapping[str, Any], served: str) -> dict[str, Any]:
        """One model as this provider describes it: ``info`` (whatever provider wrote it) with the fields this
        provider's SDK requires filled in."""
        raise NotImplementedError

    def models_body(self, models: list[dict[str, Any]]) -> dict[str, Any]:
        raise NotImplementedError

    def error_body(self, status: int, message: str, retry_after: float | None = None) -> dict[str, Any]:
        raise NotImplementedError


def model_id_of(info: Mapping[str, Any], served: str) -> str:
    """The id a model description gives, whichever provider wrote it (Gemini's ``name`` is ``models/<id>``)."""
    given = info.get("id") or info.get("name") or served
    return str(given).removeprefix("models/")
