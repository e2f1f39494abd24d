"""Case files: a YAML or JSON list of ``{id, input, expected?, tags?}``, one test item per case and role."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.yamlio import YamlFileError, item_lines, load_yaml_cached, read_text

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+=-]*$")
_KNOWN_KEYS = {"id", "input", "expected", "tags"}


class CasesFileError(LLMVersionError, ValueError):
    """A cases file that cannot be used; names the file and the line."""


@dataclass(frozen=True)
class Case:
    id: str
    input: Any
    expected: Any = None
    tags: tuple[str, ...] = ()
    #: Any other keys of the case, for the test's own use.
    data: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        if key in _KNOWN_KEYS:
            return getattr(self, key)
        return self.data[key]


def load_cases(path: Path, cache: Path | None = None) -> list[Case]:
    """Read and validate a cases file; every problem names ``path`` and, where it can, the line. A YAML file is
    parsed through ``cache`` when given (``yamlio.load_yaml_cached``)."""
    if not path.is_file():
        raise CasesFileError(f"{path}: cases file not found")
    try:
        text = read_text(path)
    except YamlFileError as exc:
        raise CasesFileError(str(exc)) from None
    if path.suffix == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CasesFileError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
    else:
        try:
            raw = load_yaml_cached(text, path, cache)
        except YamlFileError as exc:
            raise CasesFileError(str(exc)) from None
    if not isinstance(raw, list) or not raw:
        raise CasesFileError(f"{path}: expected a non-empty list of cases, each with 'id' and 'input'")
    cases: list[Case] = []
    first_seen: dict[str, int] = {}
    lines: list[int] = []

    def at(index: int) -> str:
        # line numbers need a second parse, so they are computed only for an error message
        if not lines:
            lines.extend(json_item_lines(text) if path.suffix == ".json" else item_lines(text))
        return f"{path}:{lines[index]}" if index < len(lines) else str(path)

    for index, item in enumerate(raw):
        where = _Where(at, index)
        if not isinstance(item, dict):
            raise CasesFileError(f"{where}: case {index + 1} must be a mapping with 'id' and 'input'")
        case_id = item.get("id")
        if not isinstance(case_id, str | int) or isinstance(case_id, bool):
            raise CasesFileError(f"{where}: case {index + 1} needs an 'id' (a short name such as refund-request)")
        case_id = str(case_id)
        if not _SAFE_ID.match(case_id) or len(case_id) > 80:
            raise CasesFileError(
                f"{where}: case id {case_id!r} must be letters, digits and . _ - (up to 80), "
                f"because it names a golden file"
            )
        if case_id in first_seen:
            raise CasesFileError(f"{where}: duplicate case id {case_id!r} (first at {at(first_seen[case_id])})")
        first_seen[case_id] = index
        if "input" not in item:
            raise CasesFileError(f"{where}: case {case_id!r} has no 'input'")
        tags = item.get("tags") or []
        if isinstance(tags, str):
            tags = [tags]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise CasesFileError(f"{where}: case {case_id!r}: tags must be a list of strings")
        extra = {k: v for k, v in item.items() if k not in _KNOWN_KEYS}
        cases.append(Case(case_id, item["input"], item.get("expected"), tuple(tags), extra))
    return cases


class _Where:
    """Formats as ``file:line`` of one case, computing line numbers only when a message needs them."""

    def __init__(self, at: Callable[[int], str], index: int) -> None:
        self._at, self._index = at, index

    def __str__(self) -> str:
        return self._at(self._index)


def json_item_lines(text: str) -> list[int]:
    """The 1-based line where each item of a top-level JSON array starts (empty if it is not one)."""
    decoder = json.JSONDecoder()

    def skip_space(index: int) -> int:
        while index < len(text) and text[index] in " \t\r\n":
            index += 1
        return index

    index = skip_space(0)
    if not text.startswith("[", index):
        return []
    lines: list[int] = []
    index = skip_space(index + 1)
    while index < len(text) and text[index] != "]":
        lines.append(text.count("\n", 0, index) + 1)
        try:
            _, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            break
        index = skip_space(index)
        if not text.startswith(",", index):
            break
        index = skip_space(index + 1)
    return lines
