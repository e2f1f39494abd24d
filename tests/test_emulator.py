"""The loopback emulator, driven by the official SDKs over real HTTP (strict response validation where offered)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anthropic
import anthropic._exceptions as anthropic_errors
import openai
import pytest
from conftest import LLMProject
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from pytest_llmversion.testing import Emulator, Fault

KEY = "sk-test-emulator"
#: Clients a test made, closed when it ends (the suite turns an unclosed socket into an error).
_OPEN: list[Any] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def _kept(client: Any) -> Any:
    _OPEN.append(client)
    return client


def openai_client(emu: Emulator, key: str = KEY) -> openai.OpenAI:
    client: openai.OpenAI = _kept(
        openai.OpenAI(api_key=key, base_url=emu.openai_base_url, max_retries=0, _strict_response_validation=True)
    )
    return client


def anthropic_client(emu: Emulator) -> anthropic.Anthropic:
    client: anthropic.Anthropic = _kept(
        anthropic.Anthropic(api_key=KEY, base_url=emu.url, max_retries=0, _strict_response_validation=True)
    )
    return client


def gemini_client(emu: Emulator, version: str = "v1beta") -> genai.Client:
    options = types.HttpOptions(base_url=emu.url, api_version=version)
    client: genai.Client = _kept(genai.Client(api_key=KEY, http_options=options))
    return client


def chat(client: openai.OpenAI, model: str = "gpt-x", text: str = "hi") -> Any:
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])


def test_each_protocol_answers_from_the_model_script(emu: Emulator) -> None:
    emu.add_model("gpt-x", respond='{"city": "London"}', served_as="gpt-x-2024-11-20", system_fingerprint="fp_1")
    emu.add_model("claude-x", respond="from claude")
    emu.add_model("gemini-x", respond="from gemini", served_as="gemini-x-002")

    reply = chat(openai_client(emu))
    assert (reply.model, reply.choices[0].message.content, reply.system_fingerprint) == (
        "gpt-x-2024-11-20",
        '{"city": "London"}',
        "fp_1",
    )
    response = openai_client(emu).responses.create(model="gpt-x", input="hi", instructions="be brief")
    assert (response.model, response.output_text) == ("gpt-x-2024-11-20", '{"city": "London"}')
    message = anthropic_client(emu).messages.create(
        model="claude-x", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )
    assert (message.model, message.content[0].text, message.stop_reason) == ("claude-x", "from claude", "end_turn")
    for version in ("v1", "v1beta"):
        google = gemini_client(emu, version)  # keep it referenced: a dropped Client closes its connections
        answer = google.models.generate_content(model="gemini-x", contents="hi")
        assert (answer.model_version, answer.text) == ("gemini-x-002", "from gemini")
    assert [r.path.split("?")[0] for r in emu.requests()] == [
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/messages",
        "/v1/models/gemini-x:generateContent",
        "/v1beta/models/gemini-x:generateContent",
    ]


def test_streaming_answers_arrive_in_pieces_that_add_up(emu: Emulator) -> None:
    emu.add_model("m", respond="one two three")
    stream = openai_client(emu).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one two three"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0

    events = list(openai_client(emu).responses.create(model="m", input="hi", stream=True))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "one two three"
    assert events[-1].type == "response.completed"

    with anthropic_client(emu).messages.stream(
        model="m", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    ) as answer:
        assert list(answer.text_stream) == ["one ", "two ", "three"]

    google = gemini_client(emu)
    pieces = google.models.generate_content_stream(model="m", contents="hi")
    assert [p.text for p in pieces] == ["one ", "two ", "three"]
    assert emu.requests()[-1].path.endswith(":streamGenerateContent?alt=sse")


def test_counts_tokens_like_each_provider(emu: Emulator) -> None:
    emu.add_model("m", respond="x")
    assert anthropic_client(emu).messages.count_tokens(model="m", messages=[{"role": "user", "content": "hi"}])
    google = gemini_client(emu)
    assert google.models.count_tokens(model="m", contents="hello there").total_tokens == 2
    responses = openai_client(emu).responses
    if hasattr(responses, "input_tokens"):  # the token-count endpoint came to the SDK during openai 2
        assert responses.input_tokens.count(model="m", input="hello there").input_tokens == 2


OPENAI_CLASSES = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    404: openai.NotFoundError,
    429: openai.RateLimitError,
    500: openai.InternalServerError,
    503: openai.InternalServerError,
    529: openai.InternalServerError,
}
ANTHROPIC_CLASSES = {
    400: anthropic.BadRequestError,
    401: anthropic.AuthenticationError,
    404: anthropic.NotFoundError,
    429: anthropic.RateLimitError,
    500: anthropic.InternalServerError,
    # anthropic 2 raises ServiceUnavailableError (an InternalServerError); anthropic 1 and 0.9x InternalServerError
    503: anthropic.InternalServerError,
    529: anthropic_errors.OverloadedError,  # exported at the top only from anthropic 1
}


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 503, 529])
def test_error_bodies_become_each_sdks_own_errors(emu: Emulator, status: int) -> None:
    emu.add_model("m", respond="never")
    emu.add_fault(Fault.http(status, retry_after=0.25, message=f"injected {status}"))

    with pytest.raises(OPENAI_CLASSES[status]) as raised_openai:
        chat(openai_client(emu), "m")
    assert raised_openai.value.status_code == status
    assert raised_openai.value.response.headers["retry-after-ms"] == "250"
    assert f"injected {status}" in str(raised_openai.value)

    with pytest.raises(ANTHROPIC_CLASSES[status]) as raised_anthropic:
        anthropic_client(emu).messages.create(model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert raised_anthropic.value.status_code == status
    assert raised_anthropic.value.response.headers["retry-after"] == "0.25"

    google_class = genai_errors.ServerError if status >= 500 else genai_errors.ClientError
    google = gemini_client(emu)
    with pytest.raises(google_class) as raised_google:
        google.models.generate_content(model="m", contents="hi")
    assert raised_google.value.code == status
    assert raised_google.value.message == f"injected {status}"


def test_fault_schedules_pick_which_calls_fail(emu: Emulator) -> None:
    emu.add_model("m", respond="ok")
    emu.add_fault(Fault.http(429, every=3))
    emu.add_fault(Fault.http(503, first=1, model="other"))
    client = openai_client(emu)
    outcomes = []
    for _ in range(6):
        try:
            chat(client, "m")
            outcomes.append(200)
        except openai.RateLimitError:
            outcomes.append(429)
    assert outcomes == [200, 200, 429, 200, 200, 429]

    emu.clear_faults()
    emu.clear_requests()
    emu.add_fault(Fault.http(503, probability=0.5))
    statuses = []
    for _ in range(40):
        with contextlib.suppress(openai.InternalServerError):
            chat(client, "m")
    statuses = [r.status for r in emu.requests("m")]
    assert 5 < statuses.count(503) < 35
    assert statuses.count(200) + statuses.count(503) == 40


def test_connection_faults_and_slow_answers(emu: Emulator) -> None:
    emu.add_model("m", respond="ok")
    client = _kept(openai.OpenAI(api_key=KEY, base_url=emu.openai_base_url, max_retries=0, timeout=0.3))
    for fault in (Fault.reset(first=1), Fault.truncated(first=1), Fault.slow(600, first=1)):
        emu.clear_faults()
        emu.clear_requests()
        emu.add_fault(fault)
        with pytest.raises(openai.APIConnectionError):
            chat(client, "m")
        assert chat(client, "m").choices[0].message.content == "ok"  # the schedule let the next call through
    emu.clear_faults()
    emu.clear_requests()
    emu.add_fault(Fault.malformed(first=1))
    with pytest.raises(json.JSONDecodeError):
        chat(openai_client(emu), "m")


def test_scripted_rules_from_a_models_folder_answer_and_fail_on_schedule(tmp_path: Path) -> None:
    (tmp_path / "gpt-x.yaml").write_text(
        "served_as: gpt-x-2025-01-01\n"
        "rules:\n"
        "  - when: {regex: 'capital of (?P<country>\\w+)'}\n"
        "    respond: 'The capital of {{country}} is somewhere.'\n"
        "    error: {kind: rate_limited, every: 2, retry_after: 0.05}\n"
        "default: {respond: 'no idea'}\n"
    )
    with Emulator(tmp_path) as emu:
        client = openai_client(emu)
        first = chat(client, "gpt-x", "What is the capital of France?")
        assert (first.model, first.choices[0].message.content) == (
            "gpt-x-2025-01-01",
            "The capital of France is somewhere.",
        )
        with pytest.raises(openai.RateLimitError) as raised:
            chat(client, "gpt-x", "What is the capital of Peru?")
        assert raised.value.response.headers["retry-after-ms"] == "50"
        assert chat(client, "gpt-x", "hello").choices[0].message.content == "no idea"
        with pytest.raises(openai.NotFoundError, match="does not exist"):
            chat(client, "unknown-model")


def test_many_concurrent_requests_are_served_in_parallel(emu: Emulator) -> None:
    emu.add_model("slow", respond="ok", latency_ms=200)
    client = openai_client(emu)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: chat(client, "slow", f"q{i}").choices[0].message.content, range(16)))
    assert answers == ["ok"] * 16
    # 16 callers each waiting 200 ms on an answer: served one at a time, at most one would be in flight
    assert emu.peak_in_flight >= 8, f"at most {emu.peak_in_flight} requests were served at once: not concurrent"
    assert len(emu.requests("slow")) == 16


def test_received_requests_keep_body_and_key_and_a_wrong_key_is_refused() -> None:
    with Emulator(api_key="right-key") as emu:
        emu.add_model("m", respond="ok")
        wrong = openai_client(emu, "wrong-key-123")
        with pytest.raises(openai.AuthenticationError, match="wrong-key-123"):
            chat(wrong, "m")
        right = openai_client(emu, "right-key")
        chat(right, "m", "hello")
        seen = emu.requests("m")
        assert [(r.status, r.api_key) for r in seen] == [(401, "wrong-key-123"), (200, "right-key")]
        assert seen[1].body["messages"] == [{"role": "user", "content": "hello"}]


def test_command_line_emulator_serves_a_models_folder(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("default: {respond: from the command line}\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_llmversion.testing.emulator", "--port", "0", "--models", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        assert url.startswith("http://127.0.0.1:")
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
        request = urllib.request.Request(
            f"{url}/v1/chat/completions", body, {"authorization": "Bearer k", "content-type": "application/json"}
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=5) as response:
            assert json.load(response)["choices"][0]["message"]["content"] == "from the command line"
    finally:
        process.terminate()
        process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


def test_llm_emulator_fixture_lets_users_test_their_own_sdk_code(llm_project: LLMProject) -> None:
    llm_project.model("gpt-4o-2024-11-20", "default: {respond: 'Hello from the emulator'}\n")
    llm_project.test_file(
        """
        import openai

        def greet(client):
            reply = client.chat.completions.create(
                model="gpt-4o-2024-11-20", messages=[{"role": "user", "content": "hi"}]
            )
            return reply.choices[0].message.content

        def test_greet_offline(llm_emulator):
            client = openai.OpenAI(api_key="test", base_url=llm_emulator.openai_base_url)
            assert greet(client) == "Hello from the emulator"
            assert len(llm_emulator.requests()) == 1
        """
    )
    llm_project.run().assert_outcomes(passed=1)


def test_fault_specs_from_the_command_line() -> None:
    assert Fault.parse("status=429,every=3,retry_after=0.5,model=m") == Fault.http(
        429, every=3, retry_after=0.5, model="m"
    )
    assert Fault.parse("kind=slow,delay_ms=300,probability=0.1") == Fault.slow(300, probability=0.1)
    with pytest.raises(ValueError, match="unknown field 'evry'"):
        Fault.parse("kind=reset,evry=2")


# -- tool calls, embeddings and model lookups ------------------------------------------------------------------------

#: A model scripted to call a tool, then answer from its result: what a user scripts to test their own tool code.
CALLS_A_TOOL = """\
rules:
  - when: {tool_result: get_weather}
    respond: "It is {{result.sky}} in {{result.city}}."
  - when: {regex: "weather in (?P<city>\\\\w+)"}
    tool_calls: [{name: get_weather, arguments: {city: "{{city}}"}}]
"""
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
QUESTION = "What is the weather in Paris?"
RESULT = '{"city": "Paris", "sky": "sunny"}'


def test_a_scripted_tool_call_in_each_api_plain_and_streamed(emu: Emulator) -> None:
    emu.add_model("m", CALLS_A_TOOL)
    openai_sdk, claude = openai_client(emu), anthropic_client(emu)

    chat_tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
    turns: list[Any] = [{"role": "user", "content": QUESTION}]
    reply = openai_sdk.chat.completions.create(model="m", messages=turns, tools=chat_tools)  # type: ignore[arg-type]
    (call,) = reply.choices[0].message.tool_calls or []
    assert (reply.choices[0].finish_reason, call.function.name, call.function.arguments) == (  # type: ignore[union-attr]
        "tool_calls",
        "get_weather",
        '{"city":"Paris"}',
    )
    with openai_sdk.chat.completions.stream(model="m", messages=turns, tools=chat_tools) as events:  # type: ignore[arg-type]
        streamed = events.get_final_completion().choices[0].message.tool_calls or []
    assert [(c.function.name, c.function.arguments) for c in streamed] == [("get_weather", '{"city":"Paris"}')]  # type: ignore[union-attr]
    turns += [reply.choices[0].message, {"role": "tool", "tool_call_id": call.id, "content": RESULT}]
    final = openai_sdk.chat.completions.create(model="m", messages=turns, tools=chat_tools)  # type: ignore[arg-type]
    assert final.choices[0].message.content == "It is sunny in Paris."

    tools = [{"type": "function", "name": "get_weather", "parameters": WEATHER, "strict": True}]
    with openai_sdk.responses.stream(model="m", input=QUESTION, tools=tools) as stream:  # type: ignore[arg-type]
        kinds = [event.type for event in stream]
        response = stream.get_final_response()
    assert kinds[:3] == ["response.created", "response.output_item.added", "response.function_call_arguments.delta"]
    assert kinds[-3:] == ["response.function_call_arguments.done", "response.output_item.done", "response.completed"]
    (item,) = response.output
    assert (item.type, item.name, item.arguments) == ("function_call", "get_weather", '{"city":"Paris"}')  # type: ignore[union-attr]
    following = [
        {"role": "user", "content": QUESTION},
        item,
        {"type": "function_call_output", "call_id": item.call_id, "output": RESULT},
    ]  # type: ignore[union-attr]
    assert openai_sdk.responses.create(model="m", input=following, tools=tools).output_text == "It is sunny in Paris."  # type: ignore[arg-type]

    claude_tools = [{"name": "get_weather", "input_schema": WEATHER}]
    asked = [{"role": "user", "content": QUESTION}]
    with claude.messages.stream(model="m", max_tokens=64, messages=asked, tools=claude_tools) as events:  # type: ignore[arg-type]
        message = events.get_final_message()
    (use,) = message.content
    assert (message.stop_reason, use.type, use.name, use.input) == (
        "tool_use",
        "tool_use",
        "get_weather",
        {"city": "Paris"},
    )  # type: ignore[union-attr]
    result = {"type": "tool_result", "tool_use_id": use.id, "content": RESULT}  # type: ignore[union-attr]
    asked += [{"role": "assistant", "content": message.content}, {"role": "user", "content": [result]}]  # type: ignore[list-item]
    answer = claude.messages.create(model="m", max_tokens=64, messages=asked, tools=claude_tools)  # type: ignore[arg-type]
    assert answer.content[0].text == "It is sunny in Paris."  # type: ignore[union-attr]

    google = gemini_client(emu)
    declaration = types.FunctionDeclaration(name="get_weather", parameters_json_schema=WEATHER)
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[declaration])])
    chunks = list(google.models.generate_content_stream(model="m", contents=QUESTION, config=config))
    (function,) = [c for chunk in chunks for c in chunk.function_calls or []]
    assert (function.name, function.args) == ("get_weather", {"city": "Paris"})
    contents = [
        types.Content(role="user", parts=[types.Part(text=QUESTION)]),
        types.Content(role="model", parts=[types.Part(function_call=function)]),
        types.Content(
            role="user", parts=[types.Part.from_function_response(name="get_weather", response=json.loads(RESULT))]
        ),
    ]
    assert google.models.generate_content(model="m", contents=contents, config=config).text == "It is sunny in Paris."


def test_embeddings_and_model_lookups_in_each_api(emu: Emulator) -> None:
    emu.add_model("m", respond="x")
    emu.add_model("embedder", {"embedding": {"dimensions": 16}})
    # the SDK asks for base64 by default and decodes it (its strict mode types the field as floats only)
    lax = _kept(openai.OpenAI(api_key=KEY, base_url=emu.openai_base_url, max_retries=0))
    decoded = lax.embeddings.create(model="embedder", input=["red apple", "green apple"]).data
    floats = openai_client(emu).embeddings.create(
        model="embedder", input="red apple", encoding_format="float", dimensions=4
    )
    assert [len(d.embedding) for d in decoded] == [16, 16]
    assert len(floats.data[0].embedding) == 4
    assert emu.requests()[0].body["encoding_format"] == "base64"
    google = gemini_client(emu)  # kept referenced: a collected Client closes its HTTP client
    vectors = google.models.embed_content(model="embedder", contents=["red apple", "green apple"])
    assert [v.values for v in vectors.embeddings or []] == [
        d.embedding for d in decoded
    ]  # the same model, the same vectors

    assert [m.id for m in openai_client(emu).models.list()] == ["embedder", "m"]
    assert anthropic_client(emu).models.retrieve("m").lifecycle == "active"
    assert [m.name for m in google.models.list()] == ["models/embedder", "models/m"]
    emu.add_model("old", {"model_info": {"lifecycle": "deprecated"}})
    assert anthropic_client(emu).models.retrieve("old").lifecycle == "deprecated"
