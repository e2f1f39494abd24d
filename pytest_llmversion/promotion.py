"""``llmversion promote`` and ``llmversion rollback``: make a migration routine, and reversible.

Promote reads the last run's report, refuses unless its gate passed (``--force`` is recorded), makes
the candidate the current model in pyproject.toml (comments and formatting kept), and rewrites the
goldens from the candidate's answers kept by that run, calling no provider. Before it changes
anything it copies every file it will touch into ``<report_dir>/rollback/<stamp>/``; rollback puts
those bytes back exactly. Every refusal is one line and changes nothing on disk.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomlkit

from pytest_llmversion.atomic import write_atomic
from pytest_llmversion.config import ConfigError, ResolvedConfig, config_hash, load_config
from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.prompts.registry import PromptError, PromptRegistry
from pytest_llmversion.report.schema import ItemResult, Report, ReportError
from pytest_llmversion.run.goldens import GoldenError, is_golden_file, load_golden, same_test


class PromotionError(LLMVersionError):
    """Why promote or rollback refused; one line, nothing was changed."""


@dataclass
class PromotionPlan:
    project: Path
    pyproject: Path
    report: Report
    old_model: str
    new_model: str
    #: (candidate file kept by the run, golden it replaces)
    files: list[tuple[Path, Path]] = field(default_factory=list)
    #: Goldens of promoted tests under their legacy names: removed, the promoted golden takes their place.
    legacy: list[Path] = field(default_factory=list)
    #: What --force overrode; recorded in pyproject.toml and the rollback manifest.
    forced: list[str] = field(default_factory=list)


def _project_config(project: Path) -> ResolvedConfig:
    """The project's config as written in pyproject.toml (the environment must not change a promotion)."""
    try:
        resolved = load_config(project, environ={})
    except ConfigError as exc:
        raise PromotionError(str(exc)) from None
    if resolved.pyproject is None:
        raise PromotionError(f"no pyproject.toml at or above {project}")
    return resolved


def plan_promotion(project: Path, report_path: Path | None = None, *, force: bool = False) -> PromotionPlan:
    resolved = _project_config(project)
    assert resolved.pyproject is not None
    config = resolved.config
    project = resolved.pyproject.parent
    report_path = report_path or project / config.report_dir / "report.json"
    report = _read_report(report_path, project)
    run = report.run
    if run.candidate is None:
        raise PromotionError(
            f"{_rel(report_path, project)} is not a candidate run; run pytest --candidate-model=... first"
        )
    if run.mode == "record":
        raise PromotionError(f"{_rel(report_path, project)} comes from a --llm-record run, not a candidate evaluation")
    if run.config_hash != config_hash(resolved.table) or (run.current and run.current.model != config.model):
        raise PromotionError(
            f"{_rel(report_path, project)} was made with a different [tool.llmversion] (current model "
            f"{run.current.model if run.current else '?'}); run the candidate evaluation again"
        )
    plan = PromotionPlan(project, resolved.pyproject, report, str(config.model), run.candidate.model)
    _check_pinned(plan, resolved, force)
    if report.summary.gate != "pass":
        if not force:
            raise PromotionError(
                f"the candidate run's gate failed ({'; '.join(report.summary.gate_reasons)}); fix it, or "
                "promote anyway with --force (recorded)"
            )
        plan.forced.append(f"gate failed: {'; '.join(report.summary.gate_reasons)}")
    root = Path(run.rootdir) if run.rootdir else project
    candidates = [item for item in report.items if item.role == "candidate"]
    # sorted: the "e.g." below names the same item whatever order the report or the file system gave
    missing = sorted(
        item.nodeid for item in candidates if not item.candidate_golden or not (root / item.candidate_golden).is_file()
    )
    if missing:
        raise PromotionError(
            f"missing candidate recordings for {len(missing)} item(s), e.g. {missing[0]} (a provider error, or "
            f"{config.report_dir}/candidate/ was cleaned); run the candidate evaluation again"
        )
    plan.files = [(root / str(i.candidate_golden), root / str(i.golden)) for i in candidates]
    _find_legacy(plan, config.goldens, candidates)
    _check_coverage(plan, config.goldens, force)
    _check_prompts(plan, config.prompts, force)
    return plan


def _check_pinned(plan: PromotionPlan, resolved: ResolvedConfig, force: bool) -> None:
    """Production must never run an unpinned alias: the new current model has to be a snapshot."""
    from pytest_llmversion.governance import startup as governance
    from pytest_llmversion.governance.catalog import pin_status

    try:
        catalog = governance.load(resolved, plan.project)
    except governance.GovernanceError as exc:
        raise PromotionError(str(exc).removeprefix("pytest-llmversion: ")) from None
    config = resolved.config
    status = pin_status(config.ref(plan.new_model), catalog)
    if not status.checked or status.pinned or config.allow_unpinned:
        return
    target = f" (today it resolves to {status.resolves_to})" if status.resolves_to else ""
    message = f"the candidate {plan.new_model} is {status.kind}{target}, not a pinned snapshot"
    if not force:
        raise PromotionError(f"{message}; evaluate and promote a pinned id instead")
    plan.forced.append(message)


def _read_report(path: Path, project: Path) -> Report:
    if not path.is_file():
        raise PromotionError(f"no report at {_rel(path, project)}; run pytest --candidate-model=provider/model first")
    try:
        return Report.read(path)
    except ReportError as exc:
        raise PromotionError(str(exc).replace(str(path), _rel(path, project), 1)) from None


def _unpromoted(plan: PromotionPlan, goldens: str) -> list[Path]:
    promoted = {dest.resolve() for _, dest in plan.files} | {p.resolve() for p in plan.legacy}
    existing = [p for p in plan.project.rglob(f"{goldens}/**/*.yaml") if is_golden_file(p)]
    return sorted(p for p in existing if p.resolve() not in promoted and ".llmversion" not in p.parts)


def _find_legacy(plan: PromotionPlan, goldens: str, candidates: list[ItemResult]) -> None:
    """Goldens that promoted tests still read under their legacy names (written before names were one-to-one).
    Each is told apart by its ``test:``/``case:``, never by its name: legacy names collided."""
    tests = [
        ((dest.parent if item.case is None else dest.parent.parent).resolve(), item.test, item.case)
        for (_, dest), item in zip(plan.files, candidates, strict=True)
    ]
    for path in _unpromoted(plan, goldens):
        try:
            golden = load_golden(path)
        except GoldenError:
            continue  # not ours to remove; the coverage check names it
        if golden is None:
            continue
        folder = (path.parent if golden.case is None else path.parent.parent).resolve()
        if any(folder == f and same_test(golden.test, golden.case, t, c) for f, t, c in tests):
            plan.legacy.append(path)


def _check_coverage(plan: PromotionPlan, goldens: str, force: bool) -> None:
    """Every golden of the project must have been evaluated on the candidate (no partial runs)."""
    left = _unpromoted(plan, goldens)
    if not left:
        return
    message = (
        f"{len(left)} golden(s) were not evaluated on the candidate (a partial run?), e.g. "
        f"{_rel(left[0], plan.project)}; they would stay on {plan.old_model}"
    )
    if not force:
        raise PromotionError(message + "; run the whole suite with --candidate-model, or use --force")
    plan.forced.append(message)


def _check_prompts(plan: PromotionPlan, prompts: str, force: bool) -> None:
    """After promotion the registry must resolve, for the new model, the prompt its goldens hold."""
    try:
        registry = PromptRegistry.load(prompts, plan.project)
    except PromptError as exc:
        raise PromotionError(str(exc)) from None
    new_model = ModelRef.parse(plan.new_model, [plan.new_model.partition("/")[0]])
    for source, _ in plan.files:
        try:
            golden = load_golden(source)
        except GoldenError as exc:
            raise PromotionError(str(exc)) from None
        if golden is None or not golden.prompt or golden.prompt.get("task") not in registry.tasks:
            continue
        resolved = registry.resolve(golden.prompt["task"], new_model)
        if resolved.content_hash != golden.prompt.get("hash"):
            message = (
                f"the candidate answered {golden.test} with prompt {golden.prompt['task']} "
                f"{golden.prompt.get('version')}, but for {plan.new_model} the registry resolves {resolved.version}; "
                "its goldens would be STALE: run the candidate with --llm-candidate-prompt=own, or tune the registry"
            )
            if not force:
                raise PromotionError(message)
            plan.forced.append(message)
            return


def apply_promotion(plan: PromotionPlan, *, now: datetime | None = None) -> Path:
    """Back up, then write the goldens and pyproject.toml; returns the backup folder."""
    now = now or datetime.now(UTC)
    config_dir = plan.pyproject.parent
    report_dir = load_config(config_dir, environ={}).config.report_dir
    stamp = now.strftime("%Y%m%dT%H%M%S")
    backup = config_dir / report_dir / "rollback" / f"{stamp}-{_slug(plan.old_model)}--{_slug(plan.new_model)}"
    entries: list[dict[str, Any]] = []
    targets = [plan.pyproject, *(dest for _, dest in plan.files), *plan.legacy]
    for index, target in enumerate(targets):
        existed = target.is_file()
        if existed:
            copy = backup / "files" / str(index)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(target, copy)
        entries.append({"path": _rel(target, config_dir), "existed": existed, "copy": str(index)})
    manifest = {
        "promoted_at": now.isoformat(timespec="seconds"),
        "previous_model": plan.old_model,
        "model": plan.new_model,
        "forced": plan.forced,
        "files": entries,
    }
    write_atomic(backup / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    for source, dest in plan.files:
        write_atomic(dest, source.read_text(encoding="utf-8"))
    for path in plan.legacy:
        path.unlink()  # its test's promoted golden, under the one-to-one name, replaces it (a rename in the diff)
        if not any(path.parent.iterdir()):
            path.parent.rmdir()  # a case folder under the legacy test name
    write_atomic(plan.pyproject, _promoted_pyproject(plan, now))
    return backup


def _promoted_pyproject(plan: PromotionPlan, now: datetime) -> str:
    document = tomlkit.parse(plan.pyproject.read_text(encoding="utf-8"))
    table: Any = document["tool"]["llmversion"]
    table["model"] = plan.new_model
    table["previous_model"] = plan.old_model
    if table.get("candidate_model") == plan.new_model:
        del table["candidate_model"]
    rollout = table.get("rollout")
    if rollout is not None and rollout.get("candidate_percent", 0) != 0:
        rollout["candidate_percent"] = 0  # the candidate is the model now: the next one starts from 0 %
    if plan.forced:
        table["model"].comment(f"promoted {now.date()} with --force: {plan.forced[0][:120]}")
    return tomlkit.dumps(document)


def rollback(project: Path) -> dict[str, Any]:
    """Restore the files of the latest promotion byte for byte; returns its manifest."""
    resolved = _project_config(project)
    assert resolved.pyproject is not None
    config_dir = resolved.pyproject.parent
    folder = config_dir / resolved.config.report_dir / "rollback"
    backups = sorted(p for p in folder.glob("*") if (p / "manifest.json").is_file()) if folder.is_dir() else []
    if not backups:
        raise PromotionError(
            f"no promotion to roll back in {_rel(folder, config_dir)} (backups live where promote ran); from "
            "another clone, revert the promotion commit or set model = previous_model"
        )
    backup = backups[-1]
    manifest: dict[str, Any] = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        target = config_dir / entry["path"]
        if entry["existed"]:
            write_atomic(target, (backup / "files" / entry["copy"]).read_text(encoding="utf-8"))
        elif target.is_file():
            target.unlink()
    backup.rename(backup.with_name(backup.name + ".restored"))
    return manifest


def _slug(model: str) -> str:
    return model.replace("/", "_").replace(":", "_")


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)
