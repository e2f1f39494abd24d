"""The suite on every Python version pyproject.toml's classifiers name, each in a fresh virtualenv with the
pinned versions CI installs (constraints/dev.txt).

    nox                                  # every version, the whole suite (-n 2)
    nox -s tests-3.13                    # one version
    nox -s tests-3.12 -- tests/test_report_views.py    # one version, some tests
    nox -s sdk                           # the provider and SDK-client tests on each SDK set in SDK_SETS
    nox -s "sdk(previous)"               # one set

.ci/run runs ``make test`` on 3.11 (the Makefile's), then the sessions of the other versions on ``SUBSET``
(the whole suite on each would take CI past its time; see DEVELOPERS.md), then the ``sdk`` sessions.
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
    "tests/test_async.py",
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


#: The SDK versions besides constraints/dev.txt's (today's majors, which ``make test`` runs on): the newest of
#: each previous major, and the lowest version each extra allows (pyproject.toml), which frameworks pin
#: (instructor's anthropic extra: 0.93; llama-index-llms-openai: openai < 3; pydantic-ai's google extra:
#: google-genai < 3). Those are built on httpx, not httpx2: the session proves the plugin needs neither more.
SDK_SETS = {
    "previous": ("openai>=2,<3", "anthropic>=1,<2", "google-genai>=2,<3"),
    "lowest": ("openai==2.0.0", "anthropic==0.93.0", "google-genai==2.0.0"),
}
#: What touches an SDK: the adapters and router on the emulator, the SDK-client fixtures and their transport (tool
#: calls, embeddings, token counts and model lookups included), pass-through and secrets (the rest of the suite
#: reaches the SDKs only through these).
SDK_TESTS = (
    "tests/test_providers_adapters.py",
    "tests/test_providers_router.py",
    "tests/test_providers_plugin.py",
    "tests/test_emulator.py",
    "tests/test_sdk_fixtures.py",
    "tests/test_sdk_transport.py",
    "tests/test_sdk_tools.py",
    "tests/test_passthrough.py",
    "tests/test_secrets.py",
    "tests/test_async.py",
)


@nox.session(python="3.11")
@nox.parametrize("sdks", list(SDK_SETS), ids=list(SDK_SETS))
def sdk(session: nox.Session, sdks: str) -> None:
    """The provider and SDK-client tests on another SDK set: the plugin and its dev tools from the pins, then the
    SDKs (with what they require, httpx for the older majors) without them."""
    session.install("-q", "-c", "constraints/dev.txt", "-e", ".[dev,google-legacy]")
    session.install("-q", *SDK_SETS[sdks])
    session.run("python", "-c", _SHOW_VERSIONS)
    session.run("python", "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider", *(session.posargs or SDK_TESTS))


_SHOW_VERSIONS = (
    "import importlib.metadata as m; from pytest_llmversion.sdk.http_stack import http_library as h; "
    "print(*(f'{d} {m.version(d)} on {h(i)}' for d, i in "
    "[('openai', 'openai'), ('anthropic', 'anthropic'), ('google-genai', 'google.genai')]), sep='; ')"
)
