"""``async def`` tests with the marker, on pytest-asyncio (strict and auto mode) and anyio's plugin; calls made
together go out together in live and record runs (the emulator's peak of requests in flight) and replay the
same answers whatever order they arrive and finish in."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from conftest import INNER_ADDOPTS, M1, LLMProject

from pytest_llmversion.testing import Emulator, Fault

FAST = {"max_retries": 0, "retry_base_delay": 0.0, "retry_max_delay": 0.0}
MODEL, CANDIDATE = "gpt-4o-2024-08-06", "gpt-4o-2024-11-20"

PEOPLE = """\
PEOPLE = [
    ("Ada Lovelace", "London"), ("Marie Curie", "Warsaw"), ("Alan Turing", "Maida"), ("Grace Hopper", "Manhattan"),
    ("Emmy Noether", "Erlangen"), ("Niels Bohr", "Copenhagen"), ("Lise Meitner", "Vienna"),
    ("Srinivasa Ramanujan", "Erode"), ("Rosalind Franklin", "Notting"), ("Enrico Fermi", "Rome"),
]


def arrival_order():
    \"\"\"The order the calls are made in: as listed, or shuffled by SHUFFLE (a seed), a little apart at random.\"\"\"
    import os, random

    seed = os.environ.get("SHUFFLE")
    order = list(range(len(PEOPLE)))
    if seed is None:
        return [(i, 0.0) for i in order]
    draw = random.Random(seed)
    draw.shuffle(order)
    return [(i, draw.random() / 200) for i in order]
"""

# -- the async plugins ---------------------------------------------------------------------------------

#: plugin -> (test decorator, options, conftest, async fixture decorator)
PLUGINS = {
    "asyncio-strict": ("@pytest.mark.asyncio", (), "", "@pytest_asyncio.fixture"),
    "asyncio-auto": ("", ("-o", "asyncio_mode=auto"), "", "@pytest.fixture"),
    "anyio": (
        "@pytest.mark.anyio",
        (),
        ANYIO := '@pytest.fixture\ndef anyio_backend():\n    return "asyncio"\n',
        "@pytest.fixture",
    ),
    "anyio-auto": ("", ("-o", "anyio_mode=auto"), ANYIO, "@pytest.fixture"),
}

SYNC_AND_ASYNC = (
    """\
import asyncio
import pytest
import pytest_asyncio
from pytest_llmversion import checks

"""
    + PEOPLE
    + """

@pytest.mark.llm_regression
def test_sync(llm, llm_golden):
    llm_golden.check(llm.complete("Ada Lovelace was born in London."), checks.json_field("city", "London"))


{fixture}
async def fixture_loop():
    yield asyncio.get_running_loop()


{decorator}
@pytest.mark.llm_regression
async def test_async(llm, llm_golden, fixture_loop):
    assert asyncio.get_running_loop() is fixture_loop  # every sample on the plugin's loop: no second loop
    async def ask(i, delay):
        await asyncio.sleep(delay)
        name, city = PEOPLE[i]
        return i, (await llm.acomplete(f"{{name}} was born in {{city}}.")).json()

    answers = dict(await asyncio.gather(*(ask(i, delay) for i, delay in arrival_order() if i < 3)))
    assert answers == {{i: {{"name": PEOPLE[i][0], "city": PEOPLE[i][1]}} for i in range(3)}}
    llm_golden.check(answers[0], checks.json_field("city", "London"))
"""
)


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_a_sync_and_an_async_test_in_one_module_record_replay_and_compare(
    llm_project: LLMProject, plugin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    decorator, options, conftest, fixture = PLUGINS[plugin]
    llm_project.test_file(SYNC_AND_ASYNC.format(decorator=decorator, fixture=fixture))
    llm_project.test_file("import pytest\n\n" + conftest, "conftest.py")
    llm_project.model("m2", "extends: m1\n")
    ids = {"tests/test_llm.py::test_sync[current]", "tests/test_llm.py::test_async[current]"}

    llm_project.run("--llm-record", "--llm-samples=3", *options).assert_outcomes(passed=2)
    assert llm_project.verdicts() == dict.fromkeys(ids, "RECORDED")
    golden = yaml.safe_load(llm_project.golden("test_llm/test_async.yaml").read_text())
    assert [len(sample["calls"]) for sample in golden["samples"]] == [2, 2, 2]  # 3 samples of 3 calls

    monkeypatch.setenv("SHUFFLE", "7")  # the calls arrive in another order than recorded
    llm_project.run(*options).assert_outcomes(passed=2)
    assert llm_project.verdicts() == dict.fromkeys(ids, "MATCH")
    async_item = next(i for i in llm_project.report()["items"] if i["test"].endswith("test_async"))
    assert async_item["calls"] == {"live": 0, "replayed": 9}

    llm_project.run("--candidate-model=scripted/m2", *options).assert_outcomes(passed=4)
    assert set(llm_project.verdicts().values()) == {"MATCH", "UNCHANGED"}


def test_an_async_test_no_plugin_runs_is_one_line_saying_how_to_run_it(
    llm_project: LLMProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_project.test_file(
        """\
        import pytest

        @pytest.mark.llm_regression
        async def test_async(llm):
            await llm.acomplete("hi")
        """
    )
    result = llm_project.run("-p", "no:anyio")  # pytest-asyncio in strict mode: the test is not marked
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "tests/test_llm.py::test_async?current?: no async plugin runs this async llm_regression test: mark it "
            '@pytest.mark.asyncio (or set asyncio_mode = "auto"), or @pytest.mark.anyio for anyio\'s plugin'
        ]
    )
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:randomly -p no:asyncio -p no:anyio")  # neither plugin
    result = llm_project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "tests/test_llm.py::test_async?current?: no async plugin runs this async llm_regression test: install "
            "pytest-asyncio and mark it @pytest.mark.asyncio, or mark it @pytest.mark.anyio (anyio's plugin)"
        ]
    )
    assert "not natively supported" not in result.stdout.str()
    monkeypatch.setenv("PYTEST_ADDOPTS", INNER_ADDOPTS)


def test_an_async_test_on_trio_through_anyios_plugin(llm_project: LLMProject) -> None:
    llm_project.test_file(
        """\
        import anyio
        import pytest
        from pytest_llmversion import checks

        @pytest.fixture
        def anyio_backend():
            return "trio"

        @pytest.mark.anyio
        @pytest.mark.llm_regression
        async def test_trio(llm, llm_golden):
            answers = {}

            async def ask(text):
                answers[text] = (await llm.acomplete(text)).json()

            async with anyio.create_task_group() as group:
                for text in ("Ada Lovelace was born in London.", "Marie Curie was born in Warsaw."):
                    group.start_soon(ask, text)
            llm_golden.check(answers["Ada Lovelace was born in London."], checks.json_field("city", "London"))
        """
    )
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.run().assert_outcomes(passed=1)
    assert llm_project.verdicts() == {"tests/test_llm.py::test_trio[current]": "MATCH"}


# -- a fan-out of ten calls ----------------------------------------------------------------------------------

FAN_OUT = (
    """\
import asyncio
import pytest
from pytest_llmversion import checks

"""
    + PEOPLE
    + """

@pytest.mark.asyncio
@pytest.mark.llm_regression
async def test_fan_out(llm, llm_golden):
    async def ask(i, delay):
        await asyncio.sleep(delay)
        name, city = PEOPLE[i]
        return i, (await llm.acomplete(f"{name} was born in {city}.")).json()

    answers = dict(await asyncio.gather(*(ask(i, delay) for i, delay in arrival_order())))
    assert answers == {i: {"name": name, "city": city} for i, (name, city) in enumerate(PEOPLE)}
    llm_golden.check(answers[0], checks.json_field("city", "London"))
"""
)


def emulated_project(llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for model in (MODEL, CANDIDATE):
        emu.add_model(model, M1)
    monkeypatch.setattr(emu, "jitter_ms", 40.0)  # answers finish in an order of their own
    llm_project.write_config(extra=emu.provider_tables(), model=f"openai/{MODEL}", **FAST)


def asked(calls: list[dict[str, Any]]) -> list[str]:
    """Who a golden's (or a recording's) calls ask about, in the order the file lists them."""
    return [call["request"]["messages"][0]["content"].split(" was")[0] for call in calls]


def test_a_fan_out_of_ten_calls_records_concurrently_and_replays_twenty_times_in_any_order(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulated_project(llm_project, emu, monkeypatch)
    llm_project.test_file(FAN_OUT)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    assert llm_project.verdicts() == {"tests/test_llm.py::test_fan_out[current]": "RECORDED"}
    assert emu.peak_in_flight >= 4, f"at most {emu.peak_in_flight} of 10 calls were in flight at once"
    received = sorted(emu.requests(MODEL), key=lambda r: r.received_at)
    answered = sorted(emu.requests(MODEL), key=lambda r: r.answered_at)
    assert received != answered  # the answers came back in another order than the calls went out

    # the golden lists the calls in the order they were made, not the order they finished: a re-record is no diff
    golden = llm_project.golden("test_llm/test_fan_out.yaml")
    doc = yaml.safe_load(golden.read_text())
    first = doc["request"]["messages"][0]["content"].split(" was")[0]
    assert [first, *asked(doc["samples"][0]["calls"])] == [
        "Ada Lovelace", "Marie Curie", "Alan Turing", "Grace Hopper", "Emmy Noether",
        "Niels Bohr", "Lise Meitner", "Srinivasa Ramanujan", "Rosalind Franklin", "Enrico Fermi",
    ]  # fmt: skip
    before = golden.read_bytes()
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    assert golden.read_bytes() == before

    for seed in range(20):
        monkeypatch.setenv("SHUFFLE", str(seed))
        llm_project.run().assert_outcomes(passed=1)
        item = llm_project.report()["items"][0]
        assert (item["verdict"], item["calls"]) == ("MATCH", {"live": 0, "replayed": 10}), seed
    assert len(emu.requests(MODEL)) == 20  # the two recordings; a replay sends nothing


def test_calls_made_together_share_the_runs_limit_of_calls_in_flight(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulated_project(llm_project, emu, monkeypatch)
    llm_project.test_file(FAN_OUT)
    llm_project.run("--llm-record", "--llm-concurrency=3").assert_outcomes(passed=1)
    assert 2 <= emu.peak_in_flight <= 3  # the provider's limiter, shared with the call pool, holds the fan-out


def test_a_candidates_concurrent_calls_are_recorded_in_the_order_made_and_replayed_from_it(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulated_project(llm_project, emu, monkeypatch)
    llm_project.test_file(FAN_OUT)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    emu.peak_in_flight = 0
    llm_project.run(f"--candidate-model=openai/{CANDIDATE}").assert_outcomes(passed=2)
    assert set(llm_project.verdicts().values()) == {"MATCH", "UNCHANGED"}
    assert emu.peak_in_flight >= 4
    (recording,) = (llm_project.path / ".llmversion" / "recordings").rglob("*.yaml")
    calls = yaml.safe_load(recording.read_text())["calls"]
    assert asked(calls)[:3] == ["Ada Lovelace", "Marie Curie", "Alan Turing"]

    monkeypatch.setenv("SHUFFLE", "3")
    llm_project.run(f"--candidate-model=openai/{CANDIDATE}").assert_outcomes(passed=2)
    candidate = next(i for i in llm_project.report()["items"] if i["role"] == "candidate")
    assert (candidate["verdict"], candidate["replayed_from_recording"]) == ("UNCHANGED", 10)


def test_a_failed_call_among_calls_made_together_is_the_items_error(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulated_project(llm_project, emu, monkeypatch)
    llm_project.test_file(FAN_OUT.replace("asyncio.gather(*(", "gathered(*(") + TASK_GROUP)
    emu.add_fault(Fault.http(400, every=4))
    result = llm_project.run("--llm-record")
    result.assert_outcomes(failed=1)
    item = llm_project.report()["items"][0]
    assert item["verdict"] == "ERROR"  # a provider's failure, not the test's: an exception group held it
    assert "400" in item["message"]


TASK_GROUP = """

async def gathered(*calls):
    tasks = []
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(call) for call in calls]
    return [task.result() for task in tasks]
"""


# -- the async SDK clients ------------------------------------------------------------------------------------

SDK_ASK = {
    "openai": """\
async def ask(client, model, text, stream):
    messages = [{"role": "user", "content": text}]
    if not stream:
        reply = await client.chat.completions.create(model=model, messages=messages, temperature=0)
        return reply.choices[0].message.content
    chunks = await client.chat.completions.create(model=model, messages=messages, temperature=0, stream=True)
    return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
""",
    "anthropic": """\
async def ask(client, model, text, stream):
    question = {"max_tokens": 200, "messages": [{"role": "user", "content": text}]}
    if not stream:
        return (await client.messages.create(model=model, **question)).content[0].text
    async with client.messages.stream(model=model, **question) as events:
        return await events.get_final_text()
""",
    "gemini": """\
async def ask(aio, model, text, stream):
    if not stream:
        return (await aio.models.generate_content(model=model, contents=text)).text
    pieces = await aio.models.generate_content_stream(model=model, contents=text)
    return "".join([p.text or "" async for p in pieces])
""",
}
SDK_MODELS = {"openai": "gpt-4o-2024-08-06", "anthropic": "claude-sonnet-4-6", "gemini": "gemini-3.5-flash"}

SDK_FAN_OUT = (
    """\
import asyncio
import json
import pytest
from app import ask
from pytest_llmversion import checks

"""
    + PEOPLE
    + """

@pytest.mark.anyio
@pytest.mark.llm_regression
async def test_people(llm_{provider}_async, llm_model, llm_golden):
    async def one(i, delay):
        await asyncio.sleep(delay)
        name, city = PEOPLE[i]
        text = await ask(llm_{provider}_async, llm_model.model_id, f"{{name}} was born in {{city}}.", i % 2 == 0)
        return i, json.loads(text)

    answers = dict(await asyncio.gather(*(one(i, delay) for i, delay in arrival_order())))
    assert answers == {{i: {{"name": name, "city": city}} for i, (name, city) in enumerate(PEOPLE)}}
    llm_golden.check(answers[0], checks.json_field("city", "London"))
"""
)


@pytest.mark.parametrize("provider", sorted(SDK_ASK))
def test_an_async_sdk_clients_calls_go_out_together_and_replay_in_any_order(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    model = SDK_MODELS[provider]
    emu.add_model(model, M1)
    monkeypatch.setattr(emu, "jitter_ms", 40.0)
    llm_project.write_config(extra=emu.provider_tables(), model=f"{provider}/{model}", **FAST)
    llm_project.test_file(SDK_ASK[provider], "app.py")
    llm_project.test_file("import pytest\n\n" + ANYIO, "conftest.py")
    llm_project.test_file(SDK_FAN_OUT.format(provider=provider), "test_sdk.py")

    llm_project.run("--llm-record").assert_outcomes(passed=1)
    assert llm_project.verdicts() == {"tests/test_sdk.py::test_people[current]": "RECORDED"}
    assert emu.peak_in_flight >= 4, f"at most {emu.peak_in_flight} of 10 calls were in flight at once"

    for seed in range(5):
        monkeypatch.setenv("SHUFFLE", str(seed))
        llm_project.run().assert_outcomes(passed=1)
        item = llm_project.report()["items"][0]
        assert (item["verdict"], item["calls"]) == ("MATCH", {"live": 0, "replayed": 10}), seed
    assert len(emu.requests(model)) == 10


THREADED = (
    """\
import json
import time
from concurrent.futures import ThreadPoolExecutor
import pytest
from pytest_llmversion import checks

"""
    + PEOPLE
    + """

@pytest.mark.llm_regression
def test_threads(llm_openai, llm_model, llm_golden):
    def one(i, delay):
        time.sleep(delay)
        name, city = PEOPLE[i]
        messages = [{"role": "user", "content": f"{name} was born in {city}."}]
        reply = llm_openai.chat.completions.create(model=llm_model.model_id, messages=messages)
        return i, json.loads(reply.choices[0].message.content)

    with ThreadPoolExecutor(10) as pool:
        answers = dict(pool.map(lambda call: one(*call), arrival_order()))
    assert answers == {i: {"name": name, "city": city} for i, (name, city) in enumerate(PEOPLE)}
    llm_golden.check(answers[0], checks.json_field("city", "London"))
"""
)


def test_a_sync_sdk_client_called_from_threads_sends_together_and_replays_in_any_order(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulated_project(llm_project, emu, monkeypatch)
    llm_project.test_file(THREADED)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    assert emu.peak_in_flight >= 4, f"at most {emu.peak_in_flight} of 10 calls were in flight at once"
    for seed in range(3):
        monkeypatch.setenv("SHUFFLE", str(seed))
        llm_project.run().assert_outcomes(passed=1)
        assert llm_project.verdicts() == {"tests/test_llm.py::test_threads[current]": "MATCH"}
