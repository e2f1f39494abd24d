"""Tools in one portable form, whatever shape the code wrote them in, and what each provider needs besides.

``llm.complete(tools=...)`` and the wire codecs accept a tool as a :class:`Tool`, a portable mapping
(``{"name", "description", "parameters"}``), OpenAI's Chat shape (``{"type": "function", "function": {...}}``)
or Responses shape (``{"type": "function", "name", ...}``), Anthropic's (``input_schema``) or a Gemini
function declaration (``parameters`` in Gemini's upper-case schema dialect, or ``parametersJsonSchema``).
A tool choice is ``auto``, ``none``, ``required`` or ``{"name": <tool>}``, from any provider's spelling.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from pytest_llmversion.providers.base import BadRequest, Message, Tool, ToolCall, ToolChoice

_MODES = {"auto": "auto", "none": "none", "required": "required", "any": "required"}


def tool_from(value: Any) -> Tool:
    """One tool in the portable form; ``BadRequest`` (one line) for a shape nobody understands."""
    if isinstance(value, Tool):
        return value
    if isinstance(value, Mapping):
        kind = value.get("type")
        # Anthropic's client tools may say "custom"; OpenAI's custom (grammar) tools have no input_schema
        if kind not in (None, "function", "custom") or (kind == "custom" and "input_schema" not in value):
            raise BadRequest(f"it uses a {kind} tool; only function tools can be recorded")
        inner = value.get("function") if kind == "function" else None
        spec: Mapping[str, Any] = inner if isinstance(inner, Mapping) else value
        name = spec.get("name")
        if isinstance(name, str) and name:
            strict = spec.get("strict")
            return Tool(name, str(spec.get("description") or ""), _parameters(spec), strict)
    raise BadRequest(
        f"tool {value!r} is not understood; give {{'name', 'description', 'parameters'}} (a JSON schema), "
        "or OpenAI's, Anthropic's or Gemini's shape of a function tool"
    )


def tools_from(values: Iterable[Any] | None) -> tuple[Tool, ...]:
    tools = tuple(tool_from(value) for value in values or ())
    names = [tool.name for tool in tools]
    doubled = sorted({name for name in names if names.count(name) > 1})
    if doubled:
        raise BadRequest(f"tools must have distinct names; {', '.join(doubled)} appears more than once")
    return tools


def _parameters(spec: Mapping[str, Any]) -> dict[str, Any]:
    for key in ("parameters_json_schema", "parametersJsonSchema", "input_schema"):
        if isinstance(spec.get(key), Mapping):
            return dict(spec[key])
    given = spec.get("parameters")
    if isinstance(given, Mapping):
        return json_schema_of(given)
    return {"type": "object", "properties": {}}


def json_schema_of(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A schema in Gemini's dialect (``"type": "OBJECT"``) as JSON schema; a JSON schema passes unchanged."""

    def lower(value: Any, key: str = "") -> Any:
        if isinstance(value, Mapping):
            return {k: lower(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [lower(v, key) for v in value]
        if key == "type" and isinstance(value, str) and value.isupper():
            return value.lower()
        return value

    converted: dict[str, Any] = lower(schema)
    return converted


def choice_from(value: Any) -> ToolChoice | None:
    """The portable tool choice: ``auto``, ``none``, ``required`` or ``{"name": <tool>}``."""
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in _MODES:
        return _MODES[value.lower()]
    if isinstance(value, Mapping):
        inner = value.get("function")
        name = inner.get("name") if isinstance(inner, Mapping) else value.get("name")
        if isinstance(name, str) and name and value.get("type") in (None, "function", "tool"):
            return {"name": name}
        kind = value.get("type")
        if isinstance(kind, str) and kind in _MODES and name is None:
            return _MODES[kind]
    raise BadRequest(f"tool_choice {value!r} is not understood; use 'auto', 'none', 'required' or {{'name': <tool>}}")


def forced_tool(choice: ToolChoice | None) -> str | None:
    """The tool a choice forces, if it names one."""
    return str(choice["name"]) if isinstance(choice, Mapping) else None


def with_call_ids(messages: Sequence[Message]) -> tuple[Message, ...]:
    """The messages with an id on every tool call and every tool result, for a provider that pairs them by id.

    Gemini pairs calls and results by name and may give no ids; OpenAI and Anthropic need them. Missing ids are
    made up from the call's position, and a result without one answers the earliest unanswered call of its tool.
    """
    if all(c.id for m in messages for c in m.tool_calls) and all(m.tool_call_id for m in messages if m.role == "tool"):
        return tuple(messages)
    fixed: list[Message] = []
    open_calls: list[ToolCall] = []
    number = 0
    for message in messages:
        if message.tool_calls:
            calls = []
            for call in message.tool_calls:
                calls.append(call if call.id else replace(call, id=f"call_{number}"))
                number += 1
            open_calls.extend(calls)
            message = replace(message, tool_calls=tuple(calls))
        elif message.role == "tool":
            answered = next(
                (
                    c
                    for c in open_calls
                    if (c.id == message.tool_call_id) or (not message.tool_call_id and c.name == message.name)
                ),
                None,
            )
            if answered is not None:
                open_calls.remove(answered)
                message = replace(message, tool_call_id=answered.id, name=message.name or answered.name)
        fixed.append(message)
    return tuple(fixed)


def result_object(content: str) -> dict[str, Any]:
    """A tool result as the JSON object Gemini's ``functionResponse.response`` needs."""
    try:
        value = json.loads(content)
    except (json.JSONDecodeError, TypeError):
        return {"result": content}
    return value if isinstance(value, dict) else {"result": value}


def result_text(response: Any) -> str:
    """A Gemini ``functionResponse.response`` (a JSON object) as the text of a tool message."""
    return response if isinstance(response, str) else json.dumps(response, ensure_ascii=False)


def finish_with_calls(finish: str, calls: Sequence[ToolCall]) -> str:
    """``tool_calls`` when the model stopped to call tools (Anthropic says ``tool_use``, Gemini only ``STOP``)."""
    if calls and finish in ("stop", "tool_use", "tool_calls"):
        return "tool_calls"
    return finish
