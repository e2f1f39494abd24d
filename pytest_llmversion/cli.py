"""The ``llmversion`` command: check the config, and (in later subcommands) govern migrations."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmversion.version import __version__

if TYPE_CHECKING:
    from pytest_llmversion.config import LLMConfig
    from pytest_llmversion.governance.catalog import Catalog
    from pytest_llmversion.promotion import PromotionPlan
    from pytest_llmversion.report.schema import Report


def _error(problem: object) -> None:
    """One line on stderr, led by the command's name (config errors are phrased for pytest too)."""
    print(f"llmversion: {str(problem).removeprefix('pytest-llmversion: ')}", file=sys.stderr)


def _project_root(start: Path) -> Path:
    from pytest_llmversion.config import find_pyproject

    found = find_pyproject(start.resolve())
    return found.parent if found else start.resolve()


def cmd_check(args: argparse.Namespace) -> int:
    """Validate ``[tool.llmversion]``, the models it names and the prompt registry."""
    from pytest_llmversion.config import ConfigError, load_config
    from pytest_llmversion.prompts.registry import PromptError, PromptRegistry

    root = _project_root(Path(args.root))
    try:
        resolved = load_config(root)
    except ConfigError as exc:
        _error(exc)
        return 2
    config = resolved.config
    where = resolved.pyproject or "(no pyproject.toml found; defaults only)"
    problems: list[str] = []
    if config.model is None:
        problems.append('no current model: set model = "provider/model-id" in [tool.llmversion]')
    from pytest_llmversion.governance import startup as governance

    catalog = None
    notices: list[str] = []
    try:
        catalog = governance.load(resolved, root)
        notices = governance.check_configured_pinning(resolved, catalog)  # as pytest and connect() do
    except governance.GovernanceError as exc:
        problems.append(str(exc).removeprefix("pytest-llmversion: "))
    registry = PromptRegistry({})
    try:
        registry = PromptRegistry.load(config.prompts, root)
        problems += registry.problems(known_model=_unknown_model(config, catalog))
        if registry.tasks:
            from pytest_llmversion.prompts.usage import scan_project

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
    for notice in notices:
        print(f"  {notice}")
    from pytest_llmversion.providers.readiness import readiness_warnings

    for warning in readiness_warnings(config):  # a replay-only suite needs neither: said, not failed
        print(f"  warning: {warning}")
    return 0


def _unknown_model(config: LLMConfig, catalog: Catalog | None) -> Callable[[str], str | None]:
    """For the registry check: why a ``tuned_for`` model is unknown, or None when it is fine."""
    from pytest_llmversion.modelref import BUILTIN_PROVIDERS, ModelRefError

    def problem(text: str) -> str | None:
        if "/" not in text:
            return None  # a bare model id matches any provider's model of that name
        try:
            ref = config.ref(text)
        except ModelRefError as exc:
            return str(exc)
        if ref.provider == "scripted" or ref.provider not in BUILTIN_PROVIDERS:
            return None  # test doubles and your own endpoints are not in any catalogue
        if catalog is not None and catalog.get(ref) is None:
            return "the catalogue does not know this model (a typo, or add it under [tool.llmversion.catalog])"
        return None

    return problem


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
    if plan.legacy:
        print(f"  {len(plan.legacy)} of them renamed from legacy names (the old files are removed)")
    for note in plan.forced:
        print(f"  forced: {note}")
    print(f"  backup for `llmversion rollback`: {backup.relative_to(plan.project)}")
    print("\nMigration checklist:")
    print(_checklist(plan, backup))
    print("\nReview the golden diffs (git diff), then commit them with pyproject.toml.")
    return 0


def _checklist(plan: PromotionPlan, backup: Path) -> str:
    from pytest_llmversion.config import load_config
    from pytest_llmversion.governance import startup as governance
    from pytest_llmversion.governance.checklist import Facts, catalogue_facts, checklist, render
    from pytest_llmversion.governance.deprecation import today
    from pytest_llmversion.modelref import ModelRef
    from pytest_llmversion.prompts.registry import PromptRegistry
    from pytest_llmversion.rollout import Rollout
    from pytest_llmversion.rollout.status import monitoring_fact

    resolved = load_config(plan.project, environ={})
    new = ModelRef.parse(plan.new_model, resolved.config.known_providers())
    registry = PromptRegistry.load(resolved.config.prompts, plan.project)
    tuned = any(t in (str(new), new.model_id) for p in registry.all_prompts() for t in p.tuned_for)
    pinned, alert = catalogue_facts(governance.load(resolved, plan.project), new, today())
    facts = Facts(
        report=plan.report,
        new_model=plan.new_model,
        forced=plan.forced,
        rollout_percent=Rollout.from_table(resolved.extra_tables.get("rollout")).candidate_percent,
        registry_tuned=tuned,
        backup_kept=(backup / "manifest.json").is_file() and resolved.config.previous_model == plan.old_model,
        pinned=pinned,
        deprecation=alert,
        monitoring=monitoring_fact(resolved, plan.project, current=plan.old_model, candidate=plan.new_model),
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
    from pytest_llmversion.atomic import write_atomic
    from pytest_llmversion.config import load_config
    from pytest_llmversion.report.html import render_html
    from pytest_llmversion.report.markdown import render_markdown
    from pytest_llmversion.report.schema import Report, ReportError

    root = _project_root(Path(args.root))
    path = Path(args.report) if args.report else root / load_config(root).config.report_dir / "report.json"
    if not path.is_file():
        print(f"llmversion: no report at {path}; run pytest first", file=sys.stderr)
        return 1
    try:
        report = Report.read(path)
    except ReportError as exc:
        print(f"llmversion: {exc}", file=sys.stderr)
        return 1
    if args.html:
        write_atomic(Path(args.html), render_html(report))
    if args.md:
        write_atomic(Path(args.md), render_markdown(report))
    if args.terminal:
        from pytest_llmversion.report.terminal import summary_lines

        print("\n".join(summary_lines(report, str(path))))
    if not args.html and not args.md and not args.terminal:
        print(render_markdown(report), end="")
    return _gate_status(report, path, fail_on_gate=args.fail_on_gate, allow_partial=args.allow_partial)


def _gate_status(report: Report, path: Path, *, fail_on_gate: bool, allow_partial: bool) -> int:
    """With ``--fail-on-gate``: 1 when the gate failed, or when the report is of a partial run (its gate
    speaks only for the items that ran) unless ``--allow-partial``; each reason one line on stderr."""
    if not fail_on_gate:
        return 0
    status = 0
    summary, run = report.summary, report.run
    if summary.gate == "fail":
        _error(f"gate FAIL: {'; '.join(summary.gate_reasons) or 'no reason recorded'}")
        status = 1
    if run.partial and not allow_partial:
        _error(
            f"{path} is the report of a partial run ({'; '.join(run.partial_reasons)}): its gate speaks only for "
            "the items that ran; run the whole suite, or pass --allow-partial"
        )
        status = 1
    return status


def cmd_deprecations(args: argparse.Namespace) -> int:
    """Lifecycle of the configured models (or the named ones, or ``--all``); exit 1 inside the urgent window."""
    from pytest_llmversion.config import ConfigError, load_config
    from pytest_llmversion.governance.catalog import pin_status
    from pytest_llmversion.governance.deprecation import (
        SEVERITY,
        ClockError,
        Lifecycle,
        describe,
        lifecycle,
        table,
        today,
    )
    from pytest_llmversion.governance.startup import GovernanceError, load
    from pytest_llmversion.modelref import ModelRefError

    root = _project_root(Path(args.root))
    try:
        resolved = load_config(root)
        on = today(override=args.today)
        catalog = load(resolved, root)
    except (ConfigError, ClockError, GovernanceError) as exc:
        _error(exc)
        return 2
    config = resolved.config
    checked: list[tuple[str, str]] = []
    for text in args.models:
        try:
            ref = str(config.ref(text))
        except ModelRefError as exc:
            print(f"llmversion: {exc}", file=sys.stderr)
            return 2
        if catalog.get(ref) is None:
            close = catalog.close_matches(ref)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            where = f'[tool.llmversion.catalog."{ref}"]'
            print(
                f"llmversion: {ref} is not in the {catalog.label}{hint}; add it under {where} with retires = "
                "YYYY-MM-DD and its source",
                file=sys.stderr,
            )
            return 2
        checked.append(("named", ref))
    if not args.models:
        named = [("current", config.model), ("candidate", config.candidate_model)]
        named += [("fallback", text) for text in config.fallback_models]
        checked = [(role, str(config.ref(text))) for role, text in named if text]
    if not checked and not args.all:
        print("llmversion: no models configured; name some (llmversion deprecations openai/gpt-4o) or use --all")
        return 2
    windows = {"warn_days": config.deprecation_warn_days, "urgent_days": config.deprecation_urgent_days}
    rows: list[tuple[str, Lifecycle, str]] = [
        (role, lifecycle(ref, catalog, on, **windows), pin_status(config.ref(ref), catalog).kind)
        for role, ref in checked
    ]
    listed = list(rows)
    if args.all:
        seen = {lc.ref for _, lc, _ in rows}
        listed += [
            ("catalogue", lifecycle(ref, catalog, on, **windows), entry.kind)
            for ref, entry in catalog.entries.items()
            if ref not in seen
        ]
    listed.sort(key=lambda row: (SEVERITY[row[1].state], row[1].retires or on, row[1].ref))
    print(f"llmversion deprecations on {on} ({catalog.label})")
    for line in table(listed):
        print(f"  {line}")
    candidate = str(config.ref(config.candidate_model)) if config.candidate_model else None
    for role, lc, _ in rows:
        message = describe(lc, role if role in ("current", "candidate", "fallback") else "model", candidate=candidate)
        if message:
            print(f"{message}{f' (source: {lc.source})' if lc.source else ''}")
    pressing = [lc.ref for _, lc, _ in rows if lc.pressing]
    if pressing:
        print(f"llmversion: {len(pressing)} model(s) retired or within {windows['urgent_days']} days of retirement")
    return 1 if pressing else 0


def cmd_catalog_import(args: argparse.Namespace) -> int:
    """Turn a newer LiteLLM price file into the project's catalogue, read instead of the bundled one."""
    from datetime import date

    from pytest_llmversion.config import ConfigError, load_config
    from pytest_llmversion.governance.catalog import CatalogError, parse_catalog
    from pytest_llmversion.governance.catalog_build import build_from_file
    from pytest_llmversion.governance.deprecation import ClockError, today
    from pytest_llmversion.governance.startup import catalog_file

    root = _project_root(Path(args.root))
    try:
        resolved = load_config(root)
        default_output, chosen = catalog_file(resolved, root)
        as_of = date.fromisoformat(args.as_of) if args.as_of else today()
    except (ConfigError, ClockError) as exc:
        _error(exc)
        return 2
    except ValueError:
        print(f"llmversion: --as-of {args.as_of!r} is not a date (expected YYYY-MM-DD)", file=sys.stderr)
        return 2
    output = Path(args.output) if args.output else default_output
    try:
        text = build_from_file(Path(args.file), as_of=as_of, litellm_version=args.litellm_version)
        catalog = parse_catalog(text, str(output))
    except CatalogError as exc:
        print(f"llmversion: {exc}", file=sys.stderr)
        return 2
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8", newline="\n")
    kept = catalog.provenance["litellm"]["models_kept"]
    print(f"llmversion: wrote {output}: {len(catalog.entries)} models ({kept} from {args.file}), as of {as_of}")
    if not args.output:
        print("  pytest and llmversion now read it instead of the bundled catalogue (delete it to go back)")
        if chosen is None:
            folder = resolved.config.report_dir
            print(f"  {folder}/ is usually git-ignored: to share the catalogue with CI, import it to a")
            print('  committed path and name it in [tool.llmversion]: catalog_file = "llm/catalog.json"')
    return 0


def command_doc(description: str, *examples: str) -> dict[str, Any]:
    """``add_parser`` keywords: a description and an epilog of examples, laid out as written."""
    return {
        "description": description,
        "epilog": "examples:\n" + "\n".join(f"  {example}" for example in examples),
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmversion",
        **command_doc(
            "pytest-llmversion: govern LLM model migrations. pytest runs the tests (goldens, candidate gates); "
            "these commands check the configuration, render reports, promote a candidate and roll it out.",
            "llmversion check",
            "llmversion report --html report.html",
            "llmversion promote --dry-run",
        ),
    )
    parser.add_argument("--version", action="version", version=f"llmversion {__version__}")
    parser.add_argument("--root", default=".", help="project folder (default: the nearest pyproject.toml)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="validate [tool.llmversion] and the prompt registry",
        **command_doc(
            "Validate [tool.llmversion] of the nearest pyproject.toml: the models it names (pinned, known to the "
            "catalogue), the prompt registry and the rollout table; exit 1 with one line per problem. Warn (exit 0) "
            "when a configured provider has no SDK installed or no API key set.",
            "llmversion check",
            "llmversion --root services/triage check",
        ),
    )
    check.set_defaults(func=cmd_check)
    promote = commands.add_parser(
        "promote",
        help="make the last run's candidate the current model",
        **command_doc(
            "Make the candidate of the last run the current model: its answers (kept under <report_dir>/candidate/) "
            "become the goldens and pyproject.toml names it; the old goldens are backed up for `llmversion rollback`. "
            "Refuses a failed gate, a partial run or a report of another configuration unless --force.",
            "pytest --candidate-model=openai/gpt-4.1-2025-04-14 && llmversion promote --dry-run",
            "llmversion promote --report ci-artifacts/report.json",
        ),
    )
    promote.add_argument("--report", help="the candidate run's report (default: <report_dir>/report.json)")
    promote.add_argument("--force", action="store_true", help="promote although the gate failed (recorded)")
    promote.add_argument("--dry-run", action="store_true", help="check everything, change nothing")
    promote.set_defaults(func=cmd_promote)
    report = commands.add_parser(
        "report",
        help="render the last report as Markdown, HTML or the terminal summary",
        **command_doc(
            "Render a saved report.json again, as every view a run writes: Markdown (printed by default, or --md), "
            "the self-contained HTML page (--html) and the terminal summary (--terminal). With --fail-on-gate, exit "
            "1 when the report's gate failed (a CI step after the tests ran with || true).",
            "llmversion report --html report.html --md summary.md",
            "llmversion report --report artifacts/report.json --terminal --fail-on-gate",
        ),
    )
    report.add_argument("--report", help="report.json to read (default: <report_dir>/report.json)")
    report.add_argument("--md", metavar="PATH", help="write Markdown here (default: print it)")
    report.add_argument("--html", metavar="PATH", help="write a self-contained HTML page here")
    report.add_argument("--terminal", action="store_true", help="print the summary pytest shows at the end of a run")
    report.add_argument(
        "--fail-on-gate",
        action="store_true",
        help="exit 1 when the report's gate failed, or when it is of a partial run (saying why on stderr)",
    )
    report.add_argument(
        "--allow-partial",
        action="store_true",
        help="with --fail-on-gate: accept the report of a run that ran only some LLM items (-k, -x, node ids, ...)",
    )
    report.set_defaults(func=cmd_report)
    rollback = commands.add_parser(
        "rollback",
        help="undo the last promotion exactly",
        **command_doc(
            "Restore the model and the goldens of before the last `llmversion promote`, byte for byte, from the "
            "backup it kept.",
            "llmversion rollback && git diff --stat",
        ),
    )
    rollback.set_defaults(func=cmd_rollback)
    deprecations = commands.add_parser(
        "deprecations",
        help="retirement dates of the configured models; exit 1 when one is retired or inside the urgent window",
        **command_doc(
            "Lifecycle of the configured models (current, candidate, fallbacks), or of the models named, from the "
            "catalogue: retirement dates, successors, days left. Exit 1 when one is retired or inside the urgent "
            "window (deprecation_urgent_days), so a scheduled CI job can say so.",
            "llmversion deprecations",
            "llmversion deprecations openai/gpt-4o-2024-08-06 --today 2026-06-01",
            "llmversion deprecations --all",
        ),
    )
    deprecations.add_argument("models", nargs="*", metavar="PROVIDER/MODEL", help="models to check instead")
    deprecations.add_argument("--all", action="store_true", help="list every model in the catalogue too")
    deprecations.add_argument("--today", metavar="YYYY-MM-DD", help="the day to judge for (default: LLMVERSION_TODAY)")
    deprecations.set_defaults(func=cmd_deprecations)
    catalog = commands.add_parser(
        "catalog",
        help="the model catalogue: prices, aliases, retirement dates",
        **command_doc(
            "The model catalogue the plugin prices runs, checks pinning and warns of retirements with: the bundled "
            "one, or the project's own built by `catalog import`.",
            "llmversion catalog import model_prices_and_context_window.json --as-of 2026-11-20",
        ),
    )
    catalog_commands = catalog.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)
    importer = catalog_commands.add_parser(
        "import",
        help="refresh the catalogue from a newer LiteLLM model_prices_and_context_window.json",
        **command_doc(
            "Build the project's catalogue from a newer LiteLLM model_prices_and_context_window.json (prices, "
            "context windows, retirement dates), read by pytest and llmversion instead of the bundled one.",
            "llmversion catalog import model_prices_and_context_window.json --as-of 2026-11-20",
            "llmversion catalog import prices.json --output llm/catalog.json --litellm-version 1.80.0",
        ),
    )
    importer.add_argument("file", metavar="FILE", help="LiteLLM's model_prices_and_context_window.json")
    importer.add_argument(
        "--output", help="where to write (default: catalog_file, else <report_dir>/catalog.json: read by the plugin)"
    )
    importer.add_argument("--as-of", help="the day the file was downloaded (default: today)")
    importer.add_argument("--litellm-version", help="the LiteLLM version the file comes from, for the provenance")
    importer.set_defaults(func=cmd_catalog_import)
    from pytest_llmversion.rollout.commands import add_commands

    add_commands(commands, command_doc)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from pytest_llmversion.errors import LLMVersionError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except LLMVersionError as exc:  # one of ours that a command does not handle itself: still its one line
        _error(exc)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
