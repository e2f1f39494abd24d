"""The check library: each check scores one output in [0, 1], says whether it passed and why.

*Format* checks (valid JSON, schema, pydantic model, regex, parser) decide whether the output can be
used at all; a format check that passed on the golden and fails on the candidate is a FORMAT_BREAK.
*Content* checks score how good the output is; a lower score than the golden is a regression.

Every check accepts the ``Completion`` from ``llm.complete``, a string, or a value the application
already parsed (dict, list, pydantic model, dataclass).

The tool checks (``tool_called``, ``tool_args``, ``tool_sequence``) read the tool calls of what they are given:
a ``Completion``, ``llm_golden.tool_calls`` (every call of the test so far, across turns and SDK clients), a
list of either, or an SDK's own response object. An answer in text holds no call, so a candidate that answers
in text where the golden called a tool fails ``tool_called``: a format check, so that is a FORMAT_BREAK.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

from pytest_llmversion.parsing import OutputParseError, extract_json, parse_json
from pytest_llmversion.providers.base import ToolCall

CheckKind = Literal["format", "content"]

__all__ = [
    "Check",
    "CheckResult",
    "contains",
    "custom",
    "deep_equal",
    "equals",
    "json_field",
    "json_in_text",
    "json_schema",
    "max_length",
    "max_words",
    "not_contains",
    "parses",
    "pydantic_model",
    "regex",
    "similarity",
    "tool_args",
    "tool_called",
    "tool_sequence",
    "valid_json",
]


@dataclass(frozen=True)
class CheckResult:
    name: str
    kind: CheckKind
    passed: bool
    score: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "passed": self.passed,
            "score": round(self.score, 4),
        }
        if self.detail:
            data["detail"] = self.detail
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        return cls(data["name"], data["kind"], bool(data["passed"]), float(data["score"]), data.get("detail", ""))


class Check:
    """Base class: subclasses implement :meth:`evaluate`; calling a check never raises."""

    name: str = "check"
    kind: CheckKind = "content"

    def evaluate(self, value: Any) -> CheckResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, value: Any) -> CheckResult:
        try:
            result = self.evaluate(value)
        except OutputParseError as exc:
            return self.fail(str(exc))
        except Exception as exc:  # a check that crashes fails, with the reason, instead of erroring the run
            return self.fail(f"check raised {type(exc).__name__}: {exc}")
        score = min(1.0, max(0.0, float(result.score)))
        return dataclasses.replace(result, score=score)

    def ok(self, detail: str = "", score: float = 1.0) -> CheckResult:
        return CheckResult(self.name, self.kind, True, score, detail)

    def fail(self, detail: str, score: float = 0.0) -> CheckResult:
        return CheckResult(self.name, self.kind, False, score, detail)

    def __repr__(self) -> str:
        return f"<check {self.name} ({self.kind})>"


# -- value helpers ---------------------------------------------------------------------------------


def as_text(value: Any) -> str:
    """The text of a completion or string; structured values are rendered as JSON."""
    text = getattr(value, "text", None)
    if isinstance(text, str) and hasattr(value, "model_served"):
        return text
    if isinstance(value, str):
        return value
    return json.dumps(to_plain(value), ensure_ascii=False, sort_keys=True)


def to_plain(value: Any) -> Any:
    """JSON-shaped data for any value an application returns: pydantic models, dataclasses, named tuples,
    enums, dates and paths at any depth become dicts, lists, strings and numbers (what a golden can hold and
    a report can carry). Anything else unknown becomes its ``repr``."""
    if value is None or type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, enum.Enum):
        return to_plain(value.value)
    for plain in _PLAIN_TYPES:  # subclasses (IntEnum aside): YAML and JSON know only the base types
        if isinstance(value, plain):
            return plain(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return to_plain(dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(to_plain(k)): to_plain(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return to_plain(value._asdict())
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((to_plain(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | PurePath | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return repr(value)


_PLAIN_TYPES: tuple[type, ...] = (bool, int, float, str)


def as_data(value: Any, *, extract: bool = False) -> Any:
    """Parsed data: text is parsed as JSON (strictly unless ``extract``), parsed values pass through."""
    if isinstance(value, str) or hasattr(value, "model_served"):
        text = as_text(value)
        if not extract:
            return parse_json(text)
        found = extract_json(text)
        if found is None:
            raise OutputParseError("no JSON value found in the output", text=text)
        return found
    return to_plain(value)


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- format checks ---------------------------------------------------------------------------------


class _ValidJson(Check):
    name, kind = "valid_json", "format"

    def evaluate(self, value: Any) -> CheckResult:
        if not isinstance(value, str) and not hasattr(value, "model_served"):
            return self.ok("already parsed")
        parse_json(as_text(value))
        return self.ok()


def valid_json() -> Check:
    """The whole output is one JSON document, as ``json.loads`` needs it. A fenced answer fails."""
    return _ValidJson()


class _JsonInText(Check):
    name, kind = "json_in_text", "format"

    def evaluate(self, value: Any) -> CheckResult:
        as_data(value, extract=True)
        return self.ok()


def json_in_text() -> Check:
    """Some JSON value can be found in the output (fenced, or surrounded by prose)."""
    return _JsonInText()


class _JsonSchema(Check):
    kind = "format"

    def __init__(self, schema: Mapping[str, Any], extract: bool, name: str | None) -> None:
        self.schema = schema
        self.extract = extract
        self.name = name or f"json_schema({schema.get('title', 'schema')})"

    def evaluate(self, value: Any) -> CheckResult:
        import jsonschema

        data = as_data(value, extract=self.extract)
        validator_cls = jsonschema.validators.validator_for(self.schema)
        errors = sorted(validator_cls(self.schema).iter_errors(data), key=lambda e: list(e.absolute_path))
        if not errors:
            return self.ok()
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return self.fail(f"{where}: {first.message}{more}")


def json_schema(schema: Mapping[str, Any], *, extract: bool = False, name: str | None = None) -> Check:
    """The output parses as JSON and validates against ``schema`` (any draft jsonschema knows)."""
    return _JsonSchema(schema, extract, name)


class _PydanticModel(Check):
    kind = "format"

    def __init__(self, model: type[Any], extract: bool) -> None:
        self.model = model
        self.extract = extract
        self.name = f"pydantic_model({model.__name__})"

    def evaluate(self, value: Any) -> CheckResult:
        from pydantic import ValidationError

        if isinstance(value, self.model):
            return self.ok()
        data = as_data(value, extract=self.extract)
        try:
            self.model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(root)"
            more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            return self.fail(f"{where}: {first['msg']}{more}")
        return self.ok()


def pydantic_model(model: type[Any], *, extract: bool = False) -> Check:
    """The output parses as JSON and validates as the pydantic ``model``."""
    return _PydanticModel(model, extract)


class _Regex(Check):
    def __init__(self, pattern: str, flags: int, fullmatch: bool, kind: CheckKind) -> None:
        self.pattern = re.compile(pattern, flags)
        self.fullmatch = fullmatch
        self.kind = kind
        self.name = f"regex({_short(pattern, 40)})"

    def evaluate(self, value: Any) -> CheckResult:
        text = as_text(value)
        match = self.pattern.fullmatch(text.strip()) if self.fullmatch else self.pattern.search(text)
        return self.ok() if match else self.fail(f"no match for /{self.pattern.pattern}/")


def regex(pattern: str, *, flags: int = 0, fullmatch: bool = False, kind: CheckKind = "format") -> Check:
    """The output matches ``pattern`` (``re.search``; the whole stripped output with ``fullmatch``)."""
    return _Regex(pattern, flags, fullmatch, kind)


class _Parses(Check):
    kind = "format"

    def __init__(self, parser: Callable[[str], Any], name: str | None) -> None:
        self.parser = parser
        self.name = name or f"parses({getattr(parser, '__name__', 'parser')})"

    def evaluate(self, value: Any) -> CheckResult:
        try:
            self.parser(as_text(value))
        except Exception as exc:
            return self.fail(f"{type(exc).__name__}: {exc}")
        return self.ok()


def parses(parser: Callable[[str], Any], *, name: str | None = None) -> Check:
    """Your own parser accepts the output text (any exception is a format failure)."""
    return _Parses(parser, name)


# -- content checks --------------------------------------------------------------------------------


class _Contains(Check):
    def __init__(self, needle: str, case_sensitive: bool, negate: bool, kind: CheckKind) -> None:
        self.needle = needle
        self.case_sensitive = case_sensitive
        self.negate = negate
        self.kind = kind
        self.name = f"{'not_contains' if negate else 'contains'}({_short(needle, 30)!r})"

    def evaluate(self, value: Any) -> CheckResult:
        text = as_text(value)
        found = self.needle in text if self.case_sensitive else self.needle.lower() in text.lower()
        if found != self.negate:
            return self.ok()
        return self.fail(f"{'found' if found else 'did not find'} {self.needle!r}")


def contains(needle: str, *, case_sensitive: bool = False, kind: CheckKind = "content") -> Check:
    """The output contains ``needle`` (case-insensitive unless asked)."""
    return _Contains(needle, case_sensitive, False, kind)


def not_contains(needle: str, *, case_sensitive: bool = False, kind: CheckKind = "content") -> Check:
    """The output does not contain ``needle``."""
    return _Contains(needle, case_sensitive, True, kind)


class _Equals(Check):
    def __init__(self, expected: Any, strip: bool, case_sensitive: bool) -> None:
        self.expected = expected
        self.strip = strip
        self.case_sensitive = case_sensitive
        self.name = f"equals({_short(expected, 30)})"

    def evaluate(self, value: Any) -> CheckResult:
        if not isinstance(self.expected, str):
            actual = to_plain(value) if not isinstance(value, str) else value
            if actual == self.expected:
                return self.ok()
            return self.fail(f"expected {_short(self.expected)}, got {_short(actual)}")
        text = as_text(value)
        left, right = (text.strip(), self.expected.strip()) if self.strip else (text, self.expected)
        if not self.case_sensitive:
            left, right = left.lower(), right.lower()
        return self.ok() if left == right else self.fail(f"expected {_short(self.expected)}, got {_short(text)}")


def equals(expected: Any, *, strip: bool = True, case_sensitive: bool = True) -> Check:
    """The output equals ``expected`` (text compared stripped; other values compared as data)."""
    return _Equals(expected, strip, case_sensitive)


_MISSING = object()
_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def lookup_path(data: Any, path: str) -> Any:
    """Follow ``a.b[0].c`` (or a JSON pointer ``/a/b/0/c``) into ``data``; ``_MISSING`` if absent."""
    if path.startswith("/"):
        tokens: list[str | int] = [int(t) if t.isdigit() else t for t in path.strip("/").split("/") if t]
    else:
        tokens = [int(i) if i else name for name, i in _PATH_TOKEN.findall(path)]
    current = data
    for token in tokens:
        if isinstance(current, Mapping) and str(token) in current:
            current = current[str(token)]
        elif isinstance(current, Sequence) and not isinstance(current, str) and isinstance(token, int):
            if token >= len(current):
                return _MISSING
            current = current[token]
        else:
            return _MISSING
    return current


class _JsonField(Check):
    def __init__(self, path: str, expected: Any, extract: bool, case_sensitive: bool) -> None:
        self.path = path
        self.expected = expected
        self.extract = extract
        self.case_sensitive = case_sensitive
        self.name = f"json_field({path})"

    def evaluate(self, value: Any) -> CheckResult:
        actual = lookup_path(as_data(value, extract=self.extract), self.path)
        if actual is _MISSING:
            return self.fail(f"{self.path} is missing (expected {_short(self.expected)})")
        same = actual == self.expected
        if not same and not self.case_sensitive and isinstance(actual, str) and isinstance(self.expected, str):
            same = actual.casefold() == self.expected.casefold()
        if same:
            return self.ok()
        return self.fail(f"{self.path}: expected {_short(self.expected)}, got {_short(actual)}")


def json_field(path: str, expected: Any, *, extract: bool = False, case_sensitive: bool = True) -> Check:
    """The JSON value at ``path`` (``a.b[0]`` or ``/a/b/0``) equals ``expected``."""
    return _JsonField(path, expected, extract, case_sensitive)


class _DeepEqual(Check):
    name = "deep_equal"

    def __init__(self, expected: Any, extract: bool, options: dict[str, Any]) -> None:
        self.expected = expected
        self.extract = extract
        self.options = options

    def evaluate(self, value: Any) -> CheckResult:
        from deepdiff import DeepDiff

        actual = as_data(value, extract=self.extract)
        expected = to_plain(self.expected)
        diff = DeepDiff(expected, actual, **self.options)
        if not diff:
            return self.ok()
        # a separate pass: DeepDiff.pretty() breaks on a diff that also carries deep_distance
        distance = float(DeepDiff(expected, actual, get_deep_distance=True, **self.options).get("deep_distance", 1.0))
        lines = [line for line in diff.pretty().splitlines() if line.strip()]
        detail = "; ".join(line.rstrip(".") for line in lines[:2]) + (
            f" (+{len(lines) - 2} more)" if len(lines) > 2 else ""
        )
        return self.fail(detail.replace("root", "$"), score=1.0 - distance)


def deep_equal(
    expected: Any,
    *,
    ignore_order: bool = False,
    significant_digits: int | None = None,
    exclude_paths: Sequence[str] | None = None,
    extract: bool = False,
) -> Check:
    """Parsed output equals ``expected`` (deepdiff); the score is 1 minus deepdiff's distance."""
    options: dict[str, Any] = {"ignore_order": ignore_order}
    if significant_digits is not None:
        options["significant_digits"] = significant_digits
    if exclude_paths:
        options["exclude_paths"] = list(exclude_paths)
    return _DeepEqual(expected, extract, options)


class _Similarity(Check):
    def __init__(self, expected: str, threshold: float) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"similarity threshold must be between 0 and 1, got {threshold}")
        self.expected = expected
        self.threshold = threshold
        self.name = f"similarity(>={threshold:g})"

    def evaluate(self, value: Any) -> CheckResult:
        from rapidfuzz.distance import Indel  # C++; difflib took seconds to minutes on a long or repetitive answer

        ratio = Indel.normalized_similarity(self.expected, as_text(value))
        detail = f"similarity {ratio:.2f} (threshold {self.threshold:g})"
        return self.ok(detail, ratio) if ratio >= self.threshold else self.fail(detail, ratio)


def similarity(expected: str, *, threshold: float = 0.8) -> Check:
    """Text similarity to ``expected`` as the score; passes at ``threshold``.

    The score is rapidfuzz's normalised Indel similarity, ``1 - (insertions + deletions) / (len(a) + len(b))``
    over characters: difflib's ratio formula with the longest common subsequence in place of difflib's greedy
    matching blocks, so it is never below difflib's and takes milliseconds on any answer.
    """
    return _Similarity(expected, threshold)


class _MaxSize(Check):
    def __init__(self, limit: int, unit: Literal["chars", "words"]) -> None:
        self.limit = limit
        self.unit = unit
        self.name = f"max_{'length' if unit == 'chars' else 'words'}({limit})"

    def evaluate(self, value: Any) -> CheckResult:
        text = as_text(value)
        size = len(text) if self.unit == "chars" else len(text.split())
        detail = f"{size} {self.unit} (limit {self.limit})"
        if size <= self.limit:
            return self.ok(detail)
        return self.fail(detail, score=self.limit / size)


def max_length(limit: int) -> Check:
    """At most ``limit`` characters; over the limit the score shrinks in proportion."""
    return _MaxSize(limit, "chars")


def max_words(limit: int) -> Check:
    """At most ``limit`` words; over the limit the score shrinks in proportion."""
    return _MaxSize(limit, "words")


class _Custom(Check):
    def __init__(self, fn: Callable[[Any], Any], name: str | None, kind: CheckKind, threshold: float) -> None:
        self.fn = fn
        self.kind = kind
        self.threshold = threshold
        self.name = name or str(getattr(fn, "__name__", "custom"))

    def evaluate(self, value: Any) -> CheckResult:
        outcome = self.fn(value)
        detail = ""
        if isinstance(outcome, CheckResult):
            return dataclasses.replace(outcome, name=self.name, kind=self.kind)
        if isinstance(outcome, tuple):
            outcome, detail = outcome
        if isinstance(outcome, bool):
            return self.ok(detail) if outcome else self.fail(detail or "returned False")
        score = float(outcome)
        if score >= self.threshold:
            return self.ok(detail, score)
        return self.fail(detail or f"scored {score:.2f} (threshold {self.threshold:g})", score)


def custom(
    fn: Callable[[Any], Any],
    *,
    name: str | None = None,
    kind: CheckKind = "content",
    threshold: float = 1.0,
) -> Check:
    """Your own scorer: ``fn(value)`` returns a bool, a score in [0, 1], or ``(score, detail)``."""
    return _Custom(fn, name, kind, threshold)


# -- tool calls ------------------------------------------------------------------------------------


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
    return f"no tool call; answered in text: {_short(text)!r}" if text else "no tool call"


class _ToolCalled(Check):
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


def tool_called(name: str, *, times: int | None = None) -> Check:
    """The model called tool ``name`` (exactly ``times`` times, when given)."""
    return _ToolCalled(name, times)


class _ToolArgs(Check):
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
                return self.fail(f"{where}the arguments are not a JSON object: {_short(call.raw_arguments)!r}")
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
    return _ToolArgs(name, schema, equals, options)


class _ToolSequence(Check):
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


def tool_sequence(names: Sequence[str], *, exact: bool = True) -> Check:
    """The tools called, in order, are ``names``; with ``exact=False``, ``names`` appear in that order among
    other calls."""
    return _ToolSequence(names, exact)
