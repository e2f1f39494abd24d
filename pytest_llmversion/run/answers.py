"""The parts of an answer besides its text, as goldens and recordings store them, and read back.

After ``output:``, in this order and only when present: ``tool_calls`` (a list of ``{name, arguments, id}``,
with ``raw_arguments`` when the model's argument text was not a JSON object), ``embeddings``, ``token_count``
and ``model_info`` (the provider's description of a model, or the list of them).

An embedding vector is stored as ``{dimensions, float32, sha256}``: the vector as base64 of little-endian
float32 (what embedding models compute in; adapters hand the code float32 values too, so a replay is exact),
and the first 12 hex digits of the sha256 of those bytes, so a reviewer sees at a glance which vectors
changed. A file whose data no longer matches its hash was edited by hand and is refused.

A file that holds any of these, or a request with tools, tool turns or another kind, is written with schema 2:
an older plugin would replay it without them, so it says it is too old instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable, Mapping
from typing import Any

from pytest_llmversion.providers.base import KINDS, Completion, Kind, Request, ToolCall

#: Schema of goldens and recordings that need nothing below; schema of those that do.
PLAIN_SCHEMA = 1
SCHEMA = 2


def encode_vector(vector: tuple[float, ...]) -> dict[str, Any]:
    data = struct.pack(f"<{len(vector)}f", *vector)
    return {
        "dimensions": len(vector),
        "float32": base64.b64encode(data).decode(),
        "sha256": hashlib.sha256(data).hexdigest()[:12],
    }


def decode_vector(stored: Mapping[str, Any]) -> tuple[float, ...]:
    """A stored vector; ``ValueError`` (a short reason) when it is not one or its data does not match its hash."""
    try:
        data = base64.b64decode(str(stored["float32"]), validate=True)
    except (KeyError, binascii.Error):
        raise ValueError("an embedding needs float32: <base64 of little-endian float32>") from None
    dimensions = stored.get("dimensions")
    if dimensions is not None and (not isinstance(dimensions, int) or isinstance(dimensions, bool)):
        raise ValueError(f"an embedding's dimensions must be a whole number, not {dimensions!r}")
    if len(data) % 4 or (dimensions is not None and len(data) != 4 * dimensions):
        raise ValueError(f"an embedding's float32 data is not {dimensions} float32 values")
    if stored.get("sha256") is not None and hashlib.sha256(data).hexdigest()[:12] != stored["sha256"]:
        raise ValueError("an embedding's float32 data does not match its sha256 (edited by hand? re-record it)")
    return struct.unpack(f"<{len(data) // 4}f", data)


def answer_fields(completion: Completion) -> dict[str, Any]:
    """What a golden or recording writes after ``output:`` for this answer (nothing for a plain text answer)."""
    fields: dict[str, Any] = {}
    if completion.tool_calls:
        fields["tool_calls"] = [call.to_dict() for call in completion.tool_calls]
    if completion.embeddings:
        fields["embeddings"] = [encode_vector(vector) for vector in completion.embeddings]
    if completion.token_count is not None:
        fields["token_count"] = completion.token_count
    if completion.model_info is not None:
        fields["model_info"] = completion.model_info
    return fields


def completion_fields(stored: Mapping[str, Any], request: Mapping[str, Any] | None) -> dict[str, Any]:
    """Keyword arguments of ``Completion`` for what ``answer_fields`` wrote; the kind comes from the request."""
    kind: Kind = "completion"
    named = (request or {}).get("kind")
    if named in KINDS:
        kind = named
    return {
        "kind": kind,
        "tool_calls": tuple(ToolCall.from_dict(call) for call in stored.get("tool_calls") or ()),
        "embeddings": tuple(decode_vector(vector) for vector in stored.get("embeddings") or ()),
        "token_count": stored.get("token_count"),
        "model_info": stored.get("model_info"),
    }


def needs_schema_2(exchanges: Iterable[tuple[Request, Completion | None]]) -> bool:
    """Whether any request or answer uses what schema 1 could not hold (tools, tool turns, other kinds)."""
    for request, completion in exchanges:
        if request.kind != "completion" or request.tools or request.tool_choice is not None:
            return True
        if any(m.role == "tool" or m.tool_calls for m in request.messages):
            return True
        if completion is not None and (completion.tool_calls or completion.kind != "completion"):
            return True
    return False
