"""The provider seam: requests, completions, the error vocabulary and the adapter protocol.

Every provider (scripted, OpenAI, Anthropic, Gemini, ...) turns a :class:`Request` into a
:class:`Completion` or raises one of the :class:`ProviderError` subclasses, so the router, the
recorder and the verdicts never see an SDK type.

Tools travel in one portable form: :class:`Tool` (name, description, JSON-schema parameters) on the
request, :class:`ToolCall` (id, name, parsed arguments) on the answer and on the assistant message that
repeats it, and a ``tool`` message carrying a result back with the call's id. Besides completions, a
request can be one of the calls application code makes around them (``kind``): an embedding, a token
count, a model lookup or a model listing. See docs/providers.md §1.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, runtime_checkable

from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.parsing import parse_json

Role = Literal["system", "user", "assistant", "tool"]
#: Where a completion came from: a live call, a golden replay or a recording replay.
Source = Literal["live", "golden", "recording"]
#: What a request asks for: an answer (the default), embeddings, a token count, one model's description, or the
#: provider's list of models.
Kind = Literal["completion", "embedding", "count_tokens", "model_info", "model_list"]
KINDS: tuple[Kind, ...] = ("completion", "embedding", "count_tokens", "model_info", "model_list")

#: Parameters a request may carry, in canonical order. Anything else goes in ``extra``.
PARAM_NAMES: tuple[str, ...] = (
    "temperature",
    "max_tokens",
    "seed",
    "top_p",
    "stop",
    "response_format",
    "parallel_tool_calls",
)
#: How a request says which tool to use: ``auto``, ``none``, ``required``, or ``{"name": <tool>}`` (that tool).
ToolChoice = str | Mapping[str, str]


@dataclass(frozen=True)
class ToolCall:
    """One tool call of a model: the call id (empty when the provider gives none), the tool and its arguments.

    ``arguments`` is the parsed JSON object; when the model's argument text is not a JSON object, it is ``{}`` and
    the text is kept in ``raw_arguments``, so a check can say the arguments are broken instead of crashing.
    """

    id: str
    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    raw_arguments: str | None = None

    @classmethod
    def from_text(cls, id: str, name: str, text: str | None) -> ToolCall:
        """A call whose arguments arrived as JSON text (OpenAI's shape)."""
        try:
            parsed = json.loads(text) if text and text.strip() else {}
        except (json.JSONDecodeError, TypeError):
            parsed = None
        if isinstance(parsed, dict):
            return cls(id, name, parsed)
        return cls(id, name, {}, text or "")

    @property
    def arguments_json(self) -> str:
        """The arguments as the model sent them (OpenAI's wire form)."""
        if self.raw_arguments is not None:
            return self.raw_arguments
        return json.dumps(self.arguments, ensure_ascii=False, separators=(",", ":"))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "arguments": _plain(self.arguments)}
        if self.raw_arguments is not None:
            data["raw_arguments"] = self.raw_arguments
        data["id"] = self.id
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolCall:
        """From the stored form (``{name, arguments, id}``), or a mapping whose arguments are JSON text."""
        arguments = data.get("arguments")
        if isinstance(arguments, str):
            return cls.from_text(str(data.get("id") or ""), str(data["name"]), arguments)
        raw = data.get("raw_arguments")
        return cls(str(data.get("id") or ""), str(data["name"]), dict(arguments or {}), raw)

    def result(self, content: Any) -> Message:
        """The ``tool`` message that answers this call (``content``: text, or a value sent as JSON)."""
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        return Message("tool", text, tool_call_id=self.id, name=self.name)


class ToolCalls(tuple[ToolCall, ...]):
    """The tool calls a test's model made so far (``llm_golden.tool_calls``): already in the golden's exchanges,
    so checking them does not store them again as the test's value."""

    __slots__ = ()


@dataclass(frozen=True)
class Tool:
    """A function the model may call, in one portable form; each adapter writes its provider's shape."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    #: OpenAI's and Anthropic's strict schema mode, when the request says; None leaves the provider's default.
    strict: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        if self.description:
            data["description"] = self.description
        data["parameters"] = _plain(self.parameters)
        if self.strict is not None:
            data["strict"] = self.strict
        return data


@dataclass(frozen=True)
class Message:
    """One turn. An assistant turn may carry the tool calls the model made; a ``tool`` turn carries one result,
    with the id of the call it answers (and the tool's name, which Gemini needs)."""

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # the plain shape is what every golden recorded before tools existed: it must not change
        data: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            data["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        if self.tool_call_id is not None:
            data["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            data["name"] = self.name
        return data


@dataclass(frozen=True)
class Request:
    """What a test sends: messages and sampling parameters, independent of the model.

    The model is left out on purpose: a golden is keyed by test, so the same request sent to the
    current and the candidate model has one fingerprint, and promoting a candidate keeps it.
    """

    messages: tuple[Message, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    #: Prompt identity from the registry (task, version, hash), when the request came from one.
    prompt: Mapping[str, str] | None = None
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    kind: Kind = "completion"
    #: The model the code named (``provider/id``), where it is not the model under test: an embedding's model
    #: (it decides the vectors), or a side call's (a completion to a model beside the one under test, made by a
    #: client the application built: ``sdk.intercept``). None for a call to the model under test.
    model: str | None = None
    inputs: tuple[str, ...] = ()

    @classmethod
    def from_canonical(cls, canonical: Mapping[str, Any], prompt: Mapping[str, str] | None = None) -> Request:
        """The request a golden or recording stores (its ``canonical()`` form) as a Request again: messages with
        their tool calls and results, tools, tool choice, and the kind (an embedding with its model and inputs).
        Rebuilt as stored, so its fingerprint is the stored one unless the file was edited."""
        kind = canonical.get("kind", "completion")
        if kind not in KINDS:
            raise ValueError(f"a stored request of unknown kind {kind!r}")
        params = dict(canonical.get("params") or {})
        if kind == "embedding":
            model = canonical.get("model")
            inputs = tuple(str(text) for text in canonical.get("input") or ())
            return cls((), params, prompt, kind=kind, model=None if model is None else str(model), inputs=inputs)
        stored = list(canonical.get("messages") or [])
        messages = build_messages(stored) if stored else ()
        tools = tuple(
            Tool(str(t["name"]), str(t.get("description") or ""), dict(t.get("parameters") or {}), t.get("strict"))
            for t in canonical.get("tools") or ()
        )
        model = canonical.get("model") if kind == "completion" else None
        return cls(
            messages,
            params,
            prompt,
            tools=tools,
            tool_choice=canonical.get("tool_choice"),
            kind=kind,
            model=None if model is None else str(model),
        )

    def canonical(self) -> dict[str, Any]:
        params = {k: _plain(v) for k, v in sorted(self.params.items()) if v is not None}
        if self.kind == "embedding":
            return {"kind": self.kind, "model": self.model, "input": list(self.inputs), "params": params}
        # a completion without tools keeps the exact form every existing golden was fingerprinted with
        data: dict[str, Any] = {} if self.kind == "completion" else {"kind": self.kind}
        if self.kind in ("completion", "count_tokens"):
            data |= {"messages": [m.to_dict() for m in self.messages], "params": params}
        if self.tools:
            data["tools"] = [tool.to_dict() for tool in self.tools]
        if self.tool_choice is not None:
            data["tool_choice"] = _plain(self.tool_choice)
        if self.model is not None and self.kind == "completion":  # a side call; never set on other goldens
            data["model"] = self.model
        return data

    def fingerprint(self) -> str:
        # computed once: a replayed item asks for it on every lookup
        cached: str | None = self.__dict__.get("_fingerprint")
        if cached is None:
            cached = fingerprint_of(self.canonical())
            object.__setattr__(self, "_fingerprint", cached)
        return cached

    def without(self, names: Collection[str]) -> Request:
        """This request minus the parameters ``names`` (those a model rejects); itself when it has none of them."""
        if not any(name in self.params for name in names):
            return self
        return replace(self, params={k: v for k, v in self.params.items() if k not in names})

    @property
    def system(self) -> str | None:
        parts = [m.content for m in self.messages if m.role == "system"]
        return "\n\n".join(parts) if parts else None

    @property
    def last_user(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return ""

    def tool_results(self) -> list[Message]:
        """The tool results sent since the last user turn (what the model is answering now), each with the
        tool's name filled in from the call it answers when the message itself does not say."""
        names = {c.id: c.name for m in self.messages for c in m.tool_calls if c.id}
        found: list[Message] = []
        for message in reversed(self.messages):
            if message.role == "user":
                break
            if message.role == "tool":
                name = message.name or names.get(message.tool_call_id or "")
                found.append(replace(message, name=name))
        return found[::-1]


def float32_vector(values: Iterable[float]) -> tuple[float, ...]:
    """An embedding as float32 holds it (what embedding models compute in, and what goldens store), so a live
    answer and its replay give the code the very same numbers."""
    items = [float(v) for v in values]
    return struct.unpack(f"<{len(items)}f", struct.pack(f"<{len(items)}f", *items))


def fingerprint_of(canonical: Mapping[str, Any]) -> str:
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    # surrogatepass: an answer holding a lone surrogate, sent back in the next call, still has a fingerprint
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    return value


def build_messages(prompt: str | Sequence[Mapping[str, Any] | Message | Completion]) -> tuple[Message, ...]:
    """Accept a plain string (one user message) or a list of messages: ``{"role", "content"}`` mappings (an
    assistant's with ``tool_calls``, a tool result's with ``tool_call_id``), :class:`Message` objects, or a
    :class:`Completion` (the assistant turn it was, tool calls included)."""
    if isinstance(prompt, str):
        return (Message("user", prompt),)
    messages: list[Message] = []
    for index, item in enumerate(prompt):
        if isinstance(item, Message):
            messages.append(item)
            continue
        if isinstance(item, Completion):
            messages.append(item.message())
            continue
        if not isinstance(item, Mapping) or "role" not in item or ("content" not in item and "tool_calls" not in item):
            raise TypeError(f"message {index} must be a mapping with 'role' and 'content', got {item!r}")
        role = item["role"]
        if role not in ("system", "user", "assistant", "tool"):
            raise ValueError(f"message {index} has role {role!r}; use system, user, assistant or tool")
        calls = tuple(c if isinstance(c, ToolCall) else ToolCall.from_dict(c) for c in item.get("tool_calls") or ())
        if role == "tool" and not item.get("tool_call_id"):
            raise ValueError(f"message {index} is a tool result without the 'tool_call_id' of the call it answers")
        content = item.get("content")
        messages.append(
            Message(
                role,
                content if isinstance(content, str) else "" if content is None else json.dumps(content),
                calls,
                item.get("tool_call_id"),
                item.get("name") if role == "tool" else None,
            )
        )
    if not messages:
        raise ValueError("a request needs at least one message")
    return tuple(messages)


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, int]:
        data = {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}
        if self.cached_tokens:
            data["cached_tokens"] = self.cached_tokens
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Usage:
        data = data or {}
        return cls(
            int(data.get("input_tokens", 0)),
            int(data.get("output_tokens", 0)),
            int(data.get("cached_tokens", 0)),
        )

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
        )


@dataclass(frozen=True)
class Completion:
    """One answer: text, the model asked for and the model that says it answered, usage, latency."""

    text: str
    model_requested: str
    model_served: str
    usage: Usage = field(default_factory=Usage)
    latency_ms: float = 0.0
    finish_reason: str = "stop"
    system_fingerprint: str | None = None
    source: Source = "live"
    #: When a fallback answered: the model first asked (``provider/id``) and why it did not answer.
    fallback_from: str | None = None
    fallback_reason: str | None = None
    #: Retries the router needed before this answer.
    retries: int = 0
    #: What the provider or its SDK warned about while answering (e.g. a deprecated model), one line each.
    notices: tuple[str, ...] = ()
    #: The tools the model called, in order (the text may be empty then).
    tool_calls: tuple[ToolCall, ...] = ()
    #: What the request asked for; the fields below answer the other kinds.
    kind: Kind = "completion"
    embeddings: tuple[tuple[float, ...], ...] = ()
    token_count: int | None = None
    #: One model's description (a mapping), or the list of them, as the provider wrote it.
    model_info: Any = None

    def message(self) -> Message:
        """This answer as the assistant turn of the next request (tool calls included)."""
        return Message("assistant", self.text, self.tool_calls)

    def json(self) -> Any:
        """Parse the text as JSON, strictly: a fenced or chatty answer raises ``OutputParseError``.

        Each call returns a fresh object, so callers may change what they get.
        """
        return parse_json(self.text)

    def __str__(self) -> str:
        return self.text


class ProviderError(LLMVersionError):
    """A provider call that failed after the adapter mapped the SDK's error; one line for people."""

    kind = "provider_error"
    retryable = False

    def __init__(self, message: str, *, model: str | None = None) -> None:
        super().__init__(message)
        self.model = model


class RateLimited(ProviderError):
    kind = "rate_limited"
    retryable = True

    def __init__(self, message: str, *, model: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, model=model)
        self.retry_after = retry_after


class Unavailable(ProviderError):
    """5xx, 529 overloaded, timeouts and refused connections."""

    kind = "unavailable"
    retryable = True

    def __init__(self, message: str, *, model: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, model=model)
        self.retry_after = retry_after


class AuthError(ProviderError):
    kind = "auth"


class BadRequest(ProviderError):
    kind = "bad_request"


class ModelNotFound(ProviderError):
    kind = "model_not_found"


class MalformedResponse(ProviderError):
    kind = "malformed_response"


class SetupError(ProviderError):
    """The provider cannot be used from this environment: its SDK is not installed."""

    kind = "setup"


ERROR_KINDS: dict[str, type[ProviderError]] = {
    cls.kind: cls
    for cls in (RateLimited, Unavailable, AuthError, BadRequest, ModelNotFound, MalformedResponse, SetupError)
}


@runtime_checkable
class Provider(Protocol):
    """An adapter. ``sample_index`` lets seeded fakes vary between samples of one request."""

    def complete(self, request: Request, model_id: str, *, sample_index: int = 0) -> Completion: ...
