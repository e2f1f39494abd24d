"""The stage: read at run time by the application, changed by ``llmversion rollout advance`` and ``rollback``.

pyproject.toml is the one place the stage lives. A running application looks at the file at most every
``reload_seconds`` (a ``stat``, not a parse) and reads ``[tool.llmversion.rollout]`` again only when the
file changed, so a rollback takes effect within seconds and without a redeploy on every process that
reads that file. A table that no longer validates keeps the last good one (and says so in the log):
a typo must not take production down. The CLI edits the file with tomlkit, comments and layout kept,
and replaces it atomically, so a reader never sees half a file.
"""

from __future__ import annotations

import logging
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_llmversion.rollout.settings import TABLE, Rollout, RolloutError

_log = logging.getLogger("pytest_llmversion.rollout")
#: Comments this module writes after ``candidate_percent``; others are the user's and are kept.
_OWN_NOTE = "rolled back "


def read_rollout(pyproject: Path) -> Rollout:
    """``[tool.llmversion.rollout]`` of ``pyproject`` (defaults when it has none)."""
    try:
        with pyproject.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise RolloutError(f"{pyproject}: not valid TOML: {exc}") from None
    tool = document.get("tool")
    llmversion = tool.get("llmversion") if isinstance(tool, dict) else None
    table = llmversion.get("rollout") if isinstance(llmversion, dict) else None
    if table is not None and not isinstance(table, dict):
        raise RolloutError(f"{pyproject}: {TABLE} must be a table")
    return Rollout.from_table(table)


class StageWatcher:
    """The current :class:`Rollout` of a running application, re-read when pyproject.toml changes."""

    def __init__(
        self, pyproject: Path | None, rollout: Rollout, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.pyproject = pyproject
        self._rollout = rollout
        self._clock = clock
        self._checked = clock()
        self._signature = self._stat()
        self._lock = threading.Lock()

    def _stat(self) -> tuple[int, int, int] | None:
        if self.pyproject is None:
            return None
        try:
            info = self.pyproject.stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size, info.st_ino

    def current(self) -> Rollout:
        rollout = self._rollout
        if self.pyproject is None or self._clock() - self._checked < rollout.reload_seconds:
            return rollout
        with self._lock:
            now = self._clock()
            if now - self._checked < self._rollout.reload_seconds:
                return self._rollout
            self._checked = now
            signature = self._stat()
            if signature is None or signature == self._signature:
                return self._rollout
            self._signature = signature
            try:
                fresh = read_rollout(self.pyproject)
            except (RolloutError, OSError) as exc:
                _log.warning("%s; keeping candidate_percent = %g", exc, self._rollout.candidate_percent)
                return self._rollout
            if fresh.candidate_percent != self._rollout.candidate_percent:
                _log.info(
                    "rollout stage changed: candidate_percent %g -> %g",
                    self._rollout.candidate_percent,
                    fresh.candidate_percent,
                )
            self._rollout = fresh
            return fresh


@dataclass(frozen=True)
class StageEdit:
    pyproject: Path
    before: float
    after: float

    def describe(self) -> str:
        return f"candidate_percent: {self.before:g} -> {self.after:g}"


def set_stage(pyproject: Path, percent: float, *, note: str | None = None) -> StageEdit:
    """Write ``candidate_percent = percent`` into pyproject.toml, keeping everything else byte for byte.

    ``note`` becomes the line's comment (why it was rolled back); a note this module wrote before is
    removed on the next change, a comment of the user's is kept.
    """
    import tomlkit

    from pytest_llmversion.atomic import write_atomic

    before = read_rollout(pyproject).candidate_percent
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    tool: Any = document.setdefault("tool", tomlkit.table(True))
    llmversion: Any = tool.setdefault("llmversion", tomlkit.table(True))
    if "rollout" not in llmversion:
        llmversion["rollout"] = tomlkit.table()
    table: Any = llmversion["rollout"]
    table["candidate_percent"] = int(percent) if float(percent).is_integer() else percent
    item = table["candidate_percent"]
    if note:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        item.comment(f"{_OWN_NOTE}{stamp}: {' '.join(note.split())[:160]}")
    elif item.trivia.comment.lstrip("# ").startswith(_OWN_NOTE):
        item.trivia.comment = ""
        item.trivia.comment_ws = ""
    write_atomic(pyproject, tomlkit.dumps(document))
    return StageEdit(pyproject, before, float(percent))
