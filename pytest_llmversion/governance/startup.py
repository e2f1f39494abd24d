"""Model governance for one run: the start-up checks and what the run's end adds to the report.

At start-up (controller only, before any call): load the catalogue with the project's overrides; stop on
an unpinned current model or fallback (unless allowed) and on a retired model this run would call;
everything else becomes a notice for the header and the summary (``--llm-budget-usd`` is priced after
collection, in ``budget.py``). At the end: price every item, sum per role, compare candidate with current, apply the
cost, latency and token budgets. Plain Python: the plugin turns :class:`GovernanceError` into a
``pytest.UsageError``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pytest_llmversion.config import ResolvedConfig
from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.governance.catalog import Catalog, CatalogError, PinStatus, load_catalog, pin_status
from pytest_llmversion.governance.cost import (
    Budgets,
)
from pytest_llmversion.governance.deprecation import ROLE_NAMES, ClockError, Lifecycle, describe, lifecycle, today
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.report.governance import Estimate, GovernanceInfo, ModelStatus


class GovernanceError(LLMVersionError):
    """The run must not start; the message is one line naming the model or option and the fix."""


@dataclass(frozen=True)
class RunModels:
    mode: str
    current: ModelRef | None
    candidate: ModelRef | None
    fallbacks: tuple[ModelRef, ...] = ()
    #: ``judge_model``: the default LLM judge of ``checks.judge`` (pinned like the current model).
    judge: ModelRef | None = None

    def roles(self) -> list[tuple[str, ModelRef]]:
        out: list[tuple[str, ModelRef]] = []
        if self.current is not None:
            out.append(("current", self.current))
        if self.candidate is not None:
            out.append(("candidate", self.candidate))
        out += [("fallback", ref) for ref in self.fallbacks]
        if self.judge is not None:
            out.append(("judge", self.judge))
        return out

    def calls_live(self, role: str) -> bool:
        """Whether this run sends requests to the model in ``role`` (replayed goldens do not)."""
        live_current = self.mode in ("record", "live")
        if role == "current":
            return live_current
        if role == "candidate":
            return True
        return live_current or self.candidate is not None


@dataclass
class Governance:
    today: date
    catalog: Catalog
    models: RunModels
    statuses: list[ModelStatus] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    estimate: Estimate | None = None
    budgets: Budgets = field(default_factory=Budgets)
    warn_days: int = 90
    urgent_days: int = 30

    def info(self) -> GovernanceInfo:
        return GovernanceInfo(
            today=self.today.isoformat(),
            catalog=self.catalog.label,
            warn_days=self.warn_days,
            urgent_days=self.urgent_days,
            models=self.statuses,
            notices=self.notices,
            estimate=self.estimate,
        )


def catalog_file(resolved: ResolvedConfig, base: Path) -> tuple[Path, str | None]:
    """The project's own catalogue: ``catalog_file`` (which must then exist), else ``<report_dir>/catalog.json``."""
    config = resolved.config
    if config.catalog_file:
        return base / config.catalog_file, f"catalog_file from {resolved.source('catalog_file')}"
    return base / config.report_dir / "catalog.json", None


def load(resolved: ResolvedConfig, base: Path) -> Catalog:
    """The project's catalogue with its overrides; a bad override or file is one line."""
    path, required_by = catalog_file(resolved, base)
    shown = path.relative_to(base).as_posix()
    overrides = resolved.extra_tables.get("catalog")
    try:
        return load_catalog(path, overrides, resolved.config.known_providers(), shown=shown, required_by=required_by)
    except CatalogError as exc:
        raise GovernanceError(str(exc)) from None


def start(
    resolved: ResolvedConfig,
    base: Path,
    models: RunModels,
    *,
    environ: Mapping[str, str] | None = None,
) -> Governance:
    config = resolved.config
    environ = os.environ if environ is None else environ
    if config.deprecation_urgent_days > config.deprecation_warn_days:
        raise GovernanceError(
            f"pytest-llmversion: deprecation_urgent_days = {config.deprecation_urgent_days} from "
            f"{resolved.source('deprecation_urgent_days')} is more than deprecation_warn_days = "
            f"{config.deprecation_warn_days}; the urgent window must lie inside the warning window"
        )
    try:
        on = today(environ)
    except ClockError as exc:
        raise GovernanceError(str(exc)) from None
    catalog = load(resolved, base)
    gov = Governance(
        on,
        catalog,
        models,
        budgets=Budgets(config.max_cost_increase, config.max_latency_increase, config.max_token_increase),
        warn_days=config.deprecation_warn_days,
        urgent_days=config.deprecation_urgent_days,
    )
    candidate = str(models.candidate) if models.candidate else None
    rejecting: dict[ModelRef, str] = {}
    for role, ref in models.roles():
        pin = pin_status(ref, catalog)
        lc = lifecycle(str(ref), catalog, on, warn_days=gov.warn_days, urgent_days=gov.urgent_days)
        gov.statuses.append(_status(role, pin, lc))
        pinning = check_pinning(role, ref, pin, resolved, allow=PYTEST_ALLOW_UNPINNED)
        gov.notices += [pinning] if pinning else []
        _check_lifecycle(gov, role, lc, models, candidate)
        if catalog.rejected_params(ref):
            rejecting.setdefault(ref, role)
    if models.judge is not None and models.judge == models.candidate:
        gov.notices.append(judge_is_candidate(models.judge))
    # once per model: its requests (live, replayed, in goldens and recordings) never carry these parameters
    gov.notices += [
        f"{ROLE_NAMES.get(role, role)} {ref} rejects {', '.join(catalog.rejected_params(ref))}: not sent "
        "(rejects_params in the catalogue)"
        for ref, role in rejecting.items()
    ]
    return gov


def _status(role: str, pin: PinStatus, lc: Lifecycle) -> ModelStatus:
    return ModelStatus(
        role=role,
        model=pin.ref,
        kind=pin.kind,
        pinned=pin.pinned,
        resolves_to=pin.resolves_to,
        basis=pin.basis,
        state=lc.state,
        retires=lc.retires.isoformat() if lc.retires else None,
        deprecated=lc.deprecated.isoformat() if lc.deprecated else None,
        days_left=lc.days_left,
        successor=lc.successor,
        successor_unpinned=lc.successor_unpinned,
        source=lc.source,
    )


#: How to allow an unpinned model, in the words of where the check runs.
PYTEST_ALLOW_UNPINNED = "run with --llm-allow-unpinned"
SETTING_ALLOW_UNPINNED = "set allow_unpinned = true in [tool.llmversion] or LLMVERSION_ALLOW_UNPINNED=1"


def check_pinning(
    role: str, ref: ModelRef, pin: PinStatus, resolved: ResolvedConfig, *, allow: str = SETTING_ALLOW_UNPINNED
) -> str | None:
    """The pinning rule for one model in ``role``: raises ``GovernanceError`` for an unpinned current model or
    fallback (unless ``allow_unpinned``); else the notice to show, if any. ``allow`` names the switch."""
    if pin.pinned:
        return None
    if not pin.checked:
        if role == "candidate":
            return None
        return (
            f"{role} {ref}: pinning not checked (no naming rules for provider '{ref.provider}'); declare it "
            f'with kind = "pinned" under [tool.llmversion.catalog."{ref}"]'
        )
    what = "a rolling id, updated continuously" if pin.kind == "rolling" else f"{_article(pin.kind)} {pin.kind}"
    if pin.resolves_to:
        what += f" (today it resolves to {pin.resolves_to})"
    if role == "candidate":
        pinned = f"; judge the pinned snapshot instead: --candidate-model={pin.resolves_to}" if pin.resolves_to else ""
        return f"WARNING: candidate {ref} is {what}: its result will not reproduce{pinned}"
    key = {"current": "model", "judge": "judge_model", ROLLOUT_CANDIDATE: "candidate_model"}.get(
        role, "fallback_models"
    )
    serving = role == ROLLOUT_CANDIDATE
    if resolved.config.allow_unpinned:
        how = resolved.source("allow_unpinned")
        harm = "what it serves may change without notice" if serving else "its goldens will not reproduce"
        return f"WARNING: {role} model {ref} is {what}, allowed by {how}; {harm}"
    if pin.resolves_to:
        single = role in ("current", "judge", ROLLOUT_CANDIDATE)
        fix = f'pin it: {key} = "{pin.resolves_to}"' if single else f'list "{pin.resolves_to}" instead'
    else:
        fix = "pin it to a dated snapshot"
    harm = (
        "the keys on the candidate would get whatever model it names that day"
        if serving
        else "goldens recorded from it would not reproduce"
    )
    raise GovernanceError(
        f"pytest-llmversion: {role} model {ref} ({resolved.source(key)}) is {what}, not a pinned snapshot: "
        f"{harm}; {fix} (or {allow})"
    )


#: The candidate of a production rollout (``connect(rollout_key=...)``, ``llmversion rollout advance``): it serves
#: a share of real traffic, so it is held to the current model's rule, not to a test candidate's warning.
ROLLOUT_CANDIDATE = "rollout candidate"


def check_rollout_candidate_pinning(resolved: ResolvedConfig, catalog: Catalog | None) -> str | None:
    """The rollout's ``candidate_model`` under the current model's pinning rule: ``GovernanceError`` for an alias
    (unless ``allow_unpinned``), else the notice to show, if any; None without a candidate. Without a catalogue
    (it failed to load) the providers' naming rules still judge it."""
    config = resolved.config
    if config.candidate_model is None:
        return None
    ref = config.ref(config.candidate_model)
    return check_pinning(ROLLOUT_CANDIDATE, ref, pin_status(ref, catalog), resolved)


def check_configured_pinning(resolved: ResolvedConfig, catalog: Catalog) -> list[str]:
    """Outside pytest (``connect()``, ``llmversion check``): the configured current model and fallbacks under
    the same rule and message as a pytest run's start-up; the notices to show, or ``GovernanceError``."""
    config = resolved.config
    roles = [("current", config.ref(config.model))] if config.model else []
    roles += [("fallback", config.ref(text)) for text in config.fallback_models]
    notices = [check_pinning(role, ref, pin_status(ref, catalog), resolved) for role, ref in roles]
    return [notice for notice in notices if notice]


def judge_is_candidate(ref: ModelRef) -> str:
    """The warning when the LLM judge is the candidate: it would grade its own answers."""
    return (
        f"WARNING: the judge {ref} is also the candidate model: it grades its own answers (judges tend to favour "
        "their own); set judge_model (or checks.judge(model=...)) to another model"
    )


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _check_lifecycle(gov: Governance, role: str, lc: Lifecycle, models: RunModels, candidate: str | None) -> None:
    live = models.calls_live(role)
    line = describe(lc, role, candidate=candidate, replay_only=not live)
    if line is None:
        return
    if lc.state == "retired" and live:
        source = f" (source: {lc.source})" if lc.source else ""
        why = "this run would call it" if role != "current" else f"--llm-{models.mode} calls it"
        raise GovernanceError(f"pytest-llmversion: {line}; {why} and every call would fail{source}")
    gov.notices.append(line)
