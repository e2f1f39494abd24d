"""Which LLM call an SDK's HTTP request is, and the plugin's :class:`Request` for it.

The wire codecs of the emulator read the bodies; this module decides first whether a body can be
represented by a ``Request`` (messages of text, sampling parameters) without losing anything. A call
that cannot (tools, images, server-side state, several choices) raises :class:`NotACompletion` with the
reason, and the transport sends it on unrecorded. Parameters the plugin has no name for are kept under
their wire names, so they are part of the fingerprint and travel to a provider of the same kind.
What is and is not recorded: docs/providers.md §8.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.providers.base import Request
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

_GEMINI = re.compile(r"/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$")
_ROUTES = (("/chat/completions", "openai-chat"), ("/responses", "openai-responses"), ("/messages", "anthropic"))


class NotACompletion(LLMVersionError):
    """An HTTP request the plugin cannot record as a completion; the message says why, in a few words."""


@dataclass(frozen=True)
class Mapped:
    """Per protocol: body keys the codec maps, keys that do not change the answer, keys it cannot represent."""

    mapped: frozenset[str]
    ignored: frozenset[str]
    refused: frozenset[str]


_COMMON_IGNORED = frozenset(
    {"stream", "stream_options", "user", "metadata", "store", "service_tier", "prompt_cache_key", "safety_identifier"}
)
_RULES: dict[str, Mapped] = {
    "openai-chat": Mapped(
        frozenset(
            {"model", "messages", "temperature", "seed", "top_p", "stop", "max_tokens", "max_completion_tokens"}
            | {"response_format"}
        ),
        _COMMON_IGNORED,
        frozenset({"tools", "tool_choice", "functions", "function_call", "audio", "modalities", "prediction"}),
    ),
    "openai-responses": Mapped(
        frozenset({"model", "input", "instructions", "temperature", "top_p", "max_output_tokens", "text"}),
        _COMMON_IGNORED | {"include", "truncation"},
        frozenset({"tools", "tool_choice", "previous_response_id", "conversation", "prompt", "background"}),
    ),
    "anthropic": Mapped(
        frozenset(
            {"model", "messages", "system", "temperature", "top_p", "max_tokens", "stop_sequences", "output_config"}
        ),
        _COMMON_IGNORED,
        frozenset({"tools", "tool_choice", "mcp_servers", "container"}),
    ),
    "gemini": Mapped(
        frozenset({"contents", "systemInstruction", "system_instruction", "generationConfig", "generation_config"}),
        frozenset(),
        frozenset({"tools", "toolConfig", "tool_config", "cachedContent", "cached_content"}),
    ),
}
_GEMINI_CONFIG_MAPPED = frozenset(
    {"temperature", "maxOutputTokens", "seed", "topP", "stopSequences", "responseMimeType"}
    | {"responseJsonSchema", "responseSchema"}
)
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})


@dataclass(frozen=True)
class LLMCall:
    """One completion call as an SDK sent it."""

    codec: Codec
    family: Family
    #: The model the application asked for (None when the request does not say).
    model: str | None
    stream: bool
    body: Mapping[str, Any]
    request: Request


def protocol_of(method: str, path: str) -> tuple[str, str | None] | None:
    """(codec name, model named in the path) of a completion endpoint, or None for any other endpoint."""
    if method != "POST":
        return None
    gemini = _GEMINI.search(path)
    if gemini is not None:
        return "gemini", gemini["model"]
    for suffix, codec in _ROUTES:
        if path.endswith(suffix):
            return codec, None
    return None


def read_call(method: str, path: str, content: bytes) -> LLMCall:
    """The completion call in an HTTP request; ``NotACompletion`` when it is not one the plugin can record."""
    found = protocol_of(method, path)
    if found is None:
        raise NotACompletion("not a completion endpoint")
    name, path_model = found
    try:
        body = json.loads(content) if content else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise NotACompletion("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise NotACompletion("the request body is not a JSON object")
    codec = CODECS[name]
    rules = _RULES[name]
    refused = sorted(k for k in body if k in rules.refused and body[k] not in (None, [], {}))
    if refused:
        raise NotACompletion(f"it uses {', '.join(refused)}, which a recorded text answer cannot hold")
    _check_several_answers(body)
    _check_turns(name, body)
    extras = {k: v for k, v in body.items() if k not in rules.mapped | rules.ignored | rules.refused}
    if name == "gemini":
        config = body.get("generationConfig") or body.get("generation_config") or {}
        extras |= {k: v for k, v in config.items() if k not in _GEMINI_CONFIG_MAPPED and k != "candidateCount"}
    request = codec.request_from(body)
    if extras:
        request = replace(request, params={**request.params, **{k: v for k, v in extras.items() if v is not None}})
    model = path_model if path_model is not None else body.get("model")
    return LLMCall(
        codec,
        FAMILY[name],
        str(model).removeprefix("models/") if model is not None else None,
        codec.wants_stream(body, path),
        body,
        request,
    )


def _check_several_answers(body: Mapping[str, Any]) -> None:
    config = body.get("generationConfig") or body.get("generation_config") or {}
    several = body.get("n") not in (None, 1) or config.get("candidateCount") not in (None, 1)
    if several:
        raise NotACompletion("it asks for several answers at once (n / candidateCount)")
    if body.get("logprobs") or body.get("top_logprobs"):
        raise NotACompletion("it asks for logprobs, which a recorded text answer cannot hold")


def _check_turns(name: str, body: Mapping[str, Any]) -> None:
    """Every turn must be plain text in a role the plugin knows: anything else would be lost."""
    if name == "gemini":
        if not isinstance(body.get("contents"), list):
            raise NotACompletion("its contents are not a list of turns")
        turns = list(body["contents"])
        system = body.get("systemInstruction") or body.get("system_instruction")
        if system:
            turns.append(system)
        for index, turn in enumerate(turns):
            if not isinstance(turn, Mapping) or turn.get("role", "user") not in ("user", "model"):
                raise NotACompletion(f"content {index} is not a user or model turn")
            _text_parts(turn.get("parts"), f"content {index}")
        return
    if name == "openai-responses":
        given = body.get("input")
        turns = given if isinstance(given, list) else []
        roles: tuple[str, ...] = ("system", "developer", "user", "assistant")
    else:
        turns = list(body.get("messages") or [])
        roles = ("system", "developer", "user", "assistant") if name == "openai-chat" else ("user", "assistant")
        if name == "anthropic" and body.get("system") is not None and not isinstance(body["system"], str):
            _text_parts(body["system"], "the system prompt")
    for index, turn in enumerate(turns):
        if not isinstance(turn, Mapping) or turn.get("role") not in roles:
            kind = turn.get("type") or turn.get("role") if isinstance(turn, Mapping) else type(turn).__name__
            raise NotACompletion(f"message {index} is a {kind!s} item, not a text turn")
        others = sorted(k for k, v in turn.items() if k not in ("role", "content", "type") and v not in (None, [], {}))
        if others or turn.get("type", "message") != "message":
            raise NotACompletion(f"message {index} carries {', '.join(others) or turn['type']}, not only text")
        content = turn.get("content")
        if not isinstance(content, str):
            _text_parts(content, f"message {index}")


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


def _part_kind(part: Any) -> str:
    if isinstance(part, Mapping):
        return str(part.get("type") or next(iter(part), "empty"))
    return type(part).__name__
