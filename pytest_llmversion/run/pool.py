"""The call pool: live calls sent ahead, concurrently, so test bodies find their answers waiting.

pytest runs test bodies one at a time, but a golden holds the request its test sent, so the calls the next
items will make are known before their bodies run: the first call of each sample, for each model the run
calls (``ItemKind.planned_calls``). The pool sends those of a bounded window of upcoming items (in this
process: an xdist worker plans only its own) through the same routers, guards and limiter as any call, on
worker threads; a body's call takes its answer by (model, fingerprint, sample index) or, when nothing was
planned for it, calls live as before. A case's top-ups go out together once its first stage decides them.

Nothing changes but the time: the same requests reach the same models with the same sample indices, the
recorder sees the body's calls in the body's order, and the budget cap reserves every call's worst case
before it is sent (a call sent ahead that finds no room is dropped, not failed: the body makes it later).
Answers planned but never used are counted as waste.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import Completion, ProviderError, Request
from pytest_llmversion.providers.router import SPECULATIVE
from pytest_llmversion.report.schema import SentAhead

#: (model, request fingerprint, sample index): one call a body is expected to make.
CallKey = tuple[str, str, int]


@dataclass(frozen=True)
class PlannedCall:
    model: ModelRef
    request: Request
    sample_index: int

    @property
    def key(self) -> CallKey:
        return str(self.model), self.request.fingerprint(), self.sample_index


class Route(Protocol):
    """What a planned call goes through: the model's router."""

    def complete(self, request: Request, *, sample_index: int = 0) -> Completion: ...


@dataclass
class PoolCounts:
    planned: int = 0
    done: int = 0
    used: int = 0
    errors: int = 0
    #: Sent ahead but refused for now by the budget cap: the body calls itself.
    dropped: int = 0

    @property
    def wasted(self) -> int:
        """Answers that came back for calls no body made (the test sends another request now, or stopped)."""
        return max(0, self.done - self.used - self.dropped)

    def sent_ahead(self, concurrency: int) -> SentAhead:
        return SentAhead(
            concurrency=concurrency,
            planned=self.planned,
            used=self.used,
            wasted=self.wasted,
            dropped=self.dropped,
            errors=self.errors,
        )


@dataclass
class CallPool:
    """Calls sent ahead for one pytest process; ``size`` threads (the run's concurrency, summed over the
    providers' limits by the caller)."""

    size: int
    route_for: Callable[[ModelRef], Route]
    #: Calls planned and not yet taken beyond which no further item is planned (the look-ahead window).
    window: int
    counts: PoolCounts = field(default_factory=PoolCounts)
    started: float = field(default_factory=time.monotonic)
    _futures: dict[CallKey, Future[Completion]] = field(default_factory=dict)
    _planned_items: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _executor: ThreadPoolExecutor | None = None

    def pending(self) -> int:
        with self._lock:
            return len(self._futures)

    def has_planned(self, nodeid: str) -> bool:
        with self._lock:
            return nodeid in self._planned_items

    def plan(self, nodeid: str, calls: Iterable[PlannedCall]) -> None:
        """Send an item's predictable calls (once per item; a call already planned is not sent twice)."""
        with self._lock:
            self._planned_items.add(nodeid)
        for call in calls:
            self.send(call)

    def send(self, call: PlannedCall) -> None:
        key = call.key
        with self._lock:
            if key in self._futures:
                return
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.size, thread_name_prefix="llmversion-pool")
            self._futures[key] = self._executor.submit(self._call, call)
            self.counts.planned += 1

    def _call(self, call: PlannedCall) -> Completion:
        token = SPECULATIVE.set(True)
        try:
            completion = self.route_for(call.model).complete(call.request, sample_index=call.sample_index)
        except ProviderError as error:
            with self._lock:
                self.counts.done += 1
                if getattr(error, "speculative", False):
                    self.counts.dropped += 1
                else:
                    self.counts.errors += 1
            raise
        finally:
            SPECULATIVE.reset(token)
        with self._lock:
            self.counts.done += 1
        return completion

    def take(self, model: ModelRef, request: Request, sample_index: int) -> Future[Completion] | None:
        """The planned answer to this call, if one was sent ahead (each is taken once)."""
        with self._lock:
            future = self._futures.pop((str(model), request.fingerprint(), sample_index), None)
            if future is not None:
                self.counts.used += 1
        return future

    def give_back(self) -> None:
        """A taken answer that was dropped (refused for now by the budget cap): it was not used after all."""
        with self._lock:
            self.counts.used -= 1

    def close(self) -> None:
        """Stop sending: calls not started are cancelled (an interrupted run pays for at most those in flight)."""
        with self._lock:
            executor, self._executor = self._executor, None
            futures, self._futures = list(self._futures.values()), {}
        for future in futures:
            future.cancel()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


@dataclass
class PooledRoute:
    """A model's router as a test body sees it: the planned answer when there is one, else a live call."""

    route: Route
    pool: CallPool
    model: ModelRef

    def complete(self, request: Request, *, sample_index: int = 0) -> Completion:
        future = self.pool.take(self.model, request, sample_index)
        if future is not None:
            try:
                return future.result()
            except ProviderError as error:
                if not getattr(error, "speculative", False):
                    raise
                self.pool.give_back()
        return self.route.complete(request, sample_index=sample_index)
