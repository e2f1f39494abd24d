"""Pinned, alias, rolling, preview or experimental: the providers' naming rules (docs/providers.md §6)."""

from __future__ import annotations

import pytest

from pytest_llmversion.governance.catalog import load_catalog, pin_status
from pytest_llmversion.governance.pinning import classify
from pytest_llmversion.modelref import ModelRef


@pytest.mark.parametrize(
    ("provider", "model_id", "kind"),
    [
        ("openai", "gpt-4o-2024-08-06", "pinned"),
        ("openai", "gpt-4-0613", "pinned"),
        ("openai", "gpt-4-1106-preview", "pinned"),
        ("openai", "gpt-3.5-turbo-0125", "pinned"),
        ("openai", "o3-2025-04-16", "pinned"),
        ("openai", "ft:gpt-4o-2024-08-06:acme::abc123", "pinned"),
        ("openai", "gpt-4o", "alias"),
        ("openai", "o3", "alias"),
        ("openai", "gpt-6-luna", "alias"),
        ("openai", "chatgpt-4o-latest", "rolling"),
        ("openai", "gpt-5-chat-latest", "rolling"),
        ("openai", "gpt-4o-search-preview", "preview"),
        ("anthropic", "claude-3-5-sonnet-20241022", "pinned"),
        ("anthropic", "claude-sonnet-4-5-20250929", "pinned"),
        ("anthropic", "claude-3-5-sonnet-latest", "alias"),
        ("anthropic", "claude-sonnet-4-5", "alias"),
        ("anthropic", "claude-opus-4-1", "alias"),
        ("anthropic", "claude-3-opus", "alias"),
        ("anthropic", "claude-opus-4-6", "pinned"),
        ("anthropic", "claude-sonnet-5-5", "pinned"),
        ("anthropic", "claude-fable-5-1", "pinned"),
        ("anthropic", "claude-mythos-preview", "preview"),
        ("anthropic", "sonnet", "unknown"),
        ("gemini", "gemini-1.5-pro-002", "pinned"),
        ("gemini", "models/gemini-1.5-pro-002", "pinned"),
        ("gemini", "gemini-1.5-pro", "alias"),
        ("gemini", "gemini-1.5-pro-latest", "alias"),
        ("gemini", "gemini-flash-latest", "alias"),
        ("gemini", "gemini-2.5-flash", "pinned"),
        ("gemini", "gemini-2.5-flash-preview-05-20", "preview"),
        ("gemini", "gemini-3.1-pro-preview", "preview"),
        ("gemini", "gemini-exp-1206", "experimental"),
        ("gemini", "gemini-2.0-flash-thinking-exp-01-21", "experimental"),
        ("google-legacy", "gemini-1.5-flash", "alias"),
        ("scripted", "m1", "pinned"),
        ("local", "llama3:8b", "unknown"),
    ],
)
def test_naming_rules(provider: str, model_id: str, kind: str) -> None:
    assert classify(provider, model_id) == kind


def test_the_catalogue_knows_where_an_alias_points() -> None:
    catalog = load_catalog()
    status = pin_status(ModelRef("gemini", "gemini-1.5-pro-latest"), catalog)
    assert (status.kind, status.resolves_to, status.basis) == ("alias", "gemini/gemini-1.5-pro-002", "catalogue")
    unknown = pin_status(ModelRef("openai", "gpt-7-mini"), catalog)
    assert (unknown.kind, unknown.resolves_to, unknown.basis) == ("alias", None, "naming rules")
    local = pin_status(ModelRef("local", "llama3"), catalog)
    assert (local.pinned, local.checked, local.basis) == (False, False, "not checked")
