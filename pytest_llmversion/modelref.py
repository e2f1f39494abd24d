"""Model references: ``provider/model-id``, parsed once and validated against the known providers."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from pytest_llmversion.errors import LLMVersionError

#: Providers the plugin ships adapters for. Named OpenAI-compatible endpoints from
#: ``[tool.llmversion.providers.<name>]`` are added per project.
BUILTIN_PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "gemini", "google-legacy", "scripted")


class ModelRefError(LLMVersionError, ValueError):
    """A model reference that cannot be used; the message is one line for people."""


@dataclass(frozen=True, order=True)
class ModelRef:
    provider: str
    model_id: str

    def __str__(self) -> str:
        return f"{self.provider}/{self.model_id}"

    @classmethod
    def parse(cls, text: str, known_providers: Iterable[str] = BUILTIN_PROVIDERS) -> ModelRef:
        """Parse ``provider/model-id``; the id may itself contain ``/`` (``local/meta/llama3``)."""
        if not isinstance(text, str) or not text.strip():
            raise ModelRefError(f"{text!r} is not a model reference (expected 'provider/model-id')")
        provider, sep, model_id = text.strip().partition("/")
        if not sep or not provider or not model_id:
            raise ModelRefError(
                f"{text!r} is not a model reference: expected 'provider/model-id', e.g. 'openai/gpt-4o-2024-11-20'"
            )
        known = tuple(known_providers)
        if provider not in known:
            hint = difflib.get_close_matches(provider, known, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ModelRefError(
                f"unknown provider '{provider}' in {text!r}{suggestion}; known providers: "
                f"{', '.join(sorted(known))} (add others under [tool.llmversion.providers.<name>])"
            )
        return cls(provider, model_id)
