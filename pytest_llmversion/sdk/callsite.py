"""The line of application code that made an SDK call: the first frame outside the SDKs, httpx2 and the plugin."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path

#: Top-level packages whose frames sit between the application and the transport.
_MACHINERY = frozenset(
    {
        "openai",
        "anthropic",
        "google",
        "httpx2",
        "httpx",
        "httpcore",
        "pytest_llmversion",
        "tenacity",
        "asyncio",
        "anyio",
        "sniffio",
        "contextlib",
        "functools",
        "concurrent",
        "threading",
        "typing_extensions",
        "pydantic",
        "pydantic_core",
    }
)


@dataclass(frozen=True)
class CallSite:
    filename: str
    lineno: int
    module: str

    def shown(self, root: Path | None = None) -> str:
        path = Path(self.filename)
        if root is not None:
            with contextlib.suppress(OSError, ValueError):  # outside the project: the full path
                path = path.resolve().relative_to(root)
        return f"{path.as_posix()}:{self.lineno}"


def application_frame() -> CallSite | None:
    """Where the application called the SDK, or None when only machinery is on the stack."""
    frame = sys._getframe(1)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.split(".")[0] not in _MACHINERY and not frame.f_code.co_filename.startswith("<"):
            return CallSite(frame.f_code.co_filename, frame.f_lineno, module)
        frame = frame.f_back  # type: ignore[assignment]
    return None
