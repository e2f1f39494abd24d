"""``[tool.llmversion.rollout]``: the stage, the stages, where metrics go and the thresholds of a decision.

Every key is optional. A bad value is one line naming the key: ``[tool.llmversion.rollout] stages =
[50, 10]: stages must increase``. The table is read again by running applications when pyproject.toml
changes (:mod:`.stage`), so a value that fails here never replaces a good one there.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path, PurePath
from typing import Any

from pytest_llmversion.errors import LLMVersionError

TABLE = "[tool.llmversion.rollout]"
#: The stages a rollout may stop at, in percent of keys (0: the candidate serves nobody).
STAGES = (0.0, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0)
#: Where call records can go: the embedded store, OpenTelemetry metrics.
SINKS = ("sqlite", "otel")


class RolloutError(LLMVersionError, ValueError):
    """A bad ``[tool.llmversion.rollout]`` table; one line."""


@dataclass(frozen=True)
class Rollout:
    #: The share of keys the candidate serves now; ``llmversion rollout advance`` and ``rollback`` edit it.
    candidate_percent: float = 0.0
    salt: str = "llmversion"
    stages: tuple[float, ...] = STAGES[1:]
    metrics: tuple[str, ...] = ("sqlite",)
    #: The store's path inside the project; None: ``<report_dir>/rollout.sqlite``.
    store: str | None = None
    retention_days: float = 30.0
    #: Keep prompt and answer text with each record (off: no user text is ever written).
    store_text: bool = False
    #: The share of calls scored by the quality checks given to ``connect(quality_checks=...)``.
    quality_sample: float = 0.05
    #: How often a running application looks at pyproject.toml for a new stage.
    reload_seconds: float = 5.0
    #: False roll-back budget of the sequential tests, split between the rates tested.
    alpha: float = 0.05
    #: Percent more failure odds the candidate may have than the current model (50: 2 % may become 3 %).
    max_error_rate_increase: float = 50.0
    #: The same for the share of sampled calls that fail the quality checks.
    max_check_failure_increase: float = 50.0
    #: A failure rate (percent) low enough to accept whatever the current model's: with failures this
    #: rare, no odds ratio can be shown in reasonable time (None: off).
    negligible_failure_rate: float | None = 0.5
    #: Percent slower the candidate's p95 latency may be; None: shown, not judged.
    max_p95_latency_increase: float | None = 25.0
    #: Percent more the candidate may cost per answered call; None: shown, not judged.
    max_cost_increase: float | None = None
    #: Calls per arm before latency and cost are judged and before an advance.
    min_calls: int = 200
    #: Hours at a stage before an advance (the article watches each stage for 48 hours).
    min_stage_hours: float = 48.0

    @classmethod
    def from_table(cls, table: Mapping[str, Any] | None) -> Rollout:
        if table is not None and not isinstance(table, Mapping):
            raise RolloutError(f"{TABLE} must be a table of settings (candidate_percent = 0, ...), got {_shown(table)}")
        table = dict(table or {})
        allowed = [f.name for f in fields(cls)]
        for key in table:
            if key not in _PARSERS:
                hint = difflib.get_close_matches(key, allowed, n=1)
                more = f"did you mean '{hint[0]}'?" if hint else f"allowed: {', '.join(allowed)}"
                raise RolloutError(f"unknown key {key!r} in {TABLE} ({more})")
        values = {key: _PARSERS[key](key, value) for key, value in table.items()}
        return cls(**values)

    def bucket(self, key: str) -> float:
        """Where ``key`` falls in [0, 100): stable across processes, machines and Python versions."""
        digest = hashlib.sha256(f"{self.salt}:{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 * 100

    def uses_candidate(self, key: str) -> bool:
        return self.candidate_percent > 0 and self.bucket(key) < self.candidate_percent

    def store_path(self, base: Path, report_dir: str) -> Path:
        """The store's file: ``store`` inside the project, else ``<report_dir>/rollout.sqlite``."""
        return base / (self.store or f"{report_dir}/rollout.sqlite")

    def next_stage(self) -> float | None:
        """The first stage above the current one, or None at (or past) the last."""
        return next((stage for stage in self.stages if stage > self.candidate_percent), None)


def _bad(key: str, value: Any, expected: str) -> RolloutError:
    return RolloutError(f"{TABLE} {key} = {_shown(value)}: {expected}")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _number(low: float, high: float | None = None, *, low_open: bool = False) -> Callable[[str, Any], float]:
    def parse(key: str, value: Any) -> float:
        above = _is_number(value) and (value > low if low_open else value >= low)
        if not above or (high is not None and value > high):
            if high is not None and not low_open:
                raise _bad(key, value, f"expected a number from {low:g} to {high:g}")
            bound = f"above {low:g}" if low_open else f">= {low:g}"
            raise _bad(key, value, f"expected a number {bound}" + (f" and <= {high:g}" if high is not None else ""))
        return float(value)

    return parse


def _optional(parse: Callable[[str, Any], float]) -> Callable[[str, Any], float | None]:
    # TOML has no null: "no limit" is written as false
    def parse_optional(key: str, value: Any) -> float | None:
        return None if value is False else parse(key, value)

    return parse_optional


def _whole(low: int) -> Callable[[str, Any], int]:
    def parse(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise _bad(key, value, f"expected a whole number >= {low}")
        return value

    return parse


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _bad(key, value, "expected a non-empty string")
    return value


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _bad(key, value, "expected true or false")
    return value


def _stages(key: str, value: Any) -> tuple[float, ...]:
    if not isinstance(value, list) or not value or not all(_is_number(v) for v in value):
        raise _bad(key, value, "expected a list of percentages, e.g. [1, 10, 50, 100]")
    if any(not 0 < v <= 100 for v in value):
        raise _bad(key, value, "each stage must be above 0 and at most 100")
    if any(b <= a for a, b in itertools.pairwise(value)):
        raise _bad(key, value, "stages must increase")
    return tuple(float(v) for v in value)


def _sinks(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or any(v not in SINKS for v in value):
        raise _bad(key, value, f"expected a list of {' and '.join(repr(s) for s in SINKS)} (or [] for none)")
    return tuple(dict.fromkeys(value))


def _store(key: str, value: Any) -> str:
    text = _text(key, value)
    if PurePath(text).is_absolute() or ".." in PurePath(text).parts:
        raise _bad(key, value, "expected a path inside the project, e.g. '.llmversion/rollout.sqlite'")
    return text


_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "candidate_percent": _number(0, 100),
    "salt": _text,
    "stages": _stages,
    "metrics": _sinks,
    "store": _store,
    "retention_days": _number(0, low_open=True),
    "store_text": _flag,
    "quality_sample": _number(0, 1),
    "reload_seconds": _number(0),
    "alpha": _number(0, 0.5, low_open=True),
    "max_error_rate_increase": _number(0, low_open=True),
    "max_check_failure_increase": _number(0, low_open=True),
    "negligible_failure_rate": _optional(_number(0, 100, low_open=True)),
    "max_p95_latency_increase": _optional(_number(-100, low_open=True)),
    "max_cost_increase": _optional(_number(-100, low_open=True)),
    "min_calls": _whole(1),
    "min_stage_hours": _number(0),
}
