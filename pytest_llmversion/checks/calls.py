"""Checks that call a model themselves (an LLM judge, an embedding model): what they ask, and the seam that
answers them.

A check never reaches a provider on its own. ``llm_golden.check`` runs the checks of one sample with the
item's seam in place (``calling_checks``); the seam answers a check's call the way the item answers the
test's own calls: from the golden on replay, else through the run's router, call pool, limiter and budget
cap (and a candidate's recordings). A check asked outside ``llm_golden.check`` has no seam and says so.

A failed check call is never a low score: it raises :class:`CheckCallError`, a provider error, so the
item is ERROR with one line naming the model.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal, Protocol

from pytest_llmversion.providers.base import Completion, ProviderError, Request

Purpose = Literal["judge", "embedding"]


class CheckCallError(ProviderError):
    """A check's own call failed (provider error, fallback answer, unreadable verdict); one line naming the model."""

    kind = "check_call"
    llmversion_call_error = True


@dataclass(frozen=True)
class CheckCall:
    """One call a check makes: what for, to which model (None: the run's default for that purpose)."""

    purpose: Purpose
    check: str
    model: str | None
    request: Request
    #: The judge's rubric, hashed: stored in the golden so a changed rubric is told apart from a changed answer.
    rubric_hash: str | None = None


class CheckCallSeam(Protocol):
    def check_call(self, call: CheckCall) -> Completion:
        """The answer to a check's call, or ``CheckCallError`` / a replay problem (STALE)."""
        ...


_SEAM: ContextVar[CheckCallSeam | None] = ContextVar("llmversion_check_seam", default=None)


@contextlib.contextmanager
def calling_checks(seam: CheckCallSeam) -> Iterator[None]:
    """Checks run inside this block answer their calls through ``seam``."""
    token = _SEAM.set(seam)
    try:
        yield
    finally:
        _SEAM.reset(token)


def ask(call: CheckCall) -> Completion:
    seam = _SEAM.get()
    if seam is None:
        raise CheckCallError(
            f"{call.check} calls a model, so it runs inside a test marked llm_regression, through "
            "llm_golden.check(output, ...); called on its own it has no model to ask"
        )
    return seam.check_call(call)


def text_hash(text: str) -> str:
    """A short, stable hash of a rubric (what the golden stores)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
