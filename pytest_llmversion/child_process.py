"""Starting the call process's child (``providers.call_process`` speaks to it; ``providers.call_worker`` is it).

Only the standard library here: ``plugin.pytest_cmdline_main`` starts the child before pytest configures, when
the command line asks for live calls, so that it imports its SDK on the second core while this process
imports pydantic and builds the run's context (``options.early_call_process``). The run adopts that child when
its context says it wants one, and ends it otherwise.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.connection import Connection  # imported by spawn(): a replayed run never loads it

#: Libraries that answer HTTP calls inside pytest's process (respx, pytest-httpx, vcrpy's cassettes): with one
#: loaded, ``auto`` keeps the calls there, where they would have answered them.
HTTP_MOCKS = ("respx", "pytest_httpx", "vcr")


def http_mock_loaded() -> str | None:
    """The first of ``HTTP_MOCKS`` this process has imported, if any."""
    return next((name for name in HTTP_MOCKS if name in sys.modules), None)


class Spawned:
    """A child started before the run's config is resolved (``spawn``): it imports the SDKs it was told to warm
    while pytest configures, then waits for its greeting. A ``CallProcess`` adopts it; ``discard`` ends one
    that no run took (the config said no child after all, or the run stopped before it could)."""

    def __init__(self, process: subprocess.Popen[bytes], conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self._lock = threading.Lock()
        self._taken = False

    def adopt(self) -> bool:
        """Take the child for a run; False when it was discarded or has already exited."""
        with self._lock:
            if self._taken or self.process.poll() is not None:
                return False
            self._taken = True
            return True

    def discard(self) -> None:
        """End the child unless a run adopted it (idempotent)."""
        with self._lock:
            if self._taken:
                return
            self._taken = True
        self.conn.close()  # it sees the end of its socket and exits; killed, as it may be importing an SDK
        self.process.kill()
        self.process.wait()


def spawn(warm: Iterable[str] = ()) -> Spawned:
    """Start a call process that imports the SDKs of the adapter kinds ``warm`` names at once, before its greeting
    arrives."""
    from multiprocessing.connection import Connection

    ours, theirs = socket.socketpair()
    package_parent = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    # appended: the installed plugin (or a checkout's) is found without shadowing anything
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), package_parent) if p)
    try:
        process = subprocess.Popen(
            # -P: the working folder is not put first on the child's path
            [sys.executable, "-P", "-m", "pytest_llmversion.providers.call_worker", str(theirs.fileno()), *warm],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # Ctrl-C is pytest's to handle: the child ends when its socket closes
        )
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return Spawned(process, Connection(ours.detach()))
