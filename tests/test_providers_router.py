"""One retry policy for every provider, then the fallback chain, with real SDK clients against the emulator."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmversion.config import LLMConfig, ProviderSettings
from pytest_llmversion.providers import BadRequest, ProviderFactory, RetryPolicy, Router, RoutingFailed
from pytest_llmversion.providers.base import AuthError, Message, Request
from pytest_llmversion.testing import Emulator, Fault

REQUEST = Request((Message("user", "hi"),), {"max_tokens": 16})


#: Factories a test made, their adapters' SDK clients closed when it ends (an unclosed socket fails the suite).
_FACTORIES: list[ProviderFactory] = []


@pytest.fixture(autouse=True)
def _close_factories() -> Iterator[None]:
    yield
    while _FACTORIES:
        _FACTORIES.pop().close()


def router(emu: Emulator, model: str, tmp_path: Path, **config: object) -> tuple[Router, list[float]]:
    """A router for ``model`` whose sleeps are noted instead of slept."""
    providers = {
        "openai": ProviderSettings(base_url=emu.openai_base_url),
        "anthropic": ProviderSettings(base_url=emu.url),
        "gemini": ProviderSettings(base_url=emu.url),
        "google-legacy": ProviderSettings(base_url=emu.url),
    }
    settings = LLMConfig.model_validate({"providers": providers, "timeout": 2.0} | config)
    factory = ProviderFactory(settings, tmp_path)
    _FACTORIES.append(factory)
    built = factory.router(settings.ref(model))
    sleeps: list[float] = []
    built.sleep = sleeps.append
    built.rng = random.Random(0)
    return built, sleeps


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "google-legacy"])
def test_rate_limits_are_retried_after_the_servers_delay(emu: Emulator, tmp_path: Path, provider: str) -> None:
    emu.add_model("m", respond="finally")
    emu.add_fault(Fault.http(429, first=2, retry_after=0.05))
    route, sleeps = router(emu, f"{provider}/m", tmp_path, max_retries=2)
    completion = route.complete(REQUEST)
    assert (completion.text, completion.retries, completion.model_requested) == ("finally", 2, f"{provider}/m")
    assert sleeps == [0.05, 0.05]
    assert len(emu.requests()) == 3  # the SDK's own retries are off: every try is ours


def test_backoff_is_exponential_with_jitter_and_the_tries_are_bounded(emu: Emulator, tmp_path: Path) -> None:
    emu.add_model("m", respond="never")
    emu.add_fault(Fault.http(503))
    route, sleeps = router(emu, "anthropic/m", tmp_path, max_retries=3, retry_base_delay=0.1, retry_max_delay=0.3)
    with pytest.raises(RoutingFailed) as raised:
        route.complete(REQUEST)
    assert len(emu.requests()) == 4
    assert str(raised.value) == "anthropic/m: unavailable (503): injected 503 (api_error) (4 tries)"
    for wait, ceiling in zip(sleeps, [0.1, 0.2, 0.3], strict=True):
        assert ceiling * 0.75 <= wait <= ceiling  # up to 25 % jitter, capped at retry_max_delay


def test_policy_delays() -> None:
    policy = RetryPolicy(max_retries=2, base_delay=0.5, max_delay=8.0, retry_after_cap=30.0, jitter=0.0)
    rng = random.Random(0)
    assert [policy.delay(n, None, rng) for n in range(3)] == [0.5, 1.0, None]
    assert policy.delay(0, 12.0, rng) == 12.0
    assert policy.delay(0, 31.0, rng) is None  # asked to wait past the cap: give up on this model


def test_a_wait_beyond_the_cap_falls_back_at_once(emu: Emulator, tmp_path: Path) -> None:
    emu.add_model("busy", respond="never")
    emu.add_model("spare", respond="from the fallback")
    emu.add_fault(Fault.http(429, retry_after=60, model="busy"))
    route, sleeps = router(
        emu, "openai/busy", tmp_path, fallback_models=["anthropic/spare"], retry_after_cap=1.0, max_retries=2
    )
    completion = route.complete(REQUEST)
    assert sleeps == []
    assert completion.text == "from the fallback"
    assert completion.model_requested == "anthropic/spare"
    assert completion.fallback_from == "openai/busy"
    assert completion.fallback_reason == "openai/busy: rate limited (429); retry after 60s: injected 429 (1 try)"


def test_the_chain_goes_on_until_a_model_answers(emu: Emulator, tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        emu.add_model(name, respond=f"from {name}")
    emu.add_fault(Fault.http(503, model="a"))
    emu.add_fault(Fault.reset(model="b"))
    route, _ = router(
        emu, "openai/a", tmp_path, fallback_models=["anthropic/b", "gemini/c"], max_retries=1, retry_base_delay=0
    )
    completion = route.complete(REQUEST)
    assert (completion.text, completion.retries) == ("from c", 4)  # two tries each for a and b
    assert completion.fallback_reason is not None
    assert completion.fallback_reason.startswith("openai/a: unavailable (503)")
    assert "; then anthropic/b: connection failed" in completion.fallback_reason


@pytest.mark.parametrize(("status", "error"), [(400, BadRequest), (401, AuthError)])
def test_no_fallback_when_another_model_would_not_help(
    emu: Emulator, tmp_path: Path, status: int, error: type[Exception]
) -> None:
    emu.add_model("m", respond="never")
    emu.add_model("spare", respond="unused")
    emu.add_fault(Fault.http(status, model="m"))
    route, sleeps = router(emu, "openai/m", tmp_path, fallback_models=["anthropic/spare"])
    with pytest.raises(error):
        route.complete(REQUEST)
    assert (len(emu.requests("m")), emu.requests("spare"), sleeps) == (1, [], [])


def test_a_fallback_that_cannot_be_built_ends_the_chain_with_its_reason(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.add_model("m", respond="never")
    emu.add_fault(Fault.http(503))
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    route, _ = router(emu, "openai/m", tmp_path, fallback_models=["anthropic/spare"], max_retries=0)
    with pytest.raises(RoutingFailed, match=r"; then anthropic/spare: anthropic: no API key: set ANTHROPIC_API_KEY"):
        route.complete(REQUEST)
