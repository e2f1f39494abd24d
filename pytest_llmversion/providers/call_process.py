"""Provider calls made in a process of their own, so a long live run uses two cores instead of one.

A live run through the call pool is CPU-bound on one interpreter lock: pytest's thread runs the bodies, the
checks and the reports while the pool's threads run the SDK (building each request, parsing each answer into
its typed objects), and importing an SDK such as ``openai`` costs more than a second before the first call
can leave. Here the SDK clients live in a child process (``call_worker``), started as soon as collection ends,
which imports the SDKs while pytest prepares the first items, then makes the calls on a core of its own. The
run's process keeps everything that decides anything: the routers with their retries and fallbacks, the
limiter, the budget cap, the recorder. Only the adapter's ``complete`` crosses over: a ``Request`` goes, a
``Completion`` or the adapter's ``ProviderError`` comes back, exactly as the adapter in the run's process
would have returned or raised it.

If the child stops (killed, out of memory), the calls waiting on it fail as unavailable (the router retries
them) and every later call is made in the run's process, as without it. A child that stops before it is ready
(it could not start: another interpreter, a broken install) has read none of its calls: they are all made in
the run's process, and nothing fails.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

from pytest_llmversion.child_process import Spawned, spawn
from pytest_llmversion.config import LLMConfig
from pytest_llmversion.providers.base import Completion, Provider, Request, Unavailable
from pytest_llmversion.providers.sdk_common import resolve_api_key

#: Seconds past the run's ``timeout`` after which a call the child has not answered is given up.
_GRACE = 30.0


class NeverStarted(Exception):
    """The child stopped before it could take a call: nothing was sent, the call is made in pytest's process."""


@dataclass
class _Pending:
    future: Future[Completion]
    model: str


class CallProcess:
    """The child process making one run's provider calls; ``provider(name)`` is its stand-in adapter."""

    def __init__(
        self, config: LLMConfig, root: Path, names: Iterable[str], size: int, spawned: Spawned | None = None
    ) -> None:
        self.names = frozenset(names)
        self.timeout = config.timeout + _GRACE
        self.settings = {name: config.providers.get(name) for name in self.names}
        #: The process that started the child: a forked copy of it makes its calls itself (the socket is ours).
        self.parent_pid = os.getpid()
        if spawned is None or not spawned.adopt():
            if spawned is not None:
                spawned.discard()  # it has exited: a new one is started
            spawned = spawn()
        self.process = spawned.process
        self._conn = spawned.conn
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count()
        #: Providers whose first call has gone: the child built their adapters with the environment sent then.
        self._announced: set[str] = set()
        self.ready = threading.Event()
        #: Why the child stopped answering (None while it answers).
        self.stopped: str | None = None
        # the child imports with pytest's own path (its ``pythonpath`` ini, a conftest's additions)
        self._conn.send((config, str(root), sorted(self.names), size, list(sys.path)))
        self._reader = threading.Thread(target=self._read, name="llmversion-call-reader", daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self.stopped is None and os.getpid() == self.parent_pid

    def provider(self, name: str, local: Callable[[], Provider]) -> Provider:
        return RemoteProvider(self, name, local)

    def call(self, name: str, request: Request, model_id: str, sample_index: int) -> Completion:
        """The child's answer, or its ``ProviderError``; ``NeverStarted`` when the call is to be made here (the
        child never took it, or the request cannot cross: a parameter whose type does not pickle)."""
        try:
            # pickled on its own: one request that does not cross fails alone, here or in the child
            payload = ForkingPickler.dumps(request)
        except Exception as error:
            raise NeverStarted(f"the request cannot be sent to the call process ({type(error).__name__})") from None
        future: Future[Completion] = Future()
        ref = f"{name}/{model_id}"
        with self._lock:
            if self.stopped is not None:
                if not self.ready.is_set():
                    raise NeverStarted(self.stopped)
                raise Unavailable(f"{ref}: {self.stopped}", model=ref)
            call_id = next(self._ids)
            self._pending[call_id] = _Pending(future, ref)
        try:
            with self._send_lock:
                # a provider's first call carries the environment its adapter is built with, as it would be here
                environ = None if name in self._announced else dict(os.environ)
                self._conn.send((call_id, name, bytes(payload), model_id, sample_index, environ))
                if environ is not None:
                    self._announced.add(name)
                    # the key it will read is known to this process's redaction too, whatever its variable
                    resolve_api_key(name, self.settings.get(name), environ)
        except (OSError, ValueError):
            self._stop("the call process is gone")
        try:
            return future.result(timeout=self.timeout)
        except FutureTimeout:
            # a child that holds a call this long is stuck: later calls are made here
            self._stop(f"no answer from the call process in {self.timeout:.0f} s")
            self.process.kill()
            raise Unavailable(f"{ref}: no answer from the call process in {self.timeout:.0f} s", model=ref) from None

    def _read(self) -> None:
        while True:
            try:
                call_id, ok, value = self._conn.recv()
            except (EOFError, OSError):
                break
            except Exception as error:  # an answer that does not unpickle here
                self._stop(f"the call process sent what cannot be read ({type(error).__name__}: {error})")
                return
            if call_id == "ready":
                self.ready.set()
                continue
            with self._lock:
                pending = self._pending.pop(call_id, None)
            if pending is None:
                continue  # given up on (timed out)
            if ok:
                pending.future.set_result(value)
            else:
                pending.future.set_exception(value)
        code = self.process.poll()
        self._stop(f"the call process stopped{f' (exit code {code})' if code is not None else ''}")

    def _stop(self, why: str) -> None:
        """Fail the calls waiting on the child; later calls are made in this process."""
        with self._lock:
            if self.stopped is None:
                self.stopped = f"{why}; calls go on in pytest's process"
            pending, self._pending = list(self._pending.values()), {}
        started = self.ready.is_set()
        for call in pending:
            if not call.future.done():
                # a child that never started read none of them: they are made here; one that did may have sent them
                error = Unavailable(f"{call.model}: {self.stopped}", model=call.model) if started else NeverStarted()
                call.future.set_exception(error)

    def close(self, *, kill: bool = False) -> None:
        """End the child: its socket closed, it exits; killed if it has not after a moment (at once: ``kill``)."""
        with self._lock:
            if self.stopped is None:
                self.stopped = "the run has ended"
        if kill:
            self.process.kill()
        # shut down, not only closed: the reader thread's pending read holds the socket open otherwise, and the
        # child would never see its end
        with contextlib.suppress(OSError), socket.fromfd(self._conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.shutdown(socket.SHUT_RDWR)
        self._reader.join(timeout=5)  # it has seen the end: the descriptor is closed once nobody reads it
        with self._send_lock:
            self._conn.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class RemoteProvider:
    """A provider adapter whose calls the call process makes; in this process once the child has stopped."""

    process: CallProcess
    name: str
    local: Callable[[], Provider]

    def complete(self, request: Request, model_id: str, *, sample_index: int = 0) -> Completion:
        if self.process.alive:  # and this is the process that started it (not a fork of it)
            try:
                return self.process.call(self.name, request, model_id, sample_index)
            except NeverStarted:
                pass
        return self.local().complete(request, model_id, sample_index=sample_index)
