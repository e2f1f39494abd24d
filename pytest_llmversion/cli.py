"""The ``llmversion`` command: check the config, and (in later subcommands) govern migrations."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pytest_llmversion import __version__


def _project_root(start: Path) -> Path:
    from pytest_llmversion.config import find_pyproject

    found = find_pyproject(start.resolve())
    return found.parent if found else start.resolve()


def cmd_check(args: argparse.Namespace) -> int:
    """Validate ``[tool.llmversion]``, the models it names and the prompt registry."""
    from pytest_llmversion.config import ConfigError, load_config
    from pytest_llmversion.prompts import PromptError, PromptRegistry

    root = _project_root(Path(args.root))
    try:
        resolved = load_config(root)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    config = resolved.config
    where = resolved.pyproject or "(no pyproject.toml found; defaults only)"
    problems: list[str] = []
    if config.model is None:
        problems.append('no current model: set model = "provider/model-id" in [tool.llmversion]')
    registry = PromptRegistry({})
    try:
        registry = PromptRegistry.load(config.prompts, root)
        problems += registry.problems()
        if registry.tasks:
            from pytest_llmversion.prompt_usage import scan_project

            problems += registry.unprovided_variables(scan_project(root))
    except PromptError as exc:
        problems.append(str(exc))
    try:
        from pytest_llmversion.rollout import Rollout, RolloutError

        Rollout.from_table(resolved.extra_tables.get("rollout"))
    except RolloutError as exc:
        problems.append(str(exc))
    for problem in problems:
        print(f"llmversion: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"llmversion: {where}: ok")
    print(f"  current   {config.model}  ({resolved.source('model')})")
    if config.candidate_model:
        print(f"  candidate {config.candidate_model}  ({resolved.source('candidate_model')})")
    for fallback in config.fallback_models:
        print(f"  fallback  {fallback}")
    tasks = len(registry.tasks)
    if tasks:
        print(f"  prompts   {tasks} task(s) in {config.prompts}/")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    """Make the candidate of the last run the current model; its answers become the goldens."""
    from pytest_llmversion.promotion import PromotionError, apply_promotion, plan_promotion

    root = _project_root(Path(args.root))
    try:
        plan = plan_promotion(root, Path(args.report) if args.report else None, force=args.force)
        if args.dry_run:
            print(f"llmversion: would promote {plan.new_model} (replacing {plan.old_model}); {len(plan.files)} goldens")
            return 0
        backup = apply_promotion(plan)
    except PromotionError as exc:
        print(f"llmversion: {exc}", file=sys.stderr)
        return 1
    print(f"llmversion: promoted {plan.new_model} (was {plan.old_model}); {len(plan.files)} goldens rewritten")
    for note in plan.forced:
        print(f"  forced: {note}")
    print(f"  backup for `llmversion rollback`: {backup.relative_to(plan.project)}")
    print("\nMigration checklist:")
    print(_checklist(plan, backup))
    print("\nReview the golden diffs (git diff), then commit them with pyproject.toml.")
    return 0


def _checklist(plan: object, backup: Path) -> str:
    from pytest_llmversion.checklist import Facts, checklist, render
    from pytest_llmversion.config import load_config
    from pytest_llmversion.modelref import ModelRef
    from pytest_llmversion.promotion import PromotionPlan
    from pytest_llmversion.prompts import PromptRegistry
    from pytest_llmversion.rollout import Rollout

    assert isinstance(plan, PromotionPlan)
    resolved = load_config(plan.project, environ={})
    new = ModelRef.parse(plan.new_model, resolved.config.known_providers())
    registry = PromptRegistry.load(resolved.config.prompts, plan.project)
    tuned = any(t in (str(new), new.model_id) for p in registry.all_prompts() for t in p.tuned_for)
    facts = Facts(
        report=plan.report,
        new_model=plan.new_model,
        forced=plan.forced,
        rollout_percent=Rollout.from_table(resolved.extra_tables.get("rollout")).candidate_percent,
        registry_tuned=tuned,
        backup_kept=(backup / "manifest.json").is_file() and resolved.config.previous_model == plan.old_model,
    )
    return render(checklist(facts))


def cmd_rollback(args: argparse.Namespace) -> int:
    """Restore the model and goldens of before the last promotion, byte for byte."""
    from pytest_llmversion.promotion import PromotionError, rollback

    try:
        manifest = rollback(_project_root(Path(args.root)))
    except PromotionError as exc:
        print(f"llmversion: {exc}", file=sys.stderr)
        return 1
    print(
        f"llmversion: rolled back to {manifest['previous_model']} (from {manifest['model']}); "
        f"{len(manifest['files'])} files restored"
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Render a saved report as Markdown (stdout by default) or HTML."""
    from pydantic import ValidationError

    from pytest_llmversion.config import load_config
    from pytest_llmversion.reports.html import render_html
    from pytest_llmversion.reports.markdown import render_markdown
    from pytest_llmversion.reports.model import Report
    from pytest_llmversion.yamlio import write_atomic

    root = _project_root(Path(args.root))
    path = Path(args.report) if args.report else root / load_config(root).config.report_dir / "report.json"
    if not path.is_file():
        print(f"llmversion: no report at {path}; run pytest first", file=sys.stderr)
        return 1
    try:
        report = Report.read(path)
    except (ValidationError, ValueError) as exc:
        print(f"llmversion: {path} is not a pytest-llmversion report ({type(exc).__name__})", file=sys.stderr)
        return 1
    if args.html:
        write_atomic(Path(args.html), render_html(report))
    if args.md:
        write_atomic(Path(args.md), render_markdown(report))
    if not args.html and not args.md:
        print(render_markdown(report), end="")
    return 0 if report.summary.gate == "pass" or not args.fail_on_gate else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmversion", description="pytest-llmversion: govern LLM model migrations.")
    parser.add_argument("--version", action="version", version=f"llmversion {__version__}")
    parser.add_argument("--root", default=".", help="project folder (default: the nearest pyproject.toml)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser("check", help="validate [tool.llmversion] and the prompt registry")
    check.set_defaults(func=cmd_check)
    promote = commands.add_parser("promote", help="make the last run's candidate the current model")
    promote.add_argument("--report", help="the candidate run's report (default: <report_dir>/report.json)")
    promote.add_argument("--force", action="store_true", help="promote although the gate failed (recorded)")
    promote.add_argument("--dry-run", action="store_true", help="check everything, change nothing")
    promote.set_defaults(func=cmd_promote)
    report = commands.add_parser("report", help="render the last report as Markdown or HTML")
    report.add_argument("--report", help="report.json to read (default: <report_dir>/report.json)")
    report.add_argument("--md", metavar="PATH", help="write Markdown here (default: print it)")
    report.add_argument("--html", metavar="PATH", help="write a self-contained HTML page here")
    report.add_argument("--fail-on-gate", action="store_true", help="exit 1 when the report's gate failed")
    report.set_defaults(func=cmd_report)
    rollback = commands.add_parser("rollback", help="undo the last promotion exactly")
    rollback.set_defaults(func=cmd_rollback)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
