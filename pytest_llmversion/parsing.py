"""JSON out of model text: a strict parser that names what went wrong, and a lenient extractor."""

from __future__ import annotations

import json
import re
from typing import Any

from pytest_llmversion.errors import LLMVersionError

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n(.*?)\r?\n?```", re.DOTALL)


class OutputParseError(LLMVersionError, ValueError):
    """The model's output is not what the code expects; ``hint`` says what it looks like instead."""

    def __init__(self, message: str, *, text: str, hint: str | None = None) -> None:
        super().__init__(message if not hint else f"{message} ({hint})")
        self.text = text
        self.hint = hint


def describe_shape(text: str) -> str | None:
    """A short diagnosis of why strict JSON parsing failed, or None when nothing obvious."""
    stripped = text.strip()
    if not stripped:
        return "the output is empty"
    fence = _FENCE.search(stripped)
    if fence:
        lang = fence.group(1) or "plain"
        where = "wrapped in" if stripped.startswith("```") else "inside prose, in"
        return f"the JSON is {where} a ```{lang} code fence"
    if stripped[0] not in '[{"0123456789-tfn' and extract_json(stripped) is not None:
        return "the JSON is surrounded by prose"
    return None


def parse_json(text: str) -> Any:
    """Parse ``text`` as one JSON document, strictly, as ``json.loads`` would in production."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        hint = describe_shape(text) if isinstance(text, str) else None
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise OutputParseError(f"output is not valid JSON{where}: {reason}", text=str(text), hint=hint) from None


def extract_json(text: str) -> Any | None:
    """Find the first JSON value in ``text``: a fenced block, or the first balanced ``{...}``/``[...]``."""
    for match in _FENCE.finditer(text):
        try:
            return json.loads(match.group(2))
        except json.JSONDecodeError:
            continue
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    decoder = json.JSONDecoder()
    for index, char in enumerate(text):
        if char in "{[":
            try:
                value, _ = decoder.raw_decode(text, index)
            except json.JSONDecodeError:
                continue
            return value
    return None
