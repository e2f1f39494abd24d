"""What the controller gathers while the run goes on: each item's message (from its test report, the same
with and without pytest-xdist) and which goldens the collected tests use (sent by xdist workers at the end)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmversion.run.result import ItemReport


@dataclass
class Collected:
    """Which goldens the collected tests can use, per golden folder (sent from xdist workers too)."""

    expected: dict[str, set[str]] = field(default_factory=dict)
    partial: set[str] = field(default_factory=set)
    #: golden path -> its legacy name (earlier versions' name), for the keys whose two names differ
    legacy: dict[str, str] = field(default_factory=dict)

    def add(self, folder: Path, path: Path, partial: bool, legacy: Path | None = None) -> None:
        self.expected.setdefault(str(folder), set()).add(str(path))
        if partial:
            self.partial.add(str(folder))
        if legacy is not None:
            self.legacy[str(path)] = str(legacy)

    def to_payload(self) -> dict[str, Any]:
        return {
            "expected": {k: sorted(v) for k, v in self.expected.items()},
            "partial": sorted(self.partial),
            "legacy": self.legacy,
        }

    def merge(self, payload: Mapping[str, Any]) -> None:
        for folder, paths in payload.get("expected", {}).items():
            self.expected.setdefault(folder, set()).update(paths)
        self.partial.update(payload.get("partial", ()))
        self.legacy.update(payload.get("legacy", {}))

    def still_read(self) -> set[str]:
        """Legacy-named goldens a collected test may still replay: its golden under the new name is absent."""
        return {legacy for path, legacy in self.legacy.items() if not Path(path).is_file()}


@dataclass
class Results:
    """What the controller gathers with the test reports (the same with and without xdist).

    From an xdist worker, each item's data arrives as one JSON string on its test report, and the controller
    keeps the string until the session ends: a string is invisible to the cyclic garbage collector, where
    thousands of nested dicts made every full collection of a large suite slower. In the process that ran the
    item, the report it built is kept as it is (the heap frozen after collection keeps those collections short):
    no JSON is made for it or parsed back.
    """

    collected: Collected = field(default_factory=Collected)
    _raw: list[str | ItemReport] = field(default_factory=list)

    def add(self, message: str | ItemReport) -> None:
        """One item's ``ItemReport``: as JSON, as it arrived on its test report from an xdist worker, or the report
        itself, when this process made it."""
        self._raw.append(message)

    def reports(self) -> list[ItemReport]:
        return [raw if isinstance(raw, ItemReport) else ItemReport.from_message(raw) for raw in self._raw]

    def __len__(self) -> int:
        return len(self._raw)
