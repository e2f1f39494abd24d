"""A client-side limiter per provider: calls in flight, requests and tokens per minute, Retry-After, AIMD.

Every attempt the router makes passes it first (it is one of the router's guards), so the calls a test
body makes and the calls the pool sends ahead share one limit. It waits, never refuses:

* at most ``limit`` calls in flight, where ``limit`` starts at the provider's ``concurrency``, halves on a
  429 (multiplicative decrease) and grows back by one after ``limit`` answers in a row (additive increase);
* at most ``requests_per_minute`` calls started and ``tokens_per_minute`` tokens (estimated from the
  request's size and ``max_tokens``, corrected by the answer's usage) in any sliding minute;
* after a 429 that names a Retry-After, nothing is sent to that provider until it has passed.

The limit is per process: under ``pytest -n N`` each worker holds its own (the README says so).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import Completion, ProviderError, RateLimited, Request
from pytest_llmversion.providers.router import Settle

WINDOW = 60.0


@dataclass(frozen=True)
class Limits:
    concurrency: int
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None


def estimated_tokens(request: Request) -> int:
    """What a call will use, before it is sent: about four bytes a token in, and ``max_tokens`` out."""
    sent = sum(len(m.content.encode()) for m in request.messages) // 4 + 8 * len(request.messages)
    limit = request.params.get("max_tokens")
    return sent + (limit if isinstance(limit, int) and limit > 0 else 1024)


@dataclass
class ProviderLimiter:
    """One provider's limit, shared by every thread that calls it."""

    limits: Limits
    clock: Callable[[], float] = time.monotonic
    limit: int = 0
    in_flight: int = 0
    #: The most calls ever in flight at once (for tests and the progress line).
    peak: int = 0
    paused_until: float = 0.0
    _streak: int = 0
    _starts: deque[float] = field(default_factory=deque)
    _tokens: deque[tuple[float, int]] = field(default_factory=deque)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self.limit = self.limits.concurrency

    def acquire(self, tokens: int) -> tuple[float, int]:
        """Wait until a call may start; returns what to release (its start time and token estimate)."""
        with self._cond:
            while True:
                wait = self.delay(tokens)
                if wait <= 0:
                    break
                self._cond.wait(timeout=min(wait, 1.0))
            now = self.clock()
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self._starts.append(now)
            entry = (now, tokens)
            self._tokens.append(entry)
            return entry

    def delay(self, tokens: int) -> float:
        """Seconds until a call of ``tokens`` may start (0: now). ``acquire`` asks it with the lock held."""
        now = self.clock()
        if self.paused_until > now:
            return self.paused_until - now
        if self.in_flight >= self.limit:
            return 1.0  # woken by a release
        while self._starts and self._starts[0] <= now - WINDOW:
            self._starts.popleft()
        while self._tokens and self._tokens[0][0] <= now - WINDOW:
            self._tokens.popleft()
        rpm, tpm = self.limits.requests_per_minute, self.limits.tokens_per_minute
        if rpm is not None and len(self._starts) >= rpm:
            return self._starts[0] + WINDOW - now
        if tpm is not None and self._tokens and sum(n for _, n in self._tokens) + tokens > tpm:
            return self._tokens[0][0] + WINDOW - now
        return 0.0

    def release(self, entry: tuple[float, int], used: int | None, error: ProviderError | None) -> None:
        with self._cond:
            self.in_flight -= 1
            if used is not None and entry in self._tokens:
                # the estimate becomes what the answer used, so the next minute's budget is the real one
                self._tokens.remove(entry)
                self._tokens.append((entry[0], used))
            if isinstance(error, RateLimited):
                self.limit = max(1, self.limit // 2)
                self._streak = 0
                if error.retry_after:
                    self.paused_until = max(self.paused_until, self.clock() + error.retry_after)
            elif error is None:
                self._streak += 1
                if self._streak >= self.limit and self.limit < self.limits.concurrency:
                    self.limit += 1
                    self._streak = 0
            self._cond.notify_all()


class Limiter:
    """The router's guard holding one ``ProviderLimiter`` per provider name."""

    def __init__(self, limits_for: Callable[[str], Limits]) -> None:
        self._limits_for = limits_for
        self._by_provider: dict[str, ProviderLimiter] = {}
        self._lock = threading.Lock()

    def provider(self, name: str) -> ProviderLimiter:
        with self._lock:
            found = self._by_provider.get(name)
            if found is None:
                found = self._by_provider[name] = ProviderLimiter(self._limits_for(name))
            return found

    def admit(self, ref: ModelRef, request: Request) -> Settle:
        limiter = self.provider(ref.provider)
        entry = limiter.acquire(estimated_tokens(request))

        def settle(completion: Completion | None, error: ProviderError | None) -> None:
            used = completion.usage.input_tokens + completion.usage.output_tokens if completion is not None else None
            limiter.release(entry, used or None, error)

        return settle
