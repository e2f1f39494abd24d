"""Which template variables the code passes to each prompt task, found by reading the source (AST).

Recognises ``<x>.complete(<y>.prompt("task"), name=...)`` and the two-step form
``p = <y>.prompt("task")`` followed by ``<x>.complete(p, name=...)`` in the same function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

_SKIP = {".venv", "venv", ".git", "node_modules", "__pycache__", ".llmversion", "build", "dist"}


@dataclass
class TaskUsage:
    variables: set[str] = field(default_factory=set)
    places: list[str] = field(default_factory=list)
    #: A call passed ``**kwargs``: its variables cannot be known.
    open_ended: bool = False


def _prompt_task(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "prompt"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def scan_source(source: str, filename: str) -> dict[str, TaskUsage]:
    usage: dict[str, TaskUsage] = {}
    try:
        tree = ast.parse(source, filename)
    except SyntaxError:
        return usage
    scopes = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module)]
    for scope in scopes:
        names: dict[str, str] = {}
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                task = _prompt_task(node.value)
                if task:
                    names[node.targets[0].id] = task
        for node in ast.walk(scope):
            if not (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "complete"
            ):
                continue
            if not node.args:
                continue
            first = node.args[0]
            task = _prompt_task(first) or (names.get(first.id) if isinstance(first, ast.Name) else None)
            if task is None:
                continue
            entry = usage.setdefault(task, TaskUsage())
            place = f"{filename}:{node.lineno}"
            if place not in entry.places:
                entry.places.append(place)
            for keyword in node.keywords:
                if keyword.arg is None:
                    entry.open_ended = True
                else:
                    entry.variables.add(keyword.arg)
    return usage


def scan_project(root: Path, files: Iterable[Path] | None = None) -> dict[str, TaskUsage]:
    merged: dict[str, TaskUsage] = {}
    paths = files if files is not None else (p for p in root.rglob("*.py") if not _SKIP & set(p.parts))
    for path in sorted(paths):
        shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        for task, found in scan_source(path.read_text(encoding="utf-8", errors="replace"), shown).items():
            entry = merged.setdefault(task, TaskUsage())
            entry.variables |= found.variables
            entry.places += found.places
            entry.open_ended |= found.open_ended
    return merged
