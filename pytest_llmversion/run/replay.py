"""The golden as a source of answers: loaded once per item, it answers a call or says why it cannot.

A call is answered by what it is, not by when it arrives: the n-th call of sample i with request
fingerprint F takes the answer of the n-th call the golden recorded with F in sample i, so calls made
together (``asyncio.gather``) replay the same answers whichever order they arrive in. The stored request
must still hash to the stored fingerprint, so a request edited by hand is noticed too. Anything else is a
:class:`ReplayProblem` whose verdict the item takes: MISSING, STALE (a request no recorded call has, with
the diff from the nearest recorded one; more calls than recorded), or ERROR for a golden that cannot be read.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.judge.samples import CallPlace, CheckExchange
from pytest_llmversion.providers.base import Completion, Request
from pytest_llmversion.run.goldens import (
    GoldenCheckCall,
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

    def answer(self, request: Request, place: CallPlace) -> Completion:
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
        index = self._recorded_index(golden, request, place)
        fingerprint, recorded, completion = golden.recorded_call(place.sample, index)
        edited = golden.request_edited(place.sample, index)
        if edited or fingerprint != request.fingerprint():
            raise GoldenStale(self._stale_message(recorded, request, edited=edited))
        return completion

    def check_answer(self, call: CheckExchange, sample_index: int, occurrence: int) -> Completion:
        """The golden's answer to a check's call (a judge's verdict, an embedding): the n-th one recorded with its
        request in that sample; else STALE, saying whether the judge, the rubric or the judged text changed."""
        golden = self.golden
        if self.problem is not None:
            raise GoldenUnreadable(self.problem)
        if golden is None:
            raise GoldenMissing(self.missing_reason().replace("no golden", "MISSING: no golden", 1))
        stored = golden.samples[sample_index].check_calls if sample_index < len(golden.samples) else []
        fingerprint = call.request.fingerprint()
        # a request leaves its model out (goldens are keyed by test): another judge's verdict is not this one's
        same = [c for c in stored if c.fingerprint == fingerprint and c.model == call.model]
        if occurrence < len(same):
            return same[occurrence].completion()
        raise GoldenStale(
            f"STALE: since the golden was recorded, {check_change(call, stored)}\n  golden: {self.read_shown}\n"
            f'  re-record: pytest --llm-record "{self.rerecord}" (a candidate or --llm-live run judges the '
            "golden's answer again instead)"
        )

    def _recorded_index(self, golden: GoldenFile, request: Request, place: CallPlace) -> int:
        """The recorded call that answers this one: the n-th one recorded with its request, for the n-th time
        the sample sends it. A request none has gets the nearest recorded one (a STALE diff follows)."""
        recorded = golden.fingerprints(place.sample)
        same = [i for i, fingerprint in enumerate(recorded) if fingerprint == request.fingerprint()]
        if place.occurrence < len(same):
            return same[place.occurrence]
        rerecord = f'  re-record: pytest --llm-record "{self.rerecord}"'
        if place.position >= len(recorded):
            raise GoldenStale(
                f"STALE: the test now makes call {place.position + 1}, the golden {self.read_shown} recorded "
                f"{len(recorded)}\n{rerecord}"
            )
        if same:
            raise GoldenStale(
                f"STALE: the test now sends one request {_times(place.occurrence + 1)}, the golden "
                f"{self.read_shown} recorded it {_times(len(same))}\n{rerecord}"
            )
        from rapidfuzz.distance import Indel  # only a STALE call pays for it

        now = dump_yaml(request.canonical())

        def closeness(index: int) -> tuple[float, int]:
            stored = dump_yaml(golden.recorded_call(place.sample, index)[1] or {})
            return Indel.normalized_similarity(stored, now), -abs(index - place.position)

        return max(range(len(recorded)), key=closeness)

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


def check_change(call: CheckExchange, stored: list[GoldenCheckCall]) -> str:
    """What changed for a check's call the golden has no answer to: its model, its rubric, or what it was given."""
    mine = [c for c in stored if c.purpose == call.purpose and c.check == call.check] or [
        c for c in stored if c.purpose == call.purpose
    ]
    who = "the judge" if call.purpose == "judge" else "the embedding model"
    if not mine:
        return f"{call.check} asks {call.model}, and the golden holds no such call (the check is new)"
    if all(c.model != call.model for c in mine):
        return f"{who} of {call.check} changed: the golden's was {mine[0].model}, this run's is {call.model}"
    if call.rubric_hash is not None and all(c.rubric != call.rubric_hash for c in mine):
        return f"the rubric of {call.check} changed (rubric {mine[0].rubric} -> {call.rubric_hash})"
    return f"the text {call.check} is given changed"


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")
