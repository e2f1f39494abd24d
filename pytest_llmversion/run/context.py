"""The run: its settings (models, mode, samples, gate policy), resolved once from the options and the
config, and the services its items share (routers with their guards, the prompt registry, the catalogue),
built on first use. One per pytest process; nothing here imports pytest."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any, Literal

from pytest_llmversion.child_process import Spawned, http_mock_loaded
from pytest_llmversion.client import LLMClient
from pytest_llmversion.config import LLMConfig, ResolvedConfig
from pytest_llmversion.governance.budget import Ledger, LocalLedger, SharedLedger, SpendCap
from pytest_llmversion.governance.catalog import Catalog
from pytest_llmversion.governance.cost import price_of
from pytest_llmversion.governance.startup import Governance
from pytest_llmversion.governance.startup import load as load_catalog
from pytest_llmversion.judge.comparison import GatePolicy
from pytest_llmversion.judge.samples import CallPlace
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.prompts.registry import PromptRegistry
from pytest_llmversion.providers import ProviderFactory, Router
from pytest_llmversion.providers.base import Completion, Request
from pytest_llmversion.providers.lasting import LastingFailures
from pytest_llmversion.providers.limiter import Limiter, Limits
from pytest_llmversion.providers.router import CallGuard, Guards
from pytest_llmversion.report.governance import Estimate
from pytest_llmversion.run.ahead import SendAhead
from pytest_llmversion.run.check_calls import CheckCaller, CheckModels
from pytest_llmversion.run.choice import kind_for
from pytest_llmversion.run.item import LLMItem
from pytest_llmversion.run.kinds import KindSettings
from pytest_llmversion.run.marker import MarkerSpec
from pytest_llmversion.run.pool import CallPool, PooledRoute, Route
from pytest_llmversion.run.recordings import ItemRecorder, RecordMode, legacy_recording_path, recording_path
from pytest_llmversion.run.replay import GoldenSource
from pytest_llmversion.run.sampler import ItemSampler, LiveCall, Phase
from pytest_llmversion.run.spec import ItemSpec, Mode

#: Calls a run is expected to make (LLM items x samples) before ``call_process = "auto"`` starts a child for them.
CALL_PROCESS_MIN_CALLS = 64


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
    recordings: RecordMode = "none"
    recordings_source: str = "default"
    #: ``--llm-budget-usd``: the worst case of every call this run may make, priced after collection.
    estimate: Estimate | None = None
    #: The spend ledger's file when pytest-xdist workers share it (the controller creates it).
    ledger_path: Path | None = None
    #: Around each model call the main thread waits on: the progress drawn in place on a terminal
    #: (``run/status_line.py``).
    waiting: Callable[[], AbstractContextManager[None]] = nullcontext
    _guard: Guards | None = None
    _limiter: Limiter | None = None
    _ahead: SendAhead | None = None
    _ahead_checked: bool = False
    _ledger: Ledger | None = None
    _factory: ProviderFactory | None = None
    _routers: dict[ModelRef, Router] = field(default_factory=dict)
    #: Routers of the models checks call (a judge, an embedding model): no fallbacks.
    _check_routers: dict[ModelRef, Router] = field(default_factory=dict)
    _check_models: CheckModels | None = None
    _registry: PromptRegistry | None = None
    _catalog: Catalog | None = None
    _rejected: dict[ModelRef, tuple[str, ...]] = field(default_factory=dict)
    #: Re-entrant: the services build one another (a router its guard, the guard the catalogue).
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def base(self) -> Path:
        """The project folder: where pyproject.toml is, else pytest's rootdir."""
        return self.resolved.pyproject.parent if self.resolved.pyproject else self.rootpath

    @property
    def config(self) -> LLMConfig:
        return self.resolved.config

    def rel(self, path: Path) -> str:
        """``path`` relative to the rootdir when it is under it, for people; asked twice per item."""
        text = str(path)
        if text.startswith(self._root_prefix):  # the common case, without building paths
            return text[len(self._root_prefix) :]
        try:
            return str(path.relative_to(self.rootpath))
        except ValueError:
            return text

    @cached_property
    def _golden_cache(self) -> Path:
        """The folder of parsed goldens (``goldens.load_golden``)."""
        return self.base / self.config.report_dir / "cache" / "goldens"

    @cached_property
    def cases_cache(self) -> Path:
        """The folder of parsed YAML case files (``cases.load_cases``)."""
        return self.base / self.config.report_dir / "cache" / "cases"

    @cached_property
    def _root_prefix(self) -> str:
        root = str(self.rootpath)
        return root if root.endswith(os.sep) else root + os.sep

    def factory(self) -> ProviderFactory:
        with self._lock:
            if self._factory is None:
                self._factory = ProviderFactory(self.config, self.base)
            return self._factory

    def router(self, ref: ModelRef) -> Router:
        router = self._routers.get(ref)
        if router is None:
            with self._lock:  # calls made together (async code) ask from several threads: one router per model
                router = self._routers.get(ref)
                if router is None:
                    guard = self.guard()
                    router = self._routers[ref] = self.factory().router(
                        ref, guard=guard, rejected_params=self.rejected_params
                    )
        return router

    def check_router(self, ref: ModelRef) -> Route:
        """The router of a model a check calls: another judge's verdict is not this judge's, so no fallbacks;
        behind the call pool when there is one (same limiter and budget cap as every call)."""
        with self._lock:
            router = self._check_routers.get(ref)
            if router is None:
                router = self._check_routers[ref] = self.factory().router(
                    ref, with_fallbacks=False, guard=self.guard(), rejected_params=self.rejected_params
                )
        ahead = self.ahead()
        return PooledRoute(router, ahead.pool, ref) if ahead is not None else router

    def check_models(self) -> CheckModels:
        """The run's default judge and embedding model and the rules a model named in a check must pass."""
        with self._lock:
            if self._check_models is None:
                config = self.config
                defaults = {
                    "judge": config.ref(config.judge_model) if config.judge_model else None,
                    "embedding": config.ref(config.embedding_model) if config.embedding_model else None,
                }
                sources = {key: self.resolved.source(key) for key in ("judge_model", "embedding_model")}
                self._check_models = CheckModels(
                    defaults, sources, config.ref, self.catalog, config.allow_unpinned, self.candidate
                )
            return self._check_models

    def guard(self) -> Guards:
        """What every live attempt of this run passes first: failures that would repeat, the provider's
        limiter (it waits), then the budget cap."""
        with self._lock:
            if self._guard is None:
                guards: list[CallGuard] = [LastingFailures(), self.limiter()]
                budget = self.config.budget_usd
                if budget is not None:
                    catalog = self.catalog()
                    guards.append(
                        SpendCap(budget, self.ledger(), partial(price_of, catalog), self._max_output(catalog))
                    )
                self._guard = Guards(guards)
            return self._guard

    def limiter(self) -> Limiter:
        with self._lock:
            if self._limiter is None:
                self._limiter = Limiter(self.limits)
            return self._limiter

    def limits(self, provider: str) -> Limits:
        """A provider's limits: its table's, else the run's ``concurrency`` and no per-minute limit."""
        settings = self.config.providers.get(provider)
        concurrency = (settings.concurrency if settings else None) or self.config.concurrency
        if settings is None:
            return Limits(concurrency)
        return Limits(concurrency, settings.requests_per_minute, settings.tokens_per_minute)

    @property
    def calls_live(self) -> bool:
        """Whether this run calls models (a candidate, ``--llm-record``, ``--llm-live``)."""
        return self.mode != "replay" or self.candidate is not None

    def concurrency(self) -> int:
        """Calls in flight at most in this process: each provider the run calls at its own limit (64 at most)."""
        return min(64, sum(self.limits(p).concurrency for p in self._run_providers()))

    def _run_providers(self) -> set[str]:
        """The providers of the models the run calls: the current model, the candidate, the fallbacks."""
        models = [m for m in (self.current, self.candidate) if m is not None]
        models += [self.config.ref(text) for text in self.config.fallback_models]
        return {m.provider for m in models}

    def start_call_process(
        self, cores: int | None, xdist_workers: int, items: int | None = None, spare: Spawned | None = None
    ) -> bool:
        """Make the SDK calls in a child process (``providers.call_process``): ``on``, or ``auto`` for a run
        through the call pool with a core to spare beyond pytest's processes and no HTTP mocking library loaded
        (respx, pytest-httpx, vcrpy: their answers are given in this process). Called at start-up (``items`` None)
        when the options resolve the run there, so the child imports the SDKs while pytest collects; and as
        collection ends, with the LLM items selected: ``auto`` ends the child of a run expecting fewer than
        ``CALL_PROCESS_MIN_CALLS`` calls (the calls of a short run are not worth a second process). ``spare``, a
        child started before pytest configured (``child_process``), is taken when one is wanted and ended when
        not. Whether one runs now."""
        setting = self.config.call_process
        wanted = setting != "off" and self.calls_live
        if wanted and setting == "auto":
            wanted = self.ahead() is not None and (cores or 1) > max(1, xdist_workers) and not http_mock_loaded()
            if items is not None and items * self.samples < CALL_PROCESS_MIN_CALLS:
                wanted = False
        factory = self.factory()
        if not wanted:
            if spare is not None:
                spare.discard()
            if items is not None:
                factory.stop_remote()
            return False
        return factory.start_remote(self._run_providers(), self.concurrency(), spare) is not None

    def ahead(self) -> SendAhead | None:
        """The call pool, when this run calls models live and may have more than one call in flight."""
        if not self._ahead_checked:
            self._ahead_checked = True
            size = self.concurrency()
            if self.calls_live and self.config.concurrency > 1 and size > 1:
                pool = CallPool(size, self.router, window=2 * size)
                self._ahead = SendAhead(pool, self._build_item, self.rejected_params, self.defaults())
        return self._ahead

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
        if self._ahead is not None:
            self._ahead.pool.close()
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

    def item_samples(self, marker: MarkerSpec) -> int:
        return marker.samples or self.samples

    def item(self, spec: ItemSpec, nodeid: str) -> LLMItem:
        """The runner of one collected item: its golden loaded, its kind decided, its client bound to it
        (prepared already when the call pool sent its calls ahead)."""
        ahead = self.ahead()
        prepared = ahead.take_prepared(nodeid) if ahead is not None else None
        return prepared if prepared is not None else self._build_item(spec, nodeid)

    def _build_item(self, spec: ItemSpec, nodeid: str) -> LLMItem:
        assert self.current is not None
        model = self.current if spec.role == "current" else self.candidate
        assert model is not None
        marker, key = spec.marker, spec.golden_key
        rerecord = nodeid if spec.role == "current" else nodeid.removesuffix("candidate]") + "current]"
        golden = GoldenSource(key, str(self.current), rerecord, self.rel, self._golden_cache)
        settings = KindSettings(
            spec=spec,
            nodeid=nodeid,
            mode=self.mode,
            current=self.current,
            model=model,
            samples=self.item_samples(marker),
            tolerance=marker.tolerance if marker.tolerance is not None else self.tolerance,
            threshold=marker.threshold if marker.threshold is not None else self.policy.threshold,
            policy=self.policy,
            family_size=max(1, self.family_sizes.get(spec.role, 0)),
            candidate_prompt=self.candidate_prompt,
        )
        # scripted models are local and deterministic: a recording of one would only hide edits to its file
        recorder = self.recorder(spec, model) if spec.role == "candidate" and model.provider != "scripted" else None
        own_prompt = spec.role == "candidate" and self.candidate_prompt == "own"
        resting = Phase(spec.role, model, model if own_prompt else self.current, False, (model,))
        # only an item that calls a model anyway may pass on a call the plugin cannot record (sdk.transport)
        calls_models = (self.mode != "replay") if spec.role == "current" else not (recorder and recorder.replay_only)
        sampler = ItemSampler(
            nodeid, golden, self._live_call(recorder), resting, calls_models, root=self.rootpath, current=self.current
        )
        sampler.check_models = self.check_models()
        sampler.check_caller = CheckCaller(
            self.check_router,
            self.rejected_params,
            partial(self.recorder, spec, folder="checks") if spec.role == "candidate" else None,
            waiting=lambda: self.waiting(),
        )
        kind = kind_for(settings, golden)(settings, sampler)
        client = LLMClient(
            sampler.model,
            sampler.answer,
            self.defaults(),
            self.registry,
            prompt_model=sampler.prompt_model,
            rejected_params=self.rejected_params,
            start=sampler.start,
        )
        item = LLMItem(kind, client, recorder)
        ahead = self.ahead()
        if ahead is not None:
            sampler.prefetch = ahead.prefetch_for(item)
            sampler.prefetch_request = ahead.prefetch_request_for(item)
        return item

    def _live_call(self, recorder: ItemRecorder | None) -> LiveCall:
        def live(phase: Phase, request: Request, place: CallPlace) -> Completion:
            """Through the router (an answer the pool sent ahead first); a candidate's recording may answer
            instead."""
            ahead = self.ahead()
            router = self.router(phase.model)
            route: Route = PooledRoute(router, ahead.pool, phase.model) if ahead is not None else router
            with self.waiting():
                if recorder is None or phase.name != "candidate":
                    return route.complete(request, sample_index=place.sample)
                return recorder.complete(route, request, place)

        return live

    def recorder(self, spec: ItemSpec, model: ModelRef, folder: str | None = None) -> ItemRecorder:
        """The recording of ``model``'s answers for one candidate item; ``folder="checks"`` for the calls its
        checks make (a judge, an embedding model), kept apart from any model's own recording."""
        key = spec.golden_key
        root = self.base / self.config.report_dir / "recordings"
        root = root / folder if folder else root
        path = recording_path(root, self.base, model, key)
        legacy = legacy_recording_path(root, self.base, model, key)
        return ItemRecorder(
            path,
            self.rel(path),
            self.recordings,
            model,
            key.test_nodeid,
            spec.case.id if spec.case else None,
            self.recordings_source,
            legacy=(legacy, self.rel(legacy)) if legacy is not None else None,
        )
