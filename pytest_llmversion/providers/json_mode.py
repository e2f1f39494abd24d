"""``response_format`` in one shape, so each adapter can turn it into its provider's JSON mode.

A request may say ``response_format="json"`` (any JSON object), give a JSON schema, or use OpenAI's own
shapes (``{"type": "json_object"}``, ``{"type": "json_schema", "json_schema": {...}}``), which teams already
write. Each adapter maps the result: OpenAI ``response_format`` / Responses ``text.format``, Anthropic
``output_config``, Gemini ``responseMimeType`` + ``responseJsonSchema``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_llmversion.providers.base import BadRequest


@dataclass(frozen=True)
class JsonMode:
    """JSON output; with a schema when ``schema`` is set."""

    schema: dict[str, Any] | None = None
    name: str = "response"
    strict: bool = True


_PLAIN_JSON = {"json", "json_object"}
_TEXT = {"text", None}


def json_mode(response_format: Any) -> JsonMode | None:
    """None for plain text; a JsonMode otherwise; BadRequest (one line) for a shape nobody understands."""
    if response_format is None or isinstance(response_format, str):
        if response_format in _TEXT:
            return None
        if response_format in _PLAIN_JSON:
            return JsonMode()
    if isinstance(response_format, Mapping):
        kind = response_format.get("type")
        if kind == "text":
            return None
        if kind == "json_object":
            return JsonMode()
        if kind == "json_schema":
            inner = response_format.get("json_schema", response_format)
            schema = inner.get("schema") if isinstance(inner, Mapping) else None
            if not isinstance(schema, Mapping):
                raise BadRequest("response_format json_schema needs a 'schema' mapping")
            return JsonMode(dict(schema), str(inner.get("name") or "response"), bool(inner.get("strict", True)))
        if kind == "object" or "properties" in response_format:
            return JsonMode(dict(response_format))  # a bare JSON schema
    raise BadRequest(
        f"response_format {response_format!r} is not understood; use 'json', a JSON schema, "
        "{'type': 'json_object'} or {'type': 'json_schema', 'json_schema': {'name': ..., 'schema': {...}}}"
    )
