"""pytest hooks and fixtures of pytest-llmversion. Each hook validates, then delegates.

Loaded through the ``pytest11`` entry point ``llmversion`` (disable it with ``-p no:llmversion``).
At start-up it imports pytest and the standard library only: a suite without ``llm_regression``
tests never pays for pydantic, YAML or a provider SDK.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import json
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_llmversion import options
from pytest_llmversion.run.marker import MARKER, MARKER_HELP
from pytest_llmversion.sdk_fixtures import (  # noqa: F401 - fixtures, registered with this module
    llm_anthropic,
    llm_anthropic_async,
    llm_gemini,
    llm_gemini_async,
    llm_openai,
    llm_openai_async,
)

if TYPE_CHECKING:
    from pytest_llmversion.checks import Check, CheckResult
    from pytest_llmversion.client import LLMClient
    from pytest_llmversion.config import LLMConfig
    from pytest_llmversion.modelref import ModelRef
    from pytest_llmversion.report.schema import Report
    from pytest_llmversion.run.cases import Case
    from pytest_llmversion.run.collection import ItemParam  # noqa: F401 - named in a StashKey string
    from pytest_llmversion.run.goldens import GoldenKey  # noqa: F401 - named in a StashKey string
    from pytest_llmversion.run.itemrun import ItemRun
    from pytest_llmversion.run.selection import Selection
    from pytest_llmversion.run.session import Results, RunContext
    from pytest_llmversion.testing import Emulator


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
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.froze_gc = False

    @property
    def loaded(self) -> bool:
        return self._context is not None

    def context(self) -> RunContext:
        if self._context is None:
            # Importing pydantic, YAML and the plugin's models allocates only long-lived objects; the
            # cyclic GC would rescan the whole growing heap several times meanwhile, for nothing.
            with _no_cyclic_gc():
                from pytest_llmversion.run.selection import Selection
                from pytest_llmversion.run.session import Results

                self._context = options.build_context(self.config)
                self.results = Results()
                self.selection = Selection()
        return self._context

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """On the controller (or a plain run), gather each item's result from its report, and which LLM
        items finished (a skipped one too), to tell a run that stopped early."""
        if self.is_worker:
            return
        data = getattr(report, "llmversion", None)
        if data is not None:
            self.context()
            assert self.results is not None
            self.results.add(data)
        elif report.when == "teardown" and getattr(report, "llmversion_item", False):
            self.context()
            assert self.selection is not None
            self.selection.finished.add(report.nodeid)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a block allocates only objects that stay alive."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


STATE = pytest.StashKey[LLMVersionState]()
ITEM_RUN = pytest.StashKey["ItemRun"]()
ITEM_PARAM = pytest.StashKey["ItemParam"]()
ITEM_KEY = pytest.StashKey["GoldenKey"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """All options in one group: ``--current-model``, ``--candidate-model`` and ``--llm-*``."""
    options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker; resolve the config at start-up when the project uses the plugin, so a
    bad value stops the run with one line before anything is collected."""
    config.addinivalue_line("markers", MARKER_HELP)
    state = LLMVersionState(config)
    config.stash[STATE] = state
    config.pluginmanager.register(state, "llmversion-state")
    if options.project_uses_plugin(config):
        state.context()
    if config.pluginmanager.hasplugin("xdist") or config.pluginmanager.hasplugin("xdist.plugin"):
        from pytest_llmversion.xdist_support import XdistHooks

        config.pluginmanager.register(XdistHooks(state), "llmversion-xdist")


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """Show the resolved models and where each one came from."""
    state = config.stash[STATE]
    return options.header_lines(state.context()) if state.loaded else None


@pytest.hookimpl(trylast=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize each ``llm_regression`` test by role (and case); runs last so the role ends the id."""
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None:
        return
    from pytest_llmversion.run.collection import item_params

    params = item_params(metafunc.config.stash[STATE].context(), metafunc.definition, marker)
    metafunc.fixturenames.append("_llm_item")
    metafunc.parametrize("_llm_item", params, ids=[p.id for p in params], indirect=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Before ``-k``/``-m`` deselect anything, note the goldens collected tests use (for the unused
    list) and add tags as keywords, so ``-k edge`` selects by tag."""
    state = config.stash[STATE]
    if not state.loaded:
        return
    from pytest_llmversion.run.collection import ItemParam, golden_key_for, note_collected

    ctx = state.context()
    assert state.results is not None
    for item in items:
        callspec = getattr(item, "callspec", None)
        param = callspec.params.get("_llm_item") if callspec is not None else None
        if isinstance(param, ItemParam):
            key = item.stash[ITEM_KEY] = golden_key_for(ctx, item, param)
            item.stash[ITEM_PARAM] = param
            item.extra_keyword_matches.update((*param.spec.tags, *(param.case.tags if param.case else ())))
            note_collected(state.results.collected, item, param, key)
            fixturenames = getattr(item, "fixturenames", None)
            if fixturenames is not None and "_llm_item" not in fixturenames:
                # a marked test that asks for no llm fixture is still judged: pytest pruned the
                # parametrized _llm_item from its fixture closure, so it is set up explicitly
                fixturenames.append("_llm_item")


def pytest_deselected(items: list[pytest.Item]) -> None:
    """LLM items ``-k``, ``-m``, ``--deselect``, ``--lf`` or ``--sw`` leave out make the report partial."""
    state = items[0].config.stash[STATE] if items else None
    if state is not None and state.loaded:
        state.context()
        assert state.selection is not None
        state.selection.deselected += sum(ITEM_PARAM in item.stash for item in items)


@pytest.hookimpl(tryfirst=True)  # before the terminal reporter asks for pytest_report_collectionfinish lines
def pytest_collection_finish(session: pytest.Session) -> None:
    """After deselection, count the compared candidate cases that will run: each case is judged at
    q / m while it runs, m being that count (the same on every xdist worker, which all collect). Note
    what the run leaves out, for a partial report."""
    state = session.config.stash[STATE]
    if not state.loaded:
        return
    from pytest_llmversion.run.collection import count_compared, note_selection

    ctx = state.context()
    ctx.family_sizes = count_compared(ctx, session.items)
    if ctx.config.budget_usd is not None:
        _check_budget(state, session)
    assert state.selection is not None
    note_selection(state.selection, session, sum(ITEM_PARAM in item.stash for item in session.items))
    if state.selection.selected:
        # What exists now (pydantic, YAML, the SDKs, every collected item) lives for the whole run. Left in
        # the collector's generations, every full GC pass of a long run rescans it; frozen, it is skipped.
        # It is unfrozen when pytest unconfigures.
        gc.freeze()
        state.froze_gc = True


def _check_budget(state: LLMVersionState, session: pytest.Session) -> None:
    """``--llm-budget-usd``: price every call the collected items may make before the first is sent."""
    from pytest_llmversion.governance.budget import BudgetError
    from pytest_llmversion.run.collection import estimate_spend

    ctx = state.context()
    planned = [(item.stash[ITEM_PARAM], item.stash[ITEM_KEY]) for item in session.items if ITEM_PARAM in item.stash]
    try:
        ctx.estimate = estimate_spend(ctx, planned)
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
    if not state.loaded or state.context().estimate is None:
        return None
    from pytest_llmversion.governance.budget import estimate_line

    estimate = state.context().estimate
    assert estimate is not None
    return [f"llmversion: {estimate_line(estimate)}"]


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Last of all, so pytest's own final collections still skip what was frozen."""
    state = config.stash.get(STATE, None)
    if state is not None and state.froze_gc:
        gc.unfreeze()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run the body once per sample (fixtures set up once), then decide the item's verdict."""
    run = pyfuncitem.stash.get(ITEM_RUN, None)
    if run is None:
        return None
    function = pyfuncitem.obj
    if inspect.iscoroutinefunction(function):
        pytest.fail(
            f"{pyfuncitem.nodeid}: async llm_regression tests are not supported; write a plain test that runs "
            "your coroutine with asyncio.run(...) (the async SDK fixtures work there)",
            pytrace=False,
        )
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    outcome = run.run(lambda: function(**args), (Exception, pytest.fail.Exception))
    pyfuncitem.user_properties += [("llm_verdict", outcome.verdict.value), ("llm_model", str(run.model))]
    if not outcome.passed:
        error = run.reraise
        if error is not None:
            raise error
        pytest.fail(outcome.message, pytrace=False)
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Results ride on the test report, so the xdist controller receives them unchanged."""
    report = yield
    if call.when == "teardown" and ITEM_PARAM in item.stash:
        report.llmversion_item = True  # the controller counts the LLM items that ran to their end
    elif call.when == "call":
        run = item.stash.get(ITEM_RUN, None)
        if run is not None and run.outcome is not None:
            report.llmversion = json.dumps(run.report_data())
        if run is not None:
            # items live until the session ends: keeping each one's samples, golden and answers alive too
            # made every full GC pass of a large suite slower (a fifth of a replayed suite's time)
            del item.stash[ITEM_RUN]
    elif call.when == "setup" and report.failed and ITEM_PARAM in item.stash:
        from pytest_llmversion.run.collection import setup_error_data

        ctx = item.config.stash[STATE].context()
        report.llmversion = json.dumps(
            setup_error_data(ctx, item, item.stash[ITEM_PARAM], item.stash[ITEM_KEY], report)
        )
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Workers hand their collection to the controller; the controller writes goldens and the report,
    unless no LLM item ran (``--collect-only``, ``--fixtures``, ``--setup-plan``, a ``-k`` that selects
    none): then the last run's report, goldens and recordings stay as they are."""
    state = session.config.stash[STATE]
    if not state.loaded or state.results is None or state.selection is None:
        return
    state.context().close()  # the providers' connection pools are not needed past this point
    if state.is_worker:
        output = session.config.workeroutput  # type: ignore[attr-defined]
        output["llmversion_collected"] = state.results.collected.to_payload()
        output["llmversion_selection"] = state.selection.to_payload()
        if state.context().estimate is not None:
            output["llmversion_estimate"] = state.context().estimate.model_dump_json()  # type: ignore[union-attr]
        return
    if not len(state.results):
        return  # no LLM item ran (nothing selected, or the run was refused): the last report stands
    from pytest_llmversion.run import reporting

    ctx = state.context()
    stopped = session.shouldfail or session.shouldstop
    partial = state.selection.partial_reasons(stopped if isinstance(stopped, str) else None)
    state.report_path = reporting.report_path(ctx, session.config.getoption("llm_report"))
    with _no_cyclic_gc():  # the report is thousands of long-lived objects and no garbage
        state.report = reporting.finish(ctx, state.results, session, state.started_at, state.report_path, partial)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The llmversion section: models, one row per candidate case, verdict counts, the gate."""
    state = config.stash[STATE]
    if state.is_worker or not state.loaded:
        return
    from pytest_llmversion.run import reporting

    if state.report is None or state.report_path is None:
        quiet = reporting.nothing_ran_line(state.context(), bool(config.getoption("llm_prune_unused")))
        if quiet is not None and not config.getoption("collectonly"):
            terminalreporter.write_line(quiet)
        return

    terminalreporter.write_sep("=", "llmversion")
    for line in reporting.terminal_lines(state.context(), state.report, state.report_path):
        terminalreporter.write_line(line)


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def _llm_item(request: pytest.FixtureRequest) -> ItemRun:
    param = request.node.stash.get(ITEM_PARAM, None)
    if param is None:
        pytest.fail(f"{request.node.nodeid}: the llm fixtures need @pytest.mark.{MARKER} on the test", pytrace=False)
    from pytest_llmversion.run.collection import item_run

    run = item_run(request.config.stash[STATE].context(), request.node, param, request.node.stash[ITEM_KEY])
    request.node.stash[ITEM_RUN] = run
    return run


@pytest.fixture
def llm(_llm_item: ItemRun) -> LLMClient:
    """A client bound to this item's model: ``llm.complete(prompt, **params)`` returns a Completion."""
    return _llm_item.client


@pytest.fixture
def llm_model(_llm_item: ItemRun) -> ModelRef:
    """The model reference of this item's role."""
    return _llm_item.model


@pytest.fixture
def llm_role(_llm_item: ItemRun) -> str:
    """``"current"`` or ``"candidate"``."""
    return _llm_item.plan.role


@pytest.fixture
def llm_config(_llm_item: ItemRun, request: pytest.FixtureRequest) -> LLMConfig:
    """The project's LLMConfig with this item's model in place, for application code that takes one."""
    config: LLMConfig = request.config.stash[STATE].context().config
    return config.model_copy(update={"model": str(_llm_item.model)})


@pytest.fixture
def llm_case(_llm_item: ItemRun) -> Case:
    """This item's case from the marker's ``cases=`` file."""
    case = _llm_item.plan.case
    if case is None:
        pytest.fail(f'{_llm_item.nodeid}: llm_case needs @pytest.mark.{MARKER}(cases="file.yaml")', pytrace=False)
    return case


class GoldenChecker:
    """``llm_golden.check(output, *checks)`` scores an output; the verdict is decided after the body."""

    def __init__(self, run: ItemRun) -> None:
        self._run = run

    @property
    def path(self) -> Path:
        return self._run.plan.key.path

    def check(self, output: Any, *checks: Check) -> list[CheckResult]:
        return self._run.check(output, checks)


@pytest.fixture
def llm_golden(_llm_item: ItemRun) -> GoldenChecker:
    """Checks outputs against this test's golden baseline."""
    return GoldenChecker(_llm_item)


@pytest.fixture
def llm_emulator(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """A loopback emulator of the OpenAI, Anthropic and Gemini APIs for this test (stopped after it), answering
    from the project's scripted models; point an SDK at ``llm_emulator.openai_base_url`` or ``.url``."""
    from pytest_llmversion.testing.fixture import running_emulator

    state = request.config.stash[STATE]
    models = state.context().base / state.context().config.scripted_models if state.loaded else None
    with running_emulator(models, monkeypatch) as emulator:
        yield emulator
