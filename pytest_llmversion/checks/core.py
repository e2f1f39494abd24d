"""What every check is built on: ``Check`` (scores one value, never raises), its ``CheckResult``, and the helpers
that read a value as text or as plain data (a ``Completion``, a string, or what the application parsed)."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

from pytest_llmversion.parsing import OutputParseError, extract_json, parse_json

CheckKind = Literal["format", "content"]


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
            if getattr(type(exc), "llmversion_call_error", False):
                raise  # a check's own call failed (a judge's provider, a STALE replay): the item is ERROR, not scored
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


def short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
