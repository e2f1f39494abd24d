"""Whether the running thread or task is inside one of the plugin's own provider calls.

The SDK clients the adapters build are official SDK clients like the application's; while the plugin takes
over the application's clients during a marked test (``sdk.intercept``), its own calls must go out as they
are. The router marks every call it makes.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

_RUNNING: contextvars.ContextVar[bool] = contextvars.ContextVar("llmversion_plugin_call", default=False)


@contextmanager
def plugin_call() -> Iterator[None]:
    token = _RUNNING.set(True)
    try:
        yield
    finally:
        _RUNNING.reset(token)


def plugin_call_running() -> bool:
    return _RUNNING.get()
