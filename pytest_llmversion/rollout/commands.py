"""``llmversion rollout status|advance|rollback|simulate``: the stage of the production rollout.

Not to be confused with ``llmversion promote`` / ``rollback``, which change the *model* and its goldens:
these change only ``candidate_percent``, the share of keys the candidate serves.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.rollout.settings import TABLE, Rollout, RolloutError

if TYPE_CHECKING:
    from pytest_llmversion.config import ResolvedConfig


class CommandError(LLMVersionError):
    """One line for stderr, and the exit status."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def _project(args: argparse.Namespace) -> tuple[ResolvedConfig, Path, Rollout]:
    from pytest_llmversion.config import ConfigError, find_pyproject, load_config

    start = Path(args.root).resolve()
    found = find_pyproject(start)
    try:
        resolved = load_config(found.parent if found else start)
        rollout = Rollout.from_table(resolved.extra_tables.get("rollout"))
    except (ConfigError, RolloutError) as exc:
        raise CommandError(str(exc).removeprefix("pytest-llmversion: ")) from None
    if resolved.pyproject is None:
        raise CommandError(f"no pyproject.toml at or above {start}")
    return resolved, resolved.pyproject.parent, rollout


def _candidate(resolved: ResolvedConfig) -> str:
    config = resolved.config
    if config.model is None or config.candidate_model is None:
        raise CommandError("no candidate_model (and model) in [tool.llmversion]: nothing is rolling out")
    return str(config.ref(config.candidate_model))


def _refuse_unpinned(resolved: ResolvedConfig, base: Path) -> None:
    """No share of traffic goes to an alias: the candidate is held to the current model's pinning rule."""
    from pytest_llmversion.governance import startup as governance

    try:
        governance.check_rollout_candidate_pinning(resolved, governance.load(resolved, base))
    except governance.GovernanceError as exc:
        raise CommandError(str(exc).removeprefix("pytest-llmversion: ")) from None


def _since(text: str | None) -> float | None:
    if text is None:
        return None
    if text.endswith("h") and text[:-1].replace(".", "", 1).isdigit():
        return time.time() - float(text[:-1]) * 3600
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--since {text!r}: expected hours ago (24h) or a time (2026-11-24T09:00)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def cmd_status(args: argparse.Namespace) -> int:
    """Compare the arms and recommend advance, hold or roll back; exit 1 when it says roll back."""
    from pytest_llmversion.rollout.status import read_status, render
    from pytest_llmversion.rollout.store import StoreError

    resolved, base, _ = _project(args)
    _candidate(resolved)
    try:
        status = read_status(resolved, base, since=_since(args.since))
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    print("\n".join(render(status, base)))
    try:
        _refuse_unpinned(resolved, base)
    except CommandError as exc:
        print(f"\n  the candidate serves no traffic: {exc}")
    return 1 if status.recommendation.action == "rollback" else 0


def _record(resolved: ResolvedConfig, base: Path, rollout: Rollout, before: float, after: float, reason: str) -> None:
    from pytest_llmversion.rollout.store import RolloutStore, StageChange, StoreError

    candidate = resolved.config.candidate_model or ""
    try:
        store = RolloutStore(
            rollout.store_path(base, resolved.config.report_dir), retention_days=rollout.retention_days
        )
        try:
            store.record_stage_change(StageChange(time.time(), candidate, before, after, reason))
        finally:
            store.close()
    except StoreError as exc:  # the stage itself changed; only the history line is missing
        print(f"llmversion: stage change not recorded in the store: {exc}", file=sys.stderr)


def cmd_advance(args: argparse.Namespace) -> int:
    """Move ``candidate_percent`` to the next stage when status says advance (or ``--force``, recorded)."""
    from pytest_llmversion.rollout.stage import set_stage
    from pytest_llmversion.rollout.status import read_status

    resolved, base, rollout = _project(args)
    candidate = _candidate(resolved)
    _refuse_unpinned(resolved, base)
    before = rollout.candidate_percent
    target = rollout.next_stage() if args.to is None else args.to
    if target is None:
        raise CommandError(
            f"candidate_percent = {before:g} is the last stage; at 100 % make {candidate} the model with "
            "llmversion promote",
            1,
        )
    if not before < target <= 100:
        raise CommandError(f"--to {target:g}: expected a percentage above {before:g} and at most 100")
    reason = "advanced"
    if before > 0:
        status = read_status(resolved, base)
        action = status.recommendation.action
        if action != "advance":
            blocking = [f for f in status.recommendation.findings if f.state != "ok"]
            why = "; ".join(f"{f.rule}: {f.detail}" for f in blocking[:2])
            if not args.force:
                raise CommandError(f"status says {action}, not advance ({why}); advance anyway with --force", 1)
            reason = f"advanced with --force while status said {action}: {why}"
    assert resolved.pyproject is not None
    edit = set_stage(resolved.pyproject, target)
    _record(resolved, base, rollout, before, target, reason)
    print(f"llmversion: {edit.describe()} in {resolved.pyproject.name} ({TABLE})")
    print(f"  running applications follow within reload_seconds = {rollout.reload_seconds:g} s")
    if reason != "advanced":
        print(f"  recorded: {reason}")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    """Set ``candidate_percent = 0``: every key goes back to the current model; the reason is recorded."""
    from pytest_llmversion.rollout.stage import set_stage

    resolved, base, rollout = _project(args)
    before = rollout.candidate_percent
    if before == 0:
        print("llmversion: candidate_percent is already 0: the candidate serves no traffic")
        return 0
    reason = " ".join((args.reason or "llmversion rollout rollback").split())
    assert resolved.pyproject is not None
    edit = set_stage(resolved.pyproject, 0, note=reason)
    _record(resolved, base, rollout, before, 0.0, reason)
    print(f"llmversion: {edit.describe()} in {resolved.pyproject.name} ({TABLE}); reason: {reason}")
    print(f"  running applications follow within reload_seconds = {rollout.reload_seconds:g} s")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """What the error-rate test decides on simulated traffic, with this project's thresholds."""
    from pytest_llmversion.rollout.simulate import simulate

    _, _, rollout = _project(args)
    try:
        result = simulate(
            args.current_error,
            args.candidate_error,
            rollout,
            runs=args.runs,
            every=args.every,
            max_calls=args.max_calls,
            seed=args.seed,
            rates_tested=2 if args.with_quality else 1,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    print(
        f"llmversion rollout simulate: error rate {args.current_error:.2%} (current) vs {args.candidate_error:.2%} "
        f"(candidate), {args.runs} rollouts read every {args.every} calls per arm, up to {args.max_calls:,}"
    )
    print(f"  tolerance +{rollout.max_error_rate_increase:g} % (odds), alpha {result.alpha:g}")
    for action in ("rollback", "advance", "hold"):
        median, late = result.calls(action, 0.5), result.calls(action, 0.95)
        when = f"; calls per arm: median {median:,}, 95 % by {late:,}" if median is not None and late else ""
        print(f"  {action:9} {result.share(action):7.1%}{when if action != 'hold' else ''}")
    return 0


def add_commands(commands: Any, doc: Callable[..., dict[str, Any]]) -> None:
    """Register ``llmversion rollout ...`` on the CLI's subcommands; ``doc(description, *examples)`` gives
    each its ``--help`` text."""
    rollout = commands.add_parser(
        "rollout",
        help="the production rollout of the candidate: status, advance, rollback",
        **doc(
            "The production rollout of the candidate ([tool.llmversion.rollout]): connect(rollout_key=...) serves "
            "candidate_percent of keys from the candidate; these commands read what production recorded and move "
            "the percentage through its stages.",
            "llmversion rollout status --since 24h",
            "llmversion rollout advance",
        ),
    )
    actions = rollout.add_subparsers(dest="rollout_command", metavar="ACTION", required=True)
    status = actions.add_parser(
        "status",
        help="the arms side by side; advance, hold or roll back (exit 1)",
        **doc(
            "Both arms side by side (calls, errors, latency, quality) and the recommendation: advance, hold, or "
            "roll back (exit 1), from always-valid sequential tests that may be read at any time.",
            "llmversion rollout status",
            "llmversion rollout status --since 2026-11-24T09:00",
        ),
    )
    status.add_argument("--since", help="start of the window: hours ago (24h) or a time (default: the rollout start)")
    status.set_defaults(func=_run(cmd_status))
    advance = actions.add_parser(
        "advance",
        help="move candidate_percent to the next stage",
        **doc(
            "Move candidate_percent in pyproject.toml to the next stage, when status says so (or --force, recorded).",
            "llmversion rollout advance",
            "llmversion rollout advance --to 25",
        ),
    )
    advance.add_argument("--to", type=float, metavar="PERCENT", help="this stage instead of the next")
    advance.add_argument("--force", action="store_true", help="advance although status does not say so (recorded)")
    advance.set_defaults(func=_run(cmd_advance))
    rollback = actions.add_parser(
        "rollback",
        help="candidate_percent = 0: every key back on the current model",
        **doc(
            "Set candidate_percent = 0: every key is served by the current model again; the reason is kept as a "
            "comment in pyproject.toml and in the store.",
            'llmversion rollout rollback --reason "p95 latency doubled"',
        ),
    )
    rollback.add_argument("--reason", help="why, kept as a comment in pyproject.toml and in the store")
    rollback.set_defaults(func=_run(cmd_rollback))
    simulate = actions.add_parser(
        "simulate",
        help="what the error-rate test decides on simulated traffic",
        **doc(
            "Run the rollout's error-rate test on simulated traffic: how often it stops a candidate with the given "
            "error rates, and after how many calls (its false-alarm rate and power, before trusting it).",
            "llmversion rollout simulate --current-error 0.02 --candidate-error 0.04",
        ),
    )
    simulate.add_argument("--current-error", type=float, default=0.02, help="the current model's rate (0.02)")
    simulate.add_argument("--candidate-error", type=float, default=0.02, help="the candidate's rate (0.02)")
    simulate.add_argument("--runs", type=int, default=200, help="simulated rollouts (200)")
    simulate.add_argument("--every", type=int, default=100, help="calls per arm between two readings (100)")
    simulate.add_argument("--max-calls", type=int, default=20_000, help="calls per arm before a run gives up")
    simulate.add_argument("--seed", type=int, default=0, help="the simulation's random seed (0)")
    simulate.add_argument("--with-quality", action="store_true", help="split alpha with a quality test, as status does")
    simulate.set_defaults(func=_run(cmd_simulate))


def _run(command: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(command(args))
        except CommandError as exc:
            print(f"llmversion: {exc}", file=sys.stderr)
            return exc.status

    return run
