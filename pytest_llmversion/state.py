"""What the plugin's hooks and fixtures share within one pytest process: the run state in ``config.stash``,
the stash keys, and the garbage-collector policy of a long run.

Its own module so that ``plugin``, ``sdk_fixtures`` and ``xdist_support`` import it and never each other.
Imports pytest and the standard library only.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_llmversion.child_process import Spawned  # noqa: F401 - named in a StashKey string
    from pytest_llmversion.report.schema import Report, SentAhead
    from pytest_llmversion.run.context import RunContext
    from pytest_llmversion.run.gather import Results
    from pytest_llmversion.run.item import LLMItem  # noqa: F401 - named in a StashKey string
    from pytest_llmversion.run.progress import Progress
    from pytest_llmversion.run.result import ItemReport
    from pytest_llmversion.run.selection import Selection
    from pytest_llmversion.run.spec import ItemSpec  # noqa: F401 - named in a StashKey string
    from pytest_llmversion.run.status_line import StatusLine


class LLMVersionState:
    """Per-process state in ``config.stash``; registered as a plugin object for the report hooks."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.is_worker = hasattr(config, "workerinput")
        self._context: RunContext | None = None
        self.results: Results | None = None
        self.selection: Selection | None = None
        self.report: Report | None = None
        self.report_path: Path | None = None
        self.report_problems: list[str] = []
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.froze_gc = False
        self._settled = 0
        self._positions: dict[str, int] | None = None
        #: Whether a config cleanup ends the call process (registered once, when one is first started).
        self.call_process_cleanup = False
        #: The item pytest runs after the running one (``pytest_runtest_protocol``): the call pool looks ahead.
        self.next_item: pytest.Item | None = None
        #: The run's bad config, once found: every later use of the context raises it again.
        self.error: pytest.UsageError | None = None
        #: The progress line of a run that calls models (on the process that owns the terminal).
        self.progress: Progress | None = None
        #: On a terminal, the progress drawn in place while a body waits on a model; then no progress lines.
        self.status_line: StatusLine | None = None
        #: What the call pool sent ahead, over this process (and, on the xdist controller, its workers).
        self.sent_ahead: SentAhead | None = None
        self.header_shown = False
        #: The report an item just made in this process, with the test report it belongs to: gathered as built,
        #: with no JSON made or parsed (an xdist worker sends it as JSON on the test report instead).
        self.just_built: tuple[pytest.TestReport, ItemReport] | None = None

    @property
    def loaded(self) -> bool:
        return self._context is not None

    def context(self) -> RunContext:
        """The run's context, built on first use: at the first ``llm_regression`` test collected (a run
        without one never imports pydantic, YAML or an SDK), or at start-up on an xdist controller."""
        if self._context is None:
            if self.error is not None:
                raise self.error
            from pytest_llmversion import options

            # Importing pydantic, YAML and the plugin's models allocates only long-lived objects; the
            # cyclic GC would rescan the whole growing heap several times meanwhile, for nothing.
            with no_cyclic_gc():
                from pytest_llmversion.run.gather import Results
                from pytest_llmversion.run.selection import Selection

                try:
                    self._context = options.build_context(self.config)
                except pytest.UsageError as error:
                    self.error = error
                    raise
                self.results = Results()
                self.selection = Selection()
        return self._context

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """On the controller (or a plain run), gather each item's result from its report, and which LLM
        items finished (a skipped one too), to tell a run that stopped early."""
        if self.is_worker:
            return
        built, self.just_built = self.just_built, None
        # the report this process built, else an xdist worker's JSON on the test report
        gathered = built[1] if built is not None and built[0] is report else getattr(report, "llmversion", None)
        if gathered is not None:
            self.context()
            assert self.results is not None
            self.results.add(gathered)
            if self.progress is not None:
                if isinstance(gathered, str):
                    from pytest_llmversion.run.result import ItemReport

                    gathered = ItemReport.from_message(gathered)
                self.progress.add(gathered.result)
        elif report.when == "teardown" and getattr(report, "llmversion_item", False):
            self.context()
            assert self.selection is not None
            self.selection.finished.add(report.nodeid)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        """Between items, every few seconds of a run that calls models: the progress line (``run/progress``)."""
        if self.progress is None or self.status_line is not None or not self.progress.due():
            return
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            ahead = self.context().ahead()
            reporter.write_line(self.progress.line(ahead.pool.pending() if ahead is not None else None))

    def positions(self, session: pytest.Session) -> dict[str, int]:
        """Each collected item's index in the run order (computed once; the call pool looks ahead from it)."""
        if self._positions is None:
            self._positions = {item.nodeid: index for index, item in enumerate(session.items)}
        return self._positions

    def freeze_heap(self) -> None:
        """What exists once the LLM items are collected (pydantic, YAML, the SDKs, every item) lives for the
        whole run. Left in the collector's generations, every full GC pass of a long run rescans it; frozen,
        it is skipped. Frozen as each LLM test is parametrized (the first one imports the run's modules) and
        once collection ends. ``thaw_heap`` undoes it in the last of the config's cleanups
        (``plugin.pytest_cmdline_main``)."""
        gc.freeze()
        self.froze_gc = True

    def settle(self) -> None:
        """After each LLM item of a run whose heap is frozen (``freeze_heap``): every ``SETTLE_EVERY`` items, one
        full collection, which scans only what is not frozen (what those items made), then what survives it
        (their reports, pytest's test reports) is frozen too. Else each full pass the collector makes during a
        long run rescans every report so far; garbage is never frozen, since the collection comes first."""
        if not self.froze_gc:
            return
        self._settled += 1
        if self._settled % SETTLE_EVERY == 0:
            gc.collect()
            gc.freeze()

    def freeze_run(self) -> None:
        """At the session's end of a run whose heap was frozen: what the run made (items' reports, pytest's
        test reports, the report) is collected once and frozen too. pytest's own final collections (at
        unconfigure and in a cleanup: they surface a finalizer's exception) and any other plugin's then skip it,
        instead of each rescanning every object the run left; a finalizer that fails in this collection is
        reported by pytest as it would have been in its own."""
        if self.froze_gc:
            gc.collect()
            gc.freeze()

    def thaw_heap(self, exiting: bool = False) -> None:
        """Undo ``freeze_heap`` once pytest is done with the run. ``exiting``: the process ends right after
        (pytest's own command, ``console_main``): nothing runs after the run that could be slowed by a frozen
        heap, so it stays frozen and the exit's collection (``_collect_once_at_exit``) scans only what the run
        made since; the garbage among what was frozen is left to the operating system, as at any exit."""
        if self.froze_gc:
            if not exiting:
                gc.unfreeze()
            self.froze_gc = False
            _collect_once_at_exit()


_EXIT_HOOKED = False


def _collect_once_at_exit() -> None:
    """After an LLM run, the interpreter's exit collects garbage once and freezes what is left: its teardown
    then skips the cyclic collector's passes over every module's objects, about 0.3 s for pydantic, an SDK and
    the usual plugins on a 2-core machine. Garbage that exists at exit is still collected, with its finalizers;
    only what module teardown itself sets loose in cycles is left to the operating system, as Python allows
    (``__del__`` is not guaranteed at exit)."""
    global _EXIT_HOOKED
    if not _EXIT_HOOKED:
        _EXIT_HOOKED = True
        atexit.register(_collect_and_freeze)


def _collect_and_freeze() -> None:
    gc.collect()
    gc.freeze()


def exits_after_run() -> bool:
    """Whether this pytest run is pytest's own command (``pytest``, ``python -m pytest``), which exits once the
    run returns, rather than ``pytest.main()`` called by a program that goes on (an IDE, pytester's in-process
    runs, themselves inside a pytest command): the innermost run's caller is pytest's console entry point."""
    import _pytest.config as pytest_config

    def codes(*names: str) -> set[CodeType]:
        return {f.__code__ for name in names if (f := getattr(pytest_config, name, None)) is not None}

    # pytest 9.1 moved both bodies to _main and _console_main (main and console_main call them)
    runs, entries = codes("_main", "main"), codes("_console_main", "console_main")
    frame = sys._getframe(1)
    while frame is not None and frame.f_code not in runs:
        frame = frame.f_back  # type: ignore[assignment]
    while frame is not None and frame.f_back is not None and frame.f_back.f_code in runs:
        frame = frame.f_back  # pytest.main() calling _main: the run began at main
    return frame is not None and frame.f_back is not None and frame.f_back.f_code in entries


@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a block allocates only objects that stay alive (the run's
    context at start-up, the report at the end): a collection meanwhile would find no garbage."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


#: How many LLM items run between two of ``LLMVersionState.settle``'s collections.
SETTLE_EVERY = 100

STATE = pytest.StashKey[LLMVersionState]()
#: The runner of an LLM item, from its fixture's set-up until its report is made.
ITEM = pytest.StashKey["LLMItem"]()
#: What collection decided for an LLM item, with the golden it reads.
SPEC = pytest.StashKey["ItemSpec"]()
#: A call process started before pytest configured (``plugin.pytest_cmdline_main``), until the run takes or ends it.
SPARE = pytest.StashKey["Spawned"]()
#: Set while one sample of an ``async def`` LLM item hands ``pytest_pyfunc_call`` on to the async plugin.
IN_SAMPLE = pytest.StashKey[bool]()
