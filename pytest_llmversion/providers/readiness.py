"""Whether each provider a project configures could be called: its SDK installed and its API key set.

For ``llmversion check``: a warning, not an error, since a suite that only replays goldens needs neither.
The SDK is looked up (``importlib.util.find_spec``), never imported, so the check stays fast and has no side
effects; the key is read as the adapters read it (``sdk_common.resolve_api_key``) and never printed.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping

from pytest_llmversion.config import LLMConfig
from pytest_llmversion.modelref import ModelRefError
from pytest_llmversion.providers.sdk_common import resolve_api_key

#: Adapter kind -> (the SDK's module, the extra that installs it), as each adapter imports it.
SDKS: dict[str, tuple[str, str]] = {
    "openai": ("openai", "openai"),
    "anthropic": ("anthropic", "anthropic"),
    "gemini": ("google.genai", "gemini"),
    "google-legacy": ("google.generativeai", "google-legacy"),
}


def configured_providers(config: LLMConfig) -> list[str]:
    """The providers of the current, candidate and fallback models, and every ``[tool.llmversion.providers.*]``."""
    names = set(config.providers)
    for text in (config.model, config.candidate_model, *config.fallback_models):
        if not text:
            continue
        try:
            names.add(config.ref(text).provider)
        except ModelRefError:
            continue  # the check reports a bad model reference on its own
    return sorted(names - {"scripted"})


def _installed(module: str) -> bool:
    parent = module.split(".")[0]
    try:
        # a dotted name imports its parent package to look inside (``google``, a namespace): never the SDK itself
        return importlib.util.find_spec(parent) is not None and importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def readiness_warnings(config: LLMConfig, environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per configured provider whose SDK is not installed or whose key is not set."""
    environ = os.environ if environ is None else environ
    warnings = []
    for name in configured_providers(config):
        settings = config.providers.get(name)
        kind = (settings.kind if settings else None) or name
        if kind in SDKS:
            module, extra = SDKS[kind]
            if not _installed(module):
                warnings.append(
                    f'{name}: its SDK ({module}) is not installed: pip install "pytest-llmversion[{extra}]" '
                    "(replaying goldens works without it; recording and live calls do not)"
                )
        key = resolve_api_key(name, settings, environ)
        if key.value is None and not key.optional:
            warnings.append(
                f"{name}: no API key: {key.env} is not set (replaying goldens needs none; --llm-record, --llm-live "
                "and candidate runs do)"
            )
    return warnings
