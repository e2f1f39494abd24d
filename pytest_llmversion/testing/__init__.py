"""Offline testing of LLM code: a loopback emulator of the OpenAI, Anthropic and Gemini APIs.

``Emulator`` answers the official SDKs over real HTTP from scripted rules, with latency, fault schedules and
served-model names set per model; the ``llm_emulator`` pytest fixture starts one per test.
"""

from __future__ import annotations

from pytest_llmversion.testing.emulator import Emulator, ModelSettings, ReceivedRequest
from pytest_llmversion.testing.faults import Fault

__all__ = ["Emulator", "Fault", "ModelSettings", "ReceivedRequest"]
