"""The client-side limiter per provider: calls in flight, requests and tokens per minute, Retry-After and
AIMD, on a fake clock; and the limit held by real threads. (The emulator's own count of calls in flight,
with the plugin's pool in front of it, is in test_call_pool.py.)"""

from __future__ import annotations

import threading
import time

import pytest

from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import Completion, Message, RateLimited, Request, Unavailable, Usage
from pytest_llmversion.providers.limiter import WINDOW, Limiter, Limits, ProviderLimiter, estimated_tokens


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(limits: Limits) -> tuple[ProviderLimiter, Clock]:
    clock = Clock()
    return ProviderLimiter(limits, clock=clock), clock


def test_never_more_calls_in_flight_than_the_limit() -> None:
    lim, _ = limiter(Limits(2))
    first, _second = lim.acquire(10), lim.acquire(10)
    assert lim.delay(10) > 0
    lim.release(first, 10, None)
    assert lim.delay(10) == 0
    assert lim.peak == 2


def test_a_429_halves_the_limit_and_answers_grow_it_back_one_by_one() -> None:
    lim, _ = limiter(Limits(8))
    lim.release(lim.acquire(1), None, RateLimited("slow down"))
    assert lim.limit == 4
    lim.release(lim.acquire(1), None, RateLimited("slow down"))
    assert lim.limit == 2
    for expected in (2, 3):  # two answers in a row at 2, then three at 3
        for _ in range(expected):
            assert lim.limit == expected
            lim.release(lim.acquire(1), 1, None)
    assert lim.limit == 4
    lim.release(lim.acquire(1), None, Unavailable("503"))  # not a rate limit: the limit stays
    assert lim.limit == 4
    for _ in range(100):
        lim.release(lim.acquire(1), 1, None)
    assert lim.limit == 8  # never above the configured concurrency


def test_a_retry_after_pauses_the_provider_until_it_has_passed() -> None:
    lim, clock = limiter(Limits(4))
    lim.release(lim.acquire(1), None, RateLimited("slow down", retry_after=2.5))
    assert lim.delay(1) == pytest.approx(2.5)
    clock.now += 2.5
    assert lim.delay(1) == 0


def test_requests_per_minute_in_a_sliding_minute() -> None:
    lim, clock = limiter(Limits(10, requests_per_minute=2))
    lim.release(lim.acquire(1), 1, None)
    clock.now += 10
    lim.release(lim.acquire(1), 1, None)
    assert lim.delay(1) == pytest.approx(WINDOW - 10)  # the first start leaves the minute in 50 s
    clock.now += WINDOW - 10
    assert lim.delay(1) == 0


def test_tokens_per_minute_count_what_the_answer_used() -> None:
    lim, clock = limiter(Limits(10, tokens_per_minute=1000))
    entry = lim.acquire(900)  # estimated at 900 ...
    assert lim.delay(200) > 0
    lim.release(entry, 100, None)  # ... used 100
    assert lim.delay(200) == 0
    lim.release(lim.acquire(800), 800, None)
    assert lim.delay(200) == pytest.approx(WINDOW)
    clock.now += WINDOW
    assert lim.delay(200) == 0


def test_the_estimate_counts_the_prompt_and_max_tokens() -> None:
    request = Request((Message("user", "x" * 400),), {"max_tokens": 50})
    assert estimated_tokens(request) == 100 + 8 + 50
    assert estimated_tokens(Request((Message("user", "hi"),), {})) == 8 + 1024


def test_threads_share_one_limit_per_provider() -> None:
    limits = {"openai": Limits(3), "anthropic": Limits(1)}
    guard = Limiter(limits.__getitem__)
    in_flight = {"openai": 0, "anthropic": 0}
    peak = dict(in_flight)
    lock = threading.Lock()
    request = Request((Message("user", "hi"),), {"max_tokens": 5})

    def call(provider: str) -> None:
        settle = guard.admit(ModelRef(provider, "m"), request)
        with lock:
            in_flight[provider] += 1
            peak[provider] = max(peak[provider], in_flight[provider])
        time.sleep(0.01)
        with lock:
            in_flight[provider] -= 1
        settle(Completion("ok", "m", "m", Usage(input_tokens=2, output_tokens=1)), None)

    threads = [threading.Thread(target=call, args=(p,)) for p in ["openai"] * 12 + ["anthropic"] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == {"openai": 3, "anthropic": 1}
    assert guard.provider("openai").peak == 3


def test_a_call_that_raises_something_else_still_gives_its_slot_back() -> None:
    """A bug or Ctrl-C inside a call must not leave the limiter (or the budget, or the first-call probe) held:
    every later call would wait forever."""
    from pytest_llmversion.providers.lasting import LastingFailures
    from pytest_llmversion.providers.router import Guards, Router

    calls = []

    class Flaky:
        def complete(self, request: Request, model_id: str, *, sample_index: int = 0) -> Completion:
            calls.append(model_id)
            if len(calls) == 1:
                raise RuntimeError("a bug in the adapter")
            return Completion("ok", model_id, model_id)

    guard = Limiter(lambda _: Limits(1))
    router = Router([ModelRef("openai", "m")], lambda _: Flaky(), guard=Guards([LastingFailures(), guard]))
    request = Request((Message("user", "hi"),), {})
    with pytest.raises(RuntimeError):
        router.complete(request)
    done = threading.Event()
    threading.Thread(target=lambda: (router.complete(request), done.set()), daemon=True).start()
    assert done.wait(5), "the second call waited for a slot the first never gave back"
    assert guard.provider("openai").in_flight == 0
