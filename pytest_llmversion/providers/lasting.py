"""Failures every later call would repeat: said once in full, then the same cause without another call.

A missing SDK or key and a rejected key (401/403) hold for the whole provider; a model the provider does
not know holds for that model. Forty cases of a suite run without a key used to print the same AuthError
forty times after forty calls; now the first item says it, the others are ERROR "not called: <cause>",
and the summary says it once with the fix.
"""

from __future__ import annotations

import threading

from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import AuthError, Completion, ModelNotFound, ProviderError, Request, SetupError
from pytest_llmversion.providers.router import Settle

#: Failures that hold for every model of the provider, and those that hold for the one model.
_PROVIDER_WIDE = (AuthError, SetupError)
_MODEL_WIDE = (ModelNotFound,)


def not_called(cause: ProviderError, model: str) -> ProviderError:
    """The same kind of error as ``cause``, saying the call was not made; marked so it is not noted again."""
    text = str(cause)
    repeat = type(cause)(f"not called: {text}", model=model)
    repeat.not_called = True  # type: ignore[attr-defined]
    repeat.cause = f"{type(cause).__name__}: {text}"  # type: ignore[attr-defined]
    return repeat


class LastingFailures:
    """The router's guard that remembers lasting failures, per provider and per model.

    Until a model has answered once, one call to it is in flight at a time: with calls sent ahead
    concurrently, forty calls would otherwise all meet the missing key before the first had failed.
    """

    def __init__(self) -> None:
        self._causes: dict[str, ProviderError] = {}
        #: Models that answered once (their key and SDK work), and models with a first call in flight.
        self._proven: set[str] = set()
        self._probing: set[str] = set()
        self._cond = threading.Condition()

    def admit(self, ref: ModelRef, request: Request) -> Settle:
        model = str(ref)
        with self._cond:
            while True:
                cause = self._causes.get(model) or self._causes.get(ref.provider)
                if cause is not None:
                    raise not_called(cause, model)
                if model in self._proven or model not in self._probing:
                    break
                self._cond.wait()
            probe = model not in self._proven
            if probe:
                self._probing.add(model)

        def settle(completion: Completion | None, error: ProviderError | None) -> None:
            with self._cond:
                if probe:
                    self._probing.discard(model)
                if completion is not None:
                    self._proven.add(model)
                elif error is not None and not getattr(error, "not_called", False):
                    # a scripted model's errors are written per model: no key or SDK is shared between them
                    provider_wide = isinstance(error, _PROVIDER_WIDE) and ref.provider != "scripted"
                    if isinstance(error, _PROVIDER_WIDE + _MODEL_WIDE):
                        self._causes.setdefault(ref.provider if provider_wide else model, error)
                self._cond.notify_all()

        return settle
