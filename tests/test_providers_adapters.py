"""Each adapter through its real SDK against the emulator: what goes on the wire, what comes back, which error."""

from __future__ import annotations

import importlib
import socket
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from emulated import deprecated_anthropic_model

from pytest_llmversion.config import LLMConfig, ProviderSettings
from pytest_llmversion.providers import (
    AuthError,
    BadRequest,
    MalformedResponse,
    ModelNotFound,
    Provider,
    ProviderError,
    RateLimited,
    Unavailable,
    anthropic_adapter,
    gemini_adapter,
    google_legacy_adapter,
    openai_adapter,
)
from pytest_llmversion.providers.base import Message, Request, Tool, ToolCall
from pytest_llmversion.providers.sdk_common import retry_after_seconds, unavailable
from pytest_llmversion.sdk.http_stack import http_library
from pytest_llmversion.testing import Emulator, Fault

CONFIG = LLMConfig(timeout=0.5)
REQUEST = Request(
    (Message("system", "Answer in JSON."), Message("user", "Ada Lovelace was born in London.")),
    {"temperature": 0.0, "max_tokens": 64, "seed": 7, "stop": "END", "response_format": "json"},
)

KINDS = {
    "openai": lambda emu, name="openai", api=None: openai_adapter.build(
        name, ProviderSettings(kind="openai", base_url=emu.openai_base_url, api=api), CONFIG
    ),
    "openai-responses": lambda emu: openai_adapter.build(
        "openai", ProviderSettings(base_url=emu.openai_base_url, api="responses"), CONFIG
    ),
    "anthropic": lambda emu: anthropic_adapter.build("anthropic", ProviderSettings(base_url=emu.url), CONFIG),
    "gemini": lambda emu: gemini_adapter.build("gemini", ProviderSettings(base_url=emu.url), CONFIG),
    "google-legacy": lambda emu: google_legacy_adapter.build(
        "google-legacy", ProviderSettings(base_url=emu.url), CONFIG
    ),
}


#: Adapters the running test built: their SDK clients are closed after it (a client left to the garbage collector
#: reports its sockets, under -W error::ResourceWarning, in whichever test runs when it is collected).
_OPENED: list[Any] = []


@pytest.fixture(autouse=True)
def _close_adapters() -> Iterator[None]:
    yield
    while _OPENED:
        client = getattr(_OPENED.pop(), "client", None)
        close = getattr(client, "close", None)
        if callable(close):
            close()


def opened(provider: Any) -> Any:
    _OPENED.append(provider)
    return provider


def adapter(kind: str, emu: Emulator) -> Provider:
    built: Provider = opened(KINDS[kind](emu))
    return built


def sent(emu: Emulator) -> dict[str, Any]:
    body: dict[str, Any] = emu.requests()[-1].body
    return body


def test_openai_chat_maps_params_and_normalises_the_answer(emu: Emulator) -> None:
    emu.add_model("gpt-4o-2024-11-20", respond='{"city": "London"}', served_as="gpt-4o-2024-11-20-b")
    completion = adapter("openai", emu).complete(REQUEST, "gpt-4o-2024-11-20")
    assert sent(emu) == {
        "model": "gpt-4o-2024-11-20",
        "messages": [
            {"role": "system", "content": "Answer in JSON."},
            {"role": "user", "content": "Ada Lovelace was born in London."},
        ],
        "temperature": 0.0,
        "seed": 7,
        "stop": "END",
        "max_completion_tokens": 64,
        "response_format": {"type": "json_object"},
    }
    assert completion.text == '{"city": "London"}'
    assert completion.model_served == "gpt-4o-2024-11-20-b"
    assert completion.system_fingerprint == "fp_emulator"
    assert completion.usage.input_tokens > 0
    assert completion.usage.output_tokens > 0
    assert completion.finish_reason == "stop"
    assert completion.latency_ms > 0


def test_openai_compatible_endpoint_sends_max_tokens_and_needs_no_key(emu: Emulator) -> None:
    emu.add_model("llama3.1:8b", respond="hi")
    local = opened(KINDS["openai"](emu, name="local"))
    assert local.complete(Request((Message("user", "hi"),), {"max_tokens": 5}), "llama3.1:8b").text == "hi"
    assert sent(emu)["max_tokens"] == 5
    assert emu.requests()[-1].api_key == "no-key"


def test_openai_responses_api_with_a_json_schema(emu: Emulator) -> None:
    emu.add_model("gpt-5", {"default": {"respond": '{"city": "Paris"}', "usage": {"cached_tokens": 3}}})
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    request = Request(
        REQUEST.messages, {"max_tokens": 32, "response_format": {"type": "json_schema", "schema": schema}}
    )
    completion = adapter("openai-responses", emu).complete(request, "gpt-5")
    assert sent(emu) == {
        "model": "gpt-5",
        "input": [{"role": "user", "content": "Ada Lovelace was born in London."}],
        "instructions": "Answer in JSON.",
        "max_output_tokens": 32,
        "text": {"format": {"type": "json_schema", "name": "response", "schema": schema, "strict": True}},
    }
    assert (completion.text, completion.model_served, completion.usage.cached_tokens) == (
        '{"city": "Paris"}',
        "gpt-5",
        3,
    )


def test_anthropic_sends_system_stop_and_temperature_in_extra_body(emu: Emulator) -> None:
    emu.add_model("claude-sonnet-4-6", {"default": {"respond": "{}", "finish_reason": "length"}})
    completion = adapter("anthropic", emu).complete(REQUEST, "claude-sonnet-4-6")
    assert sent(emu) == {
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "system": "Answer in JSON.",
        "messages": [{"role": "user", "content": "Ada Lovelace was born in London."}],
        "stop_sequences": ["END"],
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
        "temperature": 0.0,
    }
    assert (completion.model_served, completion.finish_reason) == ("claude-sonnet-4-6", "length")


@pytest.mark.parametrize("kind", ["gemini", "google-legacy"])
def test_gemini_sdks_send_generation_config_and_report_model_version(emu: Emulator, kind: str) -> None:
    emu.add_model("gemini-2.5-flash", respond='{"a": 1}', served_as="gemini-2.5-flash-preview-09-2025")
    completion = adapter(kind, emu).complete(REQUEST, "gemini-2.5-flash")
    body = sent(emu)
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Ada Lovelace was born in London."}]}]
    assert body["systemInstruction"]["parts"] == [{"text": "Answer in JSON."}]
    config = body["generationConfig"]
    assert config["temperature"] == 0.0
    assert config["maxOutputTokens"] == 64
    assert config["stopSequences"] == ["END"]
    assert config["responseMimeType"] == "application/json"
    assert ("seed" in config) == (kind == "gemini")  # the legacy API has no seed
    assert emu.requests()[-1].path.startswith("/v1beta/models/gemini-2.5-flash:generateContent")
    assert (completion.text, completion.model_served) == ('{"a": 1}', "gemini-2.5-flash-preview-09-2025")
    if kind == "google-legacy":
        assert any("end-of-life" in notice for notice in completion.notices)


ERRORS = [
    (Fault.http(400), BadRequest, "bad request (400)"),
    (Fault.http(401), AuthError, "the API key in"),
    (Fault.http(404), ModelNotFound, "may be retired"),
    (Fault.http(429, retry_after=0.2), RateLimited, "rate limited (429); retry after 0.2s"),
    (Fault.http(500), Unavailable, "unavailable (500)"),
    (Fault.http(503), Unavailable, "unavailable (503)"),
    (Fault.http(529), Unavailable, "overloaded (529)"),
    (Fault.reset(), Unavailable, "connection failed"),
    (Fault.truncated(), Unavailable, "connection failed"),
    (Fault.slow(1500), Unavailable, "timed out after 0.5s"),
    (Fault.malformed(), MalformedResponse, "could not be read"),
    (Fault.malformed('{"unexpected": true}'), MalformedResponse, "m: the response"),
]


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_failure_maps_to_one_error_of_the_vocabulary(emu: Emulator, kind: str) -> None:
    emu.add_model("m", respond="ok")
    provider = adapter(kind, emu)
    for fault, error, words in ERRORS:
        emu.clear_faults()
        emu.clear_requests()
        emu.add_fault(fault)
        with pytest.raises(error) as raised:
            provider.complete(REQUEST, "m")
        message = str(raised.value)
        assert words in message, (fault, message)
        assert "\n" not in message
        if fault.kind in ("reset", "truncate", "slow"):
            assert f" {emu.url}" in message, message  # the endpoint it was talking to
        if fault.retry_after is not None:
            assert isinstance(raised.value, RateLimited)
            assert raised.value.retry_after == pytest.approx(0.2)


def test_auth_errors_name_the_variable_and_never_repeat_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_LLM_KEY", "sk-secret-value-123456")
    with Emulator(api_key="another") as emu:
        emu.add_model("m", respond="ok")
        settings = ProviderSettings(kind="openai", base_url=emu.openai_base_url, api_key_env="MY_LLM_KEY")
        provider = opened(openai_adapter.build("corp", settings, CONFIG))
        with pytest.raises(AuthError) as raised:
            provider.complete(REQUEST, "m")
    assert emu.requests()[0].api_key == "sk-secret-value-123456"  # the server did echo it back...
    assert str(raised.value).startswith("corp/m: the API key in MY_LLM_KEY was refused (401): Incorrect API key")
    assert "sk-secret-value-123456" not in str(raised.value)  # ...the error does not


@pytest.mark.parametrize(
    ("build", "variable"),
    [
        (lambda: openai_adapter.build("openai", None, CONFIG), "OPENAI_API_KEY"),
        (lambda: anthropic_adapter.build("anthropic", None, CONFIG), "ANTHROPIC_API_KEY"),
        (lambda: gemini_adapter.build("gemini", None, CONFIG), "GEMINI_API_KEY or GOOGLE_API_KEY"),
        (lambda: google_legacy_adapter.build("google-legacy", None, CONFIG), "GEMINI_API_KEY or GOOGLE_API_KEY"),
    ],
)
def test_a_missing_key_is_one_line_naming_the_variable(build: Any, variable: str) -> None:
    with pytest.raises(AuthError, match=f"no API key: set {variable} "):
        build()


def test_a_refused_connection_is_unavailable_and_names_the_endpoint(emu: Emulator) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the call: nothing listens there
    settings = ProviderSettings(base_url=f"http://127.0.0.1:{port}/some/path")
    for name, build in (
        ("openai", openai_adapter.build),
        ("anthropic", anthropic_adapter.build),
        ("gemini", gemini_adapter.build),
        ("google-legacy", google_legacy_adapter.build),
    ):
        with pytest.raises(Unavailable) as raised:
            opened(build(name, settings, CONFIG)).complete(REQUEST, "m")
        assert str(raised.value) == f"{name}/m: cannot connect to http://127.0.0.1:{port} (connection refused)"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@api.example.com/v1/chat/completions?key=sk-query-secret", "https://api.example.com:443"),
        ("http://[::1]:8080/v1beta/models/m:generateContent?alt=sse", "http://[::1]:8080"),
    ],
)
def test_a_connection_error_names_scheme_host_and_port_never_a_path_query_or_credentials(url: str, shown: str) -> None:
    http: Any = importlib.import_module(http_library("openai"))  # httpx2, or httpx under openai 2
    error = http.ConnectError("connection attempt failed", request=http.Request("POST", url))
    message = str(unavailable("openai/gpt-4o-2024-08-06", error))
    assert message == f"openai/gpt-4o-2024-08-06: cannot connect to {shown} (ConnectError)"


def test_a_missing_sdk_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(ProviderError) as raised:
        anthropic_adapter.build("anthropic", None, CONFIG)
    assert str(raised.value) == (
        'the anthropic provider needs its SDK (anthropic): pip install "pytest-llmversion[anthropic]"'
    )


def test_a_deprecation_warning_becomes_a_notice_even_under_w_error(emu: Emulator) -> None:
    model = deprecated_anthropic_model()
    emu.add_model(model, respond="ok")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        completion = adapter("anthropic", emu).complete(REQUEST, model)
    assert completion.text == "ok"
    assert len(completion.notices) == 1
    assert f"'{model}' is deprecated" in completion.notices[0]
    assert completion.notices[0].endswith("(DeprecationWarning from the SDK)")


def test_retry_after_headers_in_milliseconds_seconds_or_a_date() -> None:
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_seconds({"retry-after": "1.5"}) == 1.5
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_gemini_api_version_comes_from_the_provider_table(emu: Emulator) -> None:
    emu.add_model("gemini-2.5-flash", respond="ok")
    settings = ProviderSettings(base_url=emu.url, api_version="v1")
    assert opened(gemini_adapter.build("gemini", settings, CONFIG)).complete(REQUEST, "gemini-2.5-flash").text == "ok"
    assert emu.requests()[-1].path == "/v1/models/gemini-2.5-flash:generateContent"


def test_a_call_sent_ahead_leaves_the_test_bodys_warnings_to_the_test() -> None:
    """A pool thread inside an SDK call must not catch what the main thread warns meanwhile (catch_warnings is
    process-wide): a HardCodedModelWarning raised by the test body reached the pool's notices instead of pytest."""
    import threading

    from pytest_llmversion.providers.sdk_common import warnings_as_notices

    entered, release = threading.Event(), threading.Event()
    notices: list[str] = []

    def sent_ahead() -> None:
        with warnings_as_notices("openai/gpt-4o-2024-11-20", notices):
            entered.set()
            release.wait(5)

    with warnings.catch_warnings(record=True) as body:
        warnings.simplefilter("always")
        worker = threading.Thread(target=sent_ahead)
        worker.start()
        assert entered.wait(5)
        warnings.warn("the body's own warning", UserWarning, stacklevel=1)
        release.set()
        worker.join(5)
    assert [str(w.message) for w in body] == ["the body's own warning"]
    assert notices == []


def test_an_sdk_warning_in_a_pool_thread_is_a_notice_even_under_w_error() -> None:
    import threading

    from pytest_llmversion.providers.sdk_common import warnings_as_notices

    notices: list[str] = []

    def sent_ahead() -> None:
        with warnings_as_notices("anthropic/claude-x", notices):
            warnings.warn("The model 'claude-x' is deprecated", DeprecationWarning, stacklevel=2)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        worker = threading.Thread(target=sent_ahead)
        worker.start()
        worker.join(5)
        with pytest.raises(UserWarning, match="the body's own"):  # outside an SDK call, -W error still holds
            warnings.warn("the body's own warning", UserWarning, stacklevel=1)
    assert notices == ["anthropic/claude-x: The model 'claude-x' is deprecated (DeprecationWarning from the SDK)"]


# -- tools, embeddings, token counts and model lookups --------------------------------------------------------------

ORDER_SCHEMA = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}
LOOKUP = Tool("lookup_order", "Find an order", ORDER_SCHEMA)
CALLER = {
    "rules": [
        {"when": {"tool_result": "lookup_order"}, "respond": "It has {{result.status}}."},
        {"when": {"contains": "order"}, "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A1"}}]},
    ]
}
ASK = Request((Message("user", "Where is order A1?"),), tools=(LOOKUP,), tool_choice="required")


def tools_sent(kind: str, call_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(first request's tool fields, second request's turns) as each provider's API wants them."""
    arguments = '{"order_id":"A1"}'
    if kind == "openai":
        tools = {"tools": [{"type": "function", "function": LOOKUP.to_dict()}], "tool_choice": "required"}
        call = {"id": call_id, "type": "function", "function": {"name": "lookup_order", "arguments": arguments}}
        turns = {
            "messages": [
                {"role": "user", "content": "Where is order A1?"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": call_id, "content": '{"status": "shipped"}'},
            ]
        }
    elif kind == "openai-responses":
        tools = {"tools": [{"type": "function", **LOOKUP.to_dict(), "strict": False}], "tool_choice": "required"}
        turns = {
            "input": [
                {"role": "user", "content": "Where is order A1?"},
                {"type": "function_call", "call_id": call_id, "name": "lookup_order", "arguments": arguments},
                {"type": "function_call_output", "call_id": call_id, "output": '{"status": "shipped"}'},
            ]
        }
    elif kind == "anthropic":
        declared = {"name": "lookup_order", "description": "Find an order", "input_schema": ORDER_SCHEMA}
        tools = {"tools": [declared], "tool_choice": {"type": "any"}}
        use = {"type": "tool_use", "id": call_id, "name": "lookup_order", "input": {"order_id": "A1"}}
        result = {"type": "tool_result", "tool_use_id": call_id, "content": '{"status": "shipped"}'}
        turns = {
            "messages": [
                {"role": "user", "content": "Where is order A1?"},
                {"role": "assistant", "content": [use]},
                {"role": "user", "content": [result]},
            ]
        }
    else:
        declared = {"name": "lookup_order", "description": "Find an order", "parameters_json_schema": ORDER_SCHEMA}
        tools = {
            "tools": [{"functionDeclarations": [declared]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
        }
        response = {"functionResponse": {"name": "lookup_order", "response": {"status": "shipped"}}}
        turns = {
            "contents": [
                {"role": "user", "parts": [{"text": "Where is order A1?"}]},
                {"role": "model", "parts": [{"functionCall": {"name": "lookup_order", "args": {"order_id": "A1"}}}]},
                {"role": "user", "parts": [response]},
            ]
        }
    return tools, turns


@pytest.mark.parametrize("kind", ["openai", "openai-responses", "anthropic", "gemini"])
def test_tools_go_out_in_each_providers_shape_and_calls_come_back_portable(emu: Emulator, kind: str) -> None:
    emu.add_model("m", CALLER)
    provider = adapter(kind, emu)
    first = provider.complete(ASK, "m")
    (call,) = first.tool_calls
    assert (call.name, call.arguments, first.text, first.finish_reason) == (
        "lookup_order",
        {"order_id": "A1"},
        "",
        "tool_calls",
    )
    tools, turns = tools_sent(kind, call.id)
    assert {k: v for k, v in sent(emu).items() if k in tools} == tools

    follow = Request((*ASK.messages, first.message(), call.result({"status": "shipped"})), tools=(LOOKUP,))
    second = provider.complete(follow, "m")
    assert (second.text, second.tool_calls, second.finish_reason) == ("It has shipped.", (), "stop")
    assert {k: v for k, v in sent(emu).items() if k in turns} == turns


def test_a_tool_result_without_ids_is_paired_for_a_provider_that_needs_them(emu: Emulator) -> None:
    """A Gemini conversation carries no call ids; sent to OpenAI or Anthropic, each result answers its call."""
    emu.add_model("m", CALLER)
    call = ToolCall("", "lookup_order", {"order_id": "A1"})
    follow = Request(
        (
            Message("user", "Where is order A1?"),
            Message("assistant", "", (call,)),
            Message("tool", "{}", name="lookup_order"),
        ),
        tools=(LOOKUP,),
    )
    adapter("openai", emu).complete(follow, "m")
    messages = sent(emu)["messages"]
    assert messages[1]["tool_calls"][0]["id"] == messages[2]["tool_call_id"] == "call_0"
    adapter("anthropic", emu).complete(follow, "m")
    blocks = [turn["content"][0] for turn in sent(emu)["messages"][1:]]
    assert blocks[0]["id"] == blocks[1]["tool_use_id"] == "call_0"


def test_the_legacy_gemini_sdk_refuses_tools_and_other_calls_in_one_line(emu: Emulator) -> None:
    legacy = adapter("google-legacy", emu)
    with pytest.raises(BadRequest) as raised:
        legacy.complete(ASK, "gemini-3.5-flash")
    assert str(raised.value) == (
        "google-legacy/gemini-3.5-flash: the google-legacy provider does not send tools; use gemini/gemini-3.5-flash"
    )
    with pytest.raises(BadRequest, match="does not send embeddings; use gemini/"):
        legacy.complete(Request((), kind="embedding", model="gemini/e", inputs=("x",)), "e")
    assert emu.requests() == []


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
def test_embeddings_token_counts_and_model_lookups_through_each_adapter(emu: Emulator, kind: str) -> None:
    emu.add_model("m", {"default": {"respond": "x"}, "model_info": {"description": "a test model"}})
    emu.add_model("emb", {"embedding": {"dimensions": 6}})
    provider = adapter(kind, emu)
    counted = provider.complete(Request((Message("user", "hello there friend"),), kind="count_tokens"), "m")
    assert (counted.kind, counted.token_count) == ("count_tokens", 4)
    info = provider.complete(Request((), kind="model_info"), "m")
    assert info.kind == "model_info"
    assert info.model_info["description"] == "a test model"  # the provider's own description, kept whole
    listed = provider.complete(Request((), kind="model_list"), "m")
    assert len(listed.model_info) == 2
    embed = Request((), {"dimensions": 3}, kind="embedding", model=f"{kind}/emb", inputs=("a b", "b c"))
    if kind == "anthropic":
        with pytest.raises(BadRequest, match=r"^anthropic/emb: Anthropic has no embeddings API$"):
            provider.complete(embed, "emb")
        return
    vectors = provider.complete(embed, "emb")
    assert [len(v) for v in vectors.embeddings] == [3, 3]
    assert vectors.model_served == "emb"
