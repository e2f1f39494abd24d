"""Offline testing of LLM code: a loopback emulator of the OpenAI, Anthropic and Gemini APIs.

``Emulator`` answers the official SDKs over real HTTP from scripted rules, with latency, fault schedules and
served-model names set per model; the ``llm_emulator`` pytest fixture starts one per test.

The names are loaded on first use (PEP 562): importing the package must not import ``emulator``, or
``python -m pytest_llmversion.testing.emulator`` would find the module already imported and runpy warn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_llmversion.testing.emulator import Emulator, ModelSettings, ReceivedRequest
    from pytest_llmversion.testing.faults import Fault

__all__ = ["Emulator", "Fault", "ModelSettings", "ReceivedRequest"]

#: Where each public name lives.
_HOMES = {"Emulator": "emulator", "ModelSettings": "emulator", "ReceivedRequest": "emulator", "Fault": "faults"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # looked up once
    return value
