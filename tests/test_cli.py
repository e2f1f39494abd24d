"""Install and go: the ``llmversion`` command, the pytest11 entry point, ``py.typed``."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from importlib.metadata import entry_points, metadata
from pathlib import Path

import pytest

import pytest_llmversion
from pytest_llmversion.cli import build_parser, main

LLMVERSION = Path(sys.executable).parent / "llmversion"


def project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.llmversion]\n{table}")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], list[str]]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_the_console_script_prints_its_version() -> None:
    done = subprocess.run([str(LLMVERSION), "--version"], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, f"llmversion {pytest_llmversion.__version__}")


def test_the_plugin_is_activated_by_its_pytest11_entry_point_and_ships_py_typed() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins["llmversion"] == "pytest_llmversion.plugin"
    assert (Path(pytest_llmversion.__file__).parent / "py.typed").is_file()


def test_the_distribution_declares_its_dependencies_and_provider_extras() -> None:
    meta = metadata("pytest-llmversion")
    requires = {re.split(r"[<>=;\[ ]", r, maxsplit=1)[0].lower() for r in meta.get_all("Requires-Dist") or []}
    assert {"pytest", "pydantic", "jsonschema", "deepdiff", "pyyaml"} <= requires
    assert {"openai", "anthropic", "gemini", "all"} <= set(meta.get_all("Provides-Extra") or [])


def test_check_says_ok_and_shows_the_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(
        tmp_path, 'model = "openai/gpt-4o-2024-08-06"\nfallback_models = ["anthropic/claude-3-5-sonnet-20241022"]\n'
    )
    code, out, err = run(capsys, "--root", str(root), "check")
    assert (code, err) == (0, [])
    assert out[0] == f"llmversion: {root / 'pyproject.toml'}: ok"
    assert "  current   openai/gpt-4o-2024-08-06  (pyproject.toml [tool.llmversion])" in out
    assert "  fallback  anthropic/claude-3-5-sonnet-20241022" in out


def test_check_shows_where_an_environment_model_came_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, 'model = "openai/gpt-4o-2024-08-06"\n')
    monkeypatch.setenv("LLMVERSION_CANDIDATE_MODEL", "openai/gpt-4o-2024-11-20")
    code, out, _ = run(capsys, "--root", str(root), "check")
    assert code == 0
    assert "  candidate openai/gpt-4o-2024-11-20  (environment LLMVERSION_CANDIDATE_MODEL)" in out


@pytest.mark.parametrize(
    ("table", "env", "code", "line"),
    [
        pytest.param(
            'model = "openai/gpt-4o-2024-08-06"\ntemperature = 3\n',
            {},
            2,
            "llmversion: temperature = 3 from pyproject.toml [tool.llmversion] is invalid: "
            "Input should be less than or equal to 2; allowed: a number from 0 to 2",
            id="bad-value",
        ),
        pytest.param(
            'model = "opneai/gpt-4o-2024-08-06"\n',
            {},
            2,
            "llmversion: model from pyproject.toml [tool.llmversion]: unknown provider 'opneai' in "
            "'opneai/gpt-4o-2024-08-06' (did you mean 'openai'?); known providers: anthropic, gemini, google-legacy, "
            "openai, scripted (add others under [tool.llmversion.providers.<name>])",
            id="unknown-provider",
        ),
        pytest.param(
            'model = "openai/gpt-4o-2024-08-06"\n',
            {"LLMVERSION_TIMEOUT": "soon"},
            2,
            "llmversion: timeout = 'soon' from environment LLMVERSION_TIMEOUT is invalid: "
            "Input should be a valid number, unable to parse string as a number; allowed: a number > 0",
            id="bad-env",
        ),
        pytest.param(
            "",
            {},
            1,
            'llmversion: no current model: set model = "provider/model-id" in [tool.llmversion]',
            id="no-model",
        ),
    ],
)
def test_check_fails_with_one_clear_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    table: str,
    env: dict[str, str],
    code: int,
    line: str,
) -> None:
    root = project(tmp_path, table)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert run(capsys, "--root", str(root), "check") == (code, [], [line])


def test_check_reports_prompt_registry_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, 'model = "openai/gpt-4o-2024-08-06"\n')
    (root / "prompts").mkdir()
    (root / "prompts" / "triage.yaml").write_text(
        "versions:\n  v1: {default: true, user: 'a {{x}}'}\n  v2: {default: true, user: 'b {{x}}'}\n"
    )
    code, out, err = run(capsys, "--root", str(root), "check")
    assert (code, out) == (1, [])
    assert err == ["llmversion: prompts/triage.yaml: task 'triage' needs exactly one default version (has: v1, v2)"]


def test_the_console_script_fails_with_a_non_zero_exit_and_one_line(tmp_path: Path) -> None:
    root = project(tmp_path, 'model = "gpt-4o"\n')
    done = subprocess.run([str(LLMVERSION), "check"], cwd=root, capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "llmversion: model from pyproject.toml [tool.llmversion]: 'gpt-4o' is not a model reference: "
        "expected 'provider/model-id', e.g. 'openai/gpt-4o-2024-11-20'"
    ]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (
            '{"schema": 1, "run": {}, "items": [], "summary": {}}',
            "written by an older pytest-llmversion (report schema 1)",
        ),
        ('{"schema": 9, "run": {}, "items": [], "summary": {}}', "written by a newer pytest-llmversion (upgrade it)"),
        ("[1, 2", "not a pytest-llmversion report (JSONDecodeError)"),
        ('{"schema": 2, "run": {}, "items": [], "summary": {}}', "not a pytest-llmversion report (run.plugin_version:"),
    ],
    ids=["older", "newer", "not-json", "incomplete"],
)
def test_report_reads_back_only_its_own_schema_and_says_why_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, line: str
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.llmversion]\nmodel = "scripted/m1"\n')
    report = tmp_path / "report.json"
    report.write_text(content)
    assert main(["--root", str(tmp_path), "report", "--report", str(report)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"llmversion: {report}: ")
    assert line in err


def _subparsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(" ".join(("llmversion", *path)), parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _subparsers(child, (*path, name))
    return found


def test_every_command_has_a_description_and_an_example_in_its_help() -> None:
    commands = _subparsers(build_parser())
    assert len(commands) >= 13  # check, promote, report, rollback, deprecations, catalog (import), rollout (4)
    for name, parser in commands:
        text = parser.format_help()
        assert parser.description, f"{name} --help has no description"
        examples = text.split("examples:\n", 1)
        assert len(examples) == 2, f"{name} --help has no example"
        first = examples[1].splitlines()[0].strip()
        assert first.startswith(("llmversion ", "pytest ")), f"{name}: {first!r}"


def test_check_warns_of_providers_without_an_sdk_or_a_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(
        tmp_path,
        'model = "openai/gpt-4o-2024-08-06"\nfallback_models = ["anthropic/claude-3-5-sonnet-20241022"]\n'
        '[tool.llmversion.providers.openai]\napi_key_env = "ACME_OPENAI_KEY"\n',
    )
    monkeypatch.setitem(sys.modules, "anthropic", None)  # as if the anthropic SDK were not installed
    code, out, err = run(capsys, "--root", str(root), "check")
    assert (code, err) == (0, [])  # a replay-only suite needs neither: warned, not failed
    warnings = [line for line in out if line.startswith("  warning: ")]
    assert warnings == [
        '  warning: anthropic: its SDK (anthropic) is not installed: pip install "pytest-llmversion[anthropic]" '
        "(replaying goldens works without it; recording and live calls do not)",
        "  warning: anthropic: no API key: ANTHROPIC_API_KEY is not set (replaying goldens needs none; --llm-record, "
        "--llm-live and candidate runs do)",
        "  warning: openai: no API key: ACME_OPENAI_KEY is not set (replaying goldens needs none; --llm-record, "
        "--llm-live and candidate runs do)",
    ]
    monkeypatch.setenv("ACME_OPENAI_KEY", "sk-test-not-a-real-key")
    code, out, _ = run(capsys, "--root", str(root), "check")
    assert not [line for line in out if "openai:" in line]
    assert "sk-test-not-a-real-key" not in "\n".join(out)
