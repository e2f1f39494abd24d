"""pytest-llmversion: upgrade the LLM behind your product without a 2 a.m. incident.

Import what you need from the submodules (``pytest_llmversion.checks``) or from here; the heavy
parts load on first use so that importing the plugin stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_llmversion.version import __version__

_EXPORTS = {
    "Completion": "pytest_llmversion.providers.base",
    "Request": "pytest_llmversion.providers.base",
    "Usage": "pytest_llmversion.providers.base",
    "ProviderError": "pytest_llmversion.providers.base",
    "OutputParseError": "pytest_llmversion.parsing",
    "LLMConfig": "pytest_llmversion.config",
    "load_config": "pytest_llmversion.config",
    "LLMClient": "pytest_llmversion.client",
    "connect": "pytest_llmversion.production",
    "GovernanceError": "pytest_llmversion.governance.startup",
    "LLMVersionError": "pytest_llmversion.errors",
    "ModelRef": "pytest_llmversion.modelref",
    "Verdict": "pytest_llmversion.verdict",
}

__all__ = [
    "Completion",
    "GovernanceError",
    "LLMClient",
    "LLMConfig",
    "LLMVersionError",
    "ModelRef",
    "OutputParseError",
    "ProviderError",
    "Request",
    "Usage",
    "Verdict",
    "__version__",
    "connect",
    "load_config",
]

if TYPE_CHECKING:
    from pytest_llmversion.client import LLMClient
    from pytest_llmversion.config import LLMConfig, load_config
    from pytest_llmversion.errors import LLMVersionError
    from pytest_llmversion.governance.startup import GovernanceError
    from pytest_llmversion.modelref import ModelRef
    from pytest_llmversion.parsing import OutputParseError
    from pytest_llmversion.production import connect
    from pytest_llmversion.providers.base import Completion, ProviderError, Request, Usage
    from pytest_llmversion.verdict import Verdict


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_llmversion' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
