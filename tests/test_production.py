"""Outside pytest the rules of a pytest run hold: ``connect()`` and ``llmversion check``, as applications meet them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_llmversion import GovernanceError, connect, load_config
from pytest_llmversion.cli import main

ALIAS_REFUSED = (
    "pytest-llmversion: current model openai/gpt-4o ({source}) is an alias (today it resolves to "
    "openai/gpt-4o-2024-08-06), not a pinned snapshot: goldens recorded from it would not reproduce; pin it: "
    'model = "openai/gpt-4o-2024-08-06" (or set allow_unpinned = true in [tool.llmversion] or '
    "LLMVERSION_ALLOW_UNPINNED=1)"
)


def project(root: Path, table: str) -> Path:
    (root / "pyproject.toml").write_text("[tool.llmversion]\n" + textwrap.dedent(table))
    return root


def test_connect_refuses_an_alias_as_pytest_does(tmp_path: Path) -> None:
    root = project(tmp_path, 'model = "openai/gpt-4o-2024-08-06"\n')
    with pytest.raises(GovernanceError) as caught:
        connect(root, model="openai/gpt-4o", environ={})
    assert str(caught.value) == ALIAS_REFUSED.format(source="connect(model=...)")

    project(tmp_path, 'model = "openai/gpt-4o"\n')
    with pytest.raises(GovernanceError) as caught:
        connect(root, environ={})
    assert str(caught.value) == ALIAS_REFUSED.format(source="pyproject.toml [tool.llmversion]")


def test_connect_refuses_an_unpinned_fallback(tmp_path: Path) -> None:
    root = project(tmp_path, 'model = "openai/gpt-4o-2024-08-06"\nfallback_models = ["anthropic/claude-sonnet-4-5"]\n')
    with pytest.raises(GovernanceError) as caught:
        connect(root, environ={})
    assert str(caught.value) == (
        "pytest-llmversion: fallback model anthropic/claude-sonnet-4-5 (pyproject.toml [tool.llmversion]) is an alias "
        "(today it resolves to anthropic/claude-sonnet-4-5-20250929), not a pinned snapshot: goldens recorded from it "
        'would not reproduce; list "anthropic/claude-sonnet-4-5-20250929" instead (or set allow_unpinned = true in '
        "[tool.llmversion] or LLMVERSION_ALLOW_UNPINNED=1)"
    )


@pytest.mark.parametrize(
    ("switch", "environ"),
    [("allow_unpinned = true\n", {}), ("", {"LLMVERSION_ALLOW_UNPINNED": "1"})],
    ids=["pyproject", "environment"],
)
def test_connect_takes_an_alias_only_with_the_allow_switch_of_pytest(
    tmp_path: Path, switch: str, environ: dict[str, str]
) -> None:
    root = project(tmp_path, 'model = "openai/gpt-4o"\n')
    with pytest.raises(GovernanceError):
        connect(root, environ={})
    project(tmp_path, 'model = "openai/gpt-4o"\n' + switch)
    assert str(connect(root, environ=environ).model) == "openai/gpt-4o"


def test_load_config_takes_a_string_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project(tmp_path, 'model = "scripted/m1"\n')
    (tmp_path / "app").mkdir()
    monkeypatch.chdir(tmp_path / "app")
    resolved = load_config(".", environ={})
    assert (resolved.config.model, resolved.pyproject) == ("scripted/m1", tmp_path / "pyproject.toml")
    assert load_config(str(tmp_path), environ={}).pyproject == tmp_path / "pyproject.toml"


def test_check_refuses_an_alias_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, 'model = "openai/gpt-4o-2024-08-06"\n')
    monkeypatch.setenv("LLMVERSION_MODEL", "openai/gpt-4o")
    assert main(["--root", str(root), "check"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    refused = ALIAS_REFUSED.format(source="environment LLMVERSION_MODEL").removeprefix("pytest-llmversion: ")
    assert err == f"llmversion: {refused}\n"

    monkeypatch.setenv("LLMVERSION_ALLOW_UNPINNED", "1")
    assert main(["--root", str(root), "check"]) == 0
    assert (
        "  WARNING: current model openai/gpt-4o is an alias (today it resolves to openai/gpt-4o-2024-08-06), allowed "
        "by environment LLMVERSION_ALLOW_UNPINNED; its goldens will not reproduce"
    ) in capsys.readouterr().out.splitlines()
