"""``@pytest.mark.llm_regression(...)``: its arguments, validated once at collection."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_llmversion.errors import LLMVersionError

MARKER = "llm_regression"
MARKER_HELP = (
    "llm_regression(tags=(), cases=None, tolerance=None, samples=None, threshold=None): "
    "run this test against the current model (replaying its golden) and, with --candidate-model, "
    "against the candidate, judging the candidate against the golden. pytest-llmversion."
)


class MarkerError(LLMVersionError, ValueError):
    """A bad marker argument; the message names the test and the argument."""


@dataclass(frozen=True)
class MarkerSpec:
    tags: tuple[str, ...] = ()
    cases: str | None = None
    tolerance: float | None = None
    samples: int | None = None
    threshold: float | None = None


_ALLOWED = ("tags", "cases", "tolerance", "samples", "threshold")


def parse_marker(nodeid: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> MarkerSpec:
    def bad(argument: str, problem: str) -> MarkerError:
        return MarkerError(f"{nodeid}: @pytest.mark.{MARKER} argument {argument}: {problem}")

    if args:
        raise bad(repr(args[0]), f"positional arguments are not accepted; use keywords ({', '.join(_ALLOWED)})")
    for key in kwargs:
        if key not in _ALLOWED:
            hint = difflib.get_close_matches(key, _ALLOWED, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise bad(f"'{key}'", f"unknown argument{suggestion}; allowed: {', '.join(_ALLOWED)}")
    tags = kwargs.get("tags", ())
    if isinstance(tags, str):
        tags = (tags,)
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) and t for t in tags):
        raise bad("'tags'", f"expected a list of strings, got {tags!r}")
    cases = kwargs.get("cases")
    if cases is not None and (not isinstance(cases, str) or not cases):
        raise bad("'cases'", f"expected a path to a YAML or JSON file, got {cases!r}")
    tolerance = _number(kwargs.get("tolerance"), "tolerance", 0.0, 1.0, bad)
    threshold = _number(kwargs.get("threshold"), "threshold", 0.0, 1.0, bad)
    samples = kwargs.get("samples")
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 1):
        raise bad("'samples'", f"expected a whole number >= 1, got {samples!r}")
    return MarkerSpec(tuple(tags), cases, tolerance, samples, threshold)


def _number(value: Any, name: str, low: float, high: float, bad: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad(f"'{name}'", f"expected a number from {low:g} to {high:g}, got {value!r}")
    if not low <= value <= high:
        raise bad(f"'{name}'", f"expected a number from {low:g} to {high:g}, got {value!r}")
    return float(value)
