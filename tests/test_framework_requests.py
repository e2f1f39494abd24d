"""The requests frameworks send (LangChain, pydantic-ai, instructor, LlamaIndex), as the SDK puts them on the wire:
each is read into a ``Request`` without losing what changes the answer, and a live call sends it back as it came.

The bodies are what the current releases sent to the emulator (tests/frameworks runs the frameworks
themselves, each in its own nox session); these tests need none of them installed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_llmversion.judge.samples import classify_exception
from pytest_llmversion.providers.openai_adapter import OpenAIAdapter
from pytest_llmversion.sdk.calls import read_call

PERSON = {
    "properties": {"name": {"title": "Name", "type": "string"}, "city": {"title": "City", "type": "string"}},
    "required": ["name", "city"],
    "title": "Person",
    "type": "object",
}
STRICT_PERSON = PERSON | {"additionalProperties": False}
ASK = [{"role": "user", "content": "Ada Lovelace was born in London."}]

#: ``with_structured_output(Person)`` of langchain-openai (and LlamaIndex's ``structured_predict``): strict, named.
LANGCHAIN_JSON_SCHEMA = {
    "messages": ASK,
    "model": "gpt-4o-2024-08-06",
    "stream": False,
    "temperature": 0.0,
    "response_format": {
        "type": "json_schema",
        "json_schema": {"schema": STRICT_PERSON, "name": "Person", "strict": True},
    },
}
#: instructor's ``Mode.JSON_SCHEMA``: named, not strict (no ``strict`` key: OpenAI's default, false).
INSTRUCTOR_JSON_SCHEMA = {
    "messages": ASK,
    "model": "gpt-4o-2024-08-06",
    "response_format": {"type": "json_schema", "json_schema": {"name": "Person", "schema": PERSON}},
}
#: ``with_structured_output(Person, method="function_calling")``: a forced function, no parallel calls.
LANGCHAIN_FUNCTION_CALLING = {
    "messages": ASK,
    "model": "gpt-4o-2024-08-06",
    "stream": False,
    "temperature": 0.0,
    "parallel_tool_calls": False,
    "tool_choice": {"type": "function", "function": {"name": "Person"}},
    "tools": [{"type": "function", "function": {"name": "Person", "description": "", "parameters": PERSON}}],
}
#: pydantic-ai's output tool (strict) on Chat Completions, streamed with usage.
PYDANTIC_AI_OUTPUT_TOOL = {
    "model": "gpt-4o-2024-08-06",
    "stream": True,
    "stream_options": {"include_usage": True},
    "messages": [{"role": "system", "content": "Extract the person."}, *ASK],
    "tool_choice": "required",
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "final_result",
                "description": "The final response which ends this conversation",
                "parameters": STRICT_PERSON,
                "strict": True,
            },
        }
    ],
}
#: pydantic-ai's ``NativeOutput(Person)`` on the Responses API (its default for ``openai:`` models).
PYDANTIC_AI_NATIVE_RESPONSES = {
    "model": "gpt-4o-2024-08-06",
    "stream": False,
    "input": ASK,
    "text": {"format": {"type": "json_schema", "name": "Person", "schema": STRICT_PERSON, "strict": True}},
}
#: instructor's ``from_anthropic``: a forced tool without parallel use.
INSTRUCTOR_ANTHROPIC = {
    "max_tokens": 300,
    "messages": ASK,
    "model": "claude-sonnet-4-6",
    "tool_choice": {"type": "tool", "name": "Person", "disable_parallel_tool_use": True},
    "tools": [{"name": "Person", "description": "Correctly extracted `Person`", "input_schema": PERSON}],
}


def read(path: str, body: dict[str, Any]) -> Any:
    return read_call("POST", path, json.dumps(body).encode())


def chat_adapter() -> OpenAIAdapter:
    return OpenAIAdapter("openai", None, None, api="chat", key_env="OPENAI_API_KEY", timeout=1.0)


def test_a_json_schema_keeps_its_name_and_strictness() -> None:
    strict = read("/v1/chat/completions", LANGCHAIN_JSON_SCHEMA).request
    assert strict.params == {
        "temperature": 0.0,
        "response_format": {"type": "json_schema", "schema": STRICT_PERSON, "name": "Person"},
    }
    lenient = read("/v1/chat/completions", INSTRUCTOR_JSON_SCHEMA).request
    assert lenient.params["response_format"] == {
        "type": "json_schema",
        "schema": PERSON,
        "name": "Person",
        "strict": False,
    }
    lenient_format = {"type": "json_schema", "json_schema": {"name": "Person", "schema": STRICT_PERSON}}
    same_but_lenient = LANGCHAIN_JSON_SCHEMA | {"response_format": lenient_format}
    assert strict.fingerprint() != read("/v1/chat/completions", same_but_lenient).request.fingerprint()


def test_a_live_call_sends_the_json_schema_as_the_code_wrote_it() -> None:
    adapter = chat_adapter()
    lenient = adapter.chat_kwargs(read("/v1/chat/completions", INSTRUCTOR_JSON_SCHEMA).request, "gpt-4o")
    assert lenient["response_format"] == INSTRUCTOR_JSON_SCHEMA["response_format"] | {
        "json_schema": {"name": "Person", "schema": PERSON, "strict": False}
    }
    strict = adapter.chat_kwargs(read("/v1/chat/completions", LANGCHAIN_JSON_SCHEMA).request, "gpt-4o")
    assert strict["response_format"]["json_schema"] == {"name": "Person", "schema": STRICT_PERSON, "strict": True}
    native = read("/v1/responses", PYDANTIC_AI_NATIVE_RESPONSES).request
    assert native.params["response_format"] == {"type": "json_schema", "schema": STRICT_PERSON, "name": "Person"}
    sent = adapter.responses_kwargs(native, "gpt-4o")
    assert sent["text"] == PYDANTIC_AI_NATIVE_RESPONSES["text"]


def test_a_json_schema_the_plugin_wrote_keeps_its_old_fingerprint() -> None:
    """Goldens recorded before the name and strictness were kept still match: the defaults are left out."""
    body = {"messages": ASK, "model": "m", "response_format": {"type": "json_schema", "json_schema": {}}}
    body["response_format"]["json_schema"] = {"name": "response", "schema": PERSON, "strict": True}
    assert read("/v1/chat/completions", body).request.params == {
        "response_format": {"type": "json_schema", "schema": PERSON}
    }


@pytest.mark.parametrize(
    ("path", "body", "params", "choice"),
    [
        (
            "/v1/chat/completions",
            LANGCHAIN_FUNCTION_CALLING,
            {"temperature": 0.0, "parallel_tool_calls": False},
            "Person",
        ),
        ("/v1/chat/completions", PYDANTIC_AI_OUTPUT_TOOL, {}, "required"),
        ("/v1/messages", INSTRUCTOR_ANTHROPIC, {"max_tokens": 300, "parallel_tool_calls": False}, "Person"),
    ],
    ids=["langchain-function-calling", "pydantic-ai-output-tool", "instructor-anthropic"],
)
def test_forced_tools_are_recorded_with_their_choice(
    path: str, body: dict[str, Any], params: dict[str, Any], choice: str
) -> None:
    request = read(path, body).request
    assert request.params == params
    assert request.tool_choice in (choice, {"name": choice})
    assert [tool.name for tool in request.tools] == [body["tools"][0].get("function", body["tools"][0])["name"]]


def test_defaults_spelled_out_are_the_request_that_leaves_them_out() -> None:
    plain = read("/v1/chat/completions", LANGCHAIN_JSON_SCHEMA).request
    spelled = read("/v1/chat/completions", LANGCHAIN_JSON_SCHEMA | {"n": 1, "logprobs": False}).request
    assert spelled.fingerprint() == plain.fingerprint()
    kept = read("/v1/chat/completions", LANGCHAIN_JSON_SCHEMA | {"logit_bias": {"50256": -100}}).request
    assert kept.params["logit_bias"] == {"50256": -100}  # any other key is kept under its wire name


def test_the_output_tool_keeps_its_strictness() -> None:
    (tool,) = read("/v1/chat/completions", PYDANTIC_AI_OUTPUT_TOOL).request.tools
    assert tool.strict is True


def _error(module: str, name: str, base: type[BaseException] = Exception) -> BaseException:
    """An exception of a class named as a framework names it (the judge matches by module and name)."""
    return type(name, (base,), {"__module__": module})("the model's answer did not parse")


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("langchain_core.exceptions", "OutputParserException"),
        ("instructor.core.exceptions", "InstructorRetryException"),
        ("pydantic_ai.exceptions", "UnexpectedModelBehavior"),
    ],
)
def test_a_framework_that_cannot_parse_the_answer_is_a_format_break(module: str, name: str) -> None:
    assert classify_exception(_error(module, name)) == "format_error"
    subclass = type("Narrower", (type(_error(module, name)),), {"__module__": "app.errors"})
    assert classify_exception(subclass("x")) == "format_error"


def test_only_parse_failures_are_format_breaks() -> None:
    assert classify_exception(_error("pydantic_ai.exceptions", "ContentFilterError")) == "failed"
    assert classify_exception(_error("langchain_core.exceptions", "TracerException")) == "failed"
    assert classify_exception(AssertionError("wrong city")) == "failed"


def _raised(cause: bool) -> BaseException:
    try:
        json.loads("{'not': json")
    except json.JSONDecodeError as exc:
        wrapped = RuntimeError("the app's own error")
        wrapped.__cause__ = exc if cause else None
        return wrapped
    raise AssertionError("unreachable")


def test_an_error_raised_from_a_parse_failure_is_a_format_break() -> None:
    assert classify_exception(_raised(cause=True)) == "format_error"
    assert classify_exception(_raised(cause=False)) == "failed"  # raised while handling one, not from it
