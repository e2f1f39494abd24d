"""Tool-calling code that already uses an SDK, tested unchanged through llm_openai, llm_anthropic and llm_gemini.

Each app below is what a user writes: ask with a ``lookup_order`` tool, run the tool the model calls, send its
result back, return the final answer. Plain and streamed. The flow is recorded against the emulator, replayed
with nothing sent, and judged on candidates that answer in text, call another tool, or break the arguments.
"""

from __future__ import annotations

import pytest
from conftest import LLMProject
from emulated import CANARY_KEYS

from pytest_llmversion.testing import Emulator

FAST = {"max_retries": 0, "retry_base_delay": 0.0, "retry_max_delay": 0.0}

#: What every app shares: the tool, its implementation, and the question.
SHARED = """\
import json

PARAMS = {
    "type": "object",
    "properties": {"order_id": {"type": "string", "pattern": "^[A-Z][0-9]+$"}},
    "required": ["order_id"],
}
ORDERS = {"A1234": {"order_id": "A1234", "status": "shipped"}}
QUESTION = "Where is my order A1234?"


def run_tool(name, arguments):
    if name != "lookup_order":
        return {"error": f"no tool {name}"}
    return ORDERS.get(arguments.get("order_id"), {"error": "unknown order"})
"""

OPENAI_CHAT_APP = (
    SHARED
    + """
FUNCTION = {"name": "lookup_order", "description": "Find an order", "parameters": PARAMS}
TOOLS = [{"type": "function", "function": FUNCTION}]


def ask(client, model, messages, stream):
    if not stream:
        return client.chat.completions.create(model=model, messages=messages, tools=TOOLS).choices[0].message
    with client.chat.completions.stream(model=model, messages=messages, tools=TOOLS) as events:
        return events.get_final_completion().choices[0].message


def answer(client, model, stream=False):
    messages = [{"role": "user", "content": QUESTION}]
    reply = ask(client, model, messages, stream)
    for _ in range(3):
        if not reply.tool_calls:
            break
        messages.append(reply)
        for call in reply.tool_calls:
            result = run_tool(call.function.name, json.loads(call.function.arguments or "{}"))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
        reply = ask(client, model, messages, stream)
    return reply.content
"""
)

OPENAI_RESPONSES_APP = (
    SHARED
    + """
TOOLS = [{"type": "function", "name": "lookup_order", "parameters": PARAMS, "strict": False}]


def ask(client, model, items, stream):
    if not stream:
        return client.responses.create(model=model, input=items, tools=TOOLS)
    with client.responses.stream(model=model, input=items, tools=TOOLS) as events:
        return events.get_final_response()


def answer(client, model, stream=False):
    items = [{"role": "user", "content": QUESTION}]
    response = ask(client, model, items, stream)
    for _ in range(3):
        calls = [item for item in response.output if item.type == "function_call"]
        if not calls:
            break
        items += response.output
        for call in calls:
            result = run_tool(call.name, json.loads(call.arguments or "{}"))
            items.append({"type": "function_call_output", "call_id": call.call_id, "output": json.dumps(result)})
        response = ask(client, model, items, stream)
    return response.output_text
"""
)

ANTHROPIC_APP = (
    SHARED
    + """
TOOLS = [{"name": "lookup_order", "description": "Find an order", "input_schema": PARAMS}]


def ask(client, model, messages, stream):
    if not stream:
        return client.messages.create(model=model, max_tokens=300, messages=messages, tools=TOOLS)
    with client.messages.stream(model=model, max_tokens=300, messages=messages, tools=TOOLS) as events:
        return events.get_final_message()


def answer(client, model, stream=False):
    messages = [{"role": "user", "content": QUESTION}]
    message = ask(client, model, messages, stream)
    for _ in range(3):
        calls = [block for block in message.content if block.type == "tool_use"]
        if not calls:
            break
        messages.append({"role": "assistant", "content": message.content})
        results = [
            {"type": "tool_result", "tool_use_id": call.id, "content": json.dumps(run_tool(call.name, call.input))}
            for call in calls
        ]
        messages.append({"role": "user", "content": results})
        message = ask(client, model, messages, stream)
    return "".join(block.text for block in message.content if block.type == "text")
"""
)

GEMINI_APP = (
    SHARED
    + """
from google.genai import types

DECLARATION = types.FunctionDeclaration(name="lookup_order", parameters_json_schema=PARAMS)
CONFIG = types.GenerateContentConfig(
    tools=[types.Tool(function_declarations=[DECLARATION])],
    automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
)


def ask(client, model, contents, stream):
    if not stream:
        response = client.models.generate_content(model=model, contents=contents, config=CONFIG)
        return response.text or "", list(response.function_calls or [])
    text, calls = "", []
    for chunk in client.models.generate_content_stream(model=model, contents=contents, config=CONFIG):
        text += chunk.text or ""
        calls += chunk.function_calls or []
    return text, calls


def answer(client, model, stream=False):
    contents = [types.Content(role="user", parts=[types.Part(text=QUESTION)])]
    text, calls = ask(client, model, contents, stream)
    for _ in range(3):
        if not calls:
            break
        contents.append(types.Content(role="model", parts=[types.Part(function_call=call) for call in calls]))
        results = [types.Part.from_function_response(name=c.name, response=run_tool(c.name, c.args)) for c in calls]
        contents.append(types.Content(role="user", parts=results))
        text, calls = ask(client, model, contents, stream)
    return text
"""
)

APP_TESTS = """\
import pytest
from app import PARAMS, answer

from pytest_llmversion import checks


@pytest.mark.llm_regression
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_order(llm_{family}, llm_model, llm_golden, stream):
    final = answer(llm_{family}, llm_model.model_id, stream)
    llm_golden.check(
        llm_golden.tool_calls,
        checks.tool_called("lookup_order"),
        checks.tool_args("lookup_order", schema=PARAMS, equals={{"order_id": "A1234"}}),
    )
    llm_golden.check(final, checks.contains("shipped"))
"""

#: How the current model answers: it looks the order up, then says what the tool said.
CURRENT = """\
rules:
  - name: answer
    when: {tool_result: lookup_order}
    respond: "Your order {{result.order_id}} has {{result.status}}."
  - name: lookup
    when: {regex: "order (?P<order>[A-Z]\\\\d+)"}
    tool_calls: [{name: lookup_order, arguments: {order_id: "{{order}}"}}]
"""
#: Candidates: each changes how the first turn is answered; after any tool result they answer in text.
CANDIDATES = {
    "text": "rules:\n  - when: {contains: order}\n    respond: I cannot look orders up, sorry.\n",
    "other-tool": (
        "rules:\n  - when: {tool_result: find_order}\n    respond: I could not find it.\n"
        "  - when: {contains: order}\n    tool_calls: [{name: find_order, arguments: {id: A1234}}]\n"
    ),
    "bad-arguments": (
        "rules:\n  - when: {tool_result: lookup_order}\n    respond: I could not find it.\n"
        "  - when: {contains: order}\n    tool_calls: [{name: lookup_order, arguments: {order_id: 1234}}]\n"
    ),
}

#: app, fixture family, current model, candidate model
PROTOCOLS = {
    "openai-chat": (OPENAI_CHAT_APP, "openai", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20"),
    "openai-responses": (OPENAI_RESPONSES_APP, "openai", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20"),
    "anthropic": (ANTHROPIC_APP, "anthropic", "claude-sonnet-4-6", "claude-opus-4-6"),
    "gemini": (GEMINI_APP, "gemini", "gemini-3.5-flash", "gemini-3.6-flash"),
}
#: What the candidate's first answer looks like in the output diff of its FORMAT_BREAK.
DIFFS = {
    "text": "+I cannot look orders up, sorry.",
    "other-tool": '+tool call find_order {"id": "A1234"}',
    "bad-arguments": '+tool call lookup_order {"order_id": 1234}',
}
MOVED = {
    "text": "*tool_called(lookup_order)        1.00 -> 0.00   lookup_order was not called (no tool call)",
    "other-tool": "*tool_called(lookup_order)        1.00 -> 0.00   lookup_order was not called (find_order)",
    "bad-arguments": "*tool_args(lookup_order)          1.00 -> 0.00   order_id: 1234 is not of type 'string'",
}


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_a_tool_calling_flow_is_recorded_replayed_offline_and_a_broken_candidate_is_a_format_break(
    llm_project: LLMProject, emu: Emulator, protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, family, current, candidate = PROTOCOLS[protocol]
    emu.add_model(current, CURRENT)
    llm_project.write_config(extra=emu.provider_tables(), model=f"{family}/{current}", **FAST)
    llm_project.test_file(app, "app.py")
    llm_project.test_file(APP_TESTS.format(family=family), "test_app.py")

    llm_project.run("--llm-record").assert_outcomes(passed=2)
    assert len(emu.requests(current)) == 4  # two turns, plain and streamed, each sent once through the adapter
    text = llm_project.golden("test_app/test_order[stream].yaml").read_text()
    assert "  tools:\n  - name: lookup_order\n" in text  # the definition is part of the request
    assert "  output: ''\n  tool_calls:\n  - name: lookup_order\n    arguments:\n      order_id: A1234\n" in text
    assert '      - role: tool\n        content: \'{"order_id": "A1234", "status": "shipped"}\'\n' in text
    assert "    output: Your order A1234 has shipped.\n" in text

    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    emu.clear_requests()
    result = llm_project.run()  # no key, and nothing reaches the emulator: the goldens answer every turn
    result.assert_outcomes(passed=2)
    assert set(llm_project.verdicts().values()) == {"MATCH"}
    assert all(item["calls"] == {"live": 0, "replayed": 2} for item in llm_project.report()["items"])
    assert emu.requests() == []

    for name, key in CANARY_KEYS.items():  # keys back (a key that holds a provider's name would hide it)
        monkeypatch.setenv(name, key)
    for how, script in CANDIDATES.items():
        emu.add_model(candidate, script)
        result = llm_project.run(f"--candidate-model={family}/{candidate}", "--llm-candidate-recordings=all")
        result.assert_outcomes(passed=2, failed=2)
        verdicts = {k.split("::")[1]: v for k, v in llm_project.verdicts().items()}
        assert verdicts["test_order[plain-candidate]"] == "FORMAT_BREAK", how
        assert verdicts["test_order[stream-candidate]"] == "FORMAT_BREAK", how
        result.stdout.fnmatch_lines(
            [
                "FORMAT_BREAK: a format check that passed on the golden fails on the candidate",
                MOVED[how],
                "  2 calls, current (-) vs candidate (+):",
                "  call 1: user: Where is my order A1234?",
                '    -tool call lookup_order {"order_id": "A1234"}',
                f"    {DIFFS[how]}",
            ]
        )

    emu.clear_requests()  # the last candidate again, from its recording: nothing is sent, the verdict holds
    llm_project.run(f"--candidate-model={family}/{candidate}", "--llm-candidate-recordings=none").assert_outcomes(
        passed=2, failed=2
    )
    candidates = [item for item in llm_project.report()["items"] if item["role"] == "candidate"]
    assert [(item["verdict"], item["replayed_from_recording"]) for item in candidates] == [("FORMAT_BREAK", 2)] * 2
    assert emu.requests() == []
    recording = next((llm_project.path / ".llmversion" / "recordings").rglob("test_order[[]plain].yaml")).read_text()
    assert "schema: 2\n" in recording
    assert "  tool_calls:\n  - name: lookup_order\n    arguments:\n      order_id: 1234\n" in recording


@pytest.mark.parametrize("candidate", ["anthropic/claude-opus-4-6", "gemini/gemini-3.6-flash"])
def test_an_openai_tool_calling_app_is_judged_on_another_providers_candidate(
    llm_project: LLMProject, emu: Emulator, candidate: str
) -> None:
    """The calls and results are translated both ways: Gemini gives no call ids, the app gets ids it can pair."""
    emu.add_model("gpt-4o-2024-08-06", CURRENT)
    emu.add_model(candidate.split("/")[1], CURRENT)
    llm_project.write_config(extra=emu.provider_tables(), model="openai/gpt-4o-2024-08-06", **FAST)
    llm_project.test_file(OPENAI_CHAT_APP, "app.py")
    llm_project.test_file(APP_TESTS.format(family="openai"), "test_app.py")
    llm_project.run("--llm-record").assert_outcomes(passed=2)

    llm_project.run(f"--candidate-model={candidate}").assert_outcomes(passed=4)
    assert set(llm_project.verdicts().values()) == {"MATCH", "UNCHANGED"}
    second = emu.requests(candidate.split("/")[1])[-1].body  # the turn that carries the tool's result
    if candidate.startswith("anthropic"):
        use, result = second["messages"][1]["content"][0], second["messages"][2]["content"][0]
        assert (use["type"], result["type"], result["tool_use_id"]) == ("tool_use", "tool_result", use["id"])
    else:
        parts = [content["parts"][0] for content in second["contents"][1:]]
        assert parts[0]["functionCall"] == {"name": "lookup_order", "args": {"order_id": "A1234"}}
        assert parts[1]["functionResponse"]["response"] == {"order_id": "A1234", "status": "shipped"}


# -- async clients ----------------------------------------------------------------------------------------------

ASYNC_APPS = {
    "openai": SHARED
    + """
TOOLS = [{"type": "function", "function": {"name": "lookup_order", "parameters": PARAMS}}]


async def ask(client, model, messages, stream):
    if not stream:
        message = (await client.chat.completions.create(model=model, messages=messages, tools=TOOLS)).choices[0].message
        return message.model_dump(exclude_none=True)
    # the raw chunks (openai 2's stream helper takes strict tools only): the calls arrive as delta.tool_calls
    text, calls = "", {}
    async for chunk in await client.chat.completions.create(model=model, messages=messages, tools=TOOLS, stream=True):
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for part in choice.delta.tool_calls or []:
                empty = {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
                call = calls.setdefault(part.index, empty)
                call["id"] = part.id or call["id"]
                call["function"]["name"] += part.function.name or ""
                call["function"]["arguments"] += part.function.arguments or ""
    return {"role": "assistant", "content": text} | ({"tool_calls": list(calls.values())} if calls else {})


async def answer(client, model, stream):
    messages = [{"role": "user", "content": QUESTION}]
    reply = await ask(client, model, messages, stream)
    while reply.get("tool_calls"):
        messages.append(reply)
        for call in reply["tool_calls"]:
            result = run_tool(call["function"]["name"], json.loads(call["function"]["arguments"] or "{}"))
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result)})
        reply = await ask(client, model, messages, stream)
    return reply["content"]
""",
    "anthropic": SHARED
    + """
TOOLS = [{"name": "lookup_order", "input_schema": PARAMS}]


async def ask(client, model, messages, stream):
    if not stream:
        return await client.messages.create(model=model, max_tokens=300, messages=messages, tools=TOOLS)
    async with client.messages.stream(model=model, max_tokens=300, messages=messages, tools=TOOLS) as events:
        return await events.get_final_message()


async def answer(client, model, stream):
    messages = [{"role": "user", "content": QUESTION}]
    message = await ask(client, model, messages, stream)
    while any(block.type == "tool_use" for block in message.content):
        calls = [block for block in message.content if block.type == "tool_use"]
        messages.append({"role": "assistant", "content": message.content})
        results = [
            {"type": "tool_result", "tool_use_id": call.id, "content": json.dumps(run_tool(call.name, call.input))}
            for call in calls
        ]
        messages.append({"role": "user", "content": results})
        message = await ask(client, model, messages, stream)
    return "".join(block.text for block in message.content if block.type == "text")
""",
    "gemini": SHARED
    + """
from google.genai import types

LOOKUP = types.FunctionDeclaration(name="lookup_order", parameters_json_schema=PARAMS)
CONFIG = types.GenerateContentConfig(
    tools=[types.Tool(function_declarations=[LOOKUP])],
    automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
)


async def ask(aio, model, contents, stream):
    if not stream:
        response = await aio.models.generate_content(model=model, contents=contents, config=CONFIG)
        return response.text or "", list(response.function_calls or [])
    text, calls = "", []
    async for chunk in await aio.models.generate_content_stream(model=model, contents=contents, config=CONFIG):
        text += chunk.text or ""
        calls += chunk.function_calls or []
    return text, calls


async def answer(aio, model, stream):
    contents = [types.Content(role="user", parts=[types.Part(text=QUESTION)])]
    text, calls = await ask(aio, model, contents, stream)
    while calls:
        contents.append(types.Content(role="model", parts=[types.Part(function_call=call) for call in calls]))
        results = [types.Part.from_function_response(name=c.name, response=run_tool(c.name, c.args)) for c in calls]
        contents.append(types.Content(role="user", parts=results))
        text, calls = await ask(aio, model, contents, stream)
    return text
""",
}

ASYNC_TESTS = """import asyncio

import pytest
from app import PARAMS, answer

from pytest_llmversion import checks


@pytest.mark.llm_regression
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_order(llm_{family}_async, llm_model, llm_golden, stream):
    final = asyncio.run(answer(llm_{family}_async, llm_model.model_id, stream))
    llm_golden.check(llm_golden.tool_calls, checks.tool_args("lookup_order", schema=PARAMS))
    llm_golden.check(final, checks.contains("shipped"))
"""


@pytest.mark.parametrize("family", sorted(ASYNC_APPS))
def test_an_async_tool_calling_app_is_recorded_replayed_offline_and_judged(
    llm_project: LLMProject, emu: Emulator, family: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    current, candidate = {name: (cur, cand) for _, name, cur, cand in PROTOCOLS.values()}[family]
    emu.add_model(current, CURRENT)
    llm_project.write_config(extra=emu.provider_tables(), model=f"{family}/{current}", **FAST)
    llm_project.test_file(ASYNC_APPS[family], "app.py")
    llm_project.test_file(ASYNC_TESTS.format(family=family), "test_app.py")
    llm_project.run("--llm-record").assert_outcomes(passed=2)
    golden = llm_project.golden("test_app/test_order[stream].yaml").read_text()
    assert "  tool_calls:\n  - name: lookup_order\n    arguments:\n      order_id: A1234\n" in golden

    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    emu.clear_requests()
    llm_project.run().assert_outcomes(passed=2)
    assert set(llm_project.verdicts().values()) == {"MATCH"}
    assert emu.requests() == []

    for name, key in CANARY_KEYS.items():  # keys back (a key that holds a provider's name would hide it)
        monkeypatch.setenv(name, key)
    emu.add_model(candidate, CANDIDATES["bad-arguments"])
    result = llm_project.run(f"--candidate-model={family}/{candidate}")
    result.assert_outcomes(passed=2, failed=2)
    assert sorted(llm_project.verdicts().values()) == ["FORMAT_BREAK", "FORMAT_BREAK", "MATCH", "MATCH"]
    result.stdout.fnmatch_lines([MOVED["bad-arguments"], f"    {DIFFS['bad-arguments']}"])


# -- embeddings, token counts and model lookups -------------------------------------------------------------------

RAG_SHARED = """\
import math

QUESTION = "How many days until my order arrives after payment?"
DOCS = ["An order arrives within two days of payment.", "A refund takes a week to reach your card."]


def closest(query, vectors):
    def cosine(a, b):
        return sum(x * y for x, y in zip(a, b)) / (math.hypot(*a) * math.hypot(*b))

    return max(range(len(DOCS)), key=lambda i: cosine(query, vectors[i]))
"""

OPENAI_RAG = (
    RAG_SHARED
    + """

def answer(client, model):
    known = client.models.retrieve(model).id  # the app checks its model before it asks
    tokens = count_tokens(client, model)
    vectors = client.embeddings.create(model="text-embedding-3-small", input=[QUESTION, *DOCS], dimensions=64).data
    best = DOCS[closest(vectors[0].embedding, [v.embedding for v in vectors[1:]])]
    messages = [{"role": "system", "content": f"Answer from: {best}"}, {"role": "user", "content": QUESTION}]
    reply = client.chat.completions.create(model=model, messages=messages).choices[0].message.content
    return {"model": known, "tokens": tokens, "context": best, "query": vectors[0].embedding[:3], "answer": reply}


def count_tokens(client, model):
    if hasattr(client.responses, "input_tokens"):
        return client.responses.input_tokens.count(model=model, input=QUESTION).input_tokens
    # openai 2.x before its input_tokens resource: the same endpoint
    body = {"model": model, "input": QUESTION}
    return client.post("/responses/input_tokens", body=body, cast_to=object)["input_tokens"]
"""
)

ANTHROPIC_RAG = (
    RAG_SHARED
    + """

def answer(client, model):
    known = client.models.retrieve(model).id
    messages = [{"role": "user", "content": f"Answer from: {DOCS[0]}. {QUESTION}"}]
    tokens = client.messages.count_tokens(model=model, messages=messages).input_tokens
    reply = client.messages.create(model=model, max_tokens=200, messages=messages).content[0].text
    return {"model": known, "tokens": tokens, "context": DOCS[0], "answer": reply}
"""
)

GEMINI_RAG = (
    RAG_SHARED
    + """

def answer(client, model):
    known = client.models.get(model=model).name
    embedded = client.models.embed_content(
        model="gemini-embedding-001", contents=[QUESTION, *DOCS], config={"output_dimensionality": 64}
    )
    vectors = [e.values for e in embedded.embeddings]
    best = DOCS[closest(vectors[0], vectors[1:])]
    prompt = f"Answer from: {best}. {QUESTION}"
    tokens = client.models.count_tokens(model=model, contents=prompt).total_tokens
    reply = client.models.generate_content(model=model, contents=prompt).text
    return {"model": known, "tokens": tokens, "context": best, "query": vectors[0][:3], "answer": reply}
"""
)

RAG_TEST = """\
import pytest
from app import DOCS, answer

from pytest_llmversion import checks


@pytest.mark.llm_regression
def test_answer(llm_{family}, llm_model, llm_golden):
    found = answer(llm_{family}, llm_model.model_id)
    llm_golden.check(found, checks.json_field("context", DOCS[0]), checks.contains("two days"))
"""
ANSWERING = 'rules:\n  - when: {contains: "Answer from"}\n    respond: It arrives within two days.\n'

RAG = {
    #          app, current model, embedding model (None: the provider has none), calls in the golden
    "openai": (OPENAI_RAG, "gpt-4o-2024-08-06", "text-embedding-3-small", ["model_info", "count_tokens", "embedding"]),
    "anthropic": (ANTHROPIC_RAG, "claude-sonnet-4-6", None, ["model_info", "count_tokens"]),
    "gemini": (GEMINI_RAG, "gemini-3.5-flash", "gemini-embedding-001", ["model_info", "embedding", "count_tokens"]),
}


@pytest.mark.parametrize("family", sorted(RAG))
def test_embeddings_token_counts_and_model_lookups_are_recorded_and_replayed_offline(
    llm_project: LLMProject, emu: Emulator, family: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, current, embedder, kinds = RAG[family]
    emu.add_model(current, ANSWERING)
    if embedder:
        emu.add_model(embedder, {})
    llm_project.write_config(extra=emu.provider_tables(), model=f"{family}/{current}", **FAST)
    llm_project.test_file(app, "app.py")
    llm_project.test_file(RAG_TEST.format(family=family), "test_app.py")

    llm_project.run("--llm-record").assert_outcomes(passed=1)
    golden = llm_project.golden("test_app/test_answer.yaml").read_text()
    for kind in kinds:
        assert f"      kind: {kind}\n" in golden or f"  kind: {kind}\n" in golden, kind
    assert "schema: 2\n" in golden
    assert "  token_count: " in golden
    assert "  model_info:\n" in golden
    if embedder:
        assert f"      model: {family}/{embedder}\n" in golden  # the embedding model decides the vectors
        assert "    embeddings:\n    - dimensions: 64\n      float32: " in golden
        assert "      sha256: " in golden
    recorded = llm_project.report()["items"][0]

    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    emu.clear_requests()
    llm_project.run().assert_outcomes(passed=1)  # the app embeds, counts and looks up offline: the golden answers
    assert emu.requests() == []
    (replayed,) = llm_project.report()["items"]
    assert replayed["verdict"] == "MATCH"
    assert replayed["calls"] == {"live": 0, "replayed": len(kinds) + 1}
    assert replayed["output"] == recorded["output"]
    assert replayed["served_instead"] == recorded["served_instead"] == []  # an embedding model answering is no drift

    # a candidate: the lookup and the count are about it, the embedding still goes to the embedding model the code
    # names; the first call (the lookup, from the golden) is sent ahead like any other
    for name, key in CANARY_KEYS.items():  # keys back (a key that holds a provider's name would hide it)
        monkeypatch.setenv(name, key)
    candidate = {name: cand for _, name, _, cand in PROTOCOLS.values()}[family]
    emu.add_model(candidate, ANSWERING)
    emu.clear_requests()
    llm_project.run(f"--candidate-model={family}/{candidate}").assert_outcomes(passed=2)
    report = llm_project.report()
    judged = next(item for item in report["items"] if item["role"] == "candidate")
    assert (judged["verdict"], judged["served_instead"]) == ("UNCHANGED", [])
    assert {r.model for r in emu.requests()} == {candidate, embedder} - {None}
    if embedder:
        assert len(emu.requests(embedder)) == 1
    assert (report["run"]["sent_ahead"]["used"], report["run"]["sent_ahead"]["wasted"]) == (1, 0)

    if embedder:  # a vector edited by hand no longer matches its hash: what a reviewer reads is what is replayed
        path = llm_project.golden("test_app/test_answer.yaml")
        text = path.read_text()
        data = text.split("      float32: ")[1].split("\n")[0]
        path.write_text(text.replace(data, "AAAAAA" + data[6:], 1))
        result = llm_project.run()
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "tests/__llm_goldens__/test_app/test_answer.yaml: samples.0.calls.?.embeddings: an embedding's "
                "float32 data does not match its sha256 (edited by hand? re-record it); fix it, or re-record: *"
            ]
        )
