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
    try:
        registry = PromptRegistry.load(config.prompts, root)
        problems += registry.problems()
    except PromptError as exc:
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


def cmd_deprecations(args: argparse.Namespace) -> int:
    """Lifecycle of the configured models (or the named ones, or ``--all``); exit 1 inside the urgent window."""
    from pytest_llmversion.config import ConfigError, load_config
    from pytest_llmversion.deprecation import SEVERITY, ClockError, Lifecycle, describe, lifecycle, table, today
    from pytest_llmversion.governance import GovernanceError, load
    from pytest_llmversion.modelref import ModelRefError
    from pytest_llmversion.pinning import pin_status

    root = _project_root(Path(args.root))
    try:
        resolved = load_config(root)
        on = today(override=args.today)
        catalog = load(resolved, root)
    except (ConfigError, ClockError, GovernanceError) as exc:
        print(exc, file=sys.stderr)
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

    from pytest_llmversion.catalog import CatalogError, parse_catalog
    from pytest_llmversion.catalog_build import build_from_file
    from pytest_llmversion.config import ConfigError, load_config
    from pytest_llmversion.deprecation import ClockError, today
    from pytest_llmversion.governance import catalog_file

    root = _project_root(Path(args.root))
    try:
        resolved = load_config(root)
        default_output, chosen = catalog_file(resolved, root)
        as_of = date.fromisoformat(args.as_of) if args.as_of else today()
    except (ConfigError, ClockError) as exc:
        print(exc, file=sys.stderr)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmversion", description="pytest-llmversion: govern LLM model migrations.")
    parser.add_argument("--version", action="version", version=f"llmversion {__version__}")
    parser.add_argument("--root", default=".", help="project folder (default: the nearest pyproject.toml)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser("check", help="validate [tool.llmversion] and the prompt registry")
    check.set_defaults(func=cmd_check)
    deprecations = commands.add_parser(
        "deprecations",
        help="retirement dates of the configured models; exit 1 when one is retired or inside the urgent window",
    )
    deprecations.add_argument("models", nargs="*", metavar="PROVIDER/MODEL", help="models to check instead")
    deprecations.add_argument("--all", action="store_true", help="list every model in the catalogue too")
    deprecations.add_argument("--today", metavar="YYYY-MM-DD", help="the day to judge for (default: LLMVERSION_TODAY)")
    deprecations.set_defaults(func=cmd_deprecations)
    catalog = commands.add_parser("catalog", help="the model catalogue: prices, aliases, retirement dates")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)
    importer = catalog_commands.add_parser(
        "import", help="refresh the catalogue from a newer LiteLLM model_prices_and_context_window.json"
    )
    importer.add_argument("file", metavar="FILE", help="LiteLLM's model_prices_and_context_window.json")
    importer.add_argument(
        "--output", help="where to write (default: catalog_file, else <report_dir>/catalog.json: read by the plugin)"
    )
    importer.add_argument("--as-of", help="the day the file was downloaded (default: today)")
    importer.add_argument("--litellm-version", help="the LiteLLM version the file comes from, for the provenance")
    importer.set_defaults(func=cmd_catalog_import)
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
