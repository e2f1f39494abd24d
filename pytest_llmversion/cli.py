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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmversion", description="pytest-llmversion: govern LLM model migrations.")
    parser.add_argument("--version", action="version", version=f"llmversion {__version__}")
    parser.add_argument("--root", default=".", help="project folder (default: the nearest pyproject.toml)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser("check", help="validate [tool.llmversion] and the prompt registry")
    check.set_defaults(func=cmd_check)
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
