"""Tool calls through ``llm.complete(tools=...)``: recorded, replayed and judged like text, with the tool checks.

The project's models are scripted: the current one looks the order up and answers from the tool's result; the
candidates answer in text, call another tool, send arguments that break the schema, or send broken JSON.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from conftest import LLMProject

from pytest_llmversion import checks
from pytest_llmversion.providers.base import Completion, Message, Request, ToolCall
from pytest_llmversion.providers.scripted import ScriptedProvider

CURRENT = """\
rules:
  - name: answer
    when: {tool_result: lookup_order}
    respond: "Your order {{result.order_id}} has {{result.status}}."
  - name: lookup
    when: {regex: "order (?P<order>[A-Z]\\\\d+)"}
    tool_calls: [{name: lookup_order, arguments: {order_id: "{{order}}"}}]
default: {respond: "How can I help?"}
"""
CANDIDATES = {
    "text": "extends: m1\nrules:\n  - name: lookup\n    when: {regex: order}\n    respond: I cannot look orders up.\n",
    "other-tool": (
        "extends: m1\nrules:\n  - name: answer\n    when: {tool_result: find_order}\n    respond: Not found.\n"
        "  - name: lookup\n    when: {regex: order}\n    tool_calls: [{name: find_order, arguments: {id: A1234}}]\n"
    ),
    "schema": (
        "extends: m1\nrules:\n  - name: lookup\n    when: {regex: order}\n"
        "    tool_calls: [{name: lookup_order, arguments: {order_id: a-1234}}]\n"
    ),
    "broken-json": (
        "extends: m1\nrules:\n  - name: lookup\n    when: {regex: order}\n"
        """    tool_calls: [{name: lookup_order, arguments: '{"order_id": "A12'}]\n"""
    ),
}
TESTS = """\
import pytest
from pytest_llmversion import checks

LOOKUP = {
    "name": "lookup_order",
    "description": "Find an order by its number",
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "string", "pattern": "^[A-Z][0-9]+$"}},
        "required": ["order_id"],
    },
}
ORDERS = {"A1234": {"order_id": "A1234", "status": "shipped"}}


def answer(llm, question):
    messages = [{"role": "user", "content": question}]
    first = llm.complete(messages, tools=[LOOKUP])
    if not first.tool_calls:
        return first
    unknown = {"error": "unknown order"}
    results = [call.result(ORDERS.get(call.arguments.get("order_id"), unknown)) for call in first.tool_calls]
    return llm.complete([*messages, first, *results], tools=[LOOKUP])


@pytest.mark.llm_regression
def test_order(llm, llm_golden):
    final = answer(llm, "Where is my order A1234?")
    llm_golden.check(
        llm_golden.tool_calls,
        checks.tool_called("lookup_order"),
        checks.tool_args("lookup_order", schema=LOOKUP["parameters"], equals={"order_id": "A1234"}),
        checks.tool_sequence(["lookup_order"]),
    )
    llm_golden.check(final, checks.contains("shipped"))
"""


def tool_project(project: LLMProject) -> None:
    project.model("m1", CURRENT)
    for name, script in CANDIDATES.items():
        project.model(name, script)
    project.test_file(TESTS)


def test_a_tool_call_is_recorded_readably_and_replayed(llm_project: LLMProject) -> None:
    tool_project(llm_project)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    golden = llm_project.golden("test_llm/test_order.yaml").read_text()
    assert golden.startswith("# pytest-llmversion golden")
    assert "\nschema: 2\n" in golden  # an older plugin would replay it without the calls: it refuses instead
    request = golden[golden.index("request:\n") : golden.index("fingerprint:")]
    assert request.endswith(
        "  tools:\n"
        "  - name: lookup_order\n"
        "    description: Find an order by its number\n"
        "    parameters:\n"
        "      properties:\n"
        "        order_id:\n"
        "          pattern: ^[A-Z][0-9]+$\n"
        "          type: string\n"
        "      required:\n"
        "      - order_id\n"
        "      type: object\n"
    )
    call_id = json.dumps(golden.split("    id: ")[1].split("\n")[0])[1:-1]
    assert golden.endswith(
        "  output: ''\n"
        "  tool_calls:\n"
        "  - name: lookup_order\n"
        "    arguments:\n"
        "      order_id: A1234\n"
        f"    id: {call_id}\n"
    )
    assert (
        "      - role: assistant\n"
        "        content: ''\n"
        "        tool_calls:\n"
        "        - name: lookup_order\n"
        "          arguments:\n"
        "            order_id: A1234\n"
        f"          id: {call_id}\n"
        "      - role: tool\n"
        """        content: '{"order_id": "A1234", "status": "shipped"}'\n"""
        f"        tool_call_id: {call_id}\n"
        "        name: lookup_order\n"
    ) in golden
    assert "    output: Your order A1234 has shipped.\n" in golden
    assert "value:" not in golden  # the calls the checks read are in the exchanges already

    result = llm_project.run()
    result.assert_outcomes(passed=1)
    (item,) = llm_project.report()["items"]
    assert (item["verdict"], item["calls"]) == ("MATCH", {"live": 0, "replayed": 2})
    assert item["output"] == 'tool call lookup_order {"order_id": "A1234"}'


MOVED = {
    "text": [
        "    tool_called(lookup_order)        1.00 -> 0.00   lookup_order was not called (no tool call)",
        '    -tool call lookup_order {"order_id": "A1234"}',
        "    +I cannot look orders up.",
    ],
    "other-tool": [
        "    tool_called(lookup_order)        1.00 -> 0.00   lookup_order was not called (find_order)",
        "    tool_sequence(lookup_order)      1.00 -> 0.00   called [find_order], expected [lookup_order]",
        '    -tool call lookup_order {"order_id": "A1234"}',
        '    +tool call find_order {"id": "A1234"}',
    ],
    "schema": [
        "    tool_args(lookup_order)          1.00 -> 0.00   order_id: 'a-1234' does not match '^[A-Z][0-9]+$'",
        '    -tool call lookup_order {"order_id": "A1234"}',
        '    +tool call lookup_order {"order_id": "a-1234"}',
    ],
    "broken-json": [
        "    tool_args(lookup_order)          1.00 -> 0.00   the arguments are not a JSON object: "
        '\'{"order_id": "A12\'',
        '    -tool call lookup_order {"order_id": "A1234"}',
        '    +tool call lookup_order {"order_id": "A12   (arguments are not a JSON object)',
    ],
}


@pytest.mark.parametrize("how", sorted(CANDIDATES))
def test_a_candidate_that_answers_in_text_calls_another_tool_or_breaks_the_arguments_is_a_format_break(
    llm_project: LLMProject, how: str
) -> None:
    tool_project(llm_project)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    result = llm_project.run(f"--candidate-model=scripted/{how}")
    result.assert_outcomes(passed=1, failed=1)
    assert llm_project.verdicts()["tests/test_llm.py::test_order[candidate]"] == "FORMAT_BREAK"
    result.stdout.fnmatch_lines(
        ["FORMAT_BREAK: a format check that passed on the golden fails on the candidate", "  checks that moved:"]
    )
    lines = result.stdout.lines
    start = lines.index("  2 calls, current (-) vs candidate (+):")  # the body calls twice: each call is diffed
    for expected in MOVED[how]:
        assert expected in lines, expected
        if expected.startswith(("    -", "    +")):
            assert lines.index(expected) > start


def test_the_reports_show_each_call_with_its_tools_calls_and_results(llm_project: LLMProject) -> None:
    tool_project(llm_project)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    result = llm_project.run(
        "--candidate-model=scripted/other-tool", "--llm-report-md=s.md", "--llm-report-html=r.html"
    )
    result.stdout.fnmatch_lines(
        [
            "  2 calls, current (-) vs candidate (+):",
            "  call 1: user: Where is my order A1234?",
            '    +tool call find_order {"id": "A1234"}',
            "  call 2: tool results of find_order · user: Where is my order A1234?",
            "    -Your order A1234 has shipped.",
            "    +Not found.",
        ]
    )
    request = (
        "tools: lookup_order\n"
        "user: Where is my order A1234?\n"
        'assistant: tool call find_order {"id": "A1234"}\n'
        'tool find_order: {"error": "unknown order"}'
    )
    candidate = next(i for i in llm_project.report()["items"] if i["role"] == "candidate")
    assert candidate["output"] == 'tool call find_order {"id": "A1234"}'
    assert candidate["baseline_output"] == 'tool call lookup_order {"order_id": "A1234"}'
    assert [(c["request"], c["output"]) for c in candidate["calls_detail"]] == [
        ("tools: lookup_order\nuser: Where is my order A1234?", 'tool call find_order {"id": "A1234"}'),
        (request, "Not found."),
    ]
    markdown = (llm_project.path / "s.md").read_text()
    assert f"```text\n{request}\n```" in markdown
    assert '-tool call lookup_order {"order_id": "A1234"}\n+tool call find_order {"id": "A1234"}' in markdown
    page = (llm_project.path / "r.html").read_text()
    data = page.split('<script type="application/json" id="llm-data">')[1].split("</script>")[0]
    assert request in strings(json.loads(data))  # the HTML page's call-by-call view reads the same text


def strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [text for item in value for text in strings(item)] if isinstance(value, list) else []


def test_a_changed_tool_call_is_noted_under_llm_live_and_drift_when_its_checks_fail(llm_project: LLMProject) -> None:
    tool_project(llm_project)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.model("m1", CURRENT.replace("    tool_calls:", "    respond: Let me check.\n    tool_calls:"))
    result = llm_project.run("--llm-live")
    result.assert_outcomes(passed=1)  # the checks still pass: the answer changed, the scores held
    (item,) = llm_project.report()["items"]
    assert item["verdict"] == "MATCH"
    assert "output text changed; scores held" in item["notes"]
    assert item["output"] == 'Let me check.\ntool call lookup_order {"order_id": "A1234"}'

    llm_project.model("m1", CURRENT.replace("{order_id: ", "{note: checked, order_id: "))
    result = llm_project.run("--llm-live")  # other arguments: the equals check fails, and that is drift
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*DRIFT*", "*tool_args(lookup_order)*1.00 -> 0.00*"])


def test_a_tool_less_request_keeps_its_fingerprint_and_tools_join_it() -> None:
    """Every golden recorded before tools existed must still replay: its request hashes as it always did."""
    messages = (Message("system", "Answer with JSON."), Message("user", "Ada Lovelace was born in London."))
    plain = Request(messages, {"temperature": 0, "max_tokens": 64})
    assert plain.canonical() == {
        "messages": [
            {"role": "system", "content": "Answer with JSON."},
            {"role": "user", "content": "Ada Lovelace was born in London."},
        ],
        "params": {"max_tokens": 64, "temperature": 0},
    }
    assert plain.fingerprint() == "sha256:bfcbef4e9759b49f"  # as computed before this change
    tools = Request(messages, {"temperature": 0, "max_tokens": 64}, tools=(checks_tool(),))
    chosen = Request(messages, {"temperature": 0, "max_tokens": 64}, tools=(checks_tool(),), tool_choice="required")
    assert len({plain.fingerprint(), tools.fingerprint(), chosen.fingerprint()}) == 3


def checks_tool() -> object:
    from pytest_llmversion.providers.tools import tool_from

    return tool_from({"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}})


def test_every_stored_request_is_rebuilt_with_its_fingerprint_so_the_call_pool_can_send_it_ahead() -> None:
    """``--llm-concurrency`` plans a call from the golden's stored request: tools, tool turns and kinds included."""
    from pytest_llmversion.providers.base import Tool

    call = ToolCall("call_1", "lookup_order", {"order_id": "A1"})
    broken = ToolCall.from_text("call_2", "lookup_order", '{"order_id": "A')
    turns = (
        Message("system", "Look orders up."),
        Message("user", "Where is A1?"),
        Message("assistant", "", (call, broken)),
        call.result({"status": "shipped"}),
        Message("tool", "not found", tool_call_id="call_2", name="lookup_order"),
    )
    tool = Tool("lookup_order", "Find an order", {"type": "object", "properties": {"order_id": {"type": "string"}}})
    requests = [
        Request(turns, {"temperature": 0, "parallel_tool_calls": False}, tools=(tool,), tool_choice={"name": "x"}),
        Request(turns[:2], tools=(Tool("ping", strict=True),), tool_choice="required"),
        Request((), {"dimensions": 8}, kind="embedding", model="openai/text-embedding-3-small", inputs=("a", "b")),
        Request(turns[:2], kind="count_tokens", tools=(tool,)),
        Request((), kind="model_info"),
        Request((), kind="model_list"),
        Request(turns[:2], {"max_tokens": 5}),
    ]
    for request in requests:
        rebuilt = Request.from_canonical(json.loads(json.dumps(request.canonical())))
        assert rebuilt.canonical() == request.canonical()
        assert rebuilt.fingerprint() == request.fingerprint()
    with pytest.raises(ValueError, match="unknown kind 'speech'"):
        Request.from_canonical({"kind": "speech"})


def test_tools_and_tool_choice_are_read_from_any_providers_shape() -> None:
    from pytest_llmversion.providers.base import Tool
    from pytest_llmversion.providers.tools import choice_from, tool_from

    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    portable = Tool("search", "Search the docs", schema)
    shapes = [
        {"name": "search", "description": "Search the docs", "parameters": schema},
        {"type": "function", "function": {"name": "search", "description": "Search the docs", "parameters": schema}},
        {"type": "function", "name": "search", "description": "Search the docs", "parameters": schema},
        {"name": "search", "description": "Search the docs", "input_schema": schema},
        {
            "name": "search",
            "description": "Search the docs",
            "parameters": {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}},
        },
    ]
    assert [tool_from(shape) for shape in shapes] == [portable] * len(shapes)
    choices = [
        ("auto", "auto"),
        ({"type": "any"}, "required"),
        ({"type": "tool", "name": "search"}, {"name": "search"}),
        ({"type": "function", "function": {"name": "search"}}, {"name": "search"}),
        ({"type": "function", "name": "search"}, {"name": "search"}),
    ]
    assert [choice_from(given) for given, _ in choices] == [wanted for _, wanted in choices]


def test_a_bad_tool_is_one_line(llm_project: LLMProject) -> None:
    llm_project.test_file(
        """\
        import pytest

        @pytest.mark.llm_regression
        def test_bad(llm):
            llm.complete("hi", tools=["lookup_order"])
        """
    )
    result = llm_project.run("--llm-record")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*BadRequest: tool 'lookup_order' is not understood; give {'name', 'description', 'parameters'}*"]
    )


# -- the checks on their own --------------------------------------------------------------------------------------

CALLED = Completion("", "m", "m", tool_calls=(ToolCall("c1", "lookup_order", {"order_id": "A1"}),))
SCHEMA = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}


def test_the_tool_checks_read_completions_tool_calls_and_sdk_objects() -> None:
    openai_chat = SimpleNamespace(
        choices=[
            SimpleNamespace(
                message=SimpleNamespace(
                    tool_calls=[
                        SimpleNamespace(
                            id="c1", function=SimpleNamespace(name="lookup_order", arguments='{"order_id": "A1"}')
                        )
                    ]
                )
            )
        ]
    )
    anthropic = SimpleNamespace(
        content=[SimpleNamespace(type="tool_use", id="t1", name="lookup_order", input={"order_id": "A1"})]
    )
    responses = SimpleNamespace(
        output=[
            SimpleNamespace(type="function_call", call_id="c1", name="lookup_order", arguments='{"order_id": "A1"}')
        ]
    )
    gemini = SimpleNamespace(
        candidates=[], function_calls=[SimpleNamespace(id=None, name="lookup_order", args={"order_id": "A1"})]
    )
    stored = [{"name": "lookup_order", "arguments": {"order_id": "A1"}}]
    for value in (CALLED, [CALLED], CALLED.tool_calls, openai_chat, anthropic, responses, gemini, stored):
        results = [
            check(value)
            for check in (
                checks.tool_called("lookup_order", times=1),
                checks.tool_args("lookup_order", schema=SCHEMA, equals={"order_id": "A1"}),
                checks.tool_sequence(["lookup_order"]),
            )
        ]
        assert all(r.passed and r.kind == "format" for r in results), (value, results)


def test_the_tool_checks_say_what_was_called_instead() -> None:
    text = Completion("I cannot do that.", "m", "m")
    assert checks.tool_called("lookup_order")(text).detail == (
        "lookup_order was not called (no tool call; answered in text: 'I cannot do that.')"
    )
    assert checks.tool_called("lookup_order", times=2)(CALLED).detail == "called 1 times, expected 2"
    wrong = Completion("", "m", "m", tool_calls=(ToolCall("c", "lookup_order", {"order_id": 7}),))
    assert checks.tool_args("lookup_order", schema=SCHEMA)(wrong).detail == "order_id: 7 is not of type 'string'"
    assert checks.tool_args("lookup_order", equals={"order_id": "A2"})(CALLED).detail.startswith(
        'Value of $[\'order_id\'] changed from "A2" to "A1"'
    )
    broken = Completion("", "m", "m", tool_calls=(ToolCall.from_text("c", "lookup_order", '{"order_id": '),))
    assert broken.tool_calls[0].raw_arguments == '{"order_id": '
    assert checks.tool_args("lookup_order", schema=SCHEMA)(broken).detail == (
        "the arguments are not a JSON object: '{\"order_id\": '"
    )
    two = Completion("", "m", "m", tool_calls=(ToolCall("a", "search", {}), ToolCall("b", "lookup_order", {})))
    assert not checks.tool_sequence(["lookup_order"])(two).passed
    assert checks.tool_sequence(["lookup_order"], exact=False)(two).passed
    assert checks.tool_sequence(["search", "lookup_order"])(two).passed
    with pytest.raises(ValueError, match="tool_args needs schema=, equals= or both"):
        checks.tool_args("lookup_order")


# -- scripted models: tool calls, embeddings, token counts --------------------------------------------------------


def test_scripted_tool_calls_are_templated_and_the_same_on_every_replay(tmp_path) -> None:  # type: ignore[no-untyped-def]
    provider = ScriptedProvider(tmp_path)
    provider.define(
        "m",
        {
            "rules": [
                {
                    "when": {"regex": "order (?P<o>\\w+)"},
                    "tool_calls": [{"name": "lookup", "arguments": {"id": "{{o}}", "n": [1, "{{o}}"]}}],
                }
            ]
        },
    )
    request = Request((Message("user", "order B7"),), tools=(checks_tool(),))
    first, again, other = (provider.complete(request, "m", sample_index=i) for i in (0, 0, 1))
    assert first.tool_calls == again.tool_calls
    assert first.tool_calls[0].id != other.tool_calls[0].id  # another sample, another call
    assert (first.tool_calls[0].name, first.tool_calls[0].arguments, first.finish_reason) == (
        "lookup",
        {"id": "B7", "n": [1, "B7"]},
        "tool_calls",
    )


def test_scripted_embeddings_are_deterministic_unit_vectors_that_follow_shared_words(tmp_path) -> None:  # type: ignore[no-untyped-def]
    provider = ScriptedProvider(tmp_path)
    provider.define("emb", {"embedding": {"dimensions": 32}})
    texts = ("refund my order", "please refund my order", "the weather is nice")
    request = Request((), kind="embedding", model="openai/emb", inputs=texts)
    answer = provider.complete(request, "emb")
    assert answer.kind == "embedding"
    assert [len(v) for v in answer.embeddings] == [32, 32, 32]
    assert all(abs(sum(x * x for x in v) - 1) < 1e-5 for v in answer.embeddings)
    assert provider.complete(request, "emb").embeddings == answer.embeddings

    def cosine(a: tuple[float, ...], b: tuple[float, ...]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    near, far = answer.embeddings[1], answer.embeddings[2]
    assert cosine(answer.embeddings[0], near) > cosine(answer.embeddings[0], far)
    asked = Request((), {"dimensions": 4}, kind="embedding", model="openai/emb", inputs=("x",))
    assert len(provider.complete(asked, "emb").embeddings[0]) == 4
    counted = provider.complete(Request((Message("user", "hello there"),), kind="count_tokens"), "emb")
    assert counted.token_count == 2
