"""Serving and recording production calls: what ``connect(rollout_key=...)`` sends each call through.

A :class:`Deployment` is one project's rollout inside a running process: the stage (re-read when
pyproject.toml changes), a router per arm (retries and fallbacks as configured), where records go, and
the catalogue that prices them. Every client of the project in the process shares it, so calling
``connect(rollout_key=...)`` once per request costs a dictionary lookup, not a new store connection.
Recording never changes what the application gets: a record that cannot be kept is logged and dropped.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import Completion, ProviderError, Request
from pytest_llmversion.rollout.arms import Arm
from pytest_llmversion.rollout.records import CallRecord
from pytest_llmversion.rollout.settings import Rollout
from pytest_llmversion.rollout.stage import StageWatcher

if TYPE_CHECKING:
    from pytest_llmversion.checks import Check
    from pytest_llmversion.config import ResolvedConfig
    from pytest_llmversion.governance.catalog import Catalog
    from pytest_llmversion.prompts.registry import PromptRegistry
    from pytest_llmversion.providers.router import Router

_log = logging.getLogger("pytest_llmversion.rollout")

#: Checks for every call, or per registry task (``{"triage": [checks.valid_json()]}``).
QualityChecks = Sequence["Check"] | Mapping[str, Sequence["Check"]]


class Sink(Protocol):
    def write(self, record: CallRecord) -> object: ...


@dataclass(frozen=True)
class ServingArm:
    name: Arm
    ref: ModelRef
    stage: float


@dataclass(frozen=True)
class QualityPlan:
    """The checks a sampled share of calls is scored with, the same checks the tests use."""

    checks: QualityChecks
    sample: float | None = None  # None: the rollout's quality_sample

    def checks_for(self, request: Request) -> Sequence[Check]:
        if isinstance(self.checks, Mapping):
            task = (request.prompt or {}).get("task")
            return self.checks.get(task, ()) if task else ()
        return self.checks


def error_kind(exc: BaseException) -> str:
    """The provider's error vocabulary (``rate_limited``, ``unavailable``, ...); the last model's when all failed."""
    last = getattr(exc, "last", None)
    if isinstance(last, ProviderError):
        return last.kind
    if isinstance(exc, ProviderError):
        return exc.kind
    return type(exc).__name__


class Deployment:
    def __init__(
        self,
        *,
        current: ModelRef,
        candidate: ModelRef | None,
        watcher: StageWatcher,
        routers: Mapping[Arm, Router],
        registry: PromptRegistry,
        sinks: Sequence[Sink] = (),
        catalog: Catalog | None = None,
        secret: bytes | None = None,
        release: Callable[[], None] | None = None,
        candidate_refused: str | None = None,
    ) -> None:
        self.current = current
        self.candidate = candidate
        self.watcher = watcher
        self.routers = dict(routers)
        self.registry = registry
        self.sinks = list(sinks)
        self.catalog = catalog
        #: Keys the key digests; the store's own secret when there is a store.
        self.secret = secret or secrets.token_bytes(16)
        #: Closes the routers' SDK clients and their connections (``close_deployments``).
        self.release = release
        #: Why the candidate may not serve (an unpinned alias: ``check_rollout_candidate_pinning``), else None.
        self.candidate_refused = candidate_refused
        self._refusal_logged = False

    def arm(self, key: str) -> ServingArm:
        """The arm serving ``key`` at the stage in force now. An unpinned candidate serves nobody: a stage raised
        after start-up keeps every key on the current model, and says why in the log, once."""
        rollout = self.watcher.current()
        if self.candidate is not None and rollout.uses_candidate(key):
            if self.candidate_refused is None:
                return ServingArm("candidate", self.candidate, rollout.candidate_percent)
            if not self._refusal_logged:
                self._refusal_logged = True
                _log.error("%s; every key stays on %s", self.candidate_refused, self.current)
        return ServingArm("current", self.current, rollout.candidate_percent)

    def call(self, arm: ServingArm, key_digest: str, request: Request, quality: QualityPlan | None) -> Completion:
        """Send ``request`` through the arm's router and record what happened; the outcome is the router's."""
        rollout = self.watcher.current()
        at, started = time.time(), time.perf_counter()
        try:
            completion = self.routers[arm.name].complete(request)
        except Exception as exc:
            elapsed = (time.perf_counter() - started) * 1000
            self._emit(self._record(rollout, arm, key_digest, request, at, elapsed, error=error_kind(exc)))
            raise
        elapsed = (time.perf_counter() - started) * 1000
        score = self._score(quality, rollout, request, completion)
        self._emit(self._record(rollout, arm, key_digest, request, at, elapsed, completion=completion, score=score))
        return completion

    def _score(
        self, quality: QualityPlan | None, rollout: Rollout, request: Request, completion: Completion
    ) -> tuple[float, bool] | None:
        if quality is None:
            return None
        share = rollout.quality_sample if quality.sample is None else quality.sample
        checks = quality.checks_for(request)
        if not checks or random.random() >= share:
            return None
        results = [check(completion) for check in checks]
        return sum(r.score for r in results) / len(results), all(r.passed for r in results)

    def _record(
        self,
        rollout: Rollout,
        arm: ServingArm,
        key_digest: str,
        request: Request,
        at: float,
        elapsed_ms: float,
        *,
        error: str | None = None,
        completion: Completion | None = None,
        score: tuple[float, bool] | None = None,
    ) -> CallRecord:
        prompt = request.prompt or {}
        text = {}
        if rollout.store_text:
            messages = "\n".join(f"{m.role}: {m.content}" for m in request.messages)
            text = {"prompt_text": messages, "answer_text": completion.text if completion else None}
        base: dict[str, Any] = {
            "at": at,
            "arm": arm.name,
            "stage": arm.stage,
            "model": str(arm.ref),
            "key": key_digest,
            "prompt_version": f"{prompt['task']}@{prompt.get('version', '?')}" if "task" in prompt else None,
            **text,
        }
        if completion is None:
            return CallRecord(latency_ms=round(elapsed_ms, 1), error=error, **base)
        usage = completion.usage
        return CallRecord(
            # a scripted model reports the latency it imitates without sleeping: keep the larger
            latency_ms=round(max(elapsed_ms, completion.latency_ms), 1),
            answered_by=completion.model_requested,
            model_served=completion.model_served,
            fallback=completion.fallback_from is not None,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cached_tokens,
            cost_usd=self._cost(completion),
            quality=None if score is None else round(score[0], 4),
            quality_passed=None if score is None else score[1],
            **base,
        )

    def _cost(self, completion: Completion) -> float | None:
        if self.catalog is None:
            return None
        from pytest_llmversion.governance.cost import price_of

        price = price_of(self.catalog, completion.model_requested)
        return None if price is None else price.cost(completion.usage.to_dict())

    def _emit(self, record: CallRecord) -> None:
        for sink in self.sinks:
            try:
                sink.write(record)
            except Exception as exc:  # monitoring must never fail the call it watches
                _log.warning("rollout record not written to %s: %s", type(sink).__name__, exc)


_DEPLOYMENTS: dict[tuple[str, ...], Deployment] = {}
_LOCK = threading.Lock()


def deployment_for(resolved: ResolvedConfig, base: Path, *, meter_provider: object | None = None) -> Deployment:
    """The process's deployment of this project and configuration, built on first use."""
    table = dict(resolved.extra_tables.get("rollout") or {})
    table.pop("candidate_percent", None)  # the stage is followed at run time, not a new deployment
    key = (
        str(resolved.pyproject or base),
        resolved.config.model_dump_json(),
        json.dumps(table, sort_keys=True, default=str),
        str(id(meter_provider)) if meter_provider is not None else "",
    )
    with _LOCK:
        found = _DEPLOYMENTS.get(key)
        if found is None:
            found = _DEPLOYMENTS[key] = build_deployment(resolved, base, meter_provider=meter_provider)
        return found


def build_deployment(resolved: ResolvedConfig, base: Path, *, meter_provider: object | None = None) -> Deployment:
    from pytest_llmversion.governance import startup as governance
    from pytest_llmversion.prompts.registry import PromptRegistry
    from pytest_llmversion.providers import ProviderFactory

    config = resolved.config
    assert config.model is not None
    rollout = Rollout.from_table(resolved.extra_tables.get("rollout"))
    factory = ProviderFactory(config, base)
    current = config.ref(config.model)
    candidate = config.ref(config.candidate_model) if config.candidate_model else None
    try:
        catalog: Catalog | None = governance.load(resolved, base)
    except governance.GovernanceError as exc:
        _log.warning("rollout costs unknown: %s", exc)
        catalog = None
    rejected = catalog.rejected_params if catalog is not None else None
    refused = None
    if candidate is not None:
        try:
            governance.check_rollout_candidate_pinning(resolved, catalog)
        except governance.GovernanceError as exc:
            refused = str(exc)
    routers: dict[Arm, Router] = {"current": factory.router(current, rejected_params=rejected)}
    if candidate is not None:
        routers["candidate"] = factory.router(candidate, rejected_params=rejected)
    sinks: list[Sink] = []
    secret = None
    if "sqlite" in rollout.metrics:
        from pytest_llmversion.rollout.store import RolloutStore

        store = RolloutStore(rollout.store_path(base, config.report_dir), retention_days=rollout.retention_days)
        sinks.append(store)
        secret = store.secret
    if "otel" in rollout.metrics:
        from pytest_llmversion.rollout.otel import OtelSink

        sinks.append(OtelSink(meter_provider))
    return Deployment(
        current=current,
        candidate=candidate,
        watcher=StageWatcher(resolved.pyproject, rollout),
        routers=routers,
        registry=PromptRegistry.load(config.prompts, base),
        sinks=sinks,
        catalog=catalog,
        secret=secret,
        release=factory.close,
        candidate_refused=refused,
    )


def close_deployments() -> None:
    """Close every deployment's store and SDK clients (tests, and applications that fork after connecting)."""
    from pytest_llmversion.rollout.store import RolloutStore

    with _LOCK:
        deployments = list(_DEPLOYMENTS.values())
        _DEPLOYMENTS.clear()
    for deployment in deployments:
        for sink in deployment.sinks:
            if isinstance(sink, RolloutStore):
                sink.close()
        if deployment.release is not None:
            deployment.release()
