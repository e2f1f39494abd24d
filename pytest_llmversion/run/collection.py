"""From a marked test function to its items: roles, cases, golden keys and item runners."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from pytest_llmversion.report.governance import Estimate
from pytest_llmversion.run.cases import Case, CasesFileError, load_cases
from pytest_llmversion.run.goldens import GoldenError, GoldenKey, load_golden
from pytest_llmversion.run.itemrun import ItemPlan, ItemRole, ItemRun
from pytest_llmversion.run.marker import MarkerError, MarkerSpec, parse_marker
from pytest_llmversion.run.recordings import recording_path
from pytest_llmversion.run.selection import Selection
from pytest_llmversion.run.session import Collected, RunContext, golden_key


@dataclass(frozen=True)
class ItemParam:
    """The value behind ``[current]``/``[case-candidate]`` in a test id."""

    role: ItemRole
    case: Case | None
    spec: MarkerSpec

    @property
    def id(self) -> str:
        return f"{self.case.id}-{self.role}" if self.case else self.role

    def __repr__(self) -> str:
        return self.id


def item_params(ctx: RunContext, definition: pytest.Function, marker: pytest.Mark) -> list[ItemParam]:
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
            cases = list(load_cases(path))
        except CasesFileError as exc:
            raise pytest.Collector.CollectError(f"{nodeid}: {exc}".replace(str(ctx.rootpath) + "/", "")) from None
    roles: list[ItemRole] = ["current", "candidate"] if ctx.candidate else ["current"]
    return [ItemParam(role, case, spec) for case in cases for role in roles]


def golden_key_for(ctx: RunContext, item: pytest.Item, param: ItemParam) -> GoldenKey:
    callspec = getattr(item, "callspec", None)
    full_id: str = callspec.id if callspec is not None else ""
    user_params = full_id[: -len(param.id)].rstrip("-") if full_id.endswith(param.id) else ""
    function = getattr(item, "originalname", item.name)
    cls = getattr(item, "cls", None)
    test_name = f"{cls.__name__}.{function}" if cls is not None else function
    nodeid_base = item.nodeid.split("[", 1)[0]
    return golden_key(item.path, ctx.config.goldens, test_name, user_params, param.case, nodeid_base)


def note_collected(collected: Collected, item: pytest.Item, param: ItemParam, key: GoldenKey) -> None:
    """Remember the golden this item uses; a module narrowed by ``file.py::test`` args or ``--lf`` is partial."""
    if param.role != "current":
        return
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
        callspec = getattr(item, "callspec", None)
        param = callspec.params.get("_llm_item") if callspec is not None else None
        if not isinstance(param, ItemParam) or ctx.item_samples(param.spec) < 2:
            continue
        if param.role == "candidate" or ctx.mode == "live":
            counts[param.role] += 1
    return counts


def estimate_spend(ctx: RunContext, planned: list[tuple[ItemParam, GoldenKey]]) -> Estimate:
    """``--llm-budget-usd`` before the first call: the worst case of every call the items may make, priced.
    Raises ``budget.BudgetError`` when it is above the budget or cannot be priced."""
    from pytest_llmversion.governance.budget import ItemPlan, RunShape, check_estimate, estimate
    from pytest_llmversion.governance.cost import price_of

    assert ctx.current is not None
    assert ctx.config.budget_usd is not None
    candidate = ctx.candidate
    shape = RunShape(
        ctx.mode,
        str(ctx.current),
        str(candidate) if candidate else None,
        ctx.policy.max_samples,
        ctx.policy.baseline,
        ctx.config.max_tokens,
    )
    cache = ctx.base / ctx.config.report_dir / "cache" / "goldens"
    recordings = ctx.base / ctx.config.report_dir / "recordings"
    plans = []
    for param, key in planned:
        try:
            golden = load_golden(key.path, cache)
        except GoldenError:
            golden = None  # the item reports it; it makes no baseline call either way
        per_sample = golden.calls_per_sample(0) if golden else 0
        usage = None
        if golden is not None and per_sample:
            recorded = golden.samples
            tokens_in = sum(s.usage.get("input_tokens", 0) for s in recorded) / len(recorded) / per_sample
            tokens_out = sum(s.usage.get("output_tokens", 0) for s in recorded) / len(recorded) / per_sample
            usage = (tokens_in, tokens_out)
        sends = True
        if param.role == "candidate" and candidate is not None and candidate.provider != "scripted":
            has_recording = recording_path(recordings, ctx.base, candidate, key).is_file()
            sends = ctx.record_mode in ("new", "all") or (ctx.record_mode == "once" and not has_recording)
        golden_samples = len(golden.samples) if golden else 0
        samples = ctx.item_samples(param.spec)
        plans.append(ItemPlan(param.role, str(key.path), samples, golden_samples, per_sample, usage, sends))
    catalog = ctx.catalog()
    result, unpriced = estimate(shape, plans, ctx.config.budget_usd, lambda model: price_of(catalog, model))
    check_estimate(result, unpriced)
    return result


def item_run(ctx: RunContext, item: pytest.Item, param: ItemParam, key: GoldenKey) -> ItemRun:
    return ctx.item_run(ItemPlan(param.role, param.case, param.spec, key), item.nodeid)


def setup_error_data(
    ctx: RunContext, item: pytest.Item, param: ItemParam, key: GoldenKey, report: Any
) -> dict[str, Any]:
    """An item whose fixtures failed still appears in the report, as ERROR with the first line why."""
    longrepr = str(report.longrepr).strip().splitlines()
    # the exception line (RuntimeError: database is down), not where it was raised
    crash = getattr(getattr(report.longrepr, "reprcrash", None), "message", None)
    model = ctx.current if param.role == "current" else ctx.candidate
    return {
        "nodeid": item.nodeid,
        "test": key.test_nodeid,
        "case": param.case.id if param.case else None,
        "role": param.role,
        "model": str(model),
        "mode": ctx.mode,
        "verdict": "ERROR",
        "passed": False,
        "golden": ctx.rel(key.path),
        "message": f"setup failed: {crash or (longrepr[-1] if longrepr else 'no details')}".splitlines()[0],
    }
