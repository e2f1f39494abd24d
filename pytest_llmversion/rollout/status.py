"""``llmversion rollout status``: the arms side by side from the store, and the recommendation.

The window starts when the rollout of the configured candidate last started (``advance`` from 0 %), or at
its first record; both arms are read over the same window, so the current model's numbers are from the
same hours as the candidate's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pytest_llmversion.config import ResolvedConfig
from pytest_llmversion.rollout.decide import (
    ArmStats,
    Recommendation,
    arm_stats,
    calls_failed,
    checks_failed,
    pair_counts,
    recommend,
)
from pytest_llmversion.rollout.records import CallRecord
from pytest_llmversion.rollout.settings import Rollout
from pytest_llmversion.rollout.store import RolloutStore, StageChange


@dataclass
class Status:
    rollout: Rollout
    current: ArmStats
    candidate: ArmStats
    recommendation: Recommendation
    store: Path
    since: float | None
    now: float
    hours_at_stage: float | None
    changes: list[StageChange] = field(default_factory=list)


def open_store(resolved: ResolvedConfig, base: Path, rollout: Rollout) -> RolloutStore | None:
    """The project's store, or None when nothing has been recorded yet (status never creates one)."""
    path = rollout.store_path(base, resolved.config.report_dir)
    return RolloutStore(path, retention_days=rollout.retention_days) if path.is_file() else None


def window_start(changes: list[StageChange]) -> float | None:
    """When the rollout last started from 0 %; None: from the first record."""
    starts = [c.at for c in changes if c.before == 0 and c.after > 0]
    return starts[-1] if starts else None


def hours_at_stage(changes: list[StageChange], records: list[CallRecord], percent: float, now: float) -> float | None:
    entered = [c.at for c in changes if c.after == percent]
    if entered:
        return (now - entered[-1]) / 3600
    at_stage = [r.at for r in records if r.arm == "candidate" and r.stage == percent]
    return (now - at_stage[0]) / 3600 if at_stage else None


def read_status(
    resolved: ResolvedConfig, base: Path, *, since: float | None = None, now: float | None = None
) -> Status:
    config = resolved.config
    assert config.model is not None
    assert config.candidate_model is not None
    rollout = Rollout.from_table(resolved.extra_tables.get("rollout"))
    current, candidate = str(config.ref(config.model)), str(config.ref(config.candidate_model))
    now = time.time() if now is None else now
    store = open_store(resolved, base, rollout)
    records: list[CallRecord] = []
    changes: list[StageChange] = []
    if store is not None:
        try:
            changes = store.stage_changes(candidate)
            since = window_start(changes) if since is None else since
            records = store.calls(since=since, models={"current": current, "candidate": candidate})
        finally:
            store.close()
    hours = hours_at_stage(changes, records, rollout.candidate_percent, now)
    stats = arm_stats(records, "current", current), arm_stats(records, "candidate", candidate)
    recommendation = recommend(
        *stats,
        pair_counts(records, calls_failed),
        pair_counts(records, checks_failed),
        rollout,
        hours_at_stage=hours,
    )
    path = rollout.store_path(base, config.report_dir)
    return Status(rollout, *stats, recommendation, path, since, now, hours, changes)


def _percent(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f} %"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:.5f}"


def _quality(stats: ArmStats) -> str:
    if stats.quality_rate is None:
        return "-"
    return f"{stats.quality_rate * 100:.1f} % of {stats.scored:,}"


def render(status: Status, project: Path) -> list[str]:
    """The lines ``llmversion rollout status`` prints."""
    rollout, current, candidate = status.rollout, status.current, status.candidate
    stages = ", ".join(f"{s:g}" for s in rollout.stages)
    try:
        shown = status.store.relative_to(project)
    except ValueError:
        shown = status.store
    since = (
        datetime.fromtimestamp(status.since, UTC).strftime("%Y-%m-%d %H:%M UTC") if status.since else "the first record"
    )
    lines = [
        f"llmversion rollout: {current.model} -> {candidate.model} at {rollout.candidate_percent:g} % "
        f"(stages {stages})",
        f"  {shown}, since {since}",
        "",
        f"  {'':16}{'current':>18}{'candidate':>18}",
    ]
    rows = [
        ("calls", f"{current.calls:,}", f"{candidate.calls:,}"),
        ("keys", f"{current.keys:,}", f"{candidate.keys:,}"),
        ("error rate", _percent(current.error_rate, 2), _percent(candidate.error_rate, 2)),
        ("fallbacks", f"{current.fallbacks:,}", f"{candidate.fallbacks:,}"),
        ("p50 latency", _ms(current.latency(50)), _ms(candidate.latency(50))),
        ("p95 latency", _ms(current.latency(95)), _ms(candidate.latency(95))),
        ("cost per call", _usd(current.cost_per_call), _usd(candidate.cost_per_call)),
        ("quality", _quality(current), _quality(candidate)),
    ]
    lines += [f"  {name:16}{a:>18}{b:>18}" for name, a, b in rows]
    lines.append("")
    marks = {"over": "OVER", "ok": "ok", "open": "open"}
    lines += [f"  {f.rule:15} {marks[f.state]:5} {f.detail}" for f in status.recommendation.findings]
    lines += ["", _advice(status)]
    return lines


def _advice(status: Status) -> str:
    action, percent = status.recommendation.action, status.rollout.candidate_percent
    if action == "rollback":
        if percent == 0:
            return "recommendation: ROLL BACK (done: the candidate serves no traffic)"
        return 'recommendation: ROLL BACK: llmversion rollout rollback --reason "..."'
    if action == "hold":
        return f"recommendation: HOLD at {percent:g} % (the open rules above say what is missing)"
    following = status.rollout.next_stage()
    if percent >= 100:
        return "recommendation: ADVANCE: the candidate serves every key; make it the model with llmversion promote"
    if following is None:
        return "recommendation: ADVANCE: this is the last of stages; llmversion rollout advance --to 100"
    return f"recommendation: ADVANCE to {following:g} %: llmversion rollout advance"


def monitoring_fact(resolved: ResolvedConfig, base: Path, *, current: str, candidate: str) -> tuple[bool, str]:
    """For the migration checklist: was ``candidate`` watched long enough at each stage, with no roll-back signal?"""
    rollout = Rollout.from_table(resolved.extra_tables.get("rollout"))
    path = rollout.store_path(base, resolved.config.report_dir)
    shown = path.relative_to(base) if path.is_relative_to(base) else path
    store = open_store(resolved, base, rollout)
    if store is None:
        return False, f"no rollout metrics in {shown} (connect(rollout_key=...) records them)"
    try:
        since = window_start(store.stage_changes(candidate))
        records = store.calls(since=since, models={"current": current, "candidate": candidate})
    finally:
        store.close()
    served = [r for r in records if r.arm == "candidate"]
    if not served:
        return False, f"no calls served by {candidate} in {shown}"
    spans: dict[float, list[float]] = {}
    for record in served:
        spans.setdefault(record.stage, []).append(record.at)
    hours = {stage: (max(times) - min(times)) / 3600 for stage, times in sorted(spans.items())}
    watched = ", ".join(f"{stage:g} % for {span:.0f} h" for stage, span in hours.items())
    verdict = recommend(
        arm_stats(records, "current", current),
        arm_stats(records, "candidate", candidate),
        pair_counts(records, calls_failed),
        pair_counts(records, checks_failed),
        rollout,
        hours_at_stage=None,
    )
    if verdict.action == "rollback":
        over = [f.rule for f in verdict.findings if f.state == "over"]
        return False, f"{watched}; status says roll back ({', '.join(over)})"
    short = [stage for stage, span in hours.items() if span < rollout.min_stage_hours]
    needed = f"{rollout.min_stage_hours:g} h each"
    if short:
        return False, f"{watched}; under {needed} at {', '.join(f'{s:g} %' for s in short)} ({shown})"
    return True, f"{watched} ({needed}, {shown}), no roll-back signal"
