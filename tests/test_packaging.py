"""What the distribution says about itself: its licence, links and Python versions, what its sdist carries,
and that its modules run as scripts cleanly."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def pyproject() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_the_licence_is_an_spdx_expression_with_its_files() -> None:
    project = pyproject()["project"]
    assert project["license"] == "MIT"  # PEP 639: the table form makes setuptools warn
    for name in project["license-files"]:
        assert (REPO / name).is_file(), name
    assert "pytest-llmversion contributors" in (REPO / "LICENSE").read_text()
    assert set(project["urls"]) >= {"Homepage", "Source", "Changelog", "Issues"}


def test_the_classifiers_name_the_python_versions_nox_runs_the_suite_on() -> None:
    classifiers = pyproject()["project"]["classifiers"]
    named = sorted(
        c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    tree = ast.parse((REPO / "noxfile.py").read_text())
    pythons = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PYTHONS"
    )
    assert named == list(pythons) == ["3.11", "3.12", "3.13"]


def test_the_sdist_carries_what_its_tests_read() -> None:
    manifest = (REPO / "MANIFEST.in").read_text().splitlines()
    for folder in ("tests", "example_project", "scripts", "docs"):  # tests/data, the example project, ...
        assert f"graft {folder}" in manifest


def test_the_emulator_runs_as_a_module_without_a_runpy_warning() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-m", "pytest_llmversion.testing.emulator", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("usage: python -m pytest_llmversion.testing.emulator")
