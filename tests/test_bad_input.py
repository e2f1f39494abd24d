"""Every bad input a user can make, and the one line it prints: a changed message shows in review.

Each row is a user's project with one thing wrong (config, option, marker, cases file, golden, catalogue, prompt
registry, provider) and the exact line the run prints, or a ``llmversion`` command and the line on stderr.
None of them may end in INTERNALERROR or a traceback.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import ENTITY_TEST, LLMProject

from pytest_llmversion.cli import main

GOLDEN_PATH = "tests/__llm_goldens__/test_llm/test_extracts_city.yaml"
RERECORD = 'pytest --llm-record "tests/test_llm.py::test_extracts_city[current]"'
GOLDEN = """\
# pytest-llmversion golden: the blessed output of the current model for one test.
# Review changes like code. Re-record: pytest --llm-record "tests/test_llm.py::test_extracts_city[current]"
# SYNTHETIC: answered by a scripted stand-in model, not by a real model.
schema: 1
test: tests/test_llm.py::test_extracts_city
model: scripted/m1
synthetic: true
request:
  messages:
  - role: user
    content: Ada Lovelace was born in London.
  params:
    max_tokens: 1024
    temperature: 0.0
fingerprint: sha256:2d8f91402042a9ae
samples:
- score: 1.0
  usage:
    input_tokens: 8
    output_tokens: 11
  output: '{"name": "Ada Lovelace", "city": "London"}'
"""
CASES_TEST = """\
import pytest

@pytest.mark.llm_regression(cases="cases.yaml")
def test_case(llm, llm_case):
    llm.complete(llm_case.input)
"""
PROMPT_TEST = """\
import pytest

@pytest.mark.llm_regression
def test_triage(llm):
    llm.complete(llm.prompt("triage"), ticket="The app crashes.")
"""


def marker_test(arguments: str) -> str:
    return f"import pytest\n\n@pytest.mark.llm_regression({arguments})\ndef test_x(llm):\n    llm.complete('hi')\n"


@dataclass(frozen=True)
class Bad:
    """A project with one thing wrong, and the line that says so."""

    line: str
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    #: ``[tool.llmversion]`` keys to set (None: leave the key out)
    config: Mapping[str, Any] = field(default_factory=dict)
    #: TOML after the ``[tool.llmversion]`` table (sub-tables)
    extra: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    test: str = ENTITY_TEST


PYTEST_RUNS = {
    # -- [tool.llmversion] ---------------------------------------------------------------------------------
    "config-unknown-key": Bad(
        "ERROR: pytest-llmversion: unknown key 'modle' in pyproject.toml [tool.llmversion] (did you mean 'model'?)",
        config={"modle": "scripted/m1"},
    ),
    "config-out-of-range": Bad(
        "ERROR: pytest-llmversion: temperature = 5 from pyproject.toml [tool.llmversion] is invalid: Input should be "
        "less than or equal to 2; allowed: a number from 0 to 2",
        config={"temperature": 5},
    ),
    "config-wrong-type": Bad(
        "ERROR: pytest-llmversion: samples = 'many' from pyproject.toml [tool.llmversion] is invalid: Input should be "
        "a valid integer, unable to parse string as an integer; allowed: a whole number from 1 to 1000",
        config={"samples": "many"},
    ),
    "config-nan": Bad(
        "ERROR: pytest-llmversion: max_cost_increase = nan from pyproject.toml [tool.llmversion] is invalid: Input "
        "should be a finite number; allowed: a number > -100",
        extra="max_cost_increase = nan\n",
    ),
    "config-model-without-provider": Bad(
        "ERROR: pytest-llmversion: model from pyproject.toml [tool.llmversion]: 'gpt-4o' is not a model reference: "
        "expected 'provider/model-id', e.g. 'openai/gpt-4o-2024-11-20'",
        config={"model": "gpt-4o"},
    ),
    "config-rollout-not-a-table": Bad(
        "ERROR: pytest-llmversion: rollout = true in pyproject.toml [tool.llmversion]: the rollout settings are a "
        "table, [tool.llmversion.rollout] with candidate_percent = 0, stages = [1, 10, 50, 100], ...",
        extra="rollout = true\n",
    ),
    "config-goldens-outside": Bad(
        "ERROR: pytest-llmversion: goldens = '../goldens' from pyproject.toml [tool.llmversion] is invalid: must be "
        "a relative folder name inside the project",
        config={"goldens": "../goldens"},
    ),
    "config-environment": Bad(
        "ERROR: pytest-llmversion: samples = 'many' from environment LLMVERSION_SAMPLES is invalid: Input should be "
        "a valid integer, unable to parse string as an integer; allowed: a whole number from 1 to 1000",
        env={"LLMVERSION_SAMPLES": "many"},
    ),
    # -- options -------------------------------------------------------------------------------------------
    "option-record-and-live": Bad(
        "ERROR: pytest-llmversion: --llm-record and --llm-live cannot be combined", args=("--llm-record", "--llm-live")
    ),
    "option-samples-zero": Bad(
        "pytest.main(): error: argument --llm-samples: must be at least 1, got 0", args=("--llm-samples=0",)
    ),
    "option-budget-nan": Bad(
        "ERROR: pytest-llmversion: budget_usd = nan from --llm-budget-usd is invalid: Input should be a finite "
        "number; allowed: a number > 0",
        args=("--llm-budget-usd=nan",),
    ),
    "option-concurrency-zero": Bad(
        "pytest.main(): error: argument --llm-concurrency: must be at least 1, got 0", args=("--llm-concurrency=0",)
    ),
    "option-ini-concurrency": Bad(
        "ERROR: pytest-llmversion: ini option llm_concurrency in pyproject.toml: 'nan' is not a whole number",
        args=("-o", "llm_concurrency=nan"),
    ),
    "option-report-is-a-folder": Bad(
        "ERROR: pytest-llmversion: --llm-report-html: 'tests' is a folder; name the file to write (e.g. "
        "tests/report.html)",
        args=("--llm-report-html=tests",),
    ),
    "option-report-cannot-be-written": Bad(
        "llmversion: could not write the report to pyproject.toml/report.json: Not a directory",
        args=("--llm-record", "--llm-report=pyproject.toml/report.json"),
    ),
    "option-current-model": Bad(
        "ERROR: pytest-llmversion: model from --current-model: 'nonsense' is not a model reference: expected "
        "'provider/model-id', e.g. 'openai/gpt-4o-2024-11-20'",
        args=("--current-model=nonsense",),
    ),
    # -- marker arguments ----------------------------------------------------------------------------------
    "marker-positional": Bad(
        "tests/test_llm.py::test_x: @pytest.mark.llm_regression argument 'cases.yaml': positional arguments are not "
        "accepted; use keywords (tags, cases, tolerance, samples, threshold)",
        test=marker_test("'cases.yaml'"),
    ),
    "marker-unknown": Bad(
        "tests/test_llm.py::test_x: @pytest.mark.llm_regression argument 'sample': unknown argument (did you mean "
        "'samples'?); allowed: tags, cases, tolerance, samples, threshold",
        test=marker_test("sample=3"),
    ),
    "marker-tolerance": Bad(
        "tests/test_llm.py::test_x: @pytest.mark.llm_regression argument 'tolerance': expected a number from 0 to 1, "
        "got nan",
        test=marker_test("tolerance=float('nan')"),
    ),
    "marker-samples": Bad(
        "tests/test_llm.py::test_x: @pytest.mark.llm_regression argument 'samples': expected a whole number >= 1, "
        "got 0",
        test=marker_test("samples=0"),
    ),
    "marker-tags": Bad(
        "tests/test_llm.py::test_x: @pytest.mark.llm_regression argument 'tags': expected a list of strings, got [1]",
        test=marker_test("tags=[1]"),
    ),
    # -- cases files ---------------------------------------------------------------------------------------
    "cases-missing": Bad("tests/test_llm.py::test_case: tests/cases.yaml: cases file not found", test=CASES_TEST),
    "cases-latin-1": Bad(
        "tests/test_llm.py::test_case: tests/cases.yaml: not UTF-8 text (byte 0xe9 at line 2: save it as UTF-8)",
        files={"tests/cases.yaml": "- id: cafe\n  input: caf\xe9\n".encode("latin-1")},
        test=CASES_TEST,
    ),
    "cases-duplicate-id": Bad(
        "tests/test_llm.py::test_case: tests/cases.yaml:3: duplicate case id 'a' (first at tests/cases.yaml:1)",
        files={"tests/cases.yaml": "- {id: a, input: x}\n- {id: b, input: y}\n- {id: a, input: z}\n"},
        test=CASES_TEST,
    ),
    "cases-no-input": Bad(
        "tests/test_llm.py::test_case: tests/cases.yaml:1: case 'a' has no 'input'",
        files={"tests/cases.yaml": "- {id: a}\n"},
        test=CASES_TEST,
    ),
    "cases-not-a-list": Bad(
        "tests/test_llm.py::test_case: tests/cases.yaml: expected a non-empty list of cases, each with 'id' and "
        "'input'",
        files={"tests/cases.yaml": "id: a\ninput: x\n"},
        test=CASES_TEST,
    ),
    "cases-alias-loop": Bad(
        "tests/test_llm.py::test_case: tests/cases.yaml: an alias (*name) is used inside the node its anchor (&name) "
        "marks",
        files={"tests/cases.yaml": "- id: a\n  input: &loop [*loop]\n"},
        test=CASES_TEST,
    ),
    # -- goldens -------------------------------------------------------------------------------------------
    "golden-merge-conflict": Bad(
        f"{GOLDEN_PATH}: not valid YAML at line 7: could not find expected ':' (did a merge leave conflict "
        f"markers?); fix it, or delete it and re-record: {RERECORD}",
        files={GOLDEN_PATH: GOLDEN.replace("model: scripted/m1\n", "<<<<<<< HEAD\nmodel: scripted/m1\n>>>>>>> x\n")},
    ),
    "golden-binary": Bad(
        f"{GOLDEN_PATH}: samples.0.output: binary data (!!binary); a golden holds text, numbers, true/false, null, "
        f"lists and mappings (quote the value to keep it as text); fix it, or re-record: {RERECORD}",
        files={GOLDEN_PATH: GOLDEN.replace("  output: '", "  output: !!binary aGk=\n  was: '")},
    ),
    "golden-calls-without-output": Bad(
        f"{GOLDEN_PATH}: samples.0: lists calls: but has no output: (the answer to the sample's first call); fix "
        f"it, or re-record: {RERECORD}",
        files={GOLDEN_PATH: GOLDEN.replace("  output: '", "  calls: [{fingerprint: sha256:0, output: x}]\n  was: '")},
    ),
    "golden-newer-schema": Bad(
        f"{GOLDEN_PATH}: written by a newer pytest-llmversion (schema 9); upgrade the plugin",
        files={GOLDEN_PATH: GOLDEN.replace("schema: 1", "schema: 9")},
    ),
    "golden-tool-call-without-name": Bad(
        f"{GOLDEN_PATH}: samples.0.tool_calls: a tool call needs a name and an arguments mapping; fix it, or "
        f"re-record: {RERECORD}",
        files={GOLDEN_PATH: GOLDEN.replace("schema: 1", "schema: 2") + "  tool_calls: [{arguments: {}}]\n"},
    ),
    "golden-embedding-dimensions": Bad(
        f"{GOLDEN_PATH}: samples.0.embeddings: an embedding's dimensions must be a whole number, not [4]; fix it, "
        f"or re-record: {RERECORD}",
        files={
            GOLDEN_PATH: GOLDEN.replace("schema: 1", "schema: 2")
            + "  embeddings: [{dimensions: [4], float32: AAAAAA==}]\n"
        },
    ),
    "golden-latin-1": Bad(
        f"{GOLDEN_PATH}: not UTF-8 text (byte 0xe9 at line 11: save it as UTF-8); fix it, or delete it and "
        f"re-record: {RERECORD}",
        files={GOLDEN_PATH: GOLDEN.replace("London.", "Lond\xe9.").encode("latin-1")},
    ),
    "golden-record-over-broken": Bad(
        f"{GOLDEN_PATH}: not valid YAML at line 7: did not find expected ',' or ']'; kept as it is, not overwritten "
        f"(hand edits?): fix it, or delete it, then record again: {RERECORD}",
        files={GOLDEN_PATH: GOLDEN.replace("model: scripted/m1", "model: [scripted/m1")},
        args=("--llm-record",),
    ),
    # -- the catalogue -------------------------------------------------------------------------------------
    "catalog-datetime": Bad(
        'ERROR: pytest-llmversion: [tool.llmversion.catalog."scripted/m1"] retires = 2027-01-14T00:00:00 is a date '
        "and time, not a date: write the day alone (retires = 2027-01-14)",
        extra='[tool.llmversion.catalog."scripted/m1"]\nretires = 2027-01-14T00:00:00\n',
    ),
    "catalog-nan-price": Bad(
        'ERROR: pytest-llmversion: [tool.llmversion.catalog."scripted/m1"] input_per_mtok = nan is not a price '
        "(USD per million tokens, e.g. 2.5)",
        extra='[tool.llmversion.catalog."scripted/m1"]\ninput_per_mtok = nan\noutput_per_mtok = 1\n',
    ),
    "catalog-unknown-field": Bad(
        "ERROR: pytest-llmversion: [tool.llmversion.catalog.\"scripted/m1\"]: unknown field 'retire' (did you mean "
        "'retires'?); allowed: kind, alias_of, successor, deprecated, retires, as_of, input_per_mtok, "
        "output_per_mtok, cached_per_mtok, context_window, max_output_tokens, rejects_params, source, note",
        extra='[tool.llmversion.catalog."scripted/m1"]\nretire = 2027-01-14\n',
    ),
    "catalog-file-entry": Bad(
        "ERROR: .llmversion/catalog.json: openai/x: an entry must be an object of fields, got 0",
        files={".llmversion/catalog.json": '{"models": {"openai/x": 0}}'},
    ),
    "catalog-file-null-sources": Bad(
        "ERROR: .llmversion/catalog.json: openai/x: sources = None must be a list of strings",
        files={".llmversion/catalog.json": '{"models": {"openai/x": {"sources": null}}}'},
    ),
    "catalog-file-list-successor": Bad(
        "ERROR: .llmversion/catalog.json: openai/x: successor = ['openai/y'] must be a model id, 'provider/<model-id>'",
        files={".llmversion/catalog.json": '{"models": {"openai/x": {"successor": ["openai/y"]}}}'},
    ),
    "catalog-file-list-provenance": Bad(
        "ERROR: .llmversion/catalog.json: provenance must be an object (litellm, generated, ...), got ['litellm']",
        files={".llmversion/catalog.json": '{"provenance": ["litellm"], "models": {}}'},
    ),
    "catalog-file-not-json": Bad(
        "ERROR: .llmversion/catalog.json: not valid JSON at line 1: Expecting value",
        files={".llmversion/catalog.json": "models: {}\n"},
    ),
    # -- the prompt registry -------------------------------------------------------------------------------
    "registry-not-yaml": Bad(
        "prompts/triage.yaml: not valid YAML at line 4: did not find expected ',' or ']'",
        files={"prompts/triage.yaml": "versions:\n  v1:\n    user: [a\n"},
        test=PROMPT_TEST,
    ),
    "registry-module-function": Bad(
        "prompts = 'json:dumps' is a function, not a dict of task -> model -> prompt (e.g. {\"triage\": "
        '{"default": {"system": "...", "user": "{{input}}"}}})',
        config={"prompts": "json:dumps"},
        test=PROMPT_TEST,
    ),
    "registry-empty-target": Bad(
        "prompts = ':': expected a folder, or module:ATTRIBUTE naming a dict (e.g. 'myapp.prompts:PROMPTS')",
        config={"prompts": ":"},
        test=PROMPT_TEST,
    ),
    "registry-unknown-task": Bad(
        "no prompt task 'triage' in the registry (tasks: reply)",
        files={"prompts/reply.yaml": "versions:\n  v1: {default: true, user: 'Reply to {{ticket}}'}\n"},
        test=PROMPT_TEST,
    ),
    "registry-missing-variable": Bad(
        "prompt triage@v1 needs customer; pass them as keywords to llm.complete()",
        files={"prompts/triage.yaml": "versions:\n  v1: {default: true, user: '{{customer}}: {{ticket}}'}\n"},
        test=PROMPT_TEST,
    ),
    "registry-duplicate-version": Bad(
        "prompts/triage.yaml:3: 'v1' appears twice in the same mapping (a duplicate version?)",
        files={"prompts/triage.yaml": "versions:\n  v1: {default: true, user: '{{ticket}}'}\n  v1: {user: x}\n"},
        test=PROMPT_TEST,
    ),
    # -- providers -----------------------------------------------------------------------------------------
    "provider-no-key": Bad(
        "AuthError: openai: no API key: set OPENAI_API_KEY (or name another variable in "
        "[tool.llmversion.providers.openai] api_key_env)",
        config={"model": "openai/gpt-4o-2024-08-06"},
        args=("--llm-record",),
    ),
    "provider-rate-nan": Bad(
        "ERROR: pytest-llmversion: providers.openai.requests_per_minute = nan from pyproject.toml [tool.llmversion] is "
        "invalid: Input should be a finite number; allowed: a whole number >= 1",
        extra="[tool.llmversion.providers.openai]\nrequests_per_minute = nan\n",
    ),
    "provider-without-kind": Bad(
        'ERROR: pytest-llmversion: providers.corp from pyproject.toml [tool.llmversion] needs kind = "openai" (or '
        "anthropic, gemini) to say which wire protocol the endpoint speaks",
        extra='[tool.llmversion.providers.corp]\nbase_url = "http://127.0.0.1:9"\n',
    ),
    "provider-scripted-model-missing": Bad(
        "ScriptError: scripted model 'm9' has no file models/m9.yaml (scripted models here: m1)",
        args=("--llm-record", "--current-model=scripted/m9"),
    ),
}


@pytest.mark.parametrize("bad", PYTEST_RUNS.values(), ids=PYTEST_RUNS.keys())
def test_a_bad_input_stops_with_its_one_line(
    llm_project: LLMProject, monkeypatch: pytest.MonkeyPatch, bad: Bad
) -> None:
    llm_project.write_config(extra=bad.extra, **bad.config)
    for relpath, content in bad.files.items():
        path = llm_project.path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    llm_project.test_file(bad.test)
    for name, value in bad.env.items():
        monkeypatch.setenv(name, value)
    result = llm_project.run(*bad.args)
    printed = result.outlines + result.errlines
    assert bad.line in printed, "\n".join(printed)
    assert result.ret not in (pytest.ExitCode.OK, pytest.ExitCode.INTERNAL_ERROR)
    assert not [line for line in printed if "INTERNALERROR" in line or "Traceback (most recent" in line]


# -- llmversion commands ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadCommand:
    line: str
    args: tuple[str, ...]
    files: Mapping[str, str] = field(default_factory=dict)
    pyproject: str = '[tool.llmversion]\nmodel = "scripted/m1"\n'


COMMANDS = {
    "check-rollout-not-a-table": BadCommand(
        "llmversion: rollout = true in pyproject.toml [tool.llmversion]: the rollout settings are a table, "
        "[tool.llmversion.rollout] with candidate_percent = 0, stages = [1, 10, 50, 100], ...",
        ("check",),
        pyproject='[tool.llmversion]\nmodel = "scripted/m1"\nrollout = true\n',
    ),
    "check-rollout-stages": BadCommand(
        "llmversion: [tool.llmversion.rollout] stages = [50, 10]: stages must increase",
        ("check",),
        pyproject='[tool.llmversion]\nmodel = "scripted/m1"\n[tool.llmversion.rollout]\nstages = [50, 10]\n',
    ),
    "check-registry-module": BadCommand(
        "llmversion: prompts = 'json:dumps' is a function, not a dict of task -> model -> prompt (e.g. "
        '{"triage": {"default": {"system": "...", "user": "{{input}}"}}})',
        ("check",),
        pyproject='[tool.llmversion]\nmodel = "scripted/m1"\nprompts = "json:dumps"\n',
    ),
    "deprecations-datetime": BadCommand(
        'llmversion: [tool.llmversion.catalog."scripted/m1"] retires = 2027-01-14T00:00:00 is a date and time, not '
        "a date: write the day alone (retires = 2027-01-14)",
        ("deprecations",),
        pyproject='[tool.llmversion]\nmodel = "scripted/m1"\n[tool.llmversion.catalog."scripted/m1"]\n'
        "retires = 2027-01-14T00:00:00\n",
    ),
    "deprecations-list-successor": BadCommand(
        "llmversion: .llmversion/catalog.json: scripted/m1: successor = ['a'] must be a model id, "
        "'provider/<model-id>'",
        ("deprecations",),
        files={".llmversion/catalog.json": '{"models": {"scripted/m1": {"successor": ["a"]}}}'},
    ),
    "report-bad-config": BadCommand(
        "llmversion: unknown key 'modle' in pyproject.toml [tool.llmversion] (did you mean 'model'?)",
        ("report",),
        pyproject='[tool.llmversion]\nmodle = "scripted/m1"\n',
    ),
    "promote-no-report": BadCommand(
        "llmversion: no report at .llmversion/report.json; run pytest --candidate-model=provider/model first",
        ("promote",),
    ),
    "promote-report-not-json": BadCommand(
        "llmversion: .llmversion/report.json: not a pytest-llmversion report (JSONDecodeError)",
        ("promote",),
        files={".llmversion/report.json": "{not json"},
    ),
    "promote-report-latin-1": BadCommand(
        "llmversion: .llmversion/report.json: not a pytest-llmversion report (UnicodeDecodeError)",
        ("promote",),
        files={".llmversion/report.json": "\xe9"},
    ),
}


@pytest.mark.parametrize("bad", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_bad_input_to_a_command_is_its_one_line(tmp_path: Path, bad: BadCommand) -> None:
    (tmp_path / "pyproject.toml").write_text(bad.pyproject)
    for relpath, content in bad.files.items():
        path = tmp_path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("latin-1") if relpath.endswith("report.json") else content.encode())
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--root", str(tmp_path), *bad.args])
    assert code != 0
    assert err.getvalue().splitlines() == [bad.line], err.getvalue()
