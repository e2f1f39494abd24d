"""From a marked test function to its items: roles, cases, the goldens they read, what the run leaves out."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import pytest

from pytest_llmversion.run.cases import Case, CasesFileError, load_cases
from pytest_llmversion.run.context import RunContext
from pytest_llmversion.run.gather import Collected
from pytest_llmversion.run.goldens import GoldenKey
from pytest_llmversion.run.marker import MarkerError, parse_marker
from pytest_llmversion.run.result import ItemReport
from pytest_llmversion.run.result import setup_error_report as setup_error_report_for
from pytest_llmversion.run.selection import Selection
from pytest_llmversion.run.spec import ItemRole, ItemSpec

#: The fixture every LLM item is parametrized through (its value: the item's ``ItemSpec``).
ITEM_FIXTURE = "_llm_item"


def item_specs(ctx: RunContext, definition: pytest.Function, marker: pytest.Mark) -> list[ItemSpec]:
    nodeid = definition.nodeid
    try:
        spec = parse_marker(nodeid, marker.args, marker.kwargs)
    except MarkerError as exc:
        raise pytest.Collector.CollectError(str(exc)) from None
    if ctx.current is None:
        raise pytest.Collector.CollectError(
            f"pytest-llmversion: {nodeid} is marked {marker.name} but no current model is configured; set model "
            "in [tool.llmversion] of pyproject.toml, LLMVERSION_MODEL, or --current-model=provider/model-id"
        )
    cases: list[Case | None] = [None]
    if spec.cases is not None:
        path = definition.path.parent / spec.cases
        try:
            cases = list(load_cases(path, ctx.cases_cache))
        except CasesFileError as exc:
            raise pytest.Collector.CollectError(f"{nodeid}: {exc}".replace(str(ctx.rootpath) + "/", "")) from None
    roles: list[ItemRole] = ["current", "candidate"] if ctx.candidate else ["current"]
    return [ItemSpec(role, case, spec) for case in cases for role in roles]


def spec_of(item: pytest.Item) -> ItemSpec | None:
    """The ``ItemSpec`` an LLM item was parametrized with; None for any other item."""
    callspec = getattr(item, "callspec", None)
    value = callspec.params.get(ITEM_FIXTURE) if callspec is not None else None
    return value if isinstance(value, ItemSpec) else None


def keyed_spec(ctx: RunContext, item: pytest.Item, spec: ItemSpec) -> ItemSpec:
    """The spec with the golden it reads, named from the test's full id (its own parametrization included)."""
    callspec = getattr(item, "callspec", None)
    full_id: str = callspec.id if callspec is not None else ""
    user_params = full_id[: -len(spec.id)].rstrip("-") if full_id.endswith(spec.id) else ""
    function = getattr(item, "originalname", item.name)
    cls = getattr(item, "cls", None)
    test_name = f"{cls.__name__}.{function}" if cls is not None else function
    name = f"{test_name}[{user_params}]" if user_params else test_name
    nodeid_base = item.nodeid.split("[", 1)[0]
    shown = f"{nodeid_base}[{user_params}]" if user_params else nodeid_base
    folder = _golden_folder(item.path, ctx.config.goldens)
    return spec.keyed(GoldenKey(folder, name, spec.case.id if spec.case else None, shown))


@lru_cache(maxsize=512)
def _golden_folder(module: Path, goldens: str) -> Path:
    """The goldens of a test module: the same for all its items, so made once."""
    return module.parent / goldens / module.stem


def note_collected(collected: Collected, item: pytest.Item, spec: ItemSpec) -> None:
    """Remember the golden this item uses; a module narrowed by ``file.py::test`` args or ``--lf`` is partial."""
    if spec.role != "current":
        return
    key = spec.golden_key
    narrowed = _narrowed_files(tuple(item.config.args), item.config.invocation_params.dir)
    # --lf drops passing tests while modules are collected, before this hook sees them
    last_failed_only = bool(item.config.getoption("lf", False))
    collected.add(key.folder, key.path, partial=last_failed_only or item.path in narrowed, legacy=key.legacy_path)


@cache
def _narrowed_files(args: tuple[str, ...], invocation_dir: Path) -> frozenset[Path]:
    return frozenset((invocation_dir / arg.split("::", 1)[0]).resolve() for arg in args if "::" in arg)


def note_selection(selection: Selection, session: pytest.Session, llm_items: int) -> None:
    """After deselection: how many LLM items will run, and what the command line left out (a partial run)."""
    config = session.config
    selection.note_collection(
        selected=llm_items,
        deselected_by=_deselecting_options(config),
        node_ids=[arg for arg in config.args if "::" in arg],  # tests named, not folders or files
        last_failed=_last_failed_only(config),
    )


def _deselecting_options(config: pytest.Config) -> list[str]:
    """The options of this run that deselect tests, as the user wrote them (``--lf`` is told apart)."""
    used = []
    for dest, flag in (("keyword", "-k"), ("markexpr", "-m")):
        value = config.getoption(dest, "")
        if value:
            used.append(f"{flag} {value!r}")
    if config.getoption("deselect", None):
        used.append("--deselect")
    if config.getoption("stepwise", False):
        used.append("--sw")
    return used


def _last_failed_only(config: pytest.Config) -> bool:
    """``--lf`` with failures on record: only those tests (and their files) are collected."""
    if not config.getoption("lf", False):
        return False
    return bool(getattr(config.pluginmanager.get_plugin("lfplugin"), "lastfailed", None))


def count_compared(ctx: RunContext, items: list[pytest.Item]) -> dict[str, int]:
    """Items per role that will be compared with samples (k >= 2): the family each per-case test corrects
    for. Current items are compared only under ``--llm-live`` (with their goldens)."""
    counts = {"candidate": 0, "current": 0}
    for item in items:
        spec = spec_of(item)
        if spec is None or ctx.item_samples(spec.marker) < 2:
            continue
        if spec.role == "candidate" or ctx.mode == "live":
            counts[spec.role] += 1
    return counts


def setup_error_report(ctx: RunContext, nodeid: str, spec: ItemSpec, longrepr: Any) -> ItemReport:
    """An item whose fixtures failed still appears in the report, as ERROR with the first line why."""
    lines = str(longrepr).strip().splitlines()
    # the exception line (RuntimeError: database is down), not where it was raised
    crash = getattr(getattr(longrepr, "reprcrash", None), "message", None)
    model = ctx.current if spec.role == "current" else ctx.candidate
    why = crash or (lines[-1] if lines else "no details")
    return setup_error_report_for(spec, nodeid, model, ctx.mode, ctx.rel(spec.golden_key.path), why)


def ensure_item_fixture(item: pytest.Item) -> None:
    """A marked test that asks for no llm fixture is still judged: pytest pruned the parametrized
    ``_llm_item`` from its fixture closure (nothing requested it), so it is added back and set up. It goes
    first (it needs no other fixture): the SDK clients the application built are the plugin's from the
    first fixture's set-up to the last one's teardown (``sdk.intercept``)."""
    fixturenames = getattr(item, "fixturenames", None)
    if fixturenames is None:
        return
    if ITEM_FIXTURE in fixturenames:
        fixturenames.remove(ITEM_FIXTURE)
    fixturenames.insert(0, ITEM_FIXTURE)


def upcoming(item: pytest.Item, nextitem: pytest.Item | None, positions: dict[str, int]) -> Iterator[pytest.Item]:
    """The items this process will run, from ``item`` on, in order: the session's items in a plain run
    (``positions``: each item's index in them); under
    pytest-xdist, the ones the worker was handed (its queue, read without taking from it), or when that
    cannot be read, the item and the next one pytest names."""
    session = item.session
    worker = _xdist_worker(item.config)
    if worker is None:
        start = positions.get(item.nodeid)
        if start is None:
            yield item
            return
        yield from session.items[start:]
        return
    yield item
    if nextitem is not None:
        yield nextitem
    queue = getattr(worker, "torun", None)
    lock = getattr(queue, "lock", None)
    if lock is None:
        return
    with lock() as indices:
        pending = [i for i in indices if isinstance(i, int)]
    yield from (session.items[i] for i in pending if i < len(session.items))


def _xdist_worker(config: pytest.Config) -> object | None:
    if not hasattr(config, "workerinput"):
        return None
    # xdist registers its worker loop as a plugin; its queue of item indices is what this worker runs next
    return next((p for p in config.pluginmanager.get_plugins() if type(p).__name__ == "WorkerInteractor"), None)
