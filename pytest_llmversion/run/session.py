"""The run: resolved models and mode, item runners, and what the controller does at session end.

Nothing here imports pytest: the plugin module passes plain values in and reads plain values out,
so everything can be tested directly.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pytest_llmversion.client import LLMClient
from pytest_llmversion.config import LLMConfig, ResolvedConfig
from pytest_llmversion.governance.budget import Ledger, LocalLedger, SharedLedger, SpendCap
from pytest_llmversion.governance.catalog import Catalog
from pytest_llmversion.governance.cost import price_of
from pytest_llmversion.governance.startup import Governance
from pytest_llmversion.governance.startup import finish as finish_governance
from pytest_llmversion.governance.startup import load as load_catalog
from pytest_llmversion.judge.comparison import GatePolicy
from pytest_llmversion.judge.suite_gate import suite_statistics
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.prompts.registry import PromptRegistry
from pytest_llmversion.providers import ProviderFactory, Router
from pytest_llmversion.providers.lasting import LastingFailures
from pytest_llmversion.providers.router import CallGuard, Guards
from pytest_llmversion.report.governance import Estimate
from pytest_llmversion.report.provider_notes import provider_notices, served_model_warnings
from pytest_llmversion.report.schema import ModelInfo, Report, ReportItem, RunInfo, build_summary
from pytest_llmversion.run.cases import Case
from pytest_llmversion.run.goldens import GoldenKey, belongs_to, golden_files, is_golden_file, write_golden
from pytest_llmversion.run.itemrun import ItemPlan, ItemRun, Mode
from pytest_llmversion.run.marker import MarkerSpec
from pytest_llmversion.run.recordings import (
    ItemRecorder,
    RecordMode,
    legacy_recording_path,
    recording_path,
    write_recordings,
)


@dataclass
class RunContext:
    """Everything an LLM item needs to know about the run; one per pytest process."""

    resolved: ResolvedConfig
    rootpath: Path
    mode: Mode
    current: ModelRef | None
    candidate: ModelRef | None
    samples: int
    tolerance: float
    candidate_prompt: Literal["current", "own"] = "current"
    policy: GatePolicy = field(default_factory=GatePolicy)
    #: Compared items (samples >= 2) per role among the collected items: the m of the per-case q / m.
    family_sizes: dict[str, int] = field(default_factory=dict)
    #: Catalogue, pinning, deprecations and budgets; set on the controller at start-up.
    governance: Governance | None = None
    record_mode: RecordMode = "none"
    record_mode_source: str = "default"
    #: ``--llm-budget-usd``: the worst case of every call this run may make, priced after collection.
    estimate: Estimate | None = None
    #: The spend ledger's file when pytest-xdist workers share it (the controller creates it).
    ledger_path: Path | None = None
    _guard: Guards | None = None
    _ledger: Ledger | None = None
    _factory: ProviderFactory | None = None
    _routers: dict[ModelRef, Router] = field(default_factory=dict)
    _registry: PromptRegistry | None = None
    _catalog: Catalog | None = None
    _rejected: dict[ModelRef, tuple[str, ...]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> Path:
        """The project folder: where pyproject.toml is, else pytest's rootdir."""
        return self.resolved.pyproject.parent if self.resolved.pyproject else self.rootpath

    @property
    def config(self) -> LLMConfig:
        return self.resolved.config

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.rootpath))
        except ValueError:
            return str(path)

    def factory(self) -> ProviderFactory:
        with self._lock:
            if self._factory is None:
                self._factory = ProviderFactory(self.config, self.base)
            return self._factory

    def router(self, ref: ModelRef) -> Router:
        if ref not in self._routers:
            self._routers[ref] = self.factory().router(ref, guard=self.guard(), rejected_params=self.rejected_params)
        return self._routers[ref]

    def guard(self) -> Guards:
        """What every live attempt of this run passes first: failures that would repeat, then the budget cap."""
        if self._guard is None:
            guards: list[CallGuard] = [LastingFailures()]
            budget = self.config.budget_usd
            if budget is not None:
                catalog = self.catalog()
                guards.append(SpendCap(budget, self.ledger(), partial(price_of, catalog), self._max_output(catalog)))
            self._guard = Guards(guards)
        return self._guard

    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = SharedLedger(self.ledger_path) if self.ledger_path is not None else LocalLedger()
        return self._ledger

    def _max_output(self, catalog: Catalog) -> Callable[[str], int | None]:
        def max_output(model: str) -> int | None:
            entry = catalog.get(model)
            return self.config.max_tokens or (entry.max_output_tokens if entry is not None else None)

        return max_output

    def rejected_params(self, ref: ModelRef) -> tuple[str, ...]:
        """The parameters the catalogue says ``ref`` rejects; asked on every call, so kept per model."""
        rejected = self._rejected.get(ref)
        if rejected is None:
            rejected = self._rejected[ref] = self.catalog().rejected_params(ref)
        return rejected

    def catalog(self) -> Catalog:
        if self.governance is not None:
            return self.governance.catalog
        with self._lock:
            # an xdist worker has no governance of its own: it reads the catalogue the controller checked
            if self._catalog is None:
                self._catalog = load_catalog(self.resolved, self.base)
            return self._catalog

    def close(self) -> None:
        if self._factory is not None:
            self._factory.close()
        if isinstance(self._ledger, SharedLedger):
            self._ledger.close()

    def registry(self) -> PromptRegistry:
        if self._registry is None:
            self._registry = PromptRegistry.load(self.config.prompts, self.base)
        return self._registry

    def defaults(self) -> dict[str, Any]:
        c = self.config
        return {"temperature": c.temperature, "max_tokens": c.max_tokens, "seed": c.seed}

    def item_samples(self, spec: MarkerSpec) -> int:
        return spec.samples or self.samples

    def item_run(self, plan: ItemPlan, nodeid: str) -> ItemRun:
        assert self.current is not None
        model = self.current if plan.role == "current" else self.candidate
        assert model is not None
        spec = plan.spec
        return ItemRun(
            plan,
            nodeid=nodeid,
            mode=self.mode,
            model=model,
            current=self.current,
            samples=self.item_samples(spec),
            tolerance=spec.tolerance if spec.tolerance is not None else self.tolerance,
            candidate_prompt=self.candidate_prompt,
            route=self.router,
            client_factory=lambda run: LLMClient(
                model, run.send, self.defaults(), self.registry, rejected_params=self.rejected_params
            ),
            rel=self.rel,
            golden_cache=self.base / self.config.report_dir / "cache" / "goldens",
            policy=self.policy,
            threshold=spec.threshold if spec.threshold is not None else self.policy.threshold,
            family_size=max(1, self.family_sizes.get(plan.role, 0)),
            # scripted models are local and deterministic: a recording of one would only hide edits to its file
            recorder=self.recorder(plan, model) if plan.role == "candidate" and model.provider != "scripted" else None,
        )

    def recorder(self, plan: ItemPlan, model: ModelRef) -> ItemRecorder:
        root = self.base / self.config.report_dir / "recordings"
        path = recording_path(root, self.base, model, plan.key)
        legacy = legacy_recording_path(root, self.base, model, plan.key)
        case = plan.case.id if plan.case else None
        source = self.record_mode_source
        return ItemRecorder(
            path,
            self.rel(path),
            self.record_mode,
            model,
            plan.key.test_nodeid,
            case,
            source,
            legacy=(legacy, self.rel(legacy)) if legacy is not None else None,
        )


def golden_key(
    test_file: Path, goldens: str, test_name: str, user_params: str, case: Case | None, nodeid_base: str
) -> GoldenKey:
    name = f"{test_name}[{user_params}]" if user_params else test_name
    shown = f"{nodeid_base}[{user_params}]" if user_params else nodeid_base
    return GoldenKey(test_file.parent / goldens / test_file.stem, name, case.id if case else None, shown)


# -- session end (controller only) ------------------------------------------------------------------


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


def unused_goldens(collected: Collected) -> list[Path]:
    """Golden files no collected test can use: only in folders whose whole module was collected."""
    unused: list[Path] = []
    roots: set[Path] = set()
    still_read = collected.still_read()
    for folder, expected in sorted(collected.expected.items()):
        roots.add(Path(folder).parent)
        if folder in collected.partial:
            continue
        used = expected | still_read
        unused += [p for p in golden_files(Path(folder)) if str(p) not in used and is_golden_file(p)]
    for goldens_root in sorted(r for r in roots if r.is_dir()):
        # a folder whose test module is gone can never be used again
        for module_folder in sorted(p for p in goldens_root.iterdir() if p.is_dir()):
            if not (goldens_root.parent / f"{module_folder.name}.py").exists():
                unused += [p for p in golden_files(module_folder) if is_golden_file(p)]
    return sorted(set(unused))


@dataclass
class GoldenWrites:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: legacy-named files replaced by the golden just written under the new name (a rename in the diff)
    renamed: list[str] = field(default_factory=list)


def write_recorded_goldens(
    items: Iterable[Mapping[str, Any]], rootpath: Path, legacy: Mapping[str, str] | None = None
) -> GoldenWrites:
    """Write the golden of every item that recorded and passed; each file whole, atomically.

    ``legacy`` maps a golden path to its name in earlier versions: that file is removed once the golden
    is written, when it is this test's (legacy names collided: it may be another test's golden).
    """
    result = GoldenWrites()
    for item in items:
        doc = item.get("golden_doc")
        if not doc:
            continue
        path = rootpath / item["golden"]
        changed = write_golden(path, doc, item.get("rerecord", item["nodeid"]))
        (result.written if changed else result.unchanged).append(item["golden"])
        old = (legacy or {}).get(str(path))
        if old is not None and belongs_to(Path(old), doc["test"], doc.get("case")):
            result.renamed += [_rel(p, rootpath) for p in prune([Path(old)])]
    return result


def write_candidate_goldens(items: list[dict[str, Any]], ctx: RunContext) -> None:
    """Keep each candidate item's answers, in golden form, for ``llmversion promote``.

    They go to ``<report_dir>/candidate/<golden path>``; the folder holds only this run's files, and
    each report item names its file in ``candidate_golden``.
    """
    folder = ctx.base / ctx.config.report_dir / "candidate"
    if not any(item.get("role") == "candidate" for item in items):
        return
    if folder.is_dir():
        shutil.rmtree(folder)
    for item in items:
        doc = item.get("candidate_doc")
        if doc:
            path = folder / item["golden"]
            write_golden(path, doc, item.get("rerecord", item["nodeid"]))
            item["candidate_golden"] = ctx.rel(path)


def prune(paths: Iterable[Path]) -> list[Path]:
    removed = []
    for path in paths:
        if is_golden_file(path):
            path.unlink()
            removed.append(path)
            parent = path.parent
            while parent.name and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
    return removed


@dataclass
class Results:
    """What the controller gathers from the test reports (identical with and without xdist).

    Each item's data arrives as one JSON string and stays one until the session ends: a string is
    invisible to the cyclic garbage collector, where thousands of nested dicts made every full
    collection of a large suite slower.
    """

    collected: Collected = field(default_factory=Collected)
    _raw: list[str] = field(default_factory=list)
    _items: list[dict[str, Any]] | None = None

    def add(self, data: str | Mapping[str, Any]) -> None:
        self._raw.append(data if isinstance(data, str) else json.dumps(data))
        self._items = None

    @property
    def items(self) -> list[dict[str, Any]]:
        if self._items is None:
            self._items = [json.loads(raw) for raw in self._raw]
        return self._items

    def __len__(self) -> int:
        return len(self._raw)


def finish_run(
    ctx: RunContext,
    results: Results,
    *,
    partial: list[str],
    prune_unused: bool,
    started_at: str,
    finished_at: str,
    pytest_version: str,
    plugin_version: str,
) -> Report:
    """Controller, session end: write recorded goldens, find unused ones, build the report."""
    write_candidate_goldens(results.items, ctx)
    items = [
        ReportItem.model_validate(_without(item, "golden_doc", "candidate_doc", "rerecord", "recording_doc"))
        for item in results.items
    ]
    items.sort(key=lambda i: (i.role != "candidate", i.nodeid))
    writes = write_recorded_goldens(results.items, ctx.rootpath, results.collected.legacy)
    recordings = write_recordings(results.items, ctx.rootpath)
    unused = unused_goldens(results.collected)
    removed = prune(unused) if prune_unused else []
    statistics = suite_statistics(items, ctx.policy)
    cost, budget_reasons = finish_governance(ctx.governance, items) if ctx.governance else (None, [])
    not_called = Counter(item.not_called for item in items if item.not_called)
    summary = build_summary(
        items,
        statistics=statistics,
        not_called=dict(sorted(not_called.items())),
        extra_reasons=budget_reasons,
        cost=cost,
        goldens_written=writes.written,
        goldens_unchanged=len(writes.unchanged),
        goldens_renamed=writes.renamed,
        unused_goldens=[ctx.rel(p) for p in unused],
        pruned_goldens=[ctx.rel(p) for p in removed],
        recordings_written=recordings,
        served_model_warnings=served_model_warnings(items),
        provider_notices=provider_notices(items),
    )
    resolved = ctx.resolved
    run = RunInfo(
        plugin_version=plugin_version,
        pytest_version=pytest_version,
        started_at=started_at,
        finished_at=finished_at,
        mode=ctx.mode,
        current=ModelInfo(model=str(ctx.current), source=resolved.source("model")) if ctx.current else None,
        candidate=(
            ModelInfo(model=str(ctx.candidate), source=resolved.source("candidate_model")) if ctx.candidate else None
        ),
        tolerance=ctx.tolerance,
        samples=ctx.samples,
        max_samples=ctx.policy.max_samples,
        baseline=ctx.policy.baseline,
        threshold=ctx.policy.threshold,
        alpha=ctx.policy.alpha,
        margin=ctx.policy.margin,
        noninferiority=ctx.policy.noninferiority,
        config_file=ctx.rel(resolved.pyproject) if resolved.pyproject else None,
        config_hash=config_hash(resolved.table),
        rootdir=str(ctx.rootpath),
        governance=ctx.governance.info() if ctx.governance else None,
        partial=bool(partial),
        partial_reasons=partial,
    )
    if run.governance is not None and ctx.estimate is not None:
        refused = sum(n for cause, n in not_called.items() if cause.startswith("--llm-budget-usd"))
        spent = round(ctx.ledger().spent(), 8)
        run.governance.estimate = ctx.estimate.model_copy(update={"spent_usd": spent, "refused": refused})
    if ctx.ledger_path is not None:
        ctx.ledger_path.unlink(missing_ok=True)  # the run's shared ledger; the report keeps what it spent
    return Report(run=run, items=items, summary=summary)


def _rel(path: Path, rootpath: Path) -> str:
    try:
        return str(path.relative_to(rootpath))
    except ValueError:
        return str(path)


def config_hash(table: Mapping[str, Any]) -> str:
    """Identifies the ``[tool.llmversion]`` a report was made with (the candidate aside)."""
    kept = {k: v for k, v in table.items() if k not in ("candidate_model", "previous_model")}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _without(data: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}
