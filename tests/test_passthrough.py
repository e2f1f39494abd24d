"""What leaves the machine: an SDK call the plugin cannot record fails closed unless pass-through is allowed, and a
replay never sends one. The emulator stands in for the provider, so "nothing was sent" is ``emu.requests() == []``."""

from __future__ import annotations

import pytest
from conftest import LLMProject
from test_sdk_fixtures import LOGPROBS_APP, one_test_project

from pytest_llmversion.testing import Emulator

LOGPROBS_REASON = "it asks for logprobs, which a recorded text answer cannot hold"
IN_A_REPLAY = (
    ", and a replay sends nothing (only --llm-record, --llm-live or a candidate called live send such calls, with "
    "--llm-allow-passthrough)"
)
NOT_ALLOWED = "; pass --llm-allow-passthrough to send calls the plugin cannot record"


def refused(emu: Emulator, path: str, reason: str, why: str) -> str:
    return f"llm_openai: {path.split(' ')[0]} {emu.url}{path.split(' ')[1]} was not sent: {reason}{why}"


@pytest.mark.parametrize("args", [[], ["--llm-allow-passthrough"]], ids=["default", "allowed"])
def test_a_replay_sends_nothing_it_cannot_record_and_the_item_is_an_error(
    llm_project: LLMProject, emu: Emulator, args: list[str]
) -> None:
    one_test_project(llm_project, emu, app=LOGPROBS_APP)
    result = llm_project.run(*args)
    result.assert_outcomes(failed=1)
    line = refused(emu, "POST /v1/chat/completions", LOGPROBS_REASON, IN_A_REPLAY)
    result.stdout.fnmatch_lines([line, "gate: FAIL (1 current ERROR: test_person)"])
    assert emu.requests() == []
    (item,) = llm_project.report()["items"]
    assert (item["verdict"], item["message"]) == ("ERROR", line)


CATCHING_APP = """\
MESSAGES = [
    {"role": "system", "content": "Answer with JSON."},
    {"role": "user", "content": "Ada Lovelace was born in London."},
]


def person(client, model):
    try:
        client.chat.completions.create(model=model, messages=MESSAGES, logprobs=True)
    except Exception:
        pass  # the app falls back to a plain answer when its scored call fails
    reply = client.chat.completions.create(model=model, messages=MESSAGES, temperature=0)
    return reply.choices[0].message.content
"""


def test_a_refused_call_the_app_catches_still_makes_the_item_an_error_never_a_match(
    llm_project: LLMProject, emu: Emulator
) -> None:
    one_test_project(llm_project, emu, app=CATCHING_APP)
    llm_project.run("--llm-record", "--llm-allow-passthrough", "-W", "ignore").assert_outcomes(passed=1)
    assert [r.body.get("logprobs") is not None for r in emu.requests()] == [True, False]
    emu.clear_requests()

    result = llm_project.run()
    result.assert_outcomes(failed=1)
    line = refused(emu, "POST /v1/chat/completions", LOGPROBS_REASON, IN_A_REPLAY)
    result.stdout.fnmatch_lines([line])
    assert llm_project.verdicts() == {"tests/test_app.py::test_person[current]": "ERROR"}
    assert llm_project.report()["items"][0]["calls"] == {"live": 0, "replayed": 1}  # the golden answered the rest
    assert emu.requests() == []


ALLOWED = "allowed"


@pytest.mark.parametrize(
    ("cli", "env", "ini", "pyproject", "source"),
    [
        (True, None, None, None, "--llm-allow-passthrough"),
        (False, "1", None, None, "environment LLMVERSION_ALLOW_PASSTHROUGH"),
        (False, None, "true", None, "ini option llm_allow_passthrough in pyproject.toml"),
        (False, None, None, True, "pyproject.toml [tool.llmversion]"),
        (True, "false", None, None, "--llm-allow-passthrough"),
        (False, "false", "true", None, None),
        (False, None, "false", True, None),
        (False, None, None, None, None),
    ],
    ids=["cli", "env", "ini", "pyproject", "cli-over-env", "env-over-ini", "ini-over-pyproject", "default"],
)
def test_pass_through_is_opt_in_cli_over_env_over_ini_over_pyproject_and_the_header_says_where_from(
    llm_project: LLMProject,
    emu: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    cli: bool,
    env: str | None,
    ini: str | None,
    pyproject: bool | None,
    source: str | None,
) -> None:
    one_test_project(llm_project, emu, app=LOGPROBS_APP)
    extra = emu.provider_tables() + (f"\n[tool.pytest.ini_options]\nllm_allow_passthrough = {ini!r}\n" if ini else "")
    llm_project.write_config(extra=extra, allow_passthrough=pyproject)
    if env is not None:
        monkeypatch.setenv("LLMVERSION_ALLOW_PASSTHROUGH", env)
    result = llm_project.run("--llm-record", "-W", "ignore", *(["--llm-allow-passthrough"] if cli else []))
    if source is not None:
        result.assert_outcomes(passed=1)
        header = next(line for line in result.stdout.lines if line.startswith("llmversion: current"))
        assert header.endswith(f", mode record, pass-through allowed ({source}; never from a replay)"), header
        assert [r.path for r in emu.requests()] == ["/v1/chat/completions"]
    else:
        result.assert_outcomes(failed=1)
        assert "pass-through allowed" not in result.stdout.str()
        result.stdout.fnmatch_lines([refused(emu, "POST /v1/chat/completions", LOGPROBS_REASON, NOT_ALLOWED)])
        assert emu.requests() == []


PRECHECK_APP = """\
MESSAGES = [
    {"role": "system", "content": "Answer with JSON."},
    {"role": "user", "content": "Ada Lovelace was born in London."},
]


def person(client, model):
    client.chat.completions.create(model=model, messages=MESSAGES, logprobs=True)  # the app scores its prompt first
    return client.chat.completions.create(model=model, messages=MESSAGES, temperature=0).choices[0].message.content
"""


def test_a_candidate_called_live_may_pass_a_call_on_and_its_recording_replay_may_not(
    llm_project: LLMProject, emu: Emulator
) -> None:
    one_test_project(llm_project, emu, app=PRECHECK_APP)
    allowed = ("--llm-allow-passthrough", "-W", "ignore")
    llm_project.run("--llm-record", *allowed).assert_outcomes(passed=1)
    assert [(r.model, "logprobs" in r.body) for r in emu.requests()] == [
        ("gpt-4o-2024-08-06", True),  # passed on, as the app wrote it
        ("gpt-4o-2024-08-06", False),  # recorded, through the adapter
    ]
    candidate = ("--candidate-model=openai/gpt-4o-2024-11-20", *allowed)
    emu.clear_requests()

    result = llm_project.run(*candidate)  # no recording yet: the candidate is called, and so may pass calls on
    result.assert_outcomes(passed=1, failed=1)
    assert llm_project.verdicts() == {
        "tests/test_app.py::test_person[candidate]": "UNCHANGED",
        "tests/test_app.py::test_person[current]": "ERROR",  # a replay, in a candidate run too
    }
    result.stdout.fnmatch_lines([refused(emu, "POST /v1/chat/completions", LOGPROBS_REASON, IN_A_REPLAY)])
    passed_on = [r.model for r in emu.requests() if "logprobs" in r.body]
    assert passed_on == ["gpt-4o-2024-11-20"] * 2  # the candidate item's baseline and candidate phases
    emu.clear_requests()

    result = llm_project.run(*candidate)  # its recording answers now: a replay, which sends nothing
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([refused(emu, "POST /v1/chat/completions", LOGPROBS_REASON, IN_A_REPLAY)])
    assert set(llm_project.verdicts().values()) == {"ERROR"}
    assert emu.requests() == []

    llm_project.run(*candidate, "--llm-candidate-recordings=all").assert_outcomes(passed=1, failed=1)
    assert [r.model for r in emu.requests() if "logprobs" in r.body] == ["gpt-4o-2024-11-20"] * 2


SOCKET_TEST = """\
import gc
import pytest

@pytest.mark.filterwarnings("ignore::pytest_llmversion.sdk.UnrecordedCallWarning")
@pytest.mark.llm_regression
@pytest.mark.parametrize("fixture", ["llm_openai", "llm_anthropic", "llm_gemini"])
def test_counts_tokens(fixture, request, llm_model):
    client = request.getfixturevalue(fixture)
    model, text = llm_model.model_id, [{"role": "user", "content": "hi"}]
    # calls the plugin cannot record, so they go out: logprobs, an image
    if fixture == "llm_openai":
        assert client.chat.completions.create(model=model, messages=text, logprobs=True).choices
    elif fixture == "llm_anthropic":
        image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
        image_text = [{"role": "user", "content": [image]}]
        assert client.messages.count_tokens(model=model, messages=image_text).input_tokens > 0
    else:
        from google.genai import types

        image = types.Part.from_bytes(data=b"png", mime_type="image/png")
        assert client.models.count_tokens(model=model, contents=[image]).total_tokens >= 0

def test_after_them():
    gc.collect()  # a socket left open by the tests before is reported here
"""


def test_no_connection_is_left_open_after_a_pass_through_call(llm_project: LLMProject, emu: Emulator) -> None:
    """Each SDK fixture closes the HTTP client under it: google-genai does not close one it was given."""
    llm_project.write_config(extra=emu.provider_tables(), model="gemini/gemini-2.5-flash")
    emu.add_model("gemini-2.5-flash", respond="x")
    llm_project.test_file(SOCKET_TEST)
    strict = ("-W", "error::ResourceWarning", "-W", "error::pytest.PytestUnraisableExceptionWarning")
    result = llm_project.run("--llm-record", "--llm-allow-passthrough", *strict)
    result.assert_outcomes(passed=4)
    assert len(emu.requests()) == 3  # each went out, as allowed
    assert emu.open_connections() == 0  # and each connection was closed with the run
