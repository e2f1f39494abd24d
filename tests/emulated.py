"""Provider-test harness: one loopback emulator per test module, canary API keys, provider tables.

Registered as a plugin by conftest.py. The SDKs are imported here, in the outer process, so pytester's
in-process runs reuse them instead of importing them again for every run. httpcore2 (httpcore for the
SDK majors on httpx) too: httpx2 imports it only when it first opens a connection and caches a map of its
exception classes; were that first import inside a pytester run, the next run would import fresh classes the
map no longer knows, and a reset connection would escape the SDK unwrapped. Under the SDK-majors matrix
(noxfile.py) an older SDK may come without httpx2, or without google-generativeai: what is missing is skipped.
"""

from __future__ import annotations

import contextlib
import importlib
import warnings
from collections.abc import Iterator

import anthropic
import openai  # noqa: F401
import pytest
from google import genai  # noqa: F401

from pytest_llmversion.testing import Emulator

for _name in ("httpcore2", "httpcore", "google.generativeai"):
    with contextlib.suppress(ImportError), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # google-generativeai announces its end of life at import
        importlib.import_module(_name)

#: Keys no real provider knows; a test that finds one in a file or an output line has found a leak.
CANARY_KEYS = {
    "OPENAI_API_KEY": "sk-canary-openai-7f3a9c2e51",
    "ANTHROPIC_API_KEY": "sk-ant-canary-4b2e8d0a77",
    "GEMINI_API_KEY": "gem-canary-91d0c5b3e4",
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture
def canary_keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Provider keys in the environment that no real provider knows."""
    for name, value in CANARY_KEYS.items():
        monkeypatch.setenv(name, value)
    return CANARY_KEYS


@pytest.fixture
def emu(emulator: Emulator, canary_keys: dict[str, str]) -> Emulator:
    """The module's emulator, reset for this test, with canary keys in the environment."""
    emulator.reset()
    return emulator


def deprecated_anthropic_model() -> str:
    """A model the installed anthropic SDK warns is deprecated and that is still served on the demo's day.

    Each SDK release moves models in and out of its list, so tests ask the installed one instead of naming
    a model that a newer release no longer warns about.
    """
    import re
    from datetime import date, datetime

    from conftest import DEMO_TODAY

    try:
        from anthropic._data import DEPRECATED_MODELS
    except ImportError:  # anthropic 0.9x keeps its list beside the messages resource
        from anthropic.resources.messages.messages import DEPRECATED_MODELS

    def end_of_life(text: str) -> date:
        return datetime.strptime(re.sub(r"(\d)(st|nd|rd|th)", r"\1", text), "%B %d, %Y").date()

    today = date.fromisoformat(DEMO_TODAY)
    served = [model for model, when in sorted(DEPRECATED_MODELS.items()) if end_of_life(when) > today]
    if not served:
        pytest.skip(f"anthropic {anthropic.__version__} warns of no model still served on {DEMO_TODAY}")
    return served[0]
