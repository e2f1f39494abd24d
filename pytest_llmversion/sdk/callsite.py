"""The line of application code behind an SDK call: the frames outside the SDKs, httpx2 and the plugin."""

from __future__ import annotations

import contextlib
import linecache
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

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
        "_pytest",
        "pluggy",
        # frameworks that build the SDK client for the application: the line to name is the application's
        "langchain_core",
        "langchain_openai",
        "langchain_anthropic",
        "langchain_google_genai",
        "pydantic_ai",
        "instructor",
        "llama_index",
        "jiter",
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


def application_frames() -> list[CallSite]:
    """The application's frames on the stack, innermost first (the line that called the SDK comes first)."""
    found: list[CallSite] = []
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.split(".")[0] not in _MACHINERY and not frame.f_code.co_filename.startswith("<"):
            found.append(CallSite(frame.f_code.co_filename, frame.f_lineno, module))
        frame = frame.f_back
    return found


def application_frame() -> CallSite | None:
    """Where the application called the SDK, or None when only machinery is on the stack."""
    frames = application_frames()
    return frames[0] if frames else None


def line_with_literal(literal: str) -> CallSite | None:
    """Where ``literal`` is written as a string in application code: on a line of the stack, else anywhere in
    the files of the stack (a module constant); else the line that called the SDK."""
    frames = application_frames()
    quoted = (f'"{literal}"', f"'{literal}'")
    for site in frames:
        if any(q in linecache.getline(site.filename, site.lineno) for q in quoted):
            return site
    for site in frames:
        for number, line in enumerate(linecache.getlines(site.filename), start=1):
            if any(q in line for q in quoted):
                return CallSite(site.filename, number, site.module)
    return frames[0] if frames else None


def literal_site(literal: str) -> CallSite | None:
    """Where ``literal`` is written as a string in the module that called the SDK: on the calling line, else
    anywhere in that file (a module constant); None when it is not (the code read it from configuration)."""
    frames = application_frames()
    if not frames:
        return None
    site = frames[0]
    quoted = (f'"{literal}"', f"'{literal}'")
    if any(q in linecache.getline(site.filename, site.lineno) for q in quoted):
        return site
    for number, line in enumerate(linecache.getlines(site.filename), start=1):
        if any(q in line for q in quoted):
            return CallSite(site.filename, number, site.module)
    return None
