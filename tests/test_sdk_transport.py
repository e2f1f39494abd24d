"""The SDK transport on its own: real SDK clients, a stand-in runner, the emulator for calls that pass through."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import enum
import importlib
import json
import sys
import warnings
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from pydantic import BaseModel

from pytest_llmversion.checks import json_field
from pytest_llmversion.checks.core import to_plain
from pytest_llmversion.config import LLMConfig
from pytest_llmversion.judge.samples import SampleResult, call_error
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import Completion, ProviderError, Request, Usage
from pytest_llmversion.sdk import CallRefused, UnrecordedCallWarning, WrongProviderError
from pytest_llmversion.sdk.calls import NotACompletion, read_call
from pytest_llmversion.sdk.callsite import line_with_literal
from pytest_llmversion.sdk.clients import build_client
from pytest_llmversion.sdk.http_stack import LIBRARIES, http_library, transports
from pytest_llmversion.sdk.transport import LLMExchange
from pytest_llmversion.testing import Emulator

MODEL = ModelRef("openai", "gpt-4o-2024-08-06")
#: The HTTP library (httpx2 or httpx) each installed SDK is built on, and the plugin's transports for it.
OPENAI_HTTP: Any = importlib.import_module(http_library("openai"))
ANTHROPIC_HTTP: Any = importlib.import_module(http_library("anthropic"))
LLMTransport, _ = transports(http_library("openai"))
AnthropicTransport, AsyncAnthropicTransport = transports(http_library("anthropic"))
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}


@dataclasses.dataclass
class Runner:
    """Answers every call with one completion and keeps the requests, like an item replaying its golden."""

    text: str = '{"city": "London"}'
    root: Path | None = None
    #: Whether the item calls models (--llm-record, --llm-live, a live candidate); a replay does not.
    calls_models: bool = False
    requests: list[Request] = dataclasses.field(default_factory=list)
    notices: list[str] = dataclasses.field(default_factory=list)
    refused: list[str] = dataclasses.field(default_factory=list)

    def start(self, request: Request) -> Callable[[], Completion]:
        self.requests.append(request)
        return lambda: self.answer(request)

    def answer(self, request: Request) -> Completion:
        return Completion(self.text, str(MODEL), "gpt-4o-2024-08-06", Usage(7, 5), source="golden")

    def model(self) -> ModelRef:
        return MODEL

    def expected(self) -> Collection[ModelRef] | None:
        return (MODEL,)

    def notice(self, text: str) -> None:
        self.notices.append(text)

    def refuse(self, problem: CallRefused) -> None:
        self.refused.append(str(problem))


def openai_on(runner: Runner, base_url: str | None = None) -> openai.OpenAI:
    transport = LLMTransport(LLMExchange(runner, "openai", "llm_openai"))
    return openai.OpenAI(
        api_key="k", base_url=base_url, max_retries=0, http_client=OPENAI_HTTP.Client(transport=transport)
    )


def body(**fields: Any) -> bytes:
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}).encode()


def test_a_replayed_answer_is_the_same_object_every_time() -> None:
    client = openai_on(Runner())
    ask = {"model": MODEL.model_id, "messages": [{"role": "user", "content": "hi"}]}
    first, second = (client.chat.completions.create(**ask).model_dump() for _ in range(2))  # type: ignore[arg-type]
    assert first == second
    assert (first["created"], first["model"], first["usage"]["prompt_tokens"]) == (1_700_000_000, MODEL.model_id, 7)


def test_the_responses_stream_helper_accumulates_a_replayed_answer() -> None:
    with openai_on(Runner()).responses.stream(model=MODEL.model_id, input="hi", instructions="be brief") as events:
        assert events.get_final_response().output_text == '{"city": "London"}'


@pytest.mark.parametrize(
    ("path", "content", "reason"),
    [
        ("/v1/chat/completions", b"not json", "the request body is not JSON"),
        ("/v1/moderations", body(), "not an endpoint the plugin records"),
        ("/v1/chat/completions", body(n=2), "it asks for several answers at once (n / candidateCount)"),
        (
            "/v1/responses",
            json.dumps({"input": "hi", "tools": [{"type": "web_search"}]}).encode(),
            "it uses a web_search tool; only function tools can be recorded",
        ),
        (
            "/v1/chat/completions",
            json.dumps({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}).encode(),
            "message 0 holds a non-text part (image_url)",
        ),
        (
            "/v1/responses",
            json.dumps({"input": [{"type": "reasoning", "summary": []}]}).encode(),
            "message 0 is a reasoning item, not a text turn",
        ),
        ("/v1/responses", json.dumps({"input": "hi", "previous_response_id": "r1"}).encode(), "it uses previous_"),
        (
            "/v1beta/models/g:generateContent",
            json.dumps({"contents": [{"role": "user", "parts": [{"inlineData": {}}]}]}).encode(),
            "content 0 holds a non-text part (inlineData)",
        ),
    ],
    ids=["not-json", "moderations", "n", "hosted-tool", "image", "reasoning", "stateful", "gemini-image"],
)
def test_what_a_request_cannot_hold_is_named(path: str, content: bytes, reason: str) -> None:
    with pytest.raises(NotACompletion) as raised:
        read_call("POST", path, content)
    assert str(raised.value).startswith(reason)


def test_parameters_without_a_name_are_kept_in_the_fingerprint() -> None:
    call = read_call("POST", "/v1/chat/completions", body(frequency_penalty=0.5, stream=True, user="u1", seed=3))
    assert call.request.params == {"seed": 3, "frequency_penalty": 0.5}  # user and stream do not change the answer
    assert call.stream
    gemini = read_call(
        "POST",
        "/v1beta/models/gemini-x:streamGenerateContent",
        json.dumps(
            {"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"topK": 2, "temperature": 0}}
        ).encode(),
    )
    assert (gemini.model, gemini.family, gemini.stream) == ("gemini-x", "gemini", True)
    assert gemini.request.params == {"temperature": 0, "topK": 2}


def test_a_request_that_is_not_json_goes_out_unrecorded_with_a_warning_when_pass_through_is_allowed(
    emu: Emulator,
) -> None:
    runner = Runner(calls_models=True)
    exchange = LLMExchange(runner, "openai", "llm_openai", allow_passthrough=True)
    with OPENAI_HTTP.Client(transport=LLMTransport(exchange)) as client, pytest.warns(UnrecordedCallWarning) as caught:
        response = client.post(f"{emu.openai_base_url}/chat/completions", content=b"{oops", headers={"x-api-key": "k"})
    assert response.status_code == 400  # the emulator's answer, passed back as it came
    assert runner.requests == []
    message = str(caught[0].message)
    assert message == (
        f"llm_openai: POST /v1/chat/completions went to {emu.url} unrecorded (the request body is not JSON); "
        "the golden cannot answer it, so an offline replay fails at this call"
    )
    assert caught[0].filename == __file__
    assert runner.notices == [message]


def test_an_async_call_the_plugin_cannot_record_reaches_the_server_when_pass_through_is_allowed(
    emu: Emulator,
) -> None:
    emu.add_model("m", respond="x")
    runner = Runner(calls_models=True)
    transport = AsyncAnthropicTransport(LLMExchange(runner, "anthropic", "llm_anthropic_async", allow_passthrough=True))
    client = anthropic.AsyncAnthropic(
        api_key="k", base_url=emu.url, max_retries=0, http_client=ANTHROPIC_HTTP.AsyncClient(transport=transport)
    )
    ask = {"model": "m", "messages": [{"role": "user", "content": [IMAGE]}]}
    with pytest.warns(UnrecordedCallWarning, match="POST /v1/messages/count_tokens went to"):
        counted = asyncio.run(client.messages.count_tokens(**ask))  # type: ignore[arg-type]
    assert counted.input_tokens > 0
    assert [r.path for r in emu.requests()] == ["/v1/messages/count_tokens"]


@pytest.mark.parametrize(
    ("allowed", "live", "why"),
    [
        (False, True, "; pass --llm-allow-passthrough to send calls the plugin cannot record"),
        (
            False,
            False,
            ", and a replay sends nothing (only --llm-record, --llm-live or a candidate called live send such calls, "
            "with --llm-allow-passthrough)",
        ),
        (
            True,
            False,
            ", and a replay sends nothing (only --llm-record, --llm-live or a candidate called live send such calls, "
            "with --llm-allow-passthrough)",
        ),
    ],
    ids=["live-not-allowed", "replay", "replay-allowed"],
)
def test_a_call_the_plugin_cannot_record_is_refused_in_one_line_and_nothing_is_sent(
    emu: Emulator, allowed: bool, live: bool, why: str
) -> None:
    runner = Runner(calls_models=live)
    exchange = LLMExchange(runner, "openai", "llm_openai", allow_passthrough=allowed)
    client = openai.OpenAI(
        api_key="k",
        base_url=emu.openai_base_url,
        default_query={"key": "sk-in-a-query-string"},  # never named in the line
        max_retries=0,
        http_client=OPENAI_HTTP.Client(transport=LLMTransport(exchange)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused: nothing went out, so nothing to warn about
        # openai 3 lets a transport's own exception through; openai 2 wraps it in its APIConnectionError
        with pytest.raises((CallRefused, openai.APIConnectionError)) as raised:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], logprobs=True)
    error = call_error(raised.value)
    assert isinstance(error, CallRefused)
    line = (
        f"llm_openai: POST {emu.url}/v1/chat/completions was not sent: it asks for logprobs, which a recorded text "
        f"answer cannot hold{why}"
    )
    assert str(error) == line
    assert runner.refused == [line]  # on the item, whatever the app does with the exception
    assert emu.requests() == []


def test_an_async_call_the_plugin_cannot_record_is_refused_too(emu: Emulator) -> None:
    runner = Runner()
    transport = AsyncAnthropicTransport(LLMExchange(runner, "anthropic", "llm_anthropic_async", allow_passthrough=True))
    client = anthropic.AsyncAnthropic(
        api_key="k", base_url=emu.url, max_retries=0, http_client=ANTHROPIC_HTTP.AsyncClient(transport=transport)
    )
    ask = {"model": "m", "messages": [{"role": "user", "content": [IMAGE]}]}
    with pytest.raises(anthropic.APIConnectionError) as raised:
        asyncio.run(client.messages.count_tokens(**ask))  # type: ignore[arg-type]
    assert str(call_error(raised.value)).startswith(
        f"llm_anthropic_async: POST {emu.url}/v1/messages/count_tokens was not sent: message 0 holds a non-text part "
        "(image), and a replay sends nothing"
    )
    assert len(runner.refused) == 1
    assert emu.requests() == []


def test_a_client_used_for_another_providers_api_is_one_line() -> None:
    transport = AnthropicTransport(LLMExchange(Runner(), "openai", "llm_openai"))
    client = anthropic.Anthropic(api_key="k", max_retries=0, http_client=ANTHROPIC_HTTP.Client(transport=transport))
    with pytest.raises(anthropic.APIConnectionError) as raised:
        client.messages.create(model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    error = call_error(raised.value)  # what the test's failure line shows
    assert isinstance(error, WrongProviderError)
    assert str(error) == (
        "llm_openai: POST /v1/messages is an Anthropic Messages call, but this client was built for the openai API: "
        "use the llm_anthropic fixture for that SDK"
    )
    sample = SampleResult(0)
    sample.fail(raised.value)
    assert sample.message.startswith("WrongProviderError: llm_openai: POST /v1/messages")


def test_a_provider_error_keeps_its_kind_through_the_sdk() -> None:
    class Failing(Runner):
        def answer(self, request: Request) -> Completion:
            raise ProviderError("anthropic/claude-opus-4-6: unavailable (503): injected")

    transport = AnthropicTransport(LLMExchange(Failing(), "anthropic", "llm_anthropic"))
    client = anthropic.Anthropic(api_key="k", max_retries=0, http_client=ANTHROPIC_HTTP.Client(transport=transport))
    sample = SampleResult(0)
    try:
        client.messages.create(model="gpt-4o-2024-08-06", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    except anthropic.APIConnectionError as exc:
        sample.fail(exc)
    assert (sample.outcome, sample.message) == (
        "provider_error",
        "ProviderError: anthropic/claude-opus-4-6: unavailable (503): injected",
    )


def test_a_missing_sdk_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(ProviderError) as raised:
        build_client("anthropic", "sync", Runner(), LLMConfig(), "llm_anthropic")  # type: ignore[arg-type]
    assert str(raised.value) == (
        'the anthropic provider needs its SDK (anthropic): pip install "pytest-llmversion[anthropic]"'
    )


MODEL_IN_CODE = "gpt-4o-mini"


def test_the_warning_names_the_line_where_the_model_is_written() -> None:
    def app_call() -> Any:
        return line_with_literal("gpt-4o-mini")  # stands in for the SDK call in application code

    site = app_call()
    assert site is not None
    assert (Path(site.filename).name, site.lineno) == ("test_sdk_transport.py", app_call.__code__.co_firstlineno + 1)
    constant = line_with_literal(MODEL_IN_CODE.upper().lower())  # named through a constant: its line
    assert constant is not None
    source = Path(__file__).read_text().splitlines()
    assert source[constant.lineno - 1] == 'MODEL_IN_CODE = "gpt-4o-mini"'


class Tier(enum.Enum):
    GOLD = "gold"


class Order(BaseModel):
    id: str
    placed: datetime.date


@dataclasses.dataclass
class Customer:
    name: str
    tier: Tier
    orders: list[Order]
    tags: frozenset[str]


def test_any_value_an_app_returns_becomes_plain_data_the_json_checks_read() -> None:
    customer = Customer("Ada", Tier.GOLD, [Order(id="A1", placed=datetime.date(2024, 5, 1))], frozenset({"b", "a"}))
    plain = to_plain([customer, (1, 2)])
    assert plain == [
        {"name": "Ada", "tier": "gold", "orders": [{"id": "A1", "placed": "2024-05-01"}], "tags": ["a", "b"]},
        [1, 2],
    ]
    assert json.loads(json.dumps(plain)) == plain
    assert json_field("orders[0].id", "A1")(customer).passed
    assert json_field("/tier", "gold")(customer).passed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sample = SampleResult(0)
        sample.add_checks(customer, [])
    assert sample.value == plain[0]


def _library_of(http_client: Any) -> str:
    return next(
        cls.__module__.split(".")[0] for cls in type(http_client).__mro__ if cls.__module__.split(".")[0] in LIBRARIES
    )


def _default_client(family: str) -> Any:
    """The SDK's own client, as the SDK builds it with no http_client given."""
    if family == "gemini":
        return importlib.import_module("google.genai").Client(api_key="k")
    return getattr(importlib.import_module(family), "OpenAI" if family == "openai" else "Anthropic")(api_key="k")


def _http_of(client: Any) -> Any:
    api_client = getattr(client, "_api_client", None)
    return client._client if api_client is None else api_client._httpx_client


@pytest.mark.parametrize("family", ["openai", "anthropic", "gemini"])
def test_each_sdk_client_is_built_on_the_http_library_its_sdk_is_built_on(family: str) -> None:
    """openai 3, anthropic 1 and 2 and google-genai 3 on httpx2; openai 2, anthropic 0.9x and google-genai 2 on
    httpx (the sdk sessions in noxfile.py run this on each): the library the SDK would pick itself."""
    native = _library_of(_http_of(_default_client(family)))
    sync = build_client(family, "sync", Runner(), LLMConfig(), f"llm_{family}").sdk  # type: ignore[arg-type]
    async_ = build_client(family, "async", Runner(), LLMConfig(), f"llm_{family}").sdk  # type: ignore[arg-type]
    sync_http = _http_of(sync)
    async_http = async_._api_client._async_httpx_client if family == "gemini" else async_._client
    assert (_library_of(sync_http), _library_of(async_http)) == (native, native)
    assert type(sync_http._transport).__name__ == "LLMTransport"
    assert type(async_http._transport).__name__ == "AsyncLLMTransport"
