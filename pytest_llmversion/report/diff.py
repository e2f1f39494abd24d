"""Diffs of two outputs as people read them: JSON re-indented with sorted keys, anything else as it is."""

from __future__ import annotations

import difflib
import json

#: Diff lines shown before the rest is counted instead.
DIFF_LINES = 40


def _pretty_json(text: str) -> list[str] | None:
    try:
        return json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    except (json.JSONDecodeError, TypeError):
        return None


def output_diff(old: str, new: str, old_name: str, new_name: str) -> list[str]:
    """A unified diff of two outputs; when both are JSON, re-indented with sorted keys so a
    changed field is one line, else the raw text (so a new code fence or prose shows as such)."""
    pretty_old, pretty_new = _pretty_json(old), _pretty_json(new)
    if pretty_old is None or pretty_new is None:
        pretty_old, pretty_new = old.splitlines() or [""], new.splitlines() or [""]
    return unified(pretty_old, pretty_new, old_name, new_name)[2:]


def unified(old: list[str], new: list[str], old_name: str, new_name: str) -> list[str]:
    lines = list(difflib.unified_diff(old, new, old_name, new_name, lineterm="", n=2))
    if len(lines) > DIFF_LINES:
        lines = [*lines[:DIFF_LINES], f"... ({len(lines) - DIFF_LINES} more diff lines)"]
    return lines
