"""Application code that already uses an SDK, tested unchanged through llm_openai, llm_anthropic and llm_gemini.

Each project below is what a user writes: an app module that takes an SDK client and a model id, and tests
that hand it the fixture's client. The calls are recorded against the emulator, judged on a candidate, then
replayed with the emulator stopped and no key: goldens for the current items, recordings for the candidate.
"""

from __future__ import annotations

import textwrap

import pytest
from conftest import M1, LLMProject

from pytest_llmversion.sdk.http_stack import http_library
from pytest_llmversion.testing import Emulator, Fault

FAST = {"max_retries": 0, "retry_base_delay": 0.0, "retry_max_delay": 0.0}

OPENAI_APP = """\
from pydantic import BaseModel

MESSAGES = [
    {"role": "system", "content": "Answer with JSON."},
    {"role": "user", "content": "Ada Lovelace was born in London."},
]


class Person(BaseModel):
    name: str
    city: str


def person(client, model, stream=False):
    if not stream:
        reply = client.chat.completions.create(model=model, messages=MESSAGES, temperature=0)
        return Person.model_validate_json(reply.choices[0].message.content)
    chunks = client.chat.completions.create(
        model=model, messages=MESSAGES, temperature=0, stream=True, stream_options={"include_usage": True}
    )
    return Person.model_validate_json("".join(c.choices[0].delta.content or "" for c in chunks if c.choices))


async def person_async(client, model, stream=False):
    if not stream:
        reply = await client.chat.completions.create(model=model, messages=MESSAGES, temperature=0)
        return Person.model_validate_json(reply.choices[0].message.content)
    chunks = await client.chat.completions.create(model=model, messages=MESSAGES, temperature=0, stream=True)
    return Person.model_validate_json("".join([c.choices[0].delta.content or "" async for c in chunks]))
"""

ANTHROPIC_APP = """\
import json
from dataclasses import dataclass

ASK = {
    "max_tokens": 200,
    "system": "Answer with JSON.",
    "messages": [{"role": "user", "content": "Ada Lovelace was born in London."}],
    "extra_body": {"temperature": 0},
}


@dataclass
class Person:
    name: str
    city: str


def person(client, model, stream=False):
    if not stream:
        return Person(**json.loads(client.messages.create(model=model, **ASK).content[0].text))
    with client.messages.stream(model=model, **ASK) as events:
        return Person(**json.loads(events.get_final_text()))


async def person_async(client, model, stream=False):
    if not stream:
        message = await client.messages.create(model=model, **ASK)
        return Person(**json.loads(message.content[0].text))
    async with client.messages.stream(model=model, **ASK) as events:
        return Person(**json.loads(await events.get_final_text()))
"""

GEMINI_APP = """\
import json

from google.genai import types

CONFIG = types.GenerateContentConfig(system_instruction="Answer with JSON.", temperature=0)
PROMPT = "Ada Lovelace was born in London."


def person(client, model, stream=False):
    if not stream:
        return json.loads(client.models.generate_content(model=model, contents=PROMPT, config=CONFIG).text)
    pieces = client.models.generate_content_stream(model=model, contents=PROMPT, config=CONFIG)
    return json.loads("".join(p.text or "" for p in pieces))


async def person_async(aio, model, stream=False):
    if not stream:
        answer = await aio.models.generate_content(model=model, contents=PROMPT, config=CONFIG)
        return json.loads(answer.text)
    pieces = await aio.models.generate_content_stream(model=model, contents=PROMPT, config=CONFIG)
    return json.loads("".join([p.text or "" async for p in pieces]))
"""

APP_TESTS = """\
import asyncio

import pytest
from app_{provider} import person, person_async

from pytest_llmversion import checks

STREAM = pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])


@pytest.mark.llm_regression
@STREAM
def test_person(llm_{provider}, llm_model, llm_golden, stream):
    found = person(llm_{provider}, llm_model.model_id, stream)
    llm_golden.check(found, checks.json_field("city", "London"), checks.json_field("name", "Ada Lovelace"))


@pytest.mark.llm_regression
@STREAM
def test_person_async(llm_{provider}_async, llm_model, llm_golden, stream):
    found = asyncio.run(person_async(llm_{provider}_async, llm_model.model_id, stream))
    llm_golden.check(found, checks.json_field("city", "London"))
"""

PROVIDERS = {
    #          app source,    current model,        candidate model,     value type stored in the golden
    "openai": (OPENAI_APP, "gpt-4o-2024-08-06", "gpt-4o-2024-11-20"),
    "anthropic": (ANTHROPIC_APP, "claude-sonnet-4-6", "claude-opus-4-6"),
    "gemini": (GEMINI_APP, "gemini-3.5-flash", "gemini-3.6-flash"),
}
ITEMS = ["test_person[plain", "test_person[stream", "test_person_async[plain", "test_person_async[stream"]


def sdk_project(project: LLMProject, provider: str, emu: Emulator, app: str | None = None) -> None:
    source, current, candidate = PROVIDERS[provider]
    for model in (current, candidate):
        emu.add_model(model, M1)
    project.write_config(extra=emu.provider_tables(), model=f"{provider}/{current}", **FAST)
    project.test_file(app or source, f"app_{provider}.py")
    project.test_file(APP_TESTS.format(provider=provider), f"test_{provider}_app.py")


def items(project: LLMProject) -> dict[str, dict[str, object]]:
    return {i["nodeid"].split("::", 1)[1]: i for i in project.report()["items"]}


@pytest.mark.usefixtures("canary_keys")
@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_sdk_calls_are_recorded_judged_and_replayed_offline(
    llm_project: LLMProject, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, current, candidate = PROVIDERS[provider]
    with Emulator() as emu:
        sdk_project(llm_project, provider, emu)
        llm_project.run("--llm-record").assert_outcomes(passed=4)
        assert len(emu.requests(current)) == 4  # the SDK's request, translated, sent once through the adapter
        golden = llm_project.golden(f"test_{provider}_app/test_person[stream].yaml").read_text()
        assert "value:\n    city: London\n    name: Ada Lovelace\n" in golden  # the app's value, readable
        assert "content: Ada Lovelace was born in London." in golden

        result = llm_project.run(f"--candidate-model={provider}/{candidate}")
        result.assert_outcomes(passed=8)
        found = items(llm_project)
        assert {found[f"{name}-candidate]"]["verdict"] for name in ITEMS} == {"UNCHANGED"}
        assert {found[f"{name}-current]"]["verdict"] for name in ITEMS} == {"MATCH"}
        assert len(emu.requests(candidate)) == 4
        assert found["test_person[stream-candidate]"]["models_served"] == [candidate]
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)

    result = llm_project.run()  # emulator stopped, no key: the goldens answer the SDK
    result.assert_outcomes(passed=4)
    found = items(llm_project)
    assert {found[f"{name}-current]"]["verdict"] for name in ITEMS} == {"MATCH"}
    assert all(i["calls"] == {"live": 0, "replayed": 1} for i in found.values())
    assert all(i["usage"]["input_tokens"] > 0 for i in found.values())  # priced like any replayed call

    result = llm_project.run(f"--candidate-model={provider}/{candidate}")  # the candidate from its recordings
    result.assert_outcomes(passed=8)
    candidates = [i for i in items(llm_project).values() if i["role"] == "candidate"]
    assert {i["verdict"] for i in candidates} == {"UNCHANGED"}
    assert all(i["replayed_from_recording"] == 1 for i in candidates)


OPENAI_TRIAGE = """\
SYSTEM = "Answer with JSON."


def person(client, model, user="Ada Lovelace was born in London."):
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
    reply = client.chat.completions.create(model=model, messages=messages, temperature=0)
    return reply.choices[0].message.content
"""

ONE_TEST = """\
import pytest
from app_openai import person

from pytest_llmversion import checks


@pytest.mark.llm_regression
def test_person(llm_openai, llm_model, llm_golden):
    llm_golden.check(person(llm_openai, {model}), checks.json_field("city", "London"))
"""


def one_test_project(project: LLMProject, emu: Emulator, model: str = "llm_model.model_id", app: str = "") -> None:
    for name in ("gpt-4o-2024-08-06", "gpt-4o-2024-11-20", "gpt-4o", "claude-opus-4-6"):
        emu.add_model(name, M1)
    project.write_config(extra=emu.provider_tables(), model="openai/gpt-4o-2024-08-06", **FAST)
    project.test_file(app or OPENAI_TRIAGE, "app_openai.py")
    project.test_file(ONE_TEST.format(model=model), "test_app.py")


def test_a_changed_request_is_stale_with_a_diff_of_the_two_requests(llm_project: LLMProject, emu: Emulator) -> None:
    one_test_project(llm_project, emu)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.test_file(OPENAI_TRIAGE.replace("Answer with JSON.", "Answer with one JSON object."), "app_openai.py")
    emu.clear_requests()

    result = llm_project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*STALE: the golden was recorded for a different request than the test sends now",
            "*request, golden (-) vs now (+):",
            "*-  content: Answer with JSON.",
            "*+  content: Answer with one JSON object.",
        ]
    )
    assert llm_project.verdicts() == {"tests/test_app.py::test_person[current]": "STALE"}
    assert emu.requests() == []


def test_a_model_written_in_code_is_swapped_with_a_warning_naming_the_line(
    llm_project: LLMProject, emu: Emulator
) -> None:
    one_test_project(llm_project, emu, model='"gpt-4o"')
    result = llm_project.run("--llm-record")
    result.assert_outcomes(passed=1)
    assert len(emu.requests("gpt-4o-2024-08-06")) == 1
    assert emu.requests("gpt-4o") == []

    result = llm_project.run("--candidate-model=openai/gpt-4o-2024-11-20", "-W", "default")
    result.assert_outcomes(passed=2)
    warning = (
        "tests/test_app.py:9 asks for model 'gpt-4o' (an alias the provider can move to another snapshot), not "
        "the model under test; the call went to openai/gpt-4o-2024-11-20. Take the model id from configuration "
        "(llm_config or llm_model in tests): a model written into code is how an unpinned alias reaches production"
    )
    result.stdout.fnmatch_lines([f"*HardCodedModelWarning: {warning}", f"notice: {warning}"])
    assert len(emu.requests("gpt-4o-2024-11-20")) == 1
    assert emu.requests("gpt-4o") == []
    candidate = next(i for i in llm_project.report()["items"] if i["role"] == "candidate")
    assert warning in candidate["provider_notices"]


def test_a_project_can_make_a_model_written_in_code_an_error(llm_project: LLMProject, emu: Emulator) -> None:
    one_test_project(llm_project, emu, model='"gpt-4o"')
    result = llm_project.run("--llm-record", "-W", "error::pytest_llmversion.sdk.HardCodedModelWarning")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["  test body raised HardCodedModelWarning: tests/test_app.py:9 asks for model 'gpt-4o' (an alias *"]
    )
    assert emu.requests() == []
    assert not llm_project.golden("test_app").exists()


def test_an_openai_app_is_judged_on_an_anthropic_candidate(llm_project: LLMProject, emu: Emulator) -> None:
    one_test_project(llm_project, emu)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    result = llm_project.run("--candidate-model=anthropic/claude-opus-4-6")
    result.assert_outcomes(passed=2)
    assert llm_project.verdicts()["tests/test_app.py::test_person[candidate]"] == "UNCHANGED"
    sent = emu.requests("claude-opus-4-6")
    assert [r.path for r in sent] == ["/v1/messages"]
    assert sent[0].body["system"] == "Answer with JSON."


def test_a_pinned_model_that_drifted_is_drift_through_the_sdk_too(llm_project: LLMProject, emu: Emulator) -> None:
    one_test_project(llm_project, emu)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    emu.add_model("gpt-4o-2024-08-06", respond='{"name": "Ada Lovelace", "city": "Paris"}')
    result = llm_project.run("--llm-live")
    result.assert_outcomes(failed=1)
    assert llm_project.verdicts() == {"tests/test_app.py::test_person[current]": "DRIFT"}


LOGPROBS_APP = """\
def person(client, model):
    messages = [{"role": "user", "content": "Ada Lovelace was born in London."}]
    reply = client.chat.completions.create(model=model, messages=messages, logprobs=True)
    return reply.choices[0].message.content
"""


def test_a_call_the_plugin_cannot_record_goes_out_unrecorded_with_a_warning_when_pass_through_is_allowed(
    llm_project: LLMProject, emu: Emulator
) -> None:
    one_test_project(llm_project, emu, app=LOGPROBS_APP)
    result = llm_project.run("--llm-record", "--llm-allow-passthrough", "-W", "default")
    result.assert_outcomes(passed=1)
    line = (
        f"llm_openai: POST /v1/chat/completions went to {emu.url} unrecorded (it asks for logprobs, which a "
        "recorded text answer cannot hold); the golden cannot answer it, so an offline replay fails at this call"
    )
    result.stdout.fnmatch_lines([f"*UnrecordedCallWarning: {line}", f"notice: {line}"])
    (sent,) = emu.requests()
    assert sent.body["logprobs"] is True  # sent as the app wrote it
    golden = llm_project.golden("test_app/test_person.yaml").read_text()
    assert "request:" not in golden  # nothing recorded for the call


def test_a_response_body_that_is_not_json_is_one_line_and_writes_nothing(
    llm_project: LLMProject, emu: Emulator
) -> None:
    one_test_project(llm_project, emu)
    emu.add_fault(Fault.malformed())
    result = llm_project.run("--llm-record")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*MalformedResponse: openai/gpt-4o-2024-08-06: the response body could not be read*"])
    assert llm_project.verdicts() == {"tests/test_app.py::test_person[current]": "ERROR"}
    assert not llm_project.golden("test_app").exists()


def test_an_sdk_fixture_outside_an_llm_test_says_what_is_missing(llm_project: LLMProject) -> None:
    llm_project.test_file(
        textwrap.dedent(
            """\
            def test_plain(llm_anthropic):
                pass
            """
        )
    )
    result = llm_project.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_plain: the llm fixtures need @pytest.mark.llm_regression on the test"])


REFUSE_HTTP_LIBRARY = """\
import sys


class NoHttpLibrary:
    \"\"\"As if the SDK's HTTP library (httpx2 or httpx) were not installed.\"\"\"

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "{library}":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoHttpLibrary())
"""


def test_an_sdk_fixture_without_its_http_library_is_one_line_naming_the_extra(
    llm_project: LLMProject, emu: Emulator
) -> None:
    library = http_library("openai")  # httpx2 for openai 3, httpx for openai 2
    one_test_project(llm_project, emu)
    llm_project.write("conftest.py", REFUSE_HTTP_LIBRARY.replace("{library}", library))
    result = llm_project.run_subprocess()
    result.assert_outcomes(errors=1)
    line = (
        f"llm_openai: the openai provider needs its SDK (openai, which needs {library}): "
        'pip install "pytest-llmversion[openai]"'
    )
    result.stdout.fnmatch_lines([line.replace("[", "[[]")])
    output = result.stdout.str()
    assert "Traceback" not in output
    assert "ModuleNotFoundError" not in output
    assert llm_project.report()["items"][0]["message"] == f"setup failed: Failed: {line}"
