"""When will a model stop answering? Its lifecycle state on a given day, and what to say about it.

Every function takes ``today`` explicitly; :func:`today` reads ``LLMVERSION_TODAY`` (YYYY-MM-DD) before the
system clock, so tests and scheduled CI jobs can pin the date and nothing rots as the calendar moves.
States: ``retired`` (shut down on or before today), ``urgent`` (fewer than ``urgent_days`` left),
``warn`` (fewer than ``warn_days`` left), ``deprecated`` (announced, further out), ``active``, ``unknown``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.governance.catalog import Catalog, CatalogEntry, pin_status
from pytest_llmversion.modelref import ModelRef

ENV_TODAY = "LLMVERSION_TODAY"
DEFAULT_WARN_DAYS = 90
DEFAULT_URGENT_DAYS = 30

State = Literal["retired", "urgent", "warn", "deprecated", "active", "unknown"]
#: Most to least pressing, for sorting tables and choosing exit codes.
SEVERITY: dict[str, int] = {"retired": 0, "urgent": 1, "warn": 2, "deprecated": 3, "active": 4, "unknown": 5}


class ClockError(LLMVersionError, ValueError):
    """A date override that cannot be read; one line naming where it came from."""


def today(environ: Mapping[str, str] | None = None, override: str | None = None, where: str = "--today") -> date:
    """The day governance decisions are made for: ``override``, else ``LLMVERSION_TODAY``, else the clock."""
    environ = os.environ if environ is None else environ
    text, source = (override, where) if override else (environ.get(ENV_TODAY) or None, f"environment {ENV_TODAY}")
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ClockError(f"pytest-llmversion: {source} = {text!r} is not a date (expected YYYY-MM-DD)") from None


@dataclass(frozen=True)
class Lifecycle:
    ref: str
    state: State
    retires: date | None = None
    deprecated: date | None = None
    days_left: int | None = None
    #: The replacement to test now, as a pinned id ``llmversion promote`` accepts: the catalogue's successor
    #: (following the chain past retired ones), or the snapshot it points at when it is an alias.
    successor: str | None = None
    source: str | None = None
    #: Whose dates these are, when an alias inherits them from the snapshot it points at.
    dates_of: str | None = None
    #: The successor when no pinned snapshot of it is known yet (``successor`` is then None).
    successor_unpinned: str | None = None

    @property
    def pressing(self) -> bool:
        return self.state in ("retired", "urgent")


def lifecycle(
    ref: str,
    catalog: Catalog,
    on: date,
    *,
    warn_days: int = DEFAULT_WARN_DAYS,
    urgent_days: int = DEFAULT_URGENT_DAYS,
) -> Lifecycle:
    entry = catalog.get(ref)
    if entry is None:
        return Lifecycle(ref, "unknown")
    dated, dates_of = entry, None
    if entry.retires is None and entry.alias_of:
        target = catalog.get(entry.alias_of)
        if target is not None and target.retires is not None:
            dated, dates_of = target, target.ref  # an alias lives as long as the snapshot it points at
    successor = ready_successor(dated, catalog, on) or ready_successor(entry, catalog, on)
    snapshot = pinned_snapshot(successor, catalog) if successor else None
    base = Lifecycle(
        ref,
        "active",
        dated.retires,
        dated.deprecated,
        None,
        snapshot,
        dated.source or entry.source,
        dates_of,
        successor if snapshot is None else None,
    )
    if dated.retires is None:
        announced = dated.deprecated is not None and dated.deprecated <= on
        return replace(base, state="deprecated" if announced else "active")
    days = (dated.retires - on).days
    state: State = (
        "retired" if days <= 0 else "urgent" if days < urgent_days else "warn" if days < warn_days else "deprecated"
    )
    return replace(base, state=state, days_left=days)


def ready_successor(entry: CatalogEntry, catalog: Catalog, on: date, hops: int = 6) -> str | None:
    """The successor, or its successor when that one has already been retired (at most ``hops`` steps)."""
    current = entry.successor
    seen = {entry.ref}
    while current and hops > 0 and current not in seen:
        seen.add(current)
        nxt = catalog.get(current)
        if nxt is None or nxt.retires is None or nxt.retires > on or not nxt.successor:
            return current
        current, hops = nxt.successor, hops - 1
    return current


def pinned_snapshot(ref: str, catalog: Catalog) -> str | None:
    """``ref`` as an id ``llmversion promote`` accepts: itself when pinned (or when no naming rule can tell), the
    snapshot an alias points at when the catalogue knows it, else None (no pinned snapshot of it yet)."""
    pin = pin_status(ModelRef(*ref.split("/", 1)), catalog)
    if pin.pinned or not pin.checked:
        return ref
    if pin.resolves_to is not None:
        target = pin_status(ModelRef(*pin.resolves_to.split("/", 1)), catalog)
        if target.pinned or not target.checked:
            return pin.resolves_to
    return None


ROLE_NAMES = {"current": "current model", "candidate": "candidate", "fallback": "fallback"}


def describe(lc: Lifecycle, role: str, *, candidate: str | None = None, replay_only: bool = False) -> str | None:
    """The line a person reads about this model's lifecycle, or None when there is nothing to say."""
    who = f"{ROLE_NAMES.get(role, role)} {lc.ref}"
    via = f" (through {lc.dates_of})" if lc.dates_of else ""
    unpinned = lc.successor_unpinned
    if lc.successor and lc.successor == candidate and role != "candidate":
        move = f"this run's candidate {lc.successor} is its successor"
    elif lc.successor:
        move = f"test its successor: pytest --candidate-model={lc.successor}"
    elif unpinned and unpinned == candidate and role != "candidate":
        move = (
            f"this run's candidate {unpinned} is its successor, but no pinned snapshot of it is known yet "
            "(llmversion promote takes only pinned ids)"
        )
    elif unpinned:
        move = (
            f"no pinned snapshot of its successor {unpinned} is known yet (llmversion promote takes only pinned "
            "ids): pick a pinned model to test with --candidate-model=provider/model-id"
        )
    else:
        move = "pick a successor and test it with --candidate-model=provider/model-id"
    if lc.state == "retired":
        assert lc.retires is not None
        tail = "; its goldens still replay" if replay_only else ""
        return f"RETIRED: {who} was shut down on {lc.retires}{via}{tail}; {move}"
    if lc.state == "urgent":
        return f"URGENT: {who} retires in {_days(lc.days_left)} ({lc.retires}){via}; {move}"
    if lc.state == "warn":
        return f"plan the migration: {who} retires in {_days(lc.days_left)} ({lc.retires}){via}; {move}"
    return None


def _days(n: int | None) -> str:
    return "1 day" if n == 1 else f"{n} days"


def table(rows: list[tuple[str, Lifecycle, str]]) -> list[str]:
    """A fixed-width table of (role, lifecycle, kind), most pressing first."""
    header = ("role", "model", "kind", "retires", "days", "state", "successor")
    body = [
        (
            role,
            lc.ref,
            kind,
            lc.retires.isoformat() if lc.retires else "-",
            "-" if lc.days_left is None else str(lc.days_left),
            lc.state.upper() if lc.pressing else lc.state,
            lc.successor or (f"{lc.successor_unpinned} (no pinned snapshot yet)" if lc.successor_unpinned else "-"),
        )
        for role, lc, kind in rows
    ]
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]
    right = {4}
    return [
        "  ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in (header, *body)
    ]
