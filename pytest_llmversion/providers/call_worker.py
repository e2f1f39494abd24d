"""The call process's side: the provider SDKs, their clients and their calls, in a process of its own.

Started by ``child_process.spawn`` as ``python -P -m pytest_llmversion.providers.call_worker FD [KIND ...]``,
where FD is its end of a private socket pair and each KIND an adapter kind whose SDK it imports at once (when
started before pytest configured, the kinds are guessed from the command line). It reads one greeting (the
run's config, its folder, the providers to get ready and how many calls may be in flight), imports those
providers' SDKs (while pytest collects), then answers each ``(call id, provider, request, model id, sample
index, environment)`` on a thread of its own with ``(call id, True, completion)`` or ``(call id, False,
error)``. A provider's adapter is built at its first call, with the environment pytest's process had then
(sent with that call only), as it would have been built there: a key a session fixture sets is seen. The
adapters are the same code the run would call in its own process; nothing else of the plugin runs here. It
never writes to the terminal (its output is pytest's, and its own would land in a capture file), ignores
Ctrl-C (pytest decides what an interrupted run pays for) and ends when its socket closes.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from pytest_llmversion.config import LLMConfig
from pytest_llmversion.providers import ProviderFactory
from pytest_llmversion.providers.base import Provider, ProviderError, Request
from pytest_llmversion.providers.call_process import NeverStarted
from pytest_llmversion.providers.readiness import SDKS
from pytest_llmversion.providers.sdk_common import import_sdk


class _Worker:
    def __init__(self, conn: Connection, config: LLMConfig, root: Path) -> None:
        self.conn = conn
        self.factory = ProviderFactory(config, root)
        self._send_lock = threading.Lock()
        self._built: dict[str, Provider | ProviderError] = {}
        self._build_lock = threading.Lock()
        #: The environment pytest's process had at each provider's first call (read here, before any call runs).
        self.environs: dict[str, dict[str, str]] = {}

    def provider(self, name: str) -> Provider:
        with self._build_lock:
            built = self._built.get(name)
            if built is None:
                environ = self.environs.get(name)
                if environ is not None:  # only what differs: calls in flight to other providers read it too
                    for variable in [v for v in os.environ if v not in environ]:
                        del os.environ[variable]
                    for variable, value in environ.items():
                        if os.environ.get(variable) != value:
                            os.environ[variable] = value
                try:
                    built = self.factory._build(name)
                except ProviderError as error:  # no SDK, no key: every call to it says so, as in the run's process
                    built = error
                self._built[name] = built
        if isinstance(built, ProviderError):
            raise built
        return built

    def answer(self, call_id: int, name: str, payload: bytes, model_id: str, sample_index: int) -> None:
        try:
            request: Request = pickle.loads(payload)
        except Exception as error:  # a parameter of a type only pytest's process can import (a test's enum)
            self.reply((call_id, False, NeverStarted(f"the request cannot be read here ({type(error).__name__})")))
            return
        try:
            reply: tuple[int, bool, Any] = (
                call_id,
                True,
                self.provider(name).complete(request, model_id, sample_index=sample_index),
            )
        except ProviderError as error:
            reply = (call_id, False, error)
        except Exception as error:  # a bug: the run says what it was rather than waiting forever
            reply = (call_id, False, RuntimeError(f"{type(error).__name__}: {error}"))
        self.reply(reply)

    def reply(self, reply: tuple[int, bool, Any]) -> None:
        call_id = reply[0]
        with self._send_lock:
            try:
                self.conn.send(reply)
            except (OSError, ValueError):
                pass  # the run has ended
            except Exception as error:  # an answer that cannot be pickled
                self.conn.send((call_id, False, RuntimeError(f"the answer could not be sent back: {error}")))


def _import_sdks(kinds: Iterable[str]) -> None:
    """Import the SDKs of these adapter kinds (already imported ones cost nothing); one that is missing or broken
    is said on its provider's first call, by the adapter, as in pytest's process."""
    for kind in kinds:
        sdk = SDKS.get(kind)
        if sdk is not None:
            with contextlib.suppress(Exception):
                import_sdk(*sdk)


def main(fd: int, warm: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = Connection(fd)
    _import_sdks(warm)  # started before pytest configured (``child_process``): the SDKs guessed, while it does
    try:
        config, root, names, size, path = conn.recv()
    except EOFError:
        return
    sys.path[:] = path + [p for p in sys.path if p not in path]
    worker = _Worker(conn, config, Path(root))
    _import_sdks(worker.factory.kind_of(name) for name in names)  # while pytest collects
    conn.send(("ready", None, None))
    pool = ThreadPoolExecutor(size, thread_name_prefix="llmversion-call")
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        call_id, name, request, model_id, sample_index, environ = message
        if environ is not None:
            worker.environs.setdefault(name, environ)
        pool.submit(worker.answer, call_id, name, request, model_id, sample_index)
    # the run has closed its end: answers still in flight have no one to go to
    os._exit(0)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:])
