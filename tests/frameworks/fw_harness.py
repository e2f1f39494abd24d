"""What the framework tests share: the framework imported or the module skipped, and one user project run three
ways against the loopback emulator.

Each ``tests/frameworks/test_<framework>.py`` writes a user's project as a team writes it: an app module that
builds its framework client at import time (``llm = ChatOpenAI(model=...)``), a structured-output call with a
pydantic model, and a test that carries only ``@pytest.mark.llm_regression``. The project's
``[tool.llmversion.providers.*] base_url`` points at the emulator, whatever ``base_url`` the framework's
client has. :func:`record_break_replay` then runs it:

1. ``--llm-record``: the calls reach the emulator once and the golden is written;
2. ``--candidate-model=...`` with the candidate scripted to break the format (text or broken JSON where the
   framework expects JSON or a tool call): the candidate item is FORMAT_BREAK and the run fails;
3. a replay with the emulator stopped and other keys in the environment: MATCH, nothing sent.

Each framework runs in an environment of its own (``nox -s "frameworks(<name>)"``, noxfile.py), since their SDK
pins differ. ``make test`` has none of them installed and skips these modules; in its own nox session a missing
framework fails the run instead (the session names it in ``FRAMEWORK_SESSION``).
"""

from __future__ import annotations

import importlib
import os
import secrets
import textwrap
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from conftest import LLMProject

from pytest_llmversion.testing import Emulator

#: Set by the framework's nox session to its name: there a missing framework is an error, not a skip.
SESSION_VAR = "FRAMEWORK_SESSION"
KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")


def require(module: str, session: str) -> ModuleType:
    """``module`` imported (in this process, so the user project's runs find it loaded), or the test module
    skipped with the command that runs it; inside its own nox session, an ImportError."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if os.environ.get(SESSION_VAR) == session:
            raise ImportError(f"nox session frameworks({session}) must have {module} installed: {exc}") from exc
        pytest.skip(
            f"{module} is not installed: these tests run in their own environment, nox -s 'frameworks({session})'",
            allow_module_level=True,
        )


def fake_keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Random-looking provider keys (no real provider knows them), new on every call."""
    keys = {name: f"sk-{secrets.token_hex(12)}" for name in KEY_VARS}
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CI", raising=False)
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    return keys


@dataclass(frozen=True)
class Scenario:
    """One framework's project: its app module, its test, and how the emulator's two models answer."""

    name: str
    #: ``openai`` or ``anthropic``: the provider of both models.
    provider: str
    current: str
    candidate: str
    #: The app module (``tests/app_<name>.py``) and its test (``tests/test_<name>_app.py``).
    app: str
    test: str
    #: Scripted-model rules (YAML text): the current model answers in the format, the candidate breaks it.
    current_script: str
    broken_script: str
    #: The marked test's id in the project (without the role suffix).
    item: str


def record_break_replay(project: LLMProject, scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Record, then a candidate that breaks the format, then an offline replay; returns the replay's report."""
    fake_keys(monkeypatch)
    item = f"tests/test_{scenario.name}_app.py::{scenario.item}"
    with Emulator() as emu:
        emu.add_model(scenario.current, scenario.current_script)
        emu.add_model(scenario.candidate, scenario.broken_script)
        project.write_config(
            extra=emu.provider_tables(),
            model=f"{scenario.provider}/{scenario.current}",
            max_retries=0,
            retry_base_delay=0.0,
            retry_max_delay=0.0,
        )
        project.test_file(textwrap.dedent(scenario.app), f"app_{scenario.name}.py")
        project.test_file(textwrap.dedent(scenario.test), f"test_{scenario.name}_app.py")

        recorded = project.run_subprocess("--llm-record")
        assert recorded.ret == 0, recorded.stdout.str()
        assert emu.requests(scenario.current), "the framework's calls never reached the emulator"
        assert all(r.status == 200 for r in emu.requests()), [(r.path, r.status) for r in emu.requests()]
        assert project.verdicts() == {f"{item}[current]": "RECORDED"}, recorded.stdout.str()

        candidate = project.run_subprocess(f"--candidate-model={scenario.provider}/{scenario.candidate}")
        found = project.verdicts()
        assert found[f"{item}[current]"] == "MATCH", candidate.stdout.str()
        assert found[f"{item}[candidate]"] == "FORMAT_BREAK", candidate.stdout.str()
        assert candidate.ret != 0  # the gate fails
        assert emu.requests(scenario.candidate), "the candidate was never called"
        sent = len(emu.requests())

    fake_keys(monkeypatch)  # other keys than the recording's: the replay needs none that works
    replayed = project.run_subprocess()
    assert replayed.ret == 0, replayed.stdout.str()
    assert len(emu.requests()) == sent  # the emulator is stopped: nothing could have been sent anyway
    report = project.report()
    (only,) = report["items"]
    assert only["verdict"] == "MATCH", replayed.stdout.str()
    assert only["calls"]["live"] == 0, only["calls"]
    assert only["calls"]["replayed"] >= 1, only["calls"]
    return report
