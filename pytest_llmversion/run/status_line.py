"""The progress of a live run, in place on a terminal: while a test body waits on a model for more than
``DELAY`` seconds, the run's progress (``Progress.summary``) is drawn at the end of pytest's current line,
redrawn every ``EVERY`` seconds, and erased before the body goes on.

pytest writes its line (``test_x.py ....``, or a node id under ``-v``) between test phases and flushes it
before a body runs; a body's own output is captured. So the only moments the terminal is ours are the waits:
the main thread marks them (``waiting``), a drawing thread draws during them, and the main thread erases
what was drawn before it returns to pytest. The cursor never moves: the status is written after it, then
the cursor is moved back over it (``CSI n D``), and ``CSI K`` erases it. It is cut to the room left on the
line, so it never wraps. A run whose terminal is a pipe, a CI log or an xdist worker gets the progress line
every few seconds instead (``run/progress.py``).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator

#: Seconds of waiting before the status is drawn (a quick answer shows nothing), and between two draws.
DELAY = 1.0
EVERY = 0.5
#: A status cut shorter than this is not drawn at all.
MIN_ROOM = 24
ERASE = "\x1b[K"


class StatusLine:
    def __init__(
        self,
        fd: int,
        text: Callable[[float], str],
        *,
        column: Callable[[], int],
        columns: Callable[[], int] | None = None,
        delay: float = DELAY,
        every: float = EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``fd``: the terminal (duplicated, so pytest's capture of fd 1 during a body does not reach it; closed
        by ``close``). ``text(seconds_waited)``: the status. ``column()``: where pytest's current line ends,
        read by the main thread as a wait starts. ``columns()``: the terminal's width now; by default asked of
        the duplicate, since fd 1 and ``COLUMNS`` say nothing true about the terminal while a body runs."""
        self._fd = os.dup(fd)
        self._text = text
        self._columns = columns or self._terminal_width
        self._column = column
        self._delay = delay
        self._every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._since: float | None = None
        self._at = 0
        self._drawn = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._draw_while_waiting, name="llmversion-status", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        """Around a model call of the main thread (a wait inside a wait is the outer one's)."""
        with self._lock:
            outer = self._since is None
            if outer:
                self._since = self._clock()
                self._at = self._column()
        try:
            yield
        finally:
            if outer:
                with self._lock:
                    self._since = None
                    self._erase()

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        with self._lock:
            self._erase()
            os.close(self._fd)
            self._fd = -1

    def _draw_while_waiting(self) -> None:
        while not self._stop.wait(self._every):
            with self._lock:
                if self._since is None or self._fd < 0:
                    continue
                waited = self._clock() - self._since
                if waited < self._delay:
                    continue
                room = self._columns() - self._at - 1  # the last column: some terminals wrap on it
                if room < MIN_ROOM:
                    continue
                # ASCII, so the characters written are the columns moved back over
                status = f" {self._text(waited)}".encode("ascii", "replace").decode()[:room]
                self._write(f"{ERASE}{status}\x1b[{len(status)}D")
                self._drawn = True

    def _terminal_width(self) -> int:
        try:
            return os.get_terminal_size(self._fd).columns
        except OSError:
            return 0  # not a terminal after all: nothing is drawn

    def _erase(self) -> None:
        if self._drawn and self._fd >= 0:
            self._write(ERASE)
        self._drawn = False

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError):  # a terminal gone (closed window, broken pipe): nothing to show
            os.write(self._fd, text.encode("utf-8", "replace"))
