"""Which LLM call an SDK's HTTP request is, and the plugin's :class:`Request` for it.

The wire codecs read the bodies; this module decides first whether a body can be represented by a ``Request``
without losing anything: completions (text turns, tool calls and tool results, function tools, sampling
parameters), and the calls application code makes around them: embeddings, token counts, model lookups and
listings (``Request.kind``). A call that cannot be held (images, hosted tools, server-side state, several
choices) raises :class:`NotACompletion` with the reason, and the transport sends it on unrecorded or refuses
it. Parameters of a completion the plugin has no name for are kept under their wire names, so they are part
of the fingerprint and travel to a provider of the same kind. What is and is not recorded:
docs/providers.md §8.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.providers.base import BadRequest, Kind, Request
from pytest_llmversion.providers.wire import CODECS, Codec

Family = Literal["openai", "anthropic", "gemini"]

#: codec name -> the provider family (and fixture) that speaks it.
FAMILY: dict[str, Family] = {
    "openai-chat": "openai",
    "openai-responses": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
}
#: How people call each protocol, for messages.
PROTOCOL_NAMES = {
    "openai-chat": "an OpenAI Chat Completions call",
    "openai-responses": "an OpenAI Responses call",
    "anthropic": "an Anthropic Messages call",
    "gemini": "a Gemini generateContent call",
}
#: The codec that answers a family's model lookups (``GET .../models[/id]``, the same path for all three).
MODELS_CODEC: dict[Family, str] = {"openai": "openai-chat", "anthropic": "anthropic", "gemini": "gemini"}

_GEMINI_METHODS: dict[str, Kind] = {
    "generateContent": "completion",
    "streamGenerateContent": "completion",
    "countTokens": "count_tokens",
    "embedContent": "embedding",
    "batchEmbedContents": "embedding",
}
_GEMINI = re.compile(rf"/models/(?P<model>[^/:]+):(?P<method>{'|'.join(_GEMINI_METHODS)})$")
_ROUTES: tuple[tuple[str, str, Kind], ...] = (
    ("/chat/completions", "openai-chat", "completion"),
    ("/embeddings", "openai-chat", "embedding"),
    ("/responses/input_tokens", "openai-responses", "count_tokens"),
    ("/responses", "openai-responses", "completion"),
    ("/messages/count_tokens", "anthropic", "count_tokens"),
    ("/messages", "anthropic", "completion"),
)
_MODELS = re.compile(r"/models(?:/(?P<model>[^/]+))?$")  # fine-tuned ids hold ":"


class NotACompletion(LLMVersionError):
    """An HTTP request the plugin cannot record; the message says why, in a few words."""


@dataclass(frozen=True)
class Endpoint:
    """What an HTTP request is: the protocol, what it asks for, and the model named in its path."""

    codec: str
    kind: Kind
    model: str | None = None


@dataclass(frozen=True)
class Mapped:
    """Per protocol and kind: body keys the codec maps, keys that do not change the answer, keys it cannot hold."""

    mapped: frozenset[str]
    ignored: frozenset[str]
    refused: frozenset[str]


_COMMON_IGNORED = frozenset(
    {"stream", "stream_options", "user", "metadata", "store", "service_tier", "prompt_cache_key", "safety_identifier"}
)
_RULES: dict[tuple[str, Kind], Mapped] = {
    ("openai-chat", "completion"): Mapped(
        frozenset(
            {"model", "messages", "temperature", "seed", "top_p", "stop", "max_tokens", "max_completion_tokens"}
            | {"response_format", "tools", "tool_choice", "parallel_tool_calls"}
        ),
        _COMMON_IGNORED,
        frozenset({"functions", "function_call", "audio", "modalities", "prediction"}),
    ),
    ("openai-chat", "embedding"): Mapped(
        frozenset({"model", "input", "dimensions"}), frozenset({"encoding_format", "user"}), frozenset()
    ),
    ("openai-responses", "completion"): Mapped(
        frozenset({"model", "input", "instructions", "temperature", "top_p", "max_output_tokens", "text"})
        | {"tools", "tool_choice", "parallel_tool_calls"},
        _COMMON_IGNORED | {"include", "truncation"},
        frozenset({"previous_response_id", "conversation", "prompt", "background"}),
    ),
    ("openai-responses", "count_tokens"): Mapped(
        frozenset({"model", "input", "instructions", "tools", "tool_choice"}),
        frozenset({"text", "parallel_tool_calls", "truncation", "reasoning"}),
        frozenset({"previous_response_id", "conversation"}),
    ),
    ("anthropic", "completion"): Mapped(
        frozenset(
            {"model", "messages", "system", "temperature", "top_p", "max_tokens", "stop_sequences", "output_config"}
            | {"tools", "tool_choice"}
        ),
        _COMMON_IGNORED,
        frozenset({"mcp_servers", "container"}),
    ),
    ("anthropic", "count_tokens"): Mapped(
        frozenset({"model", "messages", "system", "tools", "tool_choice"}),
        frozenset({"output_config"}),
        frozenset({"mcp_servers", "thinking"}),
    ),
    ("gemini", "completion"): Mapped(
        frozenset({"contents", "systemInstruction", "system_instruction", "generationConfig", "generation_config"})
        | {"tools", "toolConfig", "tool_config"},
        frozenset(),
        frozenset({"cachedContent", "cached_content"}),
    ),
    ("gemini", "count_tokens"): Mapped(frozenset({"contents", "generateContentRequest"}), frozenset(), frozenset()),
    ("gemini", "embedding"): Mapped(
        frozenset({"requests", "content", "model", "taskType", "title", "outputDimensionality"}),
        frozenset(),
        frozenset(),
    ),
}
_GEMINI_CONFIG_MAPPED = frozenset(
    {"temperature", "maxOutputTokens", "seed", "topP", "stopSequences", "responseMimeType"}
    | {"responseJsonSchema", "responseSchema"}
)
#: Keys some frameworks send at their default value, which asks for nothing (``n: 1``, ``logprobs: false``): left
#: out, so a request that spells the default out is the request that does not.
_DEFAULTS: dict[str, object] = {"n": 1, "logprobs": False}
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})
_GEMINI_PARTS = frozenset({"text", "thought", "functionCall", "function_call", "functionResponse", "function_response"})


@dataclass(frozen=True)
class LLMCall:
    """One call as an SDK sent it."""

    codec: Codec
    family: Family
    #: The model the application asked for (None when the request does not say, and for embeddings, whose
    #: model is part of the request: it is not the model under test).
    model: str | None
    stream: bool
    body: Mapping[str, Any]
    request: Request

    @property
    def kind(self) -> Kind:
        return self.request.kind


def protocol_of(method: str, path: str, family: Family | None = None) -> Endpoint | None:
    """The endpoint of a request the plugin records, or None for any other. ``GET .../models`` is the same path in
    all three APIs: it is the family's only when ``family`` is given."""
    if method == "GET":
        found = _MODELS.search(path)
        if found is None or family is None:
            return None
        return Endpoint(MODELS_CODEC[family], "model_info" if found["model"] else "model_list", found["model"])
    if method != "POST":
        return None
    gemini = _GEMINI.search(path)
    if gemini is not None:
        return Endpoint("gemini", _GEMINI_METHODS[gemini["method"]], gemini["model"])
    for suffix, codec, kind in _ROUTES:
        if path.endswith(suffix):
            return Endpoint(codec, kind)
    return None


def read_call(method: str, path: str, content: bytes, family: Family | None = None) -> LLMCall:
    """The call in an HTTP request; ``NotACompletion`` when it is not one the plugin can record."""
    found = protocol_of(method, path, family)
    if found is None:
        raise NotACompletion("not an endpoint the plugin records")
    codec = CODECS[found.codec]
    if found.kind in ("model_info", "model_list"):
        request = Request((), kind=found.kind)  # about the model under test, like a completion: no model in it
        return LLMCall(codec, FAMILY[found.codec], found.model, False, {}, request)
    try:
        body = json.loads(content) if content else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise NotACompletion("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise NotACompletion("the request body is not a JSON object")
    rules = _RULES.get((found.codec, found.kind))
    if rules is None:
        raise NotACompletion("not an endpoint the plugin records")
    refused = sorted(k for k in body if k in rules.refused and body[k] not in (None, [], {}))
    if refused:
        raise NotACompletion(f"it uses {', '.join(refused)}, which a recorded answer cannot hold")
    if found.kind == "embedding":
        return _embedding_call(codec, found, body, rules)
    _check_several_answers(body)
    _check_turns(found.codec, body.get("generateContentRequest", body))
    try:
        request = codec.request_from(body) if found.kind == "completion" else codec.count_request(body)
    except BadRequest as exc:
        raise NotACompletion(str(exc)) from None
    extras = {k: v for k, v in body.items() if k not in rules.mapped | rules.ignored | rules.refused}
    if found.kind == "completion" and found.codec == "gemini":
        config = body.get("generationConfig") or body.get("generation_config") or {}
        extras |= {k: v for k, v in config.items() if k not in _GEMINI_CONFIG_MAPPED and k != "candidateCount"}
    extras = {k: v for k, v in extras.items() if v is not None and not _is_default(k, v)}
    if extras and found.kind != "completion":  # a count has no parameters to carry them
        raise NotACompletion(f"it uses {', '.join(sorted(extras))}, which a recorded answer cannot hold")
    if extras:
        request = replace(request, params={**request.params, **extras})
    model = found.model if found.model is not None else body.get("model")
    return LLMCall(
        codec,
        FAMILY[found.codec],
        str(model).removeprefix("models/") if model is not None else None,
        codec.wants_stream(body, path) if found.kind == "completion" else False,
        body,
        request,
    )


def _is_default(key: str, value: Any) -> bool:
    default = _DEFAULTS.get(key)
    return default is not None and type(value) is type(default) and value == default


def _embedding_call(codec: Codec, found: Endpoint, body: Mapping[str, Any], rules: Mapped) -> LLMCall:
    unknown = sorted(k for k in body if k not in rules.mapped | rules.ignored and body[k] is not None)
    batch = body.get("requests")
    asks: list[Any] = batch if isinstance(batch, list) else []
    unknown += sorted({k for ask in asks if isinstance(ask, Mapping) for k in ask} - rules.mapped)
    if unknown:
        raise NotACompletion(f"it uses {', '.join(unknown)}, which a recorded embedding cannot hold")
    for index, ask in enumerate(asks or [body]):
        _text_parts((ask.get("content") or {}).get("parts") if found.codec == "gemini" else [], f"input {index}")
    try:
        request = codec.embedding_request(body, found.model)
    except BadRequest as exc:
        raise NotACompletion(str(exc)) from None
    return LLMCall(codec, FAMILY[found.codec], None, False, body, request)


def _check_several_answers(body: Mapping[str, Any]) -> None:
    config = body.get("generationConfig") or body.get("generation_config") or {}
    several = body.get("n") not in (None, 1) or config.get("candidateCount") not in (None, 1)
    if several:
        raise NotACompletion("it asks for several answers at once (n / candidateCount)")
    if body.get("logprobs") or body.get("top_logprobs"):
        raise NotACompletion("it asks for logprobs, which a recorded text answer cannot hold")


def _check_turns(name: str, body: Mapping[str, Any]) -> None:
    """Every turn must be text, tool calls or tool results, in a role the plugin knows: anything else would be
    lost."""
    if name == "gemini":
        _check_gemini_turns(body)
    elif name == "openai-responses":
        given = body.get("input")
        for index, item in enumerate(given if isinstance(given, list) else []):
            _check_responses_item(index, item)
    elif name == "anthropic":
        if body.get("system") is not None and not isinstance(body["system"], str):
            _text_parts(body["system"], "the system prompt")
        for index, turn in enumerate(body.get("messages") or []):
            _check_anthropic_turn(index, turn)
    else:
        for index, turn in enumerate(body.get("messages") or []):
            _check_chat_turn(index, turn)


def _check_chat_turn(index: int, turn: Any) -> None:
    roles = {"system": (), "developer": (), "user": (), "assistant": ("tool_calls",), "tool": ("tool_call_id",)}
    if not isinstance(turn, Mapping) or turn.get("role") not in roles:
        raise NotACompletion(f"message {index} is a {_turn_kind(turn)} item, not a text turn")
    allowed = {"role", "content", *roles[turn["role"]]}
    _only(turn, allowed, f"message {index}")
    for call in turn.get("tool_calls") or []:
        if not isinstance(call, Mapping) or call.get("type", "function") != "function":
            raise NotACompletion(f"message {index} holds a {_part_kind(call)} tool call, not a function call")
    content = turn.get("content")
    if not isinstance(content, str) and not (content is None and turn.get("tool_calls")):
        _text_parts(content, f"message {index}")


def _check_responses_item(index: int, item: Any) -> None:
    if not isinstance(item, Mapping):
        raise NotACompletion(f"message {index} is a {type(item).__name__} item, not a text turn")
    kind = item.get("type", "message")
    # an item the code copied from a response carries its id and status, which do not change the answer
    if kind == "function_call":
        _only(item, {"type", "call_id", "name", "arguments", "id", "status"}, f"message {index}")
        return
    if kind == "function_call_output":
        _only(item, {"type", "call_id", "output", "id", "status"}, f"message {index}")
        if not isinstance(item.get("output"), str):
            _text_parts(item.get("output"), f"message {index}")
        return
    if kind != "message" or item.get("role") not in ("system", "developer", "user", "assistant"):
        raise NotACompletion(f"message {index} is a {_turn_kind(item)} item, not a text turn")
    copied = {"id", "status"} if item.get("role") == "assistant" else set()
    _only(item, {"role", "content", "type", *copied}, f"message {index}")
    if not isinstance(item.get("content"), str):
        _text_parts(item.get("content"), f"message {index}")


def _check_anthropic_turn(index: int, turn: Any) -> None:
    if not isinstance(turn, Mapping) or turn.get("role") not in ("user", "assistant"):
        raise NotACompletion(f"message {index} is a {_turn_kind(turn)} item, not a text turn")
    _only(turn, {"role", "content"}, f"message {index}")
    content = turn.get("content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise NotACompletion(f"message {index} has no text")
    allowed = ("text", "tool_use") if turn["role"] == "assistant" else ("text", "tool_result")
    for block in content:
        kind = block.get("type", "text") if isinstance(block, Mapping) else _part_kind(block)
        if kind not in allowed:
            raise NotACompletion(f"message {index} holds a non-text part ({kind})")
        if kind == "text" and "text" not in block:
            raise NotACompletion(f"message {index} holds a non-text part (empty)")
        if kind == "tool_result":
            if block.get("is_error"):
                raise NotACompletion(
                    f"message {index} holds a tool_result marked is_error, which the plugin cannot hold"
                )
            if not isinstance(block.get("content", ""), str):
                _text_parts(block.get("content"), f"message {index}")


def _check_gemini_turns(body: Mapping[str, Any]) -> None:
    if not isinstance(body.get("contents"), list):
        raise NotACompletion("its contents are not a list of turns")
    turns = list(body["contents"])
    system = body.get("systemInstruction") or body.get("system_instruction")
    if system:
        turns.append(system)
    for index, turn in enumerate(turns):
        if not isinstance(turn, Mapping) or turn.get("role", "user") not in ("user", "model", "function"):
            raise NotACompletion(f"content {index} is not a user or model turn")
        parts = turn.get("parts")
        if not isinstance(parts, list):
            raise NotACompletion(f"content {index} has no text")
        for part in parts:
            if not isinstance(part, Mapping) or not part or set(part) - _GEMINI_PARTS or part.get("thought"):
                kind = next((k for k in part if k not in _GEMINI_PARTS), "thought") if isinstance(part, Mapping) else ""
                raise NotACompletion(f"content {index} holds a non-text part ({kind or _part_kind(part)})")


def _only(item: Mapping[str, Any], allowed: set[str], where: str) -> None:
    others = sorted(k for k, v in item.items() if k not in allowed and v not in (None, [], {}))
    if others:
        raise NotACompletion(f"{where} carries {', '.join(others)}, not only text and tool calls")


def _text_parts(parts: Any, where: str) -> None:
    if isinstance(parts, str):
        return
    if not isinstance(parts, list):
        raise NotACompletion(f"{where} has no text")
    for part in parts:
        if isinstance(part, str):
            continue
        if not isinstance(part, Mapping) or "text" not in part:
            raise NotACompletion(f"{where} holds a non-text part ({_part_kind(part)})")
        kind = part.get("type", "text")
        if kind not in _TEXT_PARTS or part.get("thought"):
            raise NotACompletion(f"{where} holds a non-text part ({kind})")


def _turn_kind(turn: Any) -> str:
    if isinstance(turn, Mapping):
        return str(turn.get("type") or turn.get("role"))
    return type(turn).__name__


def _part_kind(part: Any) -> str:
    if isinstance(part, Mapping):
        return str(part.get("type") or next(iter(part), "empty"))
    return type(part).__name__
