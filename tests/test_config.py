"""Configuration: pyproject.toml < LLMVERSION_* < command line, the header that says where each model
came from, and one clear line (never a pydantic traceback) for every bad value."""

from __future__ import annotations

import pytest
from conftest import ENTITY_TEST, LLMProject

M2 = """\
# synthetic
extends: m1
"""


@pytest.fixture
def project(llm_project: LLMProject) -> LLMProject:
    llm_project.test_file(ENTITY_TEST)
    for name in ("m2", "m3", "m4"):
        llm_project.model(name, M2)
    return llm_project


def assert_one_line_usage_error(result: pytest.RunResult, line: str) -> None:
    """The run stops before collection with exactly one line a person can act on."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [text for text in result.stderr.lines if text.strip()]
    assert len(errors) == 1, errors
    result.stderr.fnmatch_lines([line])
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "validation error" not in output  # pydantic's own "1 validation error for LLMConfig"
    assert "pydantic" not in output


# -- precedence ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "args", "header"),
    [
        pytest.param(
            {},
            [],
            "llmversion: current scripted/m1 (pyproject.toml [tool.llmversion]), "
            "candidate scripted/m2 (pyproject.toml [tool.llmversion]), mode replay",
            id="pyproject",
        ),
        pytest.param(
            {"LLMVERSION_MODEL": "scripted/m3", "LLMVERSION_CANDIDATE_MODEL": "scripted/m4"},
            [],
            "llmversion: current scripted/m3 (environment LLMVERSION_MODEL), "
            "candidate scripted/m4 (environment LLMVERSION_CANDIDATE_MODEL), mode replay",
            id="env-beats-pyproject",
        ),
        pytest.param(
            {"LLMVERSION_MODEL": "scripted/m3", "LLMVERSION_CANDIDATE_MODEL": "scripted/m4"},
            ["--current-model=scripted/m4", "--candidate-model=scripted/m3"],
            "llmversion: current scripted/m4 (--current-model), candidate scripted/m3 (--candidate-model), mode replay",
            id="cli-beats-env",
        ),
        pytest.param(
            {"LLMVERSION_CANDIDATE_MODEL": "scripted/m4"},
            ["--current-model=scripted/m3"],
            "llmversion: current scripted/m3 (--current-model), "
            "candidate scripted/m4 (environment LLMVERSION_CANDIDATE_MODEL), mode replay",
            id="mixed",
        ),
    ],
)
def test_models_resolve_cli_over_env_over_pyproject_and_the_header_says_where_each_came_from(
    project: LLMProject, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], args: list[str], header: str
) -> None:
    project.write_config(candidate_model="scripted/m2")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = project.run(*args)
    result.stdout.fnmatch_lines([header])

    report = project.report()
    current, candidate = header.split("current ")[1].split(" ")[0], header.split("candidate ")[1].split(" ")[0]
    assert report["run"]["current"]["model"] == current
    assert report["run"]["candidate"]["model"] == candidate
    assert report["run"]["current"]["source"] in header
    assert {item["role"]: item["model"] for item in report["items"]} == {"current": current, "candidate": candidate}


def test_tolerance_and_samples_follow_the_same_precedence(project: LLMProject, monkeypatch: pytest.MonkeyPatch) -> None:
    project.write_config(tolerance=0.1, samples=2)
    monkeypatch.setenv("LLMVERSION_TOLERANCE", "0.2")
    result = project.run("--llm-samples=3")
    result.stdout.fnmatch_lines(["llmversion: current scripted/m1 (*), mode replay, samples 3 (--llm-samples)"])
    run = project.report()["run"]
    assert run["tolerance"] == 0.2
    assert run["samples"] == 3


def test_header_shows_when_no_candidate_is_configured_only_the_current_model(project: LLMProject) -> None:
    result = project.run("--llm-record")
    result.stdout.fnmatch_lines(["llmversion: current scripted/m1 (pyproject.toml [tool.llmversion]), mode record"])
    assert "candidate" not in result.stdout.lines[2]


# -- bad values: one line naming the key, its source and what is allowed --------------------------


@pytest.mark.parametrize(
    ("pyproject", "env", "args", "line"),
    [
        pytest.param(
            {"temperature": 5},
            {},
            [],
            "ERROR: pytest-llmversion: temperature = 5 from pyproject.toml [tool.llmversion] is invalid: "
            "Input should be less than or equal to 2; allowed: a number from 0 to 2",
            id="pyproject-out-of-range",
        ),
        pytest.param(
            {"max_tokens": "lots"},
            {},
            [],
            "ERROR: pytest-llmversion: max_tokens = 'lots' from pyproject.toml [tool.llmversion] is invalid: "
            "Input should be a valid integer, unable to parse string as an integer; allowed: a whole number >= 1",
            id="pyproject-wrong-type",
        ),
        pytest.param(
            {"fallback_models": "openai/gpt-4o-2024-08-06"},
            {},
            [],
            "ERROR: pytest-llmversion: fallback_models = 'openai/gpt-4o-2024-08-06' from pyproject.toml "
            "[tool.llmversion] is invalid: Input should be a valid list; "
            "allowed: a list of 'provider/model-id' strings",
            id="pyproject-list-expected",
        ),
        pytest.param(
            {"openai_api": "completions"},
            {},
            [],
            "ERROR: pytest-llmversion: openai_api = 'completions' from pyproject.toml [tool.llmversion] is invalid: "
            "Input should be 'chat' or 'responses'",
            id="pyproject-choice",
        ),
        pytest.param(
            {"goldens": "../elsewhere"},
            {},
            [],
            "ERROR: pytest-llmversion: goldens = '../elsewhere' from pyproject.toml [tool.llmversion] is invalid: "
            "must be a relative folder name inside the project",
            id="pyproject-folder-outside",
        ),
        pytest.param(
            {},
            {"LLMVERSION_SAMPLES": "many"},
            [],
            "ERROR: pytest-llmversion: samples = 'many' from environment LLMVERSION_SAMPLES is invalid: "
            "Input should be a valid integer, unable to parse string as an integer; "
            "allowed: a whole number from 1 to 1000",
            id="env-wrong-type",
        ),
        pytest.param(
            {"tolerance": 0.1},
            {"LLMVERSION_TOLERANCE": "1.5"},
            [],
            "ERROR: pytest-llmversion: tolerance = '1.5' from environment LLMVERSION_TOLERANCE is invalid: "
            "Input should be less than or equal to 1; allowed: a number from 0 to 1",
            id="env-overrides-pyproject-then-fails",
        ),
        pytest.param(
            {},
            {},
            ["--current-model=gpt-4o"],
            "ERROR: pytest-llmversion: model from --current-model: 'gpt-4o' is not a model reference: "
            "expected 'provider/model-id', e.g. 'openai/gpt-4o-2024-11-20'",
            id="cli-not-a-model-ref",
        ),
        pytest.param(
            {},
            {},
            ["--llm-tolerance=2"],
            "*argument --llm-tolerance: must be between 0 and 1, got 2",
            id="cli-option-type",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_key_source_and_what_is_allowed(
    project: LLMProject,
    monkeypatch: pytest.MonkeyPatch,
    pyproject: dict[str, object],
    env: dict[str, str],
    args: list[str],
    line: str,
) -> None:
    project.write_config(**pyproject)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = project.run(*args)
    if args == ["--llm-tolerance=2"]:  # argparse's own usage error, from pytest: two usage lines, then ours
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([line])
        return
    assert_one_line_usage_error(result, line)


def test_a_bad_provider_setting_names_the_nested_key(project: LLMProject) -> None:
    project.write_config(extra='[tool.llmversion.providers.local]\nkind = "ollama"\n')
    assert_one_line_usage_error(
        project.run(),
        "ERROR: pytest-llmversion: providers.local.kind = 'ollama' from pyproject.toml [tool.llmversion] is invalid: "
        "Input should be 'openai', 'anthropic', 'gemini' or 'google-legacy'",
    )


@pytest.mark.parametrize(
    ("extra", "env", "line"),
    [
        pytest.param(
            "tempreature = 0.5\n",
            {},
            "ERROR: pytest-llmversion: unknown key 'tempreature' in pyproject.toml [tool.llmversion] "
            "(did you mean 'temperature'?)",
            id="pyproject",
        ),
        pytest.param(
            '[tool.llmversion.providers.local]\nkind = "openai"\nbase_ulr = "http://127.0.0.1:9/v1"\n',
            {},
            "ERROR: pytest-llmversion: unknown key 'providers.local.base_ulr' in pyproject.toml [tool.llmversion] "
            "(did you mean 'base_url'?)",
            id="provider-table",
        ),
        pytest.param(
            "",
            {"LLMVERSION_CANDIDATE": "scripted/m2"},
            "ERROR: pytest-llmversion: unknown key 'candidate' in environment LLMVERSION_CANDIDATE "
            "(did you mean 'candidate_model'?)",
            id="env",
        ),
    ],
)
def test_an_unknown_key_is_named_with_a_suggestion(
    project: LLMProject, monkeypatch: pytest.MonkeyPatch, extra: str, env: dict[str, str], line: str
) -> None:
    project.write_config(extra=extra)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert_one_line_usage_error(project.run(), line)


@pytest.mark.parametrize(
    ("pyproject", "args", "line"),
    [
        pytest.param(
            {"fallback_models": ["opnai/gpt-4o-2024-08-06"]},
            [],
            "ERROR: pytest-llmversion: fallback_models from pyproject.toml [tool.llmversion]: unknown provider "
            "'opnai' in 'opnai/gpt-4o-2024-08-06' (did you mean 'openai'?); known providers: anthropic, gemini, "
            "google-legacy, openai, scripted (add others under [tool.llmversion.providers.<name>])",
            id="pyproject-typo",
        ),
        pytest.param(
            {},
            ["--candidate-model=mistral/large-2411"],
            "ERROR: pytest-llmversion: candidate_model from --candidate-model: unknown provider 'mistral' in "
            "'mistral/large-2411'; known providers: *",
            id="cli-unknown",
        ),
    ],
)
def test_an_unknown_provider_in_a_model_ref_is_one_line(
    project: LLMProject, pyproject: dict[str, object], args: list[str], line: str
) -> None:
    project.write_config(**pyproject)
    assert_one_line_usage_error(project.run(*args), line)


def test_a_named_provider_table_makes_its_name_a_known_provider(project: LLMProject) -> None:
    project.write_config(
        candidate_model="local/llama3.1-8b",
        extra='[tool.llmversion.providers.local]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n',
    )
    result = project.run("--co")
    result.stdout.fnmatch_lines(
        ["llmversion: current scripted/m1 (*), candidate local/llama3.1-8b (*), mode replay, recordings once (*)"]
    )
    assert result.ret == pytest.ExitCode.OK


def test_a_marked_test_without_any_model_is_a_collection_error_saying_where_to_set_one(llm_project: LLMProject) -> None:
    llm_project.config.pop("model")
    llm_project.write_config()
    llm_project.test_file(ENTITY_TEST)
    llm_project.test_file("def test_plain():\n    pass\n", name="test_plain.py")
    result = llm_project.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR collecting tests/test_llm.py _*",
            "pytest-llmversion: tests/test_llm.py::test_extracts_city is marked llm_regression but no current "
            "model is configured; set model in [tool.llmversion] of pyproject.toml, LLMVERSION_MODEL, or "
            "--current-model=provider/model-id",
            "*= short test summary info =*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
