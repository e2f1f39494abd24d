"""No API key ever reaches a golden, a recording, a report, a log line or a failure message.

Every provider runs in every mode with canary keys, against servers that behave and servers that repeat the
key back in their error messages; then every file the runs wrote, and everything they printed, is searched.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from conftest import ENTITY_TEST, M1, LLMProject
from emulated import CANARY_KEYS

from pytest_llmversion.testing import Emulator, Fault

CORP_KEY = "corp-canary-0d9e8f7a6b"
MODELS = {
    "openai": "gpt-4o-2024-08-06",
    "anthropic": "claude-opus-4-6",
    "gemini": "gemini-2.5-flash",
    "google-legacy": "gemini-3.5-flash",
    "corp": "llama3.1:8b",
    "corp-responses": "gpt-5",
}


def configure(project: LLMProject, emu: Emulator, **settings: Any) -> None:
    tables = emu.provider_tables() + (
        f'\n[tool.llmversion.providers.corp]\nkind = "openai"\nbase_url = "{emu.openai_base_url}"\n'
        'api_key_env = "CORP_LLM_KEY"\n'
        f'\n[tool.llmversion.providers.corp-responses]\nkind = "openai"\napi = "responses"\n'
        f'base_url = "{emu.openai_base_url}"\napi_key_env = "CORP_LLM_KEY"\n'
    )
    defaults = {
        "model": f"openai/{MODELS['openai']}",
        "fallback_models": [f"anthropic/{MODELS['anthropic']}"],
        "max_retries": 1,
        "retry_base_delay": 0.0,
    }
    project.write_config(extra=tables, **(defaults | settings))
    for model in MODELS.values():
        emu.add_model(model, M1)


def leaks(project: LLMProject, outputs: list[str]) -> list[str]:
    secrets = [*CANARY_KEYS.values(), CORP_KEY]
    found = [f"output {i}" for i, text in enumerate(outputs) for s in secrets if s in text]
    for path in sorted(p for p in project.path.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", "replace")
        found += [f"{path.relative_to(project.path)} holds {s[:12]}..." for s in secrets if s in text]
    return found


def run(project: LLMProject, outputs: list[str], *args: str) -> None:
    result = project.run("-W", "error", "--log-level=DEBUG", "--junitxml=junit.xml", "-rA", *args)
    outputs += ["\n".join(result.outlines), "\n".join(result.errlines)]


def candidates() -> list[str]:
    return [f"--candidate-model={name}/{model}" for name, model in MODELS.items() if name != "openai"]


def test_canary_keys_appear_nowhere_in_any_mode(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORP_LLM_KEY", CORP_KEY)
    configure(llm_project, emu)
    llm_project.test_file(ENTITY_TEST)
    outputs: list[str] = []
    run(llm_project, outputs, "--llm-record")
    run(llm_project, outputs)
    run(llm_project, outputs, "--llm-live")
    for option in candidates():
        run(llm_project, outputs, option)  # once: calls and records
        run(llm_project, outputs, option)  # once: replays the recording
    emu.add_fault(Fault.http(429, message=f"quota exceeded for key {CANARY_KEYS['OPENAI_API_KEY']}"))
    run(llm_project, outputs, f"--candidate-model=openai/{MODELS['openai']}-b")  # fails over to the fallback
    assert {r.api_key for r in emu.requests()} == {*CANARY_KEYS.values(), CORP_KEY}  # every key was really sent

    assert len(list((llm_project.path / ".llmversion" / "recordings").rglob("*.yaml"))) == 5
    assert leaks(llm_project, outputs) == []


@pytest.mark.usefixtures("canary_keys")
def test_servers_that_repeat_the_key_back_cannot_leak_it(
    llm_project: LLMProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORP_LLM_KEY", CORP_KEY)
    with Emulator(api_key="a-key-nobody-has") as strict:  # refuses every key, quoting it in the message
        configure(llm_project, strict)
        llm_project.test_file(ENTITY_TEST)
        outputs: list[str] = []
        run(llm_project, outputs, "--llm-record")
        for option in candidates():
            run(llm_project, outputs, option)
        quoted = [r for r in strict.requests() if r.status == 401]
    assert len(quoted) >= 6
    report = llm_project.report()
    assert {i["verdict"] for i in report["items"] if i["role"] == "candidate"} == {"ERROR"}
    assert "the API key in CORP_LLM_KEY was refused (401): Incorrect API key provided: ***." in "\n".join(outputs)
    assert leaks(llm_project, outputs) == []


SDK_TEST = """\
import pytest
from pytest_llmversion import checks

PROMPT = [{"role": "user", "content": "Ada Lovelace was born in London."}]
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}


@pytest.mark.filterwarnings("ignore::pytest_llmversion.sdk.UnrecordedCallWarning")
@pytest.mark.llm_regression
def test_each_sdk(llm_openai, llm_anthropic, llm_gemini, llm_model, llm_golden):
    model = llm_model.model_id
    # an image is not recordable: the count is sent as it is
    llm_anthropic.messages.count_tokens(model=model, messages=[{"role": "user", "content": [IMAGE]}])
    texts = [
        llm_openai.chat.completions.create(model=model, messages=PROMPT).choices[0].message.content,
        llm_anthropic.messages.create(model=model, max_tokens=64, messages=PROMPT).content[0].text,
        llm_gemini.models.generate_content(model=model, contents=PROMPT[0]["content"]).text,
    ]
    llm_golden.check(texts[2], checks.json_field("city", "London"))
"""


def test_sdk_fixture_clients_leak_no_key(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK fixtures' clients carry the environment's keys; only the calls they pass on unrecorded send
    them (with --llm-allow-passthrough, never from a replay), and a server that quotes one back is answered
    with *** in its place."""
    monkeypatch.setenv("CORP_LLM_KEY", CORP_KEY)
    configure(llm_project, emu)
    llm_project.test_file(SDK_TEST)
    outputs: list[str] = []
    run(llm_project, outputs, "--llm-record", "--llm-allow-passthrough")
    run(llm_project, outputs)  # a replay refuses the token count, naming the call and never the key
    assert llm_project.verdicts() == {"tests/test_llm.py::test_each_sdk[current]": "ERROR"}
    live = ("--llm-live", "--llm-allow-passthrough")
    run(llm_project, outputs, *live, f"--candidate-model=anthropic/{MODELS['anthropic']}")
    assert set(llm_project.verdicts().values()) == {"MATCH", "UNCHANGED"}
    with Emulator(api_key="a-key-nobody-has") as strict:  # the pass-through call is refused, quoting the key
        configure(llm_project, strict)
        run(llm_project, outputs, "--llm-record", "--llm-allow-passthrough")
        # the token count the app makes first (its key quoted back), and the completion the call pool may have
        # sent ahead from the golden: refused alike
        assert {r.status for r in strict.requests()} == {401}
    assert "Incorrect API key provided: ***." in "\n".join(outputs)
    assert llm_project.verdicts() == {"tests/test_llm.py::test_each_sdk[current]": "FAILED"}
    assert leaks(llm_project, outputs) == []


# -- a key quoted in any form ----------------------------------------------------------------------------

#: A key no configured provider has, quoted by a server: key-shaped, so it is hidden too.
STRANGER_KEY = "sk-proj-Zq8vN3kLm2Xy7RtB5wQp9JcD4hFs6GaT1uVe"
#: Public prefixes of the canary keys: alone they are no secret, and they stay readable.
PUBLIC = ("sk-ant-", "sk-")
READABLE = "Keys start with sk-proj- or sk-ant-; the canary was refused."


def quoted_forms(key: str) -> list[str]:
    """How servers and SDKs have been seen to repeat a key back, besides whole."""
    basic = [base64.b64encode((pad + key).encode()).decode() for pad in ("", "u:", "us:")]  # three alignments
    return [
        *basic,
        key[:-3],  # cut short
        f"{key[:11]}\n{key[11:]}",  # split by a line break
        f"{key[:8]}{'*' * 24}{key[-4:]}",  # masked: first 8 and last 4
        STRANGER_KEY,
        f"{STRANGER_KEY[:8]}...{STRANGER_KEY[-4:]}",
    ]


def derived_leaks(text: str, key: str) -> list[str]:
    """What of ``key`` can be read in ``text``: an 8-character piece of its private part, plain, across whitespace
    or base64-encoded at any alignment, or its last characters after a mask."""
    private = key.removeprefix(next((p for p in PUBLIC if key.startswith(p)), ""))
    pieces = {private[i : i + 8] for i in range(len(private) - 7)}
    squashed = re.sub(r"\s+|\\n", "", text)
    found = [f"piece {p!r}" for p in pieces if p in squashed]
    for token in re.findall(r"[A-Za-z0-9+/_-]{12,}", text):
        for start in range(4):
            chunk = token[start:]
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            try:
                decoded = base64.b64decode(chunk.replace("-", "+").replace("_", "/")).decode("latin-1")
            except ValueError:
                continue
            found += [f"base64 of {p!r}" for p in pieces if p in decoded]
    if re.search(rf"[*.]{{3}}{re.escape(key[-4:])}", text):
        found.append(f"masked ...{key[-4:]}")
    return found


def all_leaks(project: LLMProject, outputs: list[str], keys: list[str]) -> list[str]:
    texts = [(f"output {i}", text) for i, text in enumerate(outputs)]
    texts += [
        (str(path.relative_to(project.path)), path.read_bytes().decode("utf-8", "replace"))
        for path in sorted(p for p in project.path.rglob("*") if p.is_file())
    ]
    found = [f"{where}: {leak}" for where, text in texts for key in keys for leak in derived_leaks(text, key)]
    return found + [f"{where}: {STRANGER_KEY[:12]}..." for where, text in texts if STRANGER_KEY[8:20] in text]


CASES_TEST = """\
import pytest

@pytest.mark.llm_regression(cases="cases.yaml")
def test_extracts_city(llm, llm_case):
    llm.complete(llm_case.input)
"""


def test_a_key_quoted_in_any_form_is_hidden_everywhere_and_ordinary_text_stays(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Servers echo keys base64-encoded, cut short, wrapped, or masked; each provider's error with each form
    reaches the terminal (-v verdicts, failure lines, progress and sent-ahead lines), report.json, the Markdown
    and HTML views, GitHub's step summary and JUnit as *** only."""
    monkeypatch.setenv("CORP_LLM_KEY", CORP_KEY)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(llm_project.path / "step-summary.md"))
    monkeypatch.setattr("pytest_llmversion.run.progress.INTERVAL", 0.0)  # a progress line after every item
    configure(llm_project, emu, fallback_models=None, max_retries=0)
    forms = len(quoted_forms(CORP_KEY))
    cases = "".join(f"- id: form-{n}\n  input: Ada Lovelace was born in London.\n" for n in range(forms))
    llm_project.write("tests/cases.yaml", cases)
    llm_project.test_file(CASES_TEST)
    outputs: list[str] = []
    views = ("--llm-report-md=report.md", "--llm-report-html=report.html")
    run(llm_project, outputs, "--llm-record", *views)
    keys = {name: CANARY_KEYS.get(variable, CORP_KEY) for name, variable in KEY_OF.items()}
    for provider, model in MODELS.items():
        emu.clear_faults()
        for n, form in enumerate(quoted_forms(keys[provider]), start=1):  # call n quotes form n
            emu.add_fault(Fault.http(400, message=f"Incorrect API key provided: {form}. {READABLE}", first=n))
        name = f"{provider}/{model}" if provider != "openai" else f"openai/{model}-b"
        run(llm_project, outputs, f"--candidate-model={name}", "-v", *views)
        report = llm_project.report()
        errors = [i["message"] for i in report["items"] if i["role"] == "candidate"]
        assert len(errors) == forms
        said = re.compile(rf"bad request \(400\): Incorrect API key provided: \S*\*\*\*\S*\. {re.escape(READABLE)}")
        assert all(said.search(error) for error in errors), "\n".join(errors)
    shown = "\n".join(outputs)
    assert re.search(r"llmversion: \d+/\d+ LLM items", shown)  # progress lines were printed
    assert "sent ahead:" in shown
    assert (llm_project.path / "step-summary.md").read_text().count("llmversion") >= len(MODELS)
    assert all_leaks(llm_project, outputs, list(keys.values())) == []


#: The variable each provider of ``MODELS`` reads its key from.
KEY_OF = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "google-legacy": "GEMINI_API_KEY",
    "corp": "CORP_LLM_KEY",
    "corp-responses": "CORP_LLM_KEY",
}
