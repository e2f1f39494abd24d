"""The ``llm_emulator`` fixture's work: an emulator per test, answering from the project's scripted models."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from pytest_llmversion.testing.emulator import Emulator
from pytest_llmversion.testing.loopback import HOST


class EnvSetter(Protocol):
    def setenv(self, name: str, value: str, prepend: str | None = None) -> None: ...


@contextmanager
def running_emulator(models: Path | None, env: EnvSetter) -> Iterator[Emulator]:
    """Start an emulator (stopped on exit) and keep proxies away from loopback, which SDKs would otherwise use."""
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name, "")
        if HOST not in current.split(","):
            env.setenv(name, ",".join(p for p in (current, HOST, "localhost") if p))
    emulator = Emulator(models if models is not None and models.is_dir() else None)
    with emulator:
        yield emulator
