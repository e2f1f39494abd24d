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
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pytest_llmversion.checks.calls import CheckCallError
from pytest_llmversion.checks.core import Check, CheckKind, CheckResult, as_data, as_text, short, to_plain
from pytest_llmversion.checks.judge import Embedder, judge, semantic_similarity
from pytest_llmversion.checks.tools import tool_args, tool_called, tool_calls_of, tool_sequence
from pytest_llmversion.parsing import parse_json

__all__ = [
    "Check",
    "CheckCallError",
    "CheckResult",
    "Embedder",
    "contains",
    "custom",
    "deep_equal",
    "equals",
    "json_field",
    "json_in_text",
    "json_schema",
    "judge",
    "max_length",
    "max_words",
    "not_contains",
    "parses",
    "pydantic_model",
    "regex",
    "semantic_similarity",
    "similarity",
    "tool_args",
    "tool_called",
    "tool_calls_of",
    "tool_sequence",
    "valid_json",
]


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
        self.name = f"regex({short(pattern, 40)})"

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
        self.name = f"{'not_contains' if negate else 'contains'}({short(needle, 30)!r})"

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
        self.name = f"equals({short(expected, 30)})"

    def evaluate(self, value: Any) -> CheckResult:
        if not isinstance(self.expected, str):
            actual = to_plain(value) if not isinstance(value, str) else value
            if actual == self.expected:
                return self.ok()
            return self.fail(f"expected {short(self.expected)}, got {short(actual)}")
        text = as_text(value)
        left, right = (text.strip(), self.expected.strip()) if self.strip else (text, self.expected)
        if not self.case_sensitive:
            left, right = left.lower(), right.lower()
        return self.ok() if left == right else self.fail(f"expected {short(self.expected)}, got {short(text)}")


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
            return self.fail(f"{self.path} is missing (expected {short(self.expected)})")
        same = actual == self.expected
        if not same and not self.case_sensitive and isinstance(actual, str) and isinstance(self.expected, str):
            same = actual.casefold() == self.expected.casefold()
        if same:
            return self.ok()
        return self.fail(f"{self.path}: expected {short(self.expected)}, got {short(actual)}")


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
