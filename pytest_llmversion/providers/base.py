"""The provider seam: requests, completions, the error vocabulary and the adapter protocol.

Every provider (scripted, OpenAI, Anthropic, Gemini, ...) turns a :class:`Request` into a
:class:`Completion` or raises one of the :class:`ProviderError` subclasses, so the router, the
recorder and the verdicts never see an SDK type.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.parsing import parse_json

Role = Literal["system", "user", "assistant"]
#: Where a completion came from: a live call, a golden replay or a recording replay.
Source = Literal["live", "golden", "recording"]

#: Parameters a request may carry, in canonical order. Anything else goes in ``extra``.
PARAM_NAMES: tuple[str, ...] = ("temperature", "max_tokens", "seed", "top_p", "stop", "response_format")


@dataclass(frozen=True)
class Message:
    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


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

    @classmethod
    def from_canonical(cls, canonical: Mapping[str, Any], prompt: Mapping[str, str] | None = None) -> Request:
        """The request a golden or recording stores (its ``canonical()`` form) as a Request again."""
        messages = tuple(build_messages(list(canonical.get("messages") or [])))
        return cls(messages, dict(canonical.get("params") or {}), prompt)

    def canonical(self) -> dict[str, Any]:
        params = {k: _plain(v) for k, v in sorted(self.params.items()) if v is not None}
        return {"messages": [m.to_dict() for m in self.messages], "params": params}

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
        return Request(self.messages, {k: v for k, v in self.params.items() if k not in names}, self.prompt)

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


def build_messages(prompt: str | Sequence[Mapping[str, str] | Message]) -> tuple[Message, ...]:
    """Accept a plain string (one user message) or a list of ``{"role", "content"}`` mappings."""
    if isinstance(prompt, str):
        return (Message("user", prompt),)
    messages: list[Message] = []
    for index, item in enumerate(prompt):
        if isinstance(item, Message):
            messages.append(item)
            continue
        if not isinstance(item, Mapping) or "role" not in item or "content" not in item:
            raise TypeError(f"message {index} must be a mapping with 'role' and 'content', got {item!r}")
        role = item["role"]
        if role not in ("system", "user", "assistant"):
            raise ValueError(f"message {index} has role {role!r}; use system, user or assistant")
        messages.append(Message(role, str(item["content"])))  # type: ignore[arg-type]
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
