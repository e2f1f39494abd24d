"""Fixtures that hand application code the official SDK clients, with the plugin as their HTTP transport.

Imported by ``plugin`` (so pytest registers them); the SDKs and ``httpx2`` load only when a test asks for
one of these fixtures. See ``pytest_llmversion.sdk`` for what the transport does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import anthropic
    import openai
    from google import genai
    from google.genai.client import AsyncClient as GeminiAsyncClient

    from pytest_llmversion.run.item import LLMItem
    from pytest_llmversion.sdk.calls import Family
    from pytest_llmversion.sdk.clients import BuiltClient, Flavour


def _sdk_client(request: pytest.FixtureRequest, item: LLMItem, family: Family, flavour: Flavour) -> BuiltClient:
    from pytest_llmversion.providers.base import ProviderError
    from pytest_llmversion.sdk.clients import build_client
    from pytest_llmversion.state import STATE

    ctx = request.config.stash[STATE].context()
    name = str(request.fixturename)
    try:
        return build_client(family, flavour, item.sampler, ctx.config, name)
    except ProviderError as exc:  # the SDK is not installed
        pytest.fail(f"{name}: {exc}", pytrace=False)


@pytest.fixture
def llm_openai(_llm_item: LLMItem, request: pytest.FixtureRequest) -> Iterator[openai.OpenAI]:
    """An ``openai.OpenAI`` client whose calls are replayed from the golden, recorded, or sent to this item's
    model (the candidate on a ``[candidate]`` item), whatever model the code names."""
    built = _sdk_client(request, _llm_item, "openai", "sync")
    client: openai.OpenAI = built.sdk
    yield client
    built.close()


@pytest.fixture
def llm_openai_async(_llm_item: LLMItem, request: pytest.FixtureRequest) -> openai.AsyncOpenAI:
    """``openai.AsyncOpenAI``, like ``llm_openai``, for ``async def`` tests (pytest-asyncio or anyio's plugin);
    calls made together are in flight together."""
    client: openai.AsyncOpenAI = _sdk_client(request, _llm_item, "openai", "async").sdk
    return client


@pytest.fixture
def llm_anthropic(_llm_item: LLMItem, request: pytest.FixtureRequest) -> Iterator[anthropic.Anthropic]:
    """An ``anthropic.Anthropic`` client, like ``llm_openai``."""
    built = _sdk_client(request, _llm_item, "anthropic", "sync")
    client: anthropic.Anthropic = built.sdk
    yield client
    built.close()


@pytest.fixture
def llm_anthropic_async(_llm_item: LLMItem, request: pytest.FixtureRequest) -> anthropic.AsyncAnthropic:
    """``anthropic.AsyncAnthropic``, like ``llm_openai``."""
    client: anthropic.AsyncAnthropic = _sdk_client(request, _llm_item, "anthropic", "async").sdk
    return client


@pytest.fixture
def llm_gemini(_llm_item: LLMItem, request: pytest.FixtureRequest) -> Iterator[genai.Client]:
    """A google-genai ``genai.Client`` (Gemini API), like ``llm_openai``; ``.aio`` is its async surface."""
    built = _sdk_client(request, _llm_item, "gemini", "sync")
    client: genai.Client = built.sdk
    yield client  # kept referenced until teardown: a collected Client closes its HTTP clients
    built.close()  # the Client itself leaves the HTTP client it was given (and a pass-through socket) open


@pytest.fixture
def llm_gemini_async(llm_gemini: genai.Client) -> GeminiAsyncClient:
    """``llm_gemini.aio``: google-genai's async surface of the same client."""
    return llm_gemini.aio
