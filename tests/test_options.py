"""Every option has an ini twin, settings rank in one stated order, and the header says where each came from."""

from __future__ import annotations

import pytest
from conftest import ENTITY_TEST, LLMProject

from pytest_llmversion.options import OPTIONS


def ini_table(project: LLMProject, lines: str) -> None:
    project.write_config(extra=f"\n[tool.pytest.ini_options]\n{lines}\n")


def test_every_option_has_an_ini_twin_pytest_knows(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    result = llm_project.run("--help")
    for option in OPTIONS:
        result.stdout.fnmatch_lines([f"  {option.flag}*"])
        result.stdout.fnmatch_lines([f"  {option.ini} (*"])


@pytest.mark.parametrize(
    ("ini", "header"),
    [
        ("llm_samples = 3", "samples 3 (ini option llm_samples in pyproject.toml)"),
        ('llm_candidate_model = "scripted/m1-next"', "candidate scripted/m1-next (ini option llm_candidate_model*"),
        ('llm_candidate_recordings = "new"', None),
        ("llm_allow_passthrough = true", "pass-through allowed (ini option llm_allow_passthrough*"),
    ],
)
def test_an_ini_option_is_accepted_under_strict_config_and_said_in_the_header(
    llm_project: LLMProject, ini: str, header: str | None
) -> None:
    llm_project.model("m1-next", "extends: m1\n")
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    ini_table(llm_project, ini)
    result = llm_project.run("--strict-config")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    if header is not None:
        result.stdout.fnmatch_lines([f"llmversion: *{header}*"])


def test_cli_beats_environment_beats_ini_beats_pyproject(
    llm_project: LLMProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.write_config(samples=2, extra="\n[tool.pytest.ini_options]\nllm_samples = 3\n")
    assert "samples 3 (ini option llm_samples in pyproject.toml)" in llm_project.run("--co").stdout.str()
    monkeypatch.setenv("LLMVERSION_SAMPLES", "4")
    assert "samples 4 (environment LLMVERSION_SAMPLES)" in llm_project.run("--co").stdout.str()
    assert "samples 5 (--llm-samples)" in llm_project.run("--co", "--llm-samples=5").stdout.str()
    monkeypatch.delenv("LLMVERSION_SAMPLES")
    ini_table(llm_project, "")
    assert "samples 2 (pyproject.toml [tool.llmversion])" in llm_project.run("--co").stdout.str()


def test_ini_twins_of_switches_and_paths_act_like_the_options(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    ini_table(llm_project, 'llm_record = true\nllm_report = "out/report.json"')
    llm_project.run().assert_outcomes(passed=1)
    assert llm_project.golden("test_llm/test_extracts_city.yaml").exists()  # recorded, as --llm-record
    assert (llm_project.path / "out" / "report.json").exists()


def test_a_bad_ini_value_is_one_line_naming_it(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    ini_table(llm_project, 'llm_samples = "many"')
    result = llm_project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: pytest-llmversion: ini option llm_samples in pyproject.toml: 'many' is not a whole number"]
    )


def test_the_old_record_mode_spellings_still_work_and_warn(
    llm_project: LLMProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    flag = llm_project.run("--llm-record-mode=new", "-W", "default::pytest.PytestDeprecationWarning")
    flag.stdout.fnmatch_lines(["*--llm-record-mode is now --llm-candidate-recordings*"])
    monkeypatch.setenv("LLMVERSION_RECORD_MODE", "new")
    env = llm_project.run("-W", "default::pytest.PytestDeprecationWarning")
    env.stdout.fnmatch_lines(["*record_mode (environment LLMVERSION_RECORD_MODE) is now candidate_recordings*"])


@pytest.mark.parametrize(
    ("args", "toml", "environ", "cores", "guess"),
    [
        (
            ("--candidate-model=anthropic/claude-x-20250101",),
            'model = "openai/gpt-x-2024-01-01"',
            {},
            2,
            ["anthropic", "openai"],
        ),
        (
            ("--llm-live",),
            'model = "company/m"\n[tool.llmversion.providers.company]\nkind = "gemini"',
            {},
            2,
            ["gemini"],
        ),
        (("--llm-record",), 'model = "scripted/m1"', {}, 2, ["scripted"]),
        (("--llm-record",), 'model = "openai/m"', {"LLMVERSION_MODEL": "anthropic/m"}, 2, ["anthropic"]),
        (("--llm-record", "--llm-concurrency=1"), 'model = "openai/m"', {}, 2, None),
        (("--llm-record",), 'model = "openai/m"\nconcurrency = 1', {}, 2, None),
        (("--llm-record",), 'model = "openai/m"\ncall_process = "off"', {}, 2, None),
        (("--llm-record",), 'model = "openai/m"', {"LLMVERSION_CALL_PROCESS": "off"}, 2, None),
        (("--llm-record",), 'model = "openai/m"', {}, 1, None),
        (("--llm-record",), 'model = "openai/m"\ncall_process = "on"', {}, 1, ["openai"]),
        (("--llm-report-md=r.md",), 'model = "openai/m"', {}, 2, None),  # replays: no live call asked for
        (("--llm-record", "--collect-only"), 'model = "openai/m"', {}, 2, None),
        (
            ("--llm-record",),
            'model = "openai/m"\nproviders = 3\nfallback_models = "x"',
            {},
            2,
            ["openai"],
        ),  # odd: unread
    ],
)
def test_the_call_process_started_before_configure_is_a_guess_from_cheap_reads(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    toml: str,
    environ: dict[str, str],
    cores: int,
    guess: list[str] | None,
) -> None:
    """``options.early_call_process``: which adapter kinds a child started before pytest configures imports at
    once (None: no child then; the run's context decides at configure, as without the guess)."""
    from pytest_llmversion.options import early_call_process

    for name in ("LLMVERSION_MODEL", "LLMVERSION_CALL_PROCESS", "LLMVERSION_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    pytester.makepyprojecttoml(f"[tool.llmversion]\n{toml}\n")
    config = pytester.parseconfig(*args)
    assert early_call_process(config, cores) == guess
