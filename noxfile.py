"""The suite on every Python version pyproject.toml's classifiers name, each in a fresh virtualenv with the
pinned versions CI installs (constraints/dev.txt).

    nox                                  # every version, the whole suite (-n 2)
    nox -s tests-3.13                    # one version
    nox -s tests-3.12 -- tests/test_report_views.py    # one version, some tests

.ci/run runs ``make test`` on 3.11 (the Makefile's), then the sessions of the other versions on ``SUBSET``
(the whole suite on each would take CI past its time; see DEVELOPERS.md).
"""

from __future__ import annotations

import glob
import os

import nox

PYTHONS = ("3.11", "3.12", "3.13")

#: Representative of what differs between Python versions: file-system walks and ordering (promotion, goldens),
#: the SDKs on the loopback emulator, xdist, the report views, the CLI, the statistics and the example project.
SUBSET = (
    "tests/test_promotion.py",
    "tests/test_goldens.py",
    "tests/test_report_views.py",
    "tests/test_calls.py",
    "tests/test_cli.py",
    "tests/test_packaging.py",
    "tests/test_stats.py",
    "tests/test_example_project.py",
    "tests/test_sdk_fixtures.py",
    "tests/test_xdist.py",
)

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests"]


def _with_pyenv_interpreters() -> None:
    """pyenv keeps each version in its own folder and its shims answer only for the selected one: put every
    installed X.Y's newest interpreter on PATH, so nox finds pythonX.Y (a no-op where pyenv is absent)."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    folders = []
    for version in PYTHONS:
        found = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin")), key=_version_key)
        if found:
            folders.append(found[-1])
    if folders:
        os.environ["PATH"] = os.pathsep.join([*folders, os.environ.get("PATH", "")])


def _version_key(folder: str) -> tuple[int, ...]:
    release = os.path.basename(os.path.dirname(folder))
    return tuple(int(part) if part.isdigit() else -1 for part in release.split("."))


_with_pyenv_interpreters()


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    session.install("-q", "-c", "constraints/dev.txt", "-e", ".[dev,all,google-legacy]")
    session.run("python", "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider", *session.posargs)
