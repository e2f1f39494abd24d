"""Clients the application builds itself, tested with the marker only (no fixture): ``sdk.intercept``.

Each project is what a user writes: an app module that builds its SDK client at import time, reading the
model id from its own settings, and tests that only carry ``@pytest.mark.llm_regression``. The app's clients
point at a decoy server (their environment's ``*_BASE_URL``): a call that escaped the plugin would land
there, so every test also asserts that the decoy received nothing.
"""

from __future__ import annotations

import pytest
from conftest import M1, LLMProject

from pytest_llmversion.testing import Emulator, Fault

FAST = {"max_retries": 0, "retry_base_delay": 0.0, "retry_max_delay": 0.0}
BROKEN = "# synthetic\ndefault:\n  respond: 'Sure! The person is Ada Lovelace, from London.'\n"

OPENAI_APP = """\
import json
import os

import openai

MODEL = os.environ["SUPPORT_MODEL"]  # the model the app runs, from its own settings
client = openai.OpenAI()  # built at import: wherever its environment points
aclient = openai.AsyncOpenAI()
ASK = [
    {"role": "system", "content": "Answer with JSON."},
    {"role": "user", "content": "Ada Lovelace was born in London."},
]


def person(stream=False):
    if not stream:
        reply = client.chat.completions.create(model=MODEL, messages=ASK, temperature=0)
        return json.loads(reply.choices[0].message.content)
    chunks = client.chat.completions.create(model=MODEL, messages=ASK, temperature=0, stream=True)
    return json.loads("".join(c.choices[0].delta.content or "" for c in chunks if c.choices))


async def person_async():
    reply = await aclient.chat.completions.create(model=MODEL, messages=ASK, temperature=0)
    return json.loads(reply.choices[0].message.content)
"""

ANTHROPIC_APP = """\
import json
import os

import anthropic

MODEL = os.environ["SUPPORT_MODEL"]
client = anthropic.Anthropic()
aclient = anthropic.AsyncAnthropic()
ASK = {
    "max_tokens": 200,
    "system": "Answer with JSON.",
    "messages": [{"role": "user", "content": "Ada Lovelace was born in London."}],
}


def person(stream=False):
    if not stream:
        return json.loads(client.messages.create(model=MODEL, **ASK).content[0].text)
    with client.messages.stream(model=MODEL, **ASK) as events:
        return json.loads(events.get_final_text())


async def person_async():
    message = await aclient.messages.create(model=MODEL, **ASK)
    return json.loads(message.content[0].text)
"""

GEMINI_APP = """\
import json
import os

from google import genai
from google.genai import types

MODEL = os.environ["SUPPORT_MODEL"]
client = genai.Client()
CONFIG = types.GenerateContentConfig(system_instruction="Answer with JSON.", temperature=0)
PROMPT = "Ada Lovelace was born in London."


def person(stream=False):
    if not stream:
        return json.loads(client.models.generate_content(model=MODEL, contents=PROMPT, config=CONFIG).text)
    pieces = client.models.generate_content_stream(model=MODEL, contents=PROMPT, config=CONFIG)
    return json.loads("".join(p.text or "" for p in pieces))


async def person_async():
    answer = await client.aio.models.generate_content(model=MODEL, contents=PROMPT, config=CONFIG)
    return json.loads(answer.text)
"""

MARKER_ONLY = """\
import asyncio

import pytest
from app import person, person_async


@pytest.mark.llm_regression
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_person(stream):
    assert person(stream)["city"] == "London"


@pytest.mark.llm_regression
def test_person_async():
    assert asyncio.run(person_async())["city"] == "London"
"""

PROVIDERS = {
    "openai": (OPENAI_APP, "gpt-4o-2024-08-06", "gpt-4o-2024-11-20"),
    "anthropic": (ANTHROPIC_APP, "claude-sonnet-4-6", "claude-opus-4-6"),
    "gemini": (GEMINI_APP, "gemini-3.5-flash", "gemini-3.6-flash"),
}
PLACEHOLDER_KEYS = {
    "OPENAI_API_KEY": "ph-9q2w7e4r",
    "ANTHROPIC_API_KEY": "ph-5t8y1u3i",
    "GEMINI_API_KEY": "ph-6o0p2a4s",
}


@pytest.fixture
def emu(canary_keys: dict[str, str]) -> Emulator:
    """The run's provider (its own per test: some tests stop it to prove a replay is offline)."""
    with Emulator() as running:
        yield running


@pytest.fixture
def decoy(monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """Where the app's own clients point: a call the plugin did not take over lands here."""
    with Emulator() as running:
        for name, value in running.env().items():
            monkeypatch.setenv(name, value)
        yield running


APP_CONFTEST = """\
import inspect
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))


def pytest_unconfigure(config):
    # the app's clients live as long as its process; in pytester's in-process runs, close them at the end
    for name in ("app", "test_app"):
        for value in vars(sys.modules.get(name, sys)).values():
            close = getattr(value, "close", None)
            if type(value).__module__.split(".")[0] in ("openai", "anthropic", "google") and callable(close):
                if not inspect.iscoroutinefunction(close):
                    close()
"""


def app_project(project: LLMProject, emu: Emulator, provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    source, current, candidate = PROVIDERS[provider]
    for model in (current, candidate):
        emu.add_model(model, M1)
    monkeypatch.setenv("SUPPORT_MODEL", current)
    project.write_config(extra=emu.provider_tables(), model=f"{provider}/{current}", **FAST)
    project.test_file(source, "app.py")
    project.test_file(MARKER_ONLY, "test_app.py")
    project.write("tests/conftest.py", APP_CONFTEST)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_module_level_client_is_recorded_judged_and_replayed_with_the_marker_only(
    llm_project: LLMProject, emu: Emulator, decoy: Emulator, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, current, candidate = PROVIDERS[provider]
    app_project(llm_project, emu, provider, monkeypatch)
    llm_project.run("--llm-record").assert_outcomes(passed=3)
    assert len(emu.requests(current)) == 3  # sync, streamed, async: each sent once, to the run's provider
    golden = llm_project.golden("test_app/test_person[plain].yaml").read_text()
    assert "content: Ada Lovelace was born in London." in golden

    emu.add_model(candidate, BROKEN)  # a candidate that answers in prose where the app parses JSON
    result = llm_project.run(f"--candidate-model={provider}/{candidate}")
    result.assert_outcomes(passed=3, failed=3)
    verdicts = llm_project.verdicts()
    assert {v for k, v in verdicts.items() if k.endswith("candidate]")} == {"FORMAT_BREAK"}
    assert {v for k, v in verdicts.items() if k.endswith("current]")} == {"MATCH"}
    assert len(emu.requests(candidate)) == 3  # the app named the current model; the call went to the candidate

    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(name, PLACEHOLDER_KEYS[name])  # CI: no key, a placeholder for the SDK's constructor
    emu.stop()
    result = llm_project.run()  # offline: the goldens answer the app's own client
    result.assert_outcomes(passed=3)
    assert set(llm_project.verdicts().values()) == {"MATCH"}
    assert decoy.requests() == []


SIDE_APP = """\
import json
import os

import openai

MODEL = os.environ["SUPPORT_MODEL"]
CLASSIFIER = "gpt-4o-mini-2024-07-18"  # a small model beside the main one, pinned
client = openai.OpenAI()


def triage(text):
    label = client.chat.completions.create(
        model=CLASSIFIER, messages=[{"role": "user", "content": f"Label: {text}"}], temperature=0
    ).choices[0].message.content
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}], temperature=0)
    return label, json.loads(reply.choices[0].message.content)
"""

SIDE_TEST = """\
import pytest
from app import triage


@pytest.mark.llm_regression
def test_triage():
    label, person = triage("Ada Lovelace was born in London.")
    assert label == "biography"
    assert person["city"] == "London"
"""


def test_a_call_to_another_model_is_a_side_call_recorded_and_replayed_never_swapped(
    llm_project: LLMProject, emu: Emulator, decoy: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_project(llm_project, emu, "openai", monkeypatch)
    emu.add_model("gpt-4o-mini-2024-07-18", respond="biography")
    llm_project.test_file(SIDE_APP, "app.py")
    llm_project.test_file(SIDE_TEST, "test_app.py")
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    assert len(emu.requests("gpt-4o-mini-2024-07-18")) == 1
    assert len(emu.requests("gpt-4o-2024-08-06")) == 1
    golden = llm_project.golden("test_app/test_triage.yaml").read_text()
    assert "model: openai/gpt-4o-mini-2024-07-18" in golden  # the side call says whose answer it holds

    emu.clear_requests()
    result = llm_project.run("--candidate-model=openai/gpt-4o-2024-11-20")
    result.assert_outcomes(passed=2)
    assert len(emu.requests("gpt-4o-mini-2024-07-18")) == 1  # the classifier stays the classifier
    assert len(emu.requests("gpt-4o-2024-11-20")) == 1
    assert len(emu.requests("gpt-4o-2024-08-06")) == 0
    report = {i["nodeid"]: i for i in llm_project.report()["items"]}
    candidate = report["tests/test_app.py::test_triage[candidate]"]
    assert candidate["served_instead"] == []  # a side call is not the provider serving another model
    assert set(candidate["usage_by_model"]) == {"openai/gpt-4o-2024-11-20", "openai/gpt-4o-mini-2024-07-18"}

    emu.stop()
    llm_project.run().assert_outcomes(passed=1)
    assert llm_project.verdicts() == {"tests/test_app.py::test_triage[current]": "MATCH"}
    assert decoy.requests() == []


UNRECORDABLE = """\
import openai
import pytest

client = openai.OpenAI()


@pytest.mark.llm_regression
def test_draw():
    client.images.generate(model="dall-e-3", prompt="a lighthouse")
"""


def test_a_call_the_plugin_cannot_record_fails_closed_in_one_line_and_is_not_retried(
    llm_project: LLMProject, emu: Emulator, decoy: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_project(llm_project, emu, "openai", monkeypatch)
    llm_project.test_file(UNRECORDABLE, "test_app.py")
    result = llm_project.run("--llm-record")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*openai client: POST http://127.0.0.1:*/v1/images/generations was not sent: *--llm-allow-passthrough*"]
    )
    assert llm_project.verdicts() == {"tests/test_app.py::test_draw[current]": "ERROR"}
    assert decoy.requests() == []
    assert emu.requests() == []


UNMARKED = """\
import openai
import pytest

client = openai.OpenAI()


def ask():
    return client.chat.completions.create(
        model="gpt-4o-2024-08-06", messages=[{"role": "user", "content": "Ada Lovelace was born in London."}]
    ).choices[0].message.content


def test_unmarked():
    assert "London" in ask()


@pytest.mark.llm_intercept
def test_guarded():
    ask()
"""


def test_an_unmarked_test_is_untouched_unless_it_opts_in(
    llm_project: LLMProject, emu: Emulator, decoy: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_project(llm_project, emu, "openai", monkeypatch)
    decoy.add_model("gpt-4o-2024-08-06", M1)
    llm_project.test_file(UNMARKED, "test_app.py")
    result = llm_project.run("-k", "unmarked")
    result.assert_outcomes(passed=1)
    assert len(decoy.requests()) == 1  # a plain suite keeps its behaviour: the client went where it points

    decoy.clear_requests()
    result = llm_project.run("-k", "guarded")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*tests/test_app.py::test_guarded: openai client: POST http://127.0.0.1:*/v1/chat/completions was not "
            "sent: the test is not marked @pytest.mark.llm_regression*"
        ]
    )
    result = llm_project.run("--llm-intercept=all", "-k", "unmarked")
    result.assert_outcomes(failed=1)
    assert decoy.requests() == []


def test_intercept_off_leaves_the_application_clients_alone(
    llm_project: LLMProject, emu: Emulator, decoy: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_project(llm_project, emu, "openai", monkeypatch)
    decoy.add_model("gpt-4o-2024-08-06", M1)
    result = llm_project.run("--llm-record", "--llm-intercept=off", "-k", "plain")
    result.assert_outcomes(passed=1)
    assert len(decoy.requests()) == 1
    assert emu.requests() == []


FIXTURE_CALL = """\
import pytest
from app import person


@pytest.fixture
def warm():
    person()  # a call in a fixture's set-up, outside the test body
    return True


@pytest.mark.llm_regression
def test_person(warm):
    assert person()["city"] == "London"
"""


def test_a_call_outside_the_test_body_is_refused_with_one_line(
    llm_project: LLMProject, emu: Emulator, decoy: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_project(llm_project, emu, "openai", monkeypatch)
    llm_project.test_file(FIXTURE_CALL, "test_app.py")
    result = llm_project.run("--llm-record")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*openai client: POST *chat/completions was not sent: it was made outside the test body*"]
    )
    assert decoy.requests() == []
    assert emu.requests() == []


def test_a_provider_failure_is_one_error_and_the_sdk_does_not_retry_it(
    llm_project: LLMProject, emu: Emulator, decoy: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_project(llm_project, emu, "openai", monkeypatch)
    llm_project.run("--llm-record", "-k", "plain").assert_outcomes(passed=1)
    emu.clear_requests()
    emu.add_fault(Fault.http(503, model="gpt-4o-2024-11-20"))
    result = llm_project.run("--candidate-model=openai/gpt-4o-2024-11-20", "-k", "plain")
    result.assert_outcomes(passed=1, failed=1)
    assert llm_project.verdicts()["tests/test_app.py::test_person[plain-candidate]"] == "ERROR"
    assert len(emu.requests("gpt-4o-2024-11-20")) == 1  # the router's one try (max_retries = 0), not the SDK's three
    result.stdout.fnmatch_lines(["*503*"])
    assert decoy.requests() == []


HARD_CODED = """\
import json

import openai
import pytest

client = openai.OpenAI()


@pytest.mark.llm_regression
def test_person():
    reply = client.chat.completions.create(
        model="gpt-4o-2024-08-06", messages=[{"role": "user", "content": "Ada Lovelace was born in London."}]
    )
    assert json.loads(reply.choices[0].message.content)["city"] == "London"
"""


def test_the_model_under_test_written_in_code_is_swapped_with_a_warning_naming_the_line(
    llm_project: LLMProject, emu: Emulator, decoy: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_project(llm_project, emu, "openai", monkeypatch)
    llm_project.test_file(HARD_CODED, "test_app.py")
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    result = llm_project.run("--candidate-model=openai/gpt-4o-2024-11-20", "-W", "default")
    result.assert_outcomes(passed=2)
    assert len(emu.requests("gpt-4o-2024-11-20")) == 1
    result.stdout.fnmatch_lines(
        [
            "*tests/test_app.py:12 names model 'gpt-4o-2024-08-06' in code: tests send its calls to the model under "
            "test (the candidate on a candidate run), but production keeps calling 'gpt-4o-2024-08-06' after a "
            "migration*"
        ]
    )
    assert decoy.requests() == []


AZURE = """\
import json

import openai
import pytest

client = openai.AzureOpenAI(
    azure_endpoint="https://contoso.openai.azure.com", azure_deployment="support-prod", api_version="2024-10-21"
)


@pytest.mark.llm_regression
def test_person():
    reply = client.chat.completions.create(
        model="support-prod", messages=[{"role": "user", "content": "Ada Lovelace was born in London."}]
    )
    assert json.loads(reply.choices[0].message.content)["city"] == "London"
"""


def test_an_azure_deployment_is_the_model_under_test(
    llm_project: LLMProject, emu: Emulator, decoy: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_project(llm_project, emu, "openai", monkeypatch)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-3k9d7f1h5j")
    llm_project.test_file(AZURE, "test_app.py")
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    assert len(emu.requests("gpt-4o-2024-08-06")) == 1
    emu.stop()
    llm_project.run().assert_outcomes(passed=1)
    assert llm_project.verdicts() == {"tests/test_app.py::test_person[current]": "MATCH"}


BUILT_IN_TEST = """\
import json

import anthropic
import pytest


@pytest.mark.asyncio
@pytest.mark.llm_regression
async def test_person():
    client = anthropic.AsyncAnthropic()  # built during the test, in an async test
    message = await client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=200,
        messages=[{"role": "user", "content": "Ada Lovelace was born in London."}],
    )
    assert json.loads(message.content[0].text)["city"] == "London"
"""


def test_a_client_built_during_an_async_test_is_recorded_drift_checked_and_replayed(
    llm_project: LLMProject, emu: Emulator, decoy: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_project(llm_project, emu, "anthropic", monkeypatch)
    llm_project.test_file(BUILT_IN_TEST, "test_app.py")
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    emu.clear_requests()
    result = llm_project.run("--llm-live")
    result.assert_outcomes(passed=1)
    assert llm_project.verdicts() == {"tests/test_app.py::test_person[current]": "MATCH"}
    assert len(emu.requests("claude-sonnet-4-6")) == 1  # called live, compared with the golden
    emu.stop()
    llm_project.run().assert_outcomes(passed=1)
    assert decoy.requests() == []
