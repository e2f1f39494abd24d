"""pytest hooks and fixtures of pytest-llmversion. Each hook validates, then delegates.

Loaded through the ``pytest11`` entry point ``llmversion`` (disable it with ``-p no:llmversion``).
At start-up it imports pytest and the standard library only: a suite without ``llm_regression``
tests never pays for pydantic, YAML or a provider SDK.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_llmversion import item_setup, options
from pytest_llmversion.bodies import BodyRunner
from pytest_llmversion.run.marker import MARKER, MARKER_HELP
from pytest_llmversion.sdk_fixtures import (  # noqa: F401 - fixtures, registered with this module
    GUARD_MARKER_HELP,
    intercepted,
    llm_anthropic,
    llm_anthropic_async,
    llm_gemini,
    llm_gemini_async,
    llm_openai,
    llm_openai_async,
    register_guard,
)
from pytest_llmversion.state import ITEM, SPARE, SPEC, STATE, LLMVersionState, exits_after_run, no_cyclic_gc

if TYPE_CHECKING:
    from pytest_llmversion.client import LLMClient
    from pytest_llmversion.config import LLMConfig
    from pytest_llmversion.modelref import ModelRef
    from pytest_llmversion.run.cases import Case
    from pytest_llmversion.run.context import RunContext
    from pytest_llmversion.run.item import LLMItem
    from pytest_llmversion.run.sampler import GoldenChecker
    from pytest_llmversion.testing import Emulator


def pytest_addoption(parser: pytest.Parser) -> None:
    """All options in one group (``--current-model``, ``--candidate-model`` and ``--llm-*``), each with its
    ini twin."""
    options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker. The config is resolved when the first ``llm_regression`` test is collected (a
    run without one pays for nothing), or now when an ``--llm-*`` option is given or an xdist controller
    starts workers for a project that uses the plugin: a bad value stops the run with one line before
    anything is collected."""
    config.addinivalue_line("markers", MARKER_HELP)
    config.addinivalue_line("markers", GUARD_MARKER_HELP)
    state = LLMVersionState(config)
    config.stash[STATE] = state
    config.pluginmanager.register(state, "llmversion-state")
    config.pluginmanager.register(ItemHooks(), ITEM_HOOKS)
    # registered now, after the plugins of entry points: its pytest_pyfunc_call then runs before anyio's
    config.pluginmanager.register(BodyRunner(), BODIES)
    if options.resolve_at_start(config):
        ctx = state.context()
        if not options.distributes(config):  # an xdist controller makes no calls; its workers decide for theirs
            _start_call_process(state, ctx)
    if config.pluginmanager.hasplugin("xdist") or config.pluginmanager.hasplugin("xdist.plugin"):
        from pytest_llmversion.xdist_support import XdistHooks

        config.pluginmanager.register(XdistHooks(state), "llmversion-xdist")


#: The names the per-test hooks are registered under (``ItemHooks``, ``bodies.BodyRunner``).
ITEM_HOOKS, BODIES = "llmversion-items", "llmversion-bodies"


def _start_call_process(state: LLMVersionState, ctx: RunContext, items: int | None = None) -> None:
    """``RunContext.start_call_process`` with this process's cores and xdist workers. The session's end closes
    the child; a cleanup ends it too for a run that never gets there (``--markers``, another plugin's error)."""
    config = state.config
    spare = config.stash.get(SPARE, None)
    if spare is not None:
        del config.stash[SPARE]
    if ctx.start_call_process(_cores(), _xdist_workers(config), items, spare) and not state.call_process_cleanup:
        state.call_process_cleanup = True
        config.add_cleanup(ctx.factory().stop_remote)


def _cores() -> int | None:
    """The cores this process may run on (its affinity, which containers and taskset narrow)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count()


def _xdist_workers(config: pytest.Config) -> int:
    """In a pytest-xdist worker, how many there are; else 0."""
    return int(getattr(config, "workerinput", {}).get("workercount", 0))


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """Show the resolved models and where each one came from."""
    state = config.stash[STATE]
    if not state.loaded:
        return None  # shown once collection has found an LLM test (pytest_report_collectionfinish)
    state.header_shown = True
    return options.header_lines(state.context())


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Golden folders hold YAML only: pytest does not walk them (each file cost every run a stat and a round of
    collection hooks, 0.1 s for a thousand goldens), and no YAML test plugin mistakes a golden for a test."""
    return True if options.is_golden_folder(config, collection_path) else None


@pytest.hookimpl(trylast=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize each ``llm_regression`` test by role (and case); runs last so the role ends the id."""
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None:
        return
    # the first one imports the run's modules, and each one's cases and specs live for the whole run: objects the
    # cyclic GC would rescan, with the growing heap, for no garbage; frozen after it, the full pass the imports
    # have made due skips them too
    state = metafunc.config.stash[STATE]
    with no_cyclic_gc():
        from pytest_llmversion.run.collection import ITEM_FIXTURE, item_specs

        try:
            ctx = state.context()
        except pytest.UsageError:
            return  # a bad config: raised once collection ends, as one line (pytest_collection_modifyitems)
        specs = item_specs(ctx, metafunc.definition, marker)
        state.freeze_heap()
    metafunc.fixturenames.append(ITEM_FIXTURE)
    metafunc.parametrize(ITEM_FIXTURE, specs, ids=[s.id for s in specs], indirect=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Before ``-k``/``-m`` deselect anything, name each LLM item's golden, note the goldens collected tests
    use (for the unused list) and add tags as keywords, so ``-k edge`` selects by tag."""
    state = config.stash[STATE]
    if state.error is not None:
        raise state.error
    register_guard(config, items)
    if not state.loaded:
        return
    from pytest_llmversion.run.collection import ensure_item_fixture, keyed_spec, note_collected, spec_of

    ctx = state.context()
    assert state.results is not None
    for item in items:
        spec = spec_of(item)
        if spec is not None:
            spec = item.stash[SPEC] = keyed_spec(ctx, item, spec)
            item.extra_keyword_matches.update(spec.tags)
            note_collected(state.results.collected, item, spec)
            ensure_item_fixture(item)


def pytest_deselected(items: list[pytest.Item]) -> None:
    """LLM items ``-k``, ``-m``, ``--deselect``, ``--lf`` or ``--sw`` leave out make the report partial."""
    state = items[0].config.stash[STATE] if items else None
    if state is not None and state.loaded:
        state.context()
        assert state.selection is not None
        state.selection.deselected += sum(SPEC in item.stash for item in items)


@pytest.hookimpl(tryfirst=True)  # before the terminal reporter asks for pytest_report_collectionfinish lines
def pytest_collection_finish(session: pytest.Session) -> None:
    """After deselection, count the compared cases that will run: each is judged at q / m while it runs, m
    being that count (the same on every xdist worker, which all collect). Price the run for
    ``--llm-budget-usd``, and note what the run leaves out, for a partial report."""
    state = session.config.stash[STATE]
    if not any(SPEC in item.stash for item in session.items):  # the per-test hooks would have nothing to do
        for name in (ITEM_HOOKS, BODIES):
            plugin = session.config.pluginmanager.get_plugin(name)
            if plugin is not None:
                session.config.pluginmanager.unregister(plugin)
    if not state.loaded:
        found = options.unchecked_config_warning(session.config)
        if found is not None:
            import warnings

            message, path, line = found
            warnings.warn_explicit(pytest.PytestConfigWarning(message), None, str(path), line)
        return
    from pytest_llmversion.run.collection import count_compared, note_selection

    ctx = state.context()
    ctx.family_sizes = count_compared(ctx, session.items)
    if ctx.config.budget_usd is not None:
        _check_budget(state, session)
    assert state.selection is not None
    note_selection(state.selection, session, sum(SPEC in item.stash for item in session.items))
    _start_call_process(state, ctx, state.selection.selected)
    if state.selection.selected:
        state.freeze_heap()
        if not state.is_worker and ctx.calls_live and session.config.get_verbosity() >= 0:
            from pytest_llmversion.run.progress import in_place, start_progress, start_status_line

            state.progress = start_progress(ctx, state.selection.selected)
            if in_place(session.config):
                state.status_line = start_status_line(ctx, state.progress, session.config)


def _check_budget(state: LLMVersionState, session: pytest.Session) -> None:
    """``--llm-budget-usd``: price every call the collected items may make before the first is sent."""
    from pytest_llmversion.governance.budget import BudgetError
    from pytest_llmversion.run.estimate import estimate_spend

    ctx = state.context()
    try:
        ctx.estimate = estimate_spend(ctx, [item.stash[SPEC] for item in session.items if SPEC in item.stash])
    except BudgetError as exc:
        if not state.is_worker:
            raise pytest.UsageError(str(exc)) from None
        # an xdist worker cannot stop the run with a usage error: it runs nothing and asks the controller to stop
        session.config.pluginmanager.register(_RunNothing(), "llmversion-refused")
        session.shouldstop = str(exc)


class _RunNothing:
    """Registered on an xdist worker when the run must not start: every item is skipped unrun."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> bool:
        return True


def pytest_report_collectionfinish(config: pytest.Config) -> list[str] | None:
    """The budget estimate, once the items it prices are known."""
    state = config.stash[STATE]
    if not state.loaded:
        return None
    ctx = state.context()
    lines = [] if state.header_shown else options.header_lines(ctx)
    state.header_shown = True
    if ctx.estimate is not None:
        from pytest_llmversion.governance.budget import estimate_line

        lines.append(f"llmversion: {estimate_line(ctx.estimate)}")
    return lines or None


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Before any plugin configures: the heap frozen once the LLM items are collected (``state.freeze_heap``)
    is thawed by the cleanup registered first, so it runs last, after pytest's own final garbage collections
    (at unconfigure and in a cleanup), which then skip the run's long-lived objects (under pytest's own command,
    which exits next, it stays frozen: ``state.thaw_heap``). And a run whose command
    line asks for live calls starts its call process now (``options.early_call_process``): the child imports
    its SDK while this process builds the run's context, which takes it or ends it (``_start_call_process``)."""
    config.add_cleanup(functools.partial(_thaw_heap, config, exits_after_run()))
    warm = options.early_call_process(config, _cores())
    if warm is not None:
        from pytest_llmversion.child_process import spawn

        try:
            spare = spawn(warm)
        except OSError:
            return  # the context starts one later, or makes its calls here
        config.stash[SPARE] = spare
        config.add_cleanup(spare.discard)  # a run that stops before it takes the child


def _thaw_heap(config: pytest.Config, exiting: bool) -> None:
    state = config.stash.get(STATE, None)
    if state is not None:
        state.thaw_heap(exiting)


class ItemHooks:
    """The hooks of each test's run. Registered by ``pytest_configure`` and unregistered once collection finds no
    LLM item to run (``pytest_collection_finish``): a run of unmarked tests calls none of them."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        """Note the item pytest runs next (under pytest-xdist, part of what this process will run)."""
        if SPEC in item.stash:
            item.config.stash[STATE].next_item = nextitem

    @pytest.hookimpl(tryfirst=True)  # inside the capture and log wrappers, before pytest sets up the fixtures
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Build an LLM item and hand its test the plugin's plain fixtures' values (``item_setup``)."""
        spec = item.stash.get(SPEC, None)
        if spec is not None and item_setup.sets_up(item):
            item_setup.set_up(item, spec)  # type: ignore[arg-type]  # sets_up: a pytest.Function

    @pytest.hookimpl(wrapper=True, trylast=True)  # around pytest's teardown of the fixtures, inside capture
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
        """Close what ``pytest_runtest_setup`` opened, after the last fixture's teardown, even a failing one."""
        try:
            return (yield)
        finally:
            item_setup.tear_down(item)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        """Once an LLM item's fixtures are set up (a key or a setting a session fixture puts in the environment is
        there), before its body: send ahead its calls and those of the items this process runs after it (a bounded
        window), so their bodies find their answers waiting: the call pool (``run/pool.py``)."""
        if SPEC not in item.stash:
            return
        state = item.config.stash[STATE]
        ahead = state.context().ahead()
        if ahead is not None:
            from pytest_llmversion.run.collection import upcoming

            positions = state.positions(item.session)
            later = upcoming(item, state.next_item, positions)
            ahead.plan(((i.stash[SPEC], i.nodeid) for i in later if SPEC in i.stash), item.stash.get(ITEM, None))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        """An item's result is handed to the session's gathering with its test report; an xdist worker's rides on
        the report as JSON, so the controller receives it unchanged."""
        report = yield
        if call.when == "teardown" and SPEC in item.stash:
            report.llmversion_item = True  # the controller counts the LLM items that ran to their end
            item.config.stash[STATE].settle()
        elif call.when == "call":
            llm_item = item.stash.get(ITEM, None)
            if llm_item is not None and llm_item.judged is not None:
                from pytest_llmversion.run.junit import junit_properties

                message = llm_item.report()
                state = item.config.stash[STATE]
                if state.is_worker:  # the controller gathers it from the test report
                    report.llmversion = message.to_message()
                else:  # gathered as built by ``LLMVersionState.pytest_runtest_logreport``: no JSON made or parsed
                    state.just_built = (report, message.as_received())
                report.llmversion_verdict = message.result.verdict.value  # for -v, without parsing the JSON
                if item.config.getoption("xmlpath", None):
                    # JUnit XML reads the teardown report's properties, which pytest copies from the item
                    item.user_properties += junit_properties(message.result, state.context().catalog())
            if llm_item is not None:
                # items live until the session ends: keeping each one's samples, golden and answers alive too
                # made every full GC pass of a large suite slower (a fifth of a replayed suite's time)
                del item.stash[ITEM]
        elif call.when == "setup" and report.failed and SPEC in item.stash:
            from pytest_llmversion.run.collection import setup_error_report

            ctx = item.config.stash[STATE].context()
            report.llmversion = setup_error_report(ctx, item.nodeid, item.stash[SPEC], report.longrepr).to_message()
        return report

    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, Any] | None:
        """``-v`` shows an LLM item's verdict (REGRESSED, FORMAT_BREAK, ...) where pytest says PASSED or FAILED."""
        verdict = getattr(report, "llmversion_verdict", None)
        if verdict is None or config.get_verbosity() < 1:  # without -v, pytest's letters and summary words stay
            return None
        from pytest_llmversion.report.teststatus import verdict_status

        return verdict_status(report, verdict)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Workers hand their collection to the controller; the controller writes goldens and the report,
    unless no LLM item ran (``--collect-only``, ``--fixtures``, ``--setup-plan``, a ``-k`` that selects
    none, a run refused by its budget): then the last run's report, goldens and recordings stay as they are.
    Then what the run made is collected once and frozen with the rest (``state.freeze_run``)."""
    state = session.config.stash[STATE]
    try:
        _finish_session(session, state)
    finally:
        state.freeze_run()


def _finish_session(session: pytest.Session, state: LLMVersionState) -> None:
    if state.status_line is not None:
        state.status_line.close()  # before anything else is written
    if not state.loaded or state.results is None or state.selection is None:
        return
    ctx = state.context()
    ctx.close()  # the providers' connection pools are not needed past this point
    ahead = ctx.ahead()
    if ahead is not None and ahead.pool.counts.planned:
        sent = ahead.pool.counts.sent_ahead(ctx.concurrency())
        state.sent_ahead = sent if state.sent_ahead is None else state.sent_ahead.merge(sent)
    if state.is_worker:
        output = session.config.workeroutput  # type: ignore[attr-defined]
        output["llmversion_collected"] = state.results.collected.to_payload()
        output["llmversion_selection"] = state.selection.to_payload()
        if ctx.estimate is not None:
            output["llmversion_estimate"] = ctx.estimate.model_dump_json()
        if state.sent_ahead is not None:
            output["llmversion_sent_ahead"] = state.sent_ahead.model_dump_json()
        return
    if not len(state.results):
        return
    from pytest_llmversion.run.finish import RunEnd, finish_run
    from pytest_llmversion.version import __version__

    config = session.config
    stopped = session.shouldfail or session.shouldstop
    state.report_path = options.report_path(config, ctx)
    end = RunEnd(
        exit_status=int(session.exitstatus),
        partial=state.selection.partial_reasons(stopped if isinstance(stopped, str) else None),
        prune_unused=options.flag(config, "llm_prune_unused"),
        started_at=state.started_at,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        pytest_version=pytest.__version__,
        plugin_version=__version__,
        report_path=state.report_path,
        markdown_path=options.view_path(config, ctx, "llm_report_md"),
        html_path=options.view_path(config, ctx, "llm_report_html"),
        sent_ahead=state.sent_ahead,
        step_summary=options.step_summary_path(config),
    )
    with no_cyclic_gc():  # the report is thousands of long-lived objects and no garbage
        finished = finish_run(ctx, state.results, end)
    state.report = finished.report
    state.report_problems = finished.problems
    session.exitstatus = finished.exit_status


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The llmversion section: models, one row per candidate case, verdict counts, the gate."""
    state = config.stash[STATE]
    if state.is_worker or not state.loaded:
        return
    if state.report is None or state.report_path is None:
        from pytest_llmversion.run.finish import nothing_ran_line

        quiet = nothing_ran_line(state.context(), options.flag(config, "llm_prune_unused"))
        if quiet is not None and not config.getoption("collectonly"):
            terminalreporter.write_line(quiet)
        return
    from pytest_llmversion.report.terminal import summary_lines

    terminalreporter.write_sep("=", "llmversion")
    for line in summary_lines(state.report, state.context().rel(state.report_path)):
        terminalreporter.write_line(line)
    for problem in state.report_problems:
        terminalreporter.write_line(problem, yellow=True)


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def _llm_item(request: pytest.FixtureRequest) -> Iterator[LLMItem]:
    """The item. ``pytest_runtest_setup`` builds it and hands it over (``item_setup``); under ``--setup-show``
    it is set up here, first of the test's fixtures (``ensure_item_fixture``), so the SDK clients the
    application built are the plugin's from the first fixture's set-up to the last one's teardown."""
    spec = request.node.stash.get(SPEC, None)
    if spec is None:
        pytest.fail(f"{request.node.nodeid}: the llm fixtures need @pytest.mark.{MARKER} on the test", pytrace=False)
    built = item_setup.set_up_by_hook(request.node)
    if built is not None:  # another fixture asked for it: the hook built it, and closes what it opened
        yield built
        return
    item = request.node.stash[ITEM] = request.config.stash[STATE].context().item(spec, request.node.nodeid)
    with intercepted(request.config, request.node.nodeid, item):
        yield item


@pytest.fixture
def llm(_llm_item: LLMItem) -> LLMClient:
    """A client bound to this item's model: ``llm.complete(prompt, **params)`` returns a Completion."""
    return _llm_item.client


@pytest.fixture
def llm_model(_llm_item: LLMItem) -> ModelRef:
    """The model reference of this item's role."""
    return _llm_item.model


@pytest.fixture
def llm_role(_llm_item: LLMItem) -> str:
    """``"current"`` or ``"candidate"``."""
    return _llm_item.spec.role


@pytest.fixture
def llm_config(_llm_item: LLMItem, request: pytest.FixtureRequest) -> LLMConfig:
    """The project's LLMConfig with this item's model in place, for application code that takes one."""
    config: LLMConfig = request.config.stash[STATE].context().config
    return config.model_copy(update={"model": str(_llm_item.model)})


@pytest.fixture
def llm_case(_llm_item: LLMItem) -> Case:
    """This item's case from the marker's ``cases=`` file."""
    case = _llm_item.spec.case
    if case is None:
        pytest.fail(f'{_llm_item.nodeid}: llm_case needs @pytest.mark.{MARKER}(cases="file.yaml")', pytrace=False)
    return case


@pytest.fixture
def llm_golden(_llm_item: LLMItem) -> GoldenChecker:
    """Checks outputs against this test's golden baseline: ``llm_golden.check(output, *checks)``."""
    return _llm_item.golden_checker()


@pytest.fixture
def llm_emulator(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """A loopback emulator of the OpenAI, Anthropic and Gemini APIs for this test (stopped after it), answering
    from the project's scripted models; point an SDK at ``llm_emulator.openai_base_url`` or ``.url``."""
    from pytest_llmversion.testing.fixture import running_emulator

    ctx = request.config.stash[STATE].context()
    models = ctx.base / ctx.config.scripted_models
    with running_emulator(models, monkeypatch) as emulator:
        yield emulator
