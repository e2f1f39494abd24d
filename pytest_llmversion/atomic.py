"""Files written whole or not at all: goldens, recordings, reports. A run interrupted mid-write (Ctrl-C, a
crash, a full disk) leaves every file either as it was or as it was meant to be, never half-written."""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str, *, durable: bool = True) -> bool:
    """Write ``text`` to ``path`` whole (temp file in the same folder + rename); False if unchanged.
    ``durable=False`` skips the fsync, for files the run can make again (a cache)."""
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()  # what open() would give a new file, not mkstemp's private 0600
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.chmod(tmp, mode)
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


@functools.cache
def _umask() -> int:
    # os.umask can only be read by setting it; done once, at the first write
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
