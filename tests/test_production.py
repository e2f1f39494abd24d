"""Outside pytest the rules of a pytest run hold: ``connect()`` and ``llmversion check``, as applications meet them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import M1

from pytest_llmversion import GovernanceError, ProviderError, connect, load_config
from pytest_llmversion.cli import main
from pytest_llmversion.testing import Emulator, Fault

ALIAS_REFUSED = (
    "pytest-llmversion: current model openai/gpt-4o ({source}) is an alias (today it resolves to "
    "openai/gpt-4o-2024-08-06), not a pinned snapshot: goldens recorded from it would not reproduce; pin it: "
    'model = "openai/gpt-4o-2024-08-06" (or set allow_unpinned = true in [tool.llmversion] or '
    "LLMVERSION_ALLOW_UNPINNED=1)"
)


def project(root: Path, table: str) -> Path:
    (root / "pyproject.toml").write_text("[tool.llmversion]\n" + textwrap.dedent(table))
    return root


# -- pinning ------------------------------------------------------------------------------------------


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


# -- parameters a model rejects -----------------------------------------------------------------------


def emulated(root: Path, emu: Emulator, table: str) -> Path:
    return project(root, table + "max_retries = 0\n" + emu.provider_tables())


def test_connect_leaves_out_what_the_model_rejects(tmp_path: Path, emu: Emulator) -> None:
    emu.add_model("o3-2025-04-16", M1)
    emu.add_model("gpt-4o-2024-08-06", M1)
    root = emulated(tmp_path, emu, 'model = "openai/o3-2025-04-16"\n')
    with connect(root, environ={}) as client:
        assert client.complete("Ada Lovelace was born in London.").json() == {"name": "Ada Lovelace", "city": "London"}
        assert client.request("hi").params == {"max_tokens": 1024}
        with pytest.raises(ProviderError, match=r"o3-2025-04-16 rejects temperature .*sets temperature=0\.7"):
            client.complete("hi", temperature=0.7)

    with connect(root, model="openai/gpt-4o-2024-08-06", environ={}) as client:
        client.complete("hi")
    sent = [(r.model, r.body.get("temperature", "not sent")) for r in emu.requests()]
    assert sent == [("o3-2025-04-16", "not sent"), ("gpt-4o-2024-08-06", 0.0)]


def test_a_fallback_is_not_sent_what_it_rejects(tmp_path: Path, emu: Emulator) -> None:
    emu.add_model("gpt-4o-2024-08-06", M1)
    emu.add_model("o3-2025-04-16", M1)
    emu.add_fault(Fault.http(429, retry_after=0.01, model="gpt-4o-2024-08-06"))
    root = emulated(tmp_path, emu, 'model = "openai/gpt-4o-2024-08-06"\nfallback_models = ["openai/o3-2025-04-16"]\n')
    with connect(root, environ={}) as client:
        answer = client.complete("Ada Lovelace was born in London.")
    assert answer.fallback_from == "openai/gpt-4o-2024-08-06"
    sent = [(r.model, r.status, r.body.get("temperature", "not sent")) for r in emu.requests()]
    assert sent == [("gpt-4o-2024-08-06", 429, 0.0), ("o3-2025-04-16", 200, "not sent")]


@pytest.mark.usefixtures("canary_keys")
@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_a_connected_client_closes_its_sdk_clients_and_their_connections(tmp_path: Path, provider: str) -> None:
    model = {"openai": "gpt-4o-2024-08-06", "anthropic": "claude-sonnet-4-6", "gemini": "gemini-2.5-flash"}[provider]
    with Emulator() as emu:  # its own: no other test's connection is counted
        emu.add_model(model, M1)
        root = emulated(tmp_path, emu, f'model = "{provider}/{model}"\n')
        with connect(root, environ={}) as client:
            assert client.complete("Ada Lovelace was born in London.").json()["city"] == "London"
            assert emu.open_connections(settle=0) == 1  # kept alive for the next call
        assert emu.open_connections() == 0
        client.close()  # closing again does nothing
