"""The progress line of a run that calls models: LLM items done of those selected, live calls made (and the
calls sent ahead still waiting), errors, spend so far and an estimate of the time left.

It is written by the process that owns the terminal (a plain run, or the pytest-xdist controller, from the
item results its workers send). On a terminal, in a plain run outside CI, it is drawn in place while a test
body waits on a model (``run/status_line.py``); otherwise (a pipe, a CI log, pytest-xdist) it is a line of
its own at most every ``INTERVAL`` seconds, between items, so a CI log gets a line every few seconds and
pytest's own progress stays intact. A run in replay mode has nothing to wait for and shows none; ``-q``
hides it, as pytest's own progress detail.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from pytest_llmversion.governance.cost import live_cost
from pytest_llmversion.report.format import plural, usd
from pytest_llmversion.report.schema import ItemResult
from pytest_llmversion.run.context import RunContext
from pytest_llmversion.verdict import Verdict

if TYPE_CHECKING:
    from pytest_llmversion.run.status_line import StatusLine

#: Seconds between two progress lines.
INTERVAL = 5.0


@dataclass
class Progress:
    #: LLM items the run will run (after deselection); 0 when not known yet (an xdist controller, until a
    #: worker has collected).
    total: int
    #: What an item's live calls cost, or None when the catalogue has no price for a model it called.
    price: Callable[[ItemResult], float | None]
    clock: Callable[[], float] = time.monotonic
    done: int = 0
    calls: int = 0
    errors: int = 0
    spent: float | None = 0.0
    started: float = field(init=False)
    _last: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self._last = self.clock()

    def add(self, item: ItemResult) -> None:
        """An item's result arrived."""
        self.done += 1
        live = item.calls.get("live", 0)
        self.calls += live
        self.errors += item.verdict is Verdict.ERROR
        if live and self.spent is not None:
            cost = self.price(item)
            self.spent = None if cost is None else self.spent + cost

    def due(self) -> bool:
        """Whether a line is due now (and, if so, the next one is ``INTERVAL`` seconds away)."""
        now = self.clock()
        if now - self._last < INTERVAL or self.done >= max(self.total, 1):
            return False
        self._last = now
        return True

    def line(self, waiting: int | None = None) -> str:
        """``waiting``: calls sent ahead not yet taken by their test bodies (known in the process that sent
        them)."""
        return "llmversion: " + self.summary(waiting)

    def summary(self, waiting: int | None = None) -> str:
        calls = plural(self.calls, "live call")
        if waiting:
            calls += f" ({waiting} sent ahead waiting)"
        parts = [f"{self.done}/{self.total or '?'} LLM items", calls, plural(self.errors, "error")]
        parts.append(f"{usd(self.spent)} spent" if self.spent is not None else "spend unknown (unpriced model)")
        if 0 < self.done < self.total:
            elapsed = self.clock() - self.started
            parts.append(f"about {duration(elapsed / self.done * (self.total - self.done))} left")
        return ", ".join(parts)


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def start_progress(ctx: RunContext, total: int) -> Progress:
    catalog = ctx.catalog()
    return Progress(total, lambda item: live_cost(item, catalog))


def in_place(config: pytest.Config) -> bool:
    """Whether the progress goes in place (``run/status_line.py``): a plain run (not under pytest-xdist) whose
    terminal is a terminal, outside CI (a CI log wants lines), and not ``TERM=dumb``."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not reporter.isatty() or os.environ.get("CI") or os.environ.get("TERM") == "dumb":
        return False
    return getattr(config.option, "numprocesses", None) in (None, 0) and not hasattr(config, "workerinput")


def start_status_line(ctx: RunContext, progress: Progress, config: pytest.Config) -> StatusLine | None:
    """Drawn while the main thread waits on a model (``RunContext.waiting``); None when the terminal pytest
    writes to has no file descriptor to draw on (a replaced ``sys.stdout``)."""
    from pytest_llmversion.run.status_line import StatusLine

    writer = config.get_terminal_writer()
    ahead = ctx.ahead()

    def text(waited: float) -> str:
        return f"llmversion: waiting {waited:.0f} s; " + progress.summary(ahead.pool.pending() if ahead else None)

    try:
        fd = sys.stdout.fileno()  # pytest's capture is suspended between collection and the first item
        status = StatusLine(fd, text, column=lambda: writer.width_of_current_line)
    except (AttributeError, ValueError, OSError):
        return None
    ctx.waiting = status.waiting
    return status
