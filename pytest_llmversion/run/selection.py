"""Which LLM items a run selected and which ran: a run that ran none writes nothing, one that ran some is partial.

A partial report speaks for the items that ran, not for the suite: ``llmversion report --fail-on-gate``
refuses it unless ``--allow-partial``. Items leave a run in two ways. Before it starts, by deselection (``-k``,
``-m``, ``--deselect``, ``--lf``, ``--sw``, node ids on the command line), decided on every xdist worker alike
(each collects the whole suite) and sent to the controller with the worker's output. After it starts, by
stopping early (``-x``, ``--maxfail``, an interrupt, a crashed worker): the controller counts the LLM items
whose teardown it saw against the number selected. A path argument that names a folder or file is taken as
the suite the user means and does not make a run partial. Plain Python: the plugin passes values in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: How many node ids a reason quotes before "and N more".
_SHOWN = 3


@dataclass
class Selection:
    #: LLM items left to run after deselection (the same number on every xdist worker).
    selected: int = 0
    #: LLM items deselected (by ``-k``, ``-m``, ``--deselect``, ``--lf``, ``--sw`` or another plugin).
    deselected: int = 0
    #: Why the run covers less than the whole suite, decided at collection.
    reasons: list[str] = field(default_factory=list)
    #: LLM items whose teardown was reported (on the controller): they ran, whatever their outcome.
    finished: set[str] = field(default_factory=set)

    def note_collection(
        self, *, selected: int, deselected_by: Iterable[str], node_ids: Iterable[str], last_failed: bool
    ) -> None:
        """After deselection: record what was left out, and why, in words a user recognises. ``deselected_by``
        names the deselecting options used (``-k 'edge'``, ``--deselect``), ``--lf`` aside."""
        self.selected = selected
        reasons: list[str] = []
        options = list(deselected_by)
        if self.deselected and (options or not last_failed):  # --lf alone is said once, below
            total = self.deselected + selected
            reasons.append(f"{self.deselected} of {total} LLM items deselected ({', '.join(options) or 'a plugin'})")
        if last_failed:
            reasons.append("--lf ran only the tests that failed last time")
        named = sorted(node_ids)
        if named:
            more = f" and {len(named) - _SHOWN} more" if len(named) > _SHOWN else ""
            reasons.append(f"only the tests named on the command line ran: {', '.join(named[:_SHOWN])}{more}")
        self.reasons = _merged(self.reasons, reasons)

    def to_payload(self) -> dict[str, Any]:
        return {"selected": self.selected, "reasons": list(self.reasons)}

    def merge(self, payload: Mapping[str, Any]) -> None:
        """A worker's collection; every worker collects the same items, so the numbers agree."""
        self.selected = max(self.selected, int(payload.get("selected", 0)))
        self.reasons = _merged(self.reasons, payload.get("reasons", ()))

    def partial_reasons(self, stopped: str | None) -> list[str]:
        """Every reason the report covers less than the suite; empty for a whole run. ``stopped`` is pytest's
        word for an early stop ("stopping after 1 failures"), when it has one."""
        reasons = list(self.reasons)
        ran = len(self.finished)
        if self.selected and ran < self.selected:
            why = f" ({stopped})" if stopped else ""
            reasons.append(f"the run stopped after {ran} of {self.selected} selected LLM items{why}")
        return reasons


def _merged(known: Iterable[str], more: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*known, *more]))
