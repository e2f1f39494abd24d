"""Real providers in a user's run: candidates judged through each SDK, fallbacks, served-model drift, bad input."""

from __future__ import annotations

import socket
import sys

import pytest
from conftest import ENTITY_TEST, M1, LLMProject
from emulated import deprecated_anthropic_model

from pytest_llmversion.testing import Emulator, Fault

CANDIDATE = "tests/test_llm.py::test_extracts_city[candidate]"
CURRENT = "tests/test_llm.py::test_extracts_city[current]"
#: Fast retries: a test never waits long for a backoff.
FAST = {"max_retries": 1, "retry_base_delay": 0.0, "retry_max_delay": 0.0}


def use_emulator(project: LLMProject, emu: Emulator, extra: str = "", **values: object) -> None:
    project.write_config(extra=emu.provider_tables() + extra, **FAST, **values)


@pytest.mark.parametrize(
    ("candidate", "extra"),
    [
        ("openai/gpt-4o-2024-11-20", ""),
        ("anthropic/claude-opus-4-6", ""),
        ("gemini/gemini-2.5-flash", ""),
        ("google-legacy/gemini-3.5-flash", ""),
        ("local/llama3.1:8b", '\n[tool.llmversion.providers.local]\nkind = "openai"\nbase_url = "{url}/v1"\n'),
        ("responses/gpt-5", '\n[tool.llmversion.providers.responses]\nkind = "openai"\napi = "responses"\n'),
    ],
    ids=["openai", "anthropic", "gemini", "google-legacy", "named-endpoint", "named-responses"],
)
def test_a_candidate_is_judged_through_its_providers_sdk(
    llm_project: LLMProject, emu: Emulator, candidate: str, extra: str
) -> None:
    emu.add_model(candidate.split("/", 1)[1], M1)
    extra = extra.replace("{url}", emu.url)
    if candidate.startswith("responses/"):
        extra += f'base_url = "{emu.openai_base_url}"\n'
    use_emulator(llm_project, emu, extra)
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)

    result = llm_project.run(f"--candidate-model={candidate}")
    result.assert_outcomes(passed=2)
    assert llm_project.verdicts() == {CANDIDATE: "UNCHANGED", CURRENT: "MATCH"}
    item = next(i for i in llm_project.report()["items"] if i["role"] == "candidate")
    assert item["calls"] == {"live": 1, "replayed": 1}
    assert item["models_served"] == [candidate.split("/", 1)[1]]
    assert len(emu.requests()) == 1


def test_the_responses_api_is_used_when_the_config_says_so(llm_project: LLMProject, emu: Emulator) -> None:
    emu.add_model("gpt-5-2025-08-07", M1)
    use_emulator(llm_project, emu, openai_api="responses", model="openai/gpt-5-2025-08-07")
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    assert [r.path for r in emu.requests()] == ["/v1/responses"]


def test_a_candidate_answered_by_a_fallback_is_an_error(llm_project: LLMProject, emu: Emulator) -> None:
    emu.add_model("gpt-4o-2024-11-20", M1)
    emu.add_model("claude-opus-4-6", M1)
    emu.add_fault(Fault.http(429, retry_after=0.01, model="gpt-4o-2024-11-20"))
    use_emulator(llm_project, emu, fallback_models=["anthropic/claude-opus-4-6"])
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)

    result = llm_project.run("--candidate-model=openai/gpt-4o-2024-11-20")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "ERROR: answered by fallback anthropic/claude-opus-4-6, not the candidate openai/gpt-4o-2024-11-20 "
            "(openai/gpt-4o-2024-11-20: rate limited (429); retry after 0.01s: injected 429 (2 tries)); "
            "a fallback's answer is never scored as the candidate's",
            "*gate: FAIL (1 candidate ERROR: test_extracts_city)",
        ]
    )
    assert llm_project.verdicts()[CANDIDATE] == "ERROR"
    assert len(emu.requests("gpt-4o-2024-11-20")) == 2  # one try, one retry, then the fallback
    assert len(emu.requests("claude-opus-4-6")) == 1


def test_a_pinned_model_served_as_another_is_drift_with_a_warning(llm_project: LLMProject, emu: Emulator) -> None:
    emu.add_model("gpt-4o-2024-08-06", M1)
    use_emulator(llm_project, emu, model="openai/gpt-4o-2024-08-06")
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)

    emu.add_model("gpt-4o-2024-08-06", served_as="gpt-4o-2024-11-20")  # the provider swapped the snapshot
    result = llm_project.run("--llm-live")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*note: the provider served gpt-4o-2024-11-20 for pinned gpt-4o-2024-08-06",
            "warning: openai/gpt-4o-2024-08-06 was answered by gpt-4o-2024-11-20 (1 item): "
            "the provider served another model than the id requested",
        ]
    )
    assert llm_project.verdicts() == {CURRENT: "DRIFT"}
    assert llm_project.report()["summary"]["served_model_warnings"]


def test_an_allowed_alias_is_drift_only_when_it_moved(llm_project: LLMProject, emu: Emulator) -> None:
    emu.add_model("gpt-4o", M1, served_as="gpt-4o-2024-08-06")
    use_emulator(llm_project, emu, model="openai/gpt-4o", allow_unpinned=True)
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    assert "model_served: gpt-4o-2024-08-06" in llm_project.golden("test_llm/test_extracts_city.yaml").read_text()

    llm_project.run("--llm-live").assert_outcomes(passed=1)  # the alias still serves the golden's snapshot
    assert llm_project.verdicts() == {CURRENT: "MATCH"}

    emu.add_model("gpt-4o", served_as="gpt-4o-2024-11-20")  # the alias moved
    result = llm_project.run("--llm-live")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*note: the provider served gpt-4o-2024-11-20 for gpt-4o, not gpt-4o-2024-08-06 as when its golden was *"]
    )
    assert llm_project.verdicts() == {CURRENT: "DRIFT"}


@pytest.mark.parametrize("samples", [1, 2])
def test_a_providers_own_name_for_the_model_is_no_drift(llm_project: LLMProject, emu: Emulator, samples: int) -> None:
    # Gemini answers a stable name with its versioned one; the golden recorded that same name
    emu.add_model("gemini-2.5-flash", M1, served_as="gemini-2.5-flash-001")
    use_emulator(llm_project, emu, model="gemini/gemini-2.5-flash", samples=samples)
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)

    llm_project.run("--llm-live").assert_outcomes(passed=1)
    assert llm_project.verdicts() == {CURRENT: "MATCH"}
    item = llm_project.report()["items"][0]
    assert (item["models_served"], item["samples"]) == (["gemini-2.5-flash-001"], samples)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("setup", "line"),
    [
        ("no key", "*AuthError: anthropic: no API key: set ANTHROPIC_API_KEY (or name another variable in *"),
        ("refused", "*anthropic/claude-opus-4-6: cannot connect to http://127.0.0.1:* (connection refused) (2 tries)"),
        ("404", "*ModelNotFound: anthropic/claude-opus-4-6: model not found (404): *may be retired*"),
        ("malformed", "*MalformedResponse: anthropic/claude-opus-4-6: the response body could not be read*"),
    ],
    ids=["no-key", "refused", "404", "malformed"],
)
def test_bad_input_is_one_line_and_the_candidate_is_an_error(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch, setup: str, line: str
) -> None:
    if setup != "404":
        emu.add_model("claude-opus-4-6", M1)
    extra = ""
    if setup == "no key":
        monkeypatch.delenv("ANTHROPIC_API_KEY")
    if setup == "refused":
        extra = f'\n[tool.llmversion.providers.anthropic]\nbase_url = "http://127.0.0.1:{_closed_port()}"\n'
    if setup == "malformed":
        emu.add_fault(Fault.malformed())
    llm_project.write_config(extra=extra or emu.provider_tables(), **FAST)
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)

    result = llm_project.run("--candidate-model=anthropic/claude-opus-4-6")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([line])
    assert llm_project.verdicts()[CANDIDATE] == "ERROR"


def test_an_unknown_provider_stops_the_run_with_one_line(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    result = llm_project.run("--candidate-model=openia/gpt-4o")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown provider 'openia' in 'openia/gpt-4o' (did you mean 'openai'?)*"])


def test_a_deprecated_model_under_w_error_is_a_notice_not_a_crash(llm_project: LLMProject, emu: Emulator) -> None:
    model = deprecated_anthropic_model()
    emu.add_model(model, M1)
    use_emulator(llm_project, emu)
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)

    result = llm_project.run("-W", "error", f"--candidate-model=anthropic/{model}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [f"notice: anthropic/{model}: The model '{model}' is deprecated and will reach end-of-life*"]
    )
    assert llm_project.report()["summary"]["provider_notices"]


def test_no_sdk_is_imported_until_a_test_uses_its_provider(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    script = (
        "import sys, pytest\n"
        "pytest.main(['--help'])\n"
        "pytest.main(['-q', '--llm-record'])\n"
        "sdks = sorted({m.split('.')[0] for m in sys.modules} & {'openai', 'anthropic', 'httpx2'})\n"
        "print('SDKS', sdks, 'google.genai' in sys.modules, 'google.generativeai' in sys.modules)\n"
    )
    result = llm_project.pytester.run(sys.executable, "-c", script)
    result.stdout.fnmatch_lines(["SDKS [] False False"])
    assert llm_project.verdicts() == {CURRENT: "RECORDED"}
