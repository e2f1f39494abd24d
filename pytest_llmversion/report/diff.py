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
    return unified(*text_lines(old, new), old_name, new_name)[2:]


def text_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    """Two outputs as the lines a diff compares: both re-indented when both are JSON, else both as written."""
    pretty_old, pretty_new = _pretty_json(old), _pretty_json(new)
    if pretty_old is None or pretty_new is None:
        return old.splitlines() or [""], new.splitlines() or [""]
    return pretty_old, pretty_new


def unified(old: list[str], new: list[str], old_name: str, new_name: str) -> list[str]:
    lines = list(difflib.unified_diff(old, new, old_name, new_name, lineterm="", n=2))
    if len(lines) > DIFF_LINES:
        lines = [*lines[:DIFF_LINES], f"... ({len(lines) - DIFF_LINES} more diff lines)"]
    return lines


#: Lines per side of a side-by-side diff; past that the rest is one row saying how many lines were left out.
SIDE_BY_SIDE_LINES = 2_000


def pretty(text: str) -> list[str]:
    """An output as people read it: JSON re-indented with sorted keys (one field a line), else as it is."""
    return _pretty_json(text) or text.splitlines() or [""]


def side_by_side(old: str, new: str) -> list[list[str]]:
    """Rows of a two-column diff of two outputs (pretty-printed as ``output_diff`` does), each
    ``["=", line]`` (both sides), ``["~", old, new]`` (changed), ``["-", old]`` or ``["+", new]``; a last
    ``["…", "N more lines"]`` row when a side is longer than ``SIDE_BY_SIDE_LINES``."""
    pretty_old, pretty_new = text_lines(old, new)
    cut = max(len(pretty_old), len(pretty_new)) - SIDE_BY_SIDE_LINES
    a, b = pretty_old[:SIDE_BY_SIDE_LINES], pretty_new[:SIDE_BY_SIDE_LINES]
    rows: list[list[str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows += [["=", line] for line in a[i1:i2]]
            continue
        olds, news = a[i1:i2], b[j1:j2]
        paired = min(len(olds), len(news))
        rows += [["~", olds[n], news[n]] for n in range(paired)]
        rows += [["-", line] for line in olds[paired:]]
        rows += [["+", line] for line in news[paired:]]
    if cut > 0:
        rows.append(["…", f"{cut} more lines (report.json has the whole output)"])
    return rows
