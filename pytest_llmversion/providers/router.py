"""One retry policy for every provider, then the fallback chain.

Retries: exponential backoff with jitter, honouring a provider's retry-after up to a cap, a bounded
number of tries. Fallback: on RateLimited and Unavailable only; BadRequest, AuthError and
ModelNotFound are answered at once, because another model would not fix them. See docs/providers.md §3, §4.

Only completions fall back: another model's token count or description is not an answer about this one.
An embedding goes to the embedding model the request names (``openai/text-embedding-3-small``), not to
the model the router serves.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Protocol

from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import (
    Completion,
    Provider,
    ProviderError,
    RateLimited,
    Request,
    Unavailable,
)
from pytest_llmversion.providers.own_calls import plugin_call


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    retry_after_cap: float = 30.0
    jitter: float = 0.25

    def delay(self, retry: int, retry_after: float | None, rng: random.Random) -> float | None:
        """Seconds to wait before retry number ``retry`` (0-based), or None to stop retrying."""
        if retry >= self.max_retries:
            return None
        if retry_after is not None and retry_after > 0:
            return retry_after if retry_after <= self.retry_after_cap else None
        backoff = min(self.max_delay, self.base_delay * (2.0**retry))
        return backoff * (1 - self.jitter * rng.random())


class RoutingFailed(ProviderError):
    """Every model in the chain failed; the message lists what each one said."""

    kind = "routing_failed"

    def __init__(self, failures: Sequence[tuple[str, ProviderError, int]]) -> None:
        parts = [f"{_named(ref, error)} ({tries} {'try' if tries == 1 else 'tries'})" for ref, error, tries in failures]
        super().__init__("; then ".join(parts), model=failures[0][0] if failures else None)
        self.failures = list(failures)
        self.last = failures[-1][1] if failures else None


def _named(ref: str, error: ProviderError) -> str:
    """``ref: message``, without naming the model twice when the message already starts with it."""
    text = str(error)
    return text if text.startswith(f"{ref}:") else f"{ref}: {text}"


Settle = Callable[[Completion | None, ProviderError | None], None]

#: True while the call pool sends a call ahead of the test body that will use it: a guard may then drop the
#: call (the body calls again when it gets there) rather than fail it, as the budget cap does near its end.
SPECULATIVE: ContextVar[bool] = ContextVar("llmversion_speculative", default=False)


class CallGuard(Protocol):
    """Asked before every attempt the router makes (retries and fallbacks included): raise a ProviderError to
    refuse it (the budget cap, a failure every later call would repeat); otherwise return what to call with the
    attempt's answer or error."""

    def admit(self, ref: ModelRef, request: Request) -> Settle: ...


@dataclass
class Guards:
    """Several guards, asked in order; what one admitted is settled even when a later one refuses."""

    guards: Sequence[CallGuard]

    def admit(self, ref: ModelRef, request: Request) -> Settle:
        admitted: list[Settle] = []
        try:
            for guard in self.guards:
                admitted.append(guard.admit(ref, request))
        except ProviderError as refusal:
            for settle in admitted:
                settle(None, refusal)
            raise

        def settle_all(completion: Completion | None, error: ProviderError | None) -> None:
            for settle in admitted:
                settle(completion, error)

        return settle_all


@dataclass
class Router:
    """Calls ``refs[0]`` with retries, then each fallback in turn; adapters are built on first use."""

    refs: Sequence[ModelRef]
    provider_for: Callable[[ModelRef], Provider]
    policy: RetryPolicy = RetryPolicy()
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random | None = None
    guard: CallGuard | None = None
    #: The request parameters a model rejects (the catalogue's ``rejects_params``), left out for fallbacks.
    rejected_params: Callable[[ModelRef], tuple[str, ...]] | None = None

    def complete(self, request: Request, *, sample_index: int = 0) -> Completion:
        rng = self.rng or random.Random()
        failures: list[tuple[str, ProviderError, int]] = []
        refs = self.refs if request.kind == "completion" else self.refs[:1]
        if request.model and request.kind in ("embedding", "completion"):  # the model the code named: never swapped
            named, _, model_id = request.model.partition("/")
            refs = [ModelRef(named, model_id)]
        primary = str(refs[0])
        for ref in refs:
            # the caller built the request for the primary; a fallback must not get what it would refuse
            sent = request
            if self.rejected_params is not None and str(ref) != primary:
                sent = request.without(self.rejected_params(ref))
            tries = 0
            while True:
                tries += 1
                started = time.perf_counter()
                settle: Settle | None = None
                try:
                    if self.guard is not None:
                        settle = self.guard.admit(ref, sent)
                    # built inside the try: a fallback without its SDK or key fails like any other call
                    provider = self.provider_for(ref)
                    with plugin_call():  # the plugin's own SDK clients are never taken over (sdk.intercept)
                        completion = provider.complete(sent, ref.model_id, sample_index=sample_index)
                except ProviderError as error:
                    if settle is not None:
                        settle(None, error)
                    if not isinstance(error, (RateLimited, Unavailable)):
                        if failures:
                            failures.append((str(ref), error, tries))
                            raise RoutingFailed(failures) from error
                        raise
                    wait = self.policy.delay(tries - 1, error.retry_after, rng)
                    if wait is None:
                        failures.append((str(ref), error, tries))
                        break
                    self.sleep(wait)
                    continue
                except BaseException:
                    # not a provider's answer (Ctrl-C, a bug): the guards still release what they held, or the
                    # calls after it would wait for a slot, a reservation or a first answer forever
                    if settle is not None:
                        settle(None, None)
                    raise
                if settle is not None:
                    settle(completion, None)
                elapsed_ms = (time.perf_counter() - started) * 1000
                fell_back = str(ref) != primary
                return replace(
                    completion,
                    model_requested=str(ref),
                    latency_ms=completion.latency_ms or round(elapsed_ms, 1),
                    fallback_from=primary if fell_back else None,
                    fallback_reason=RoutingFailed(failures).args[0] if fell_back else None,
                    retries=tries - 1 + sum(n for _, _, n in failures),
                )
        raise RoutingFailed(failures)
