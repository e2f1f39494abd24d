"""Fixtures that hand application code the official SDK clients, with the plugin as their HTTP transport.

Imported by ``plugin`` (so pytest registers them); the SDKs and ``httpx2`` load only when a test asks for
one of these fixtures. See ``pytest_llmversion.sdk`` for what the transport does.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from pytest_llmversion import options
from pytest_llmversion.state import SPEC, STATE

#: Marks an unmarked test (or a module or class of them) whose SDK calls are refused: ``--llm-intercept=all``
#: for that test alone.
GUARD_MARKER = "llm_intercept"
GUARD_MARKER_HELP = (
    f"{GUARD_MARKER}: keep this test (not marked llm_regression) off the network: every call of an official SDK "
    "client (openai, anthropic, google-genai) is refused, since nothing records or replays it. pytest-llmversion."
)

if TYPE_CHECKING:
    import anthropic
    import openai
    from google import genai
    from google.genai.client import AsyncClient as GeminiAsyncClient

    from pytest_llmversion.run.item import LLMItem
    from pytest_llmversion.sdk.calls import Family
    from pytest_llmversion.sdk.clients import BuiltClient, Flavour


@contextmanager
def intercepted(config: pytest.Config, nodeid: str, item: LLMItem) -> Iterator[None]:
    """While a marked test runs (its fixtures' set-up to their teardown), every official SDK client the
    application built is the plugin's (``sdk.intercept``), unless ``--llm-intercept=off``."""
    if options.intercept_mode(config) == "off":
        yield
        return
    from pytest_llmversion.sdk.intercept import Interception, intercepting

    allow = config.stash[STATE].context().config.allow_passthrough
    with intercepting(Interception(nodeid, item.sampler, allow_passthrough=allow)):
        yield


class UnmarkedGuard:
    """Registered when ``--llm-intercept=all`` or some collected test carries ``llm_intercept``: the SDK calls of
    those unmarked tests are refused with one line."""

    def __init__(self, everywhere: bool) -> None:
        self.everywhere = everywhere

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
        if SPEC in item.stash or not (self.everywhere or item.get_closest_marker(GUARD_MARKER) is not None):
            return (yield)
        from pytest_llmversion.sdk.intercept import Interception, intercepting

        with intercepting(Interception(item.nodeid, None)):
            return (yield)


def register_guard(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Guard unmarked tests where the run or the test asked for it; nothing is registered otherwise."""
    everywhere = options.intercept_mode(config) == "all"
    if not everywhere and not any(item.get_closest_marker(GUARD_MARKER) is not None for item in items):
        return
    if not config.pluginmanager.has_plugin("llmversion-guard"):
        config.pluginmanager.register(UnmarkedGuard(everywhere), "llmversion-guard")


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
