"""The golden as a source of answers: loaded once per item, it answers a call or says why it cannot.

A call is answered only by the golden's call at the same sample and position, and only when the request
is the one recorded (its fingerprint, recomputed from the stored request, so a request edited by hand is
noticed too). Anything else is a :class:`ReplayProblem` whose verdict the item takes: MISSING, STALE, or
ERROR for a golden that cannot be read.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.providers.base import Completion, Request
from pytest_llmversion.run.goldens import (
    GoldenError,
    GoldenFile,
    GoldenKept,
    GoldenKey,
    check_overwritable,
    fix_hint,
    read_golden,
)
from pytest_llmversion.verdict import Verdict
from pytest_llmversion.yamlio import dump_yaml


class ReplayProblem(LLMVersionError):
    """The golden cannot answer this call; carries the verdict it implies."""

    one_line = False  # a headline, then what to do (and for STALE, the request's diff)
    verdict = Verdict.ERROR
    llmversion_call_error = True


class GoldenMissing(ReplayProblem):
    verdict = Verdict.MISSING


class GoldenStale(ReplayProblem):
    verdict = Verdict.STALE


class GoldenUnreadable(ReplayProblem):
    verdict = Verdict.ERROR


class GoldenSource:
    """One item's golden: what it holds (or why it cannot be used), and its answer to each call."""

    def __init__(
        self,
        key: GoldenKey,
        current: str,
        rerecord_nodeid: str,
        rel: Callable[[Path], str],
        cache: Path | None = None,
        *,
        load: bool = True,
    ) -> None:
        self.key = key
        self.current = current
        #: The current item's node id: what ``--llm-record`` should run to mend this golden.
        self.rerecord = rerecord_nodeid
        self.shown = rel(key.path)
        #: The file actually read: a golden under its legacy name is replayed until it is re-recorded.
        self.read_shown = self.shown
        self.golden: GoldenFile | None = None
        #: Why the golden cannot be used (unreadable, written by a newer plugin), one line with the fix.
        self.problem: str | None = None
        if load:
            self._load(rel, cache)

    def _load(self, rel: Callable[[Path], str], cache: Path | None) -> None:
        folder = self.key.folder
        try:
            self.golden, path = read_golden(self.key, cache)
            self.read_shown = rel(path)
        except GoldenError as exc:
            problem = str(exc).replace(str(folder), rel(folder), 1)
            self.problem = problem + fix_hint(exc, self.rerecord)

    @property
    def samples(self) -> int:
        return len(self.golden.samples) if self.golden is not None else 0

    @property
    def prompt(self) -> dict[str, str] | None:
        return self.golden.prompt if self.golden is not None else None

    def kept(self) -> str | None:
        """Why ``--llm-record`` will not write this golden: the file there is not valid YAML (hand edits, a merge)
        and is kept as it is; None when it may be written. Read again only when loading it failed."""
        if self.problem is None:
            return None
        try:
            check_overwritable(self.key.path, self.rerecord, self.shown)
        except GoldenKept as exc:
            return str(exc)
        return None

    def missing_reason(self) -> str:
        return f'no golden at {self.shown}; record it: pytest --llm-record "{self.rerecord}"'

    def answer(self, request: Request, sample_index: int, call_index: int) -> Completion:
        golden, shown = self.golden, self.read_shown
        if self.problem is not None:
            raise GoldenUnreadable(self.problem)
        if golden is None:
            raise GoldenMissing(f'MISSING: no golden at {shown}\n  record it: pytest --llm-record "{self.rerecord}"')
        if golden.model != self.current:
            raise GoldenStale(
                f"STALE: the golden {shown} was recorded by {golden.model}, but the current model is "
                f'{self.current}\n  re-record it (pytest --llm-record "{self.rerecord}") or promote a '
                "candidate run (llmversion promote)"
            )
        recorded_calls = golden.calls_per_sample(sample_index)
        if call_index >= recorded_calls:
            raise GoldenStale(
                f"STALE: the test now makes call {call_index + 1}, the golden {shown} recorded {recorded_calls}\n"
                f'  re-record: pytest --llm-record "{self.rerecord}"'
            )
        fingerprint, recorded, completion = golden.recorded_call(sample_index, call_index)
        if golden.request_edited(sample_index, call_index):
            raise GoldenStale(self._stale_message(recorded, request, edited=True))
        if fingerprint != request.fingerprint():
            raise GoldenStale(self._stale_message(recorded, request))
        return completion

    def _stale_message(self, recorded: dict[str, Any] | None, request: Request, edited: bool = False) -> str:
        old = dump_yaml(recorded or {}).splitlines()
        new = dump_yaml(request.canonical()).splitlines()
        diff = list(difflib.unified_diff(old, new, "golden", "now", lineterm="", n=1))[2:]
        if edited:
            headline = "STALE: the golden's request was edited after recording; its answer is for another request"
            diff = diff or ["(none: the edited request is what the test sends now)"]
            fix = f're-record: pytest --llm-record "{self.rerecord}"'
        else:
            headline = "STALE: the golden was recorded for a different request than the test sends now"
            fix = f'if the change is intended, re-record: pytest --llm-record "{self.rerecord}"'
        lines = [
            headline,
            f"  golden: {self.read_shown}",
            "  request, golden (-) vs now (+):",
            *(f"    {line}" for line in diff[:40]),
            f"  {fix}",
        ]
        return "\n".join(lines)
