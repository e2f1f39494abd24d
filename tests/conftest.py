"""Shared harness: a throw-away user project driven with pytester, as a user would run it."""

from __future__ import annotations

import gc
import importlib
import json
import os
import pkgutil
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Import the plugin's lazily loaded modules (and the C-backed libraries they use) here, once, in the
# outer process. pytester's in-process runs drop from sys.modules what they imported, but a package
# keeps its submodule attributes: the next run would mix last run's pydantic classes with fresh ones,
# and a re-imported PyYAML no longer matches its C parser. A new process never sees either.
import pydantic  # noqa: F401
import pytest
import yaml  # noqa: F401
from hypothesis import HealthCheck, settings

import pytest_llmversion

for _module in pkgutil.walk_packages(pytest_llmversion.__path__, "pytest_llmversion."):
    if not _module.name.endswith("__main__"):
        importlib.import_module(_module.name)

pytest_plugins = ["pytester", "emulated"]

# tests/test_fuzz.py: `make test` runs a few dozen examples per property, the same ones every run (no example
# database, a fixed seed); `make fuzz` runs thousands, new ones each time, and keeps failures in .hypothesis/.
settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("fuzz", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: The date every test runs on, unless it sets its own (the demo uses it too).
DEMO_TODAY = "2026-11-24"

#: Environment that would leak into a run: model settings, CI detection, provider keys and endpoints.
_SCRUB_PREFIXES = ("LLMVERSION_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "PYTEST_XDIST_")
_SCRUB_NAMES = ("CI", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")


@pytest.fixture(autouse=True)
def _gc_probe() -> Iterator[None]:
    """``SUITE_GC_PROBE=1``: collect garbage after every test, so a socket a test left open fails that test
    (error::PytestUnraisableExceptionWarning) instead of whichever test the collector happens to run in."""
    yield
    if os.environ.get("SUITE_GC_PROBE"):
        gc.collect()


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with no CI flag, no provider keys and no LLMVERSION_* settings."""
    for name in list(os.environ):
        if name.startswith(_SCRUB_PREFIXES) or name in _SCRUB_NAMES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # the catalogue's retirement dates must not make a test rot as the calendar moves
    monkeypatch.setenv("LLMVERSION_TODAY", DEMO_TODAY)


M1 = """\
# synthetic: a hand-written stand-in for a model version
rules:
  - name: city
    when: {regex: "(?P<name>[A-Z]\\\\w+ \\\\w+) was born in (?P<city>\\\\w+)"}
    respond: '{"name": "{{name}}", "city": "{{city}}"}'
default:
  respond: "I don't know."
"""

ENTITY_TEST = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(tags=["happy-path"])
def test_extracts_city(llm, llm_golden):
    out = llm.complete("Ada Lovelace was born in London.")
    llm_golden.check(out, checks.valid_json(), checks.json_field("city", "London"))
"""


class LLMProject:
    """A user's project under pytester: pyproject, scripted models, tests, and how to read results."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.path: Path = pytester.path
        self.config: dict[str, Any] = {"model": "scripted/m1", "scripted_models": "models"}
        self.write_config()
        self.model("m1", M1)

    def write_config(self, extra: str = "", **values: Any) -> None:
        self.config.update(values)
        lines = ["[tool.llmversion]"]
        for key, value in self.config.items():
            if value is not None:
                lines.append(f"{key} = {json.dumps(value)}")
        self.pytester.makepyprojecttoml("\n".join(lines) + "\n" + textwrap.dedent(extra))

    def model(self, name: str, text: str) -> Path:
        path = self.path / "models" / f"{name}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def test_file(self, source: str, name: str = "test_llm.py") -> Path:
        path = self.path / "tests" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(textwrap.dedent(source))
        return path

    def write(self, relpath: str, text: str) -> Path:
        path = self.path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def run(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest("-p", "no:cacheprovider", "-o", "console_output_style=classic", *args)

    def run_subprocess(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)

    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.path / ".llmversion" / "report.json").read_text())
        return data

    def verdicts(self) -> dict[str, str]:
        """nodeid -> verdict, from the JSON report."""
        return {item["nodeid"]: item["verdict"] for item in self.report()["items"]}

    def golden(self, relpath: str) -> Path:
        return self.path / "tests" / "__llm_goldens__" / relpath


INNER_ADDOPTS = "-p no:randomly -o asyncio_default_fixture_loop_scope=function"


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester, with pytest-randomly off in the runs it drives: this suite runs shuffled, but a user's run keeps
    pytest's order, which the output its tests read (-x, the order of failures) depends on. pytest-asyncio is
    on, as in a user's environment, with its loop scope set (unset, it warns at start-up, and fails a run
    under -W error). (pytester clears PYTEST_ADDOPTS when it is made; this is set after.)"""
    monkeypatch.setenv("PYTEST_ADDOPTS", INNER_ADDOPTS)
    return pytester


@pytest.fixture
def llm_project(pytester: pytest.Pytester) -> LLMProject:
    return LLMProject(pytester)


EXAMPLE = Path(__file__).resolve().parents[1] / "example_project"


@pytest.fixture
def example(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of example_project/ as pytester's working folder (its reports and caches stay out of the repo).

    The clock is pinned, as the demo pins it, so the synthetic retirement date stays 51 days away.
    """
    shutil.copytree(EXAMPLE, pytester.path, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".llmversion"))
    monkeypatch.setenv("LLMVERSION_TODAY", DEMO_TODAY)
    return pytester.path
