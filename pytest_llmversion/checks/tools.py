"""The tool checks: which tools the model called, with which arguments, in which order.

They read the calls of what they are given (``tool_calls_of``): a ``Completion``, ``llm_golden.tool_calls``, a
list of either, or an SDK's own response object. All are *format* checks: a candidate that answers in text
where the golden called a tool, calls another one, or sends arguments that break the schema is a
FORMAT_BREAK. ``pytest_llmversion.checks`` exports them (``tool_called``, ``tool_args``, ``tool_sequence``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pytest_llmversion.checks.core import Check, CheckResult, as_text, short, to_plain
from pytest_llmversion.providers.base import ToolCall


def tool_calls_of(value: Any) -> tuple[ToolCall, ...]:
    """The tool calls in ``value``: a Completion's, ``ToolCall``s, ``{name, arguments}`` mappings, a list of any of
    these, or an SDK response (OpenAI Chat or Responses, Anthropic, Gemini). Text holds none."""
    if isinstance(value, ToolCall):
        return (value,)
    calls = getattr(value, "tool_calls", None)
    if isinstance(calls, tuple) and hasattr(value, "model_served"):
        return calls
    if isinstance(value, Mapping):
        if isinstance(value.get("name"), str) and "arguments" in value:
            return (ToolCall.from_dict(value),)
        return ()
    if isinstance(value, list | tuple):
        return tuple(call for item in value for call in tool_calls_of(item))
    return _sdk_tool_calls(value)


def _sdk_tool_calls(value: Any) -> tuple[ToolCall, ...]:
    """An SDK's response object, read by its documented attributes (no SDK is imported)."""
    choices = getattr(value, "choices", None)
    if isinstance(choices, list) and choices:  # OpenAI Chat Completions
        value = getattr(choices[0], "message", None)
    found: list[ToolCall] = []
    for call in getattr(value, "tool_calls", None) or ():  # an OpenAI Chat message
        function = getattr(call, "function", None)
        if function is not None:
            found.append(ToolCall.from_text(str(call.id), str(function.name), function.arguments))
    for item in getattr(value, "output", None) or ():  # OpenAI Responses
        if getattr(item, "type", None) == "function_call":
            found.append(ToolCall.from_text(str(item.call_id), str(item.name), item.arguments))
    content = getattr(value, "content", None)
    for block in content if isinstance(content, list) else ():  # Anthropic
        if getattr(block, "type", None) == "tool_use":
            found.append(ToolCall(str(block.id), str(block.name), dict(block.input or {})))
    if hasattr(value, "candidates") and hasattr(value, "function_calls"):  # Gemini
        for call in value.function_calls or ():
            found.append(ToolCall(str(call.id or ""), str(call.name), dict(call.args or {})))
    return tuple(found)


def _calls_shown(calls: Sequence[ToolCall], value: Any) -> str:
    if calls:
        return ", ".join(call.name for call in calls)
    text = as_text(value) if isinstance(value, str) or hasattr(value, "model_served") else ""
    return f"no tool call; answered in text: {short(text)!r}" if text else "no tool call"


class ToolCalled(Check):
    kind = "format"

    def __init__(self, name: str, times: int | None) -> None:
        self.tool = name
        self.times = times
        self.name = f"tool_called({name})"

    def evaluate(self, value: Any) -> CheckResult:
        calls = tool_calls_of(value)
        count = sum(call.name == self.tool for call in calls)
        if count and (self.times is None or count == self.times):
            return self.ok(f"{count} call{'s' if count > 1 else ''}")
        if count:
            return self.fail(f"called {count} times, expected {self.times}")
        return self.fail(f"{self.tool} was not called ({_calls_shown(calls, value)})")


class ToolArgs(Check):
    kind = "format"

    def __init__(self, name: str, schema: Mapping[str, Any] | None, equals: Any, options: dict[str, Any]) -> None:
        if schema is None and equals is None:
            raise ValueError("tool_args needs schema=, equals= or both")
        self.tool = name
        self.schema = schema
        self.expected = equals
        self.options = options
        self.name = f"tool_args({name})"

    def evaluate(self, value: Any) -> CheckResult:
        calls = tool_calls_of(value)
        mine = [call for call in calls if call.name == self.tool]
        if not mine:
            return self.fail(f"{self.tool} was not called ({_calls_shown(calls, value)})")
        for index, call in enumerate(mine):
            where = f"call {index + 1} of {self.tool}: " if len(mine) > 1 else ""
            if call.raw_arguments is not None:
                return self.fail(f"{where}the arguments are not a JSON object: {short(call.raw_arguments)!r}")
            problem = self._schema_problem(call.arguments) or self._difference(call.arguments)
            if problem:
                return self.fail(where + problem)
        return self.ok()

    def _schema_problem(self, arguments: Mapping[str, Any]) -> str | None:
        if self.schema is None:
            return None
        import jsonschema

        validator = jsonschema.validators.validator_for(self.schema)(self.schema)
        errors = sorted(validator.iter_errors(dict(arguments)), key=lambda e: list(e.absolute_path))
        if not errors:
            return None
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(arguments)"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"{where}: {errors[0].message}{more}"

    def _difference(self, arguments: Mapping[str, Any]) -> str | None:
        if self.expected is None:
            return None
        from deepdiff import DeepDiff

        diff = DeepDiff(to_plain(self.expected), to_plain(arguments), **self.options)
        if not diff:
            return None
        lines = [line for line in diff.pretty().splitlines() if line.strip()]
        detail = "; ".join(line.rstrip(".") for line in lines[:2]) + (
            f" (+{len(lines) - 2} more)" if len(lines) > 2 else ""
        )
        return detail.replace("root", "$")


class ToolSequence(Check):
    kind = "format"

    def __init__(self, names: Sequence[str], exact: bool) -> None:
        self.names = list(names)
        self.exact = exact
        self.name = f"tool_sequence({', '.join(self.names)})"

    def evaluate(self, value: Any) -> CheckResult:
        calls = tool_calls_of(value)
        called = [call.name for call in calls]
        if self.exact and called == self.names:
            return self.ok()
        if not self.exact:
            remaining = iter(called)
            if all(name in remaining for name in self.names):  # in order, others between allowed
                return self.ok()
        shown = ", ".join(called) if called else _calls_shown(calls, value)
        return self.fail(f"called [{shown}], expected [{', '.join(self.names)}]")


def tool_called(name: str, *, times: int | None = None) -> Check:
    """The model called tool ``name`` (exactly ``times`` times, when given)."""
    return ToolCalled(name, times)


def tool_args(
    name: str,
    *,
    schema: Mapping[str, Any] | None = None,
    equals: Any = None,
    ignore_order: bool = False,
    exclude_paths: Sequence[str] | None = None,
) -> Check:
    """Every call of tool ``name`` has arguments that are a JSON object, valid against ``schema`` (jsonschema)
    and equal to ``equals`` (deepdiff, like ``deep_equal``). Broken argument JSON fails it."""
    options: dict[str, Any] = {"ignore_order": ignore_order}
    if exclude_paths:
        options["exclude_paths"] = list(exclude_paths)
    return ToolArgs(name, schema, equals, options)


def tool_sequence(names: Sequence[str], *, exact: bool = True) -> Check:
    """The tools called, in order, are ``names``; with ``exact=False``, ``names`` appear in that order among
    other calls."""
    return ToolSequence(names, exact)
