"""The suite on every Python version pyproject.toml's classifiers name, each in a fresh virtualenv with the
pinned versions CI installs (constraints/dev.txt).

    nox                                  # every version, the whole suite (-n 2)
    nox -s tests-3.13                    # one version
    nox -s tests-3.12 -- tests/test_report_views.py    # one version, some tests
    nox -s sdk                           # the provider and SDK-client tests on each SDK set in SDK_SETS
    nox -s "sdk(previous)"               # one set
    nox -s frameworks                    # LangChain, pydantic-ai, instructor, LlamaIndex: each in its own venv
    nox -s "frameworks(instructor)"      # one framework
    FRAMEWORKS_REPIN=1 nox -s frameworks # their newest releases, written to constraints/frameworks/<name>.txt

.ci/run runs ``make test`` on 3.11 (the Makefile's), then the sessions of the other versions on ``SUBSET``
(the whole suite on each would take CI past its time; see DEVELOPERS.md), then the ``sdk`` sessions, then the
``frameworks`` sessions.
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


@nox.session(python=PYTHONS, venv_backend="uv|virtualenv")
def tests(session: nox.Session) -> None:
    """The suite on one Python version; its venv built by uv when uv is there (the dev extra holds it): about 40 s
    a session instead of two minutes of pip, which keeps .ci/run well inside its 30 minutes."""
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


@nox.session(python="3.11", venv_backend="uv|virtualenv")
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


#: The frameworks teams build on, each tested against the emulator in an environment of its own (their SDK pins
#: differ: llama-index-llms-openai keeps openai < 3, instructor its own openai range): the requirement installed
#: beside the plugin, and its tests. The versions CI installs are the ones verified, pinned whole (the
#: framework, its SDK and everything else) in constraints/frameworks/<name>.txt; FRAMEWORKS_REPIN=1 installs the
#: newest releases instead and writes them there.
FRAMEWORKS = {
    "langchain-openai": ("langchain-openai", "tests/frameworks/test_langchain_openai.py"),
    "langchain-anthropic": ("langchain-anthropic", "tests/frameworks/test_langchain_anthropic.py"),
    "pydantic-ai": ("pydantic-ai-slim[openai,anthropic]", "tests/frameworks/test_pydantic_ai.py"),
    "instructor": ("instructor", "tests/frameworks/test_instructor.py"),
    "llama-index-llms-openai": ("llama-index-llms-openai", "tests/frameworks/test_llama_index.py"),
}
#: What each framework session prints first: the framework and the SDKs it resolved, and their HTTP library.
_FRAMEWORK_VERSIONS = {
    "langchain-openai": ("langchain-openai", "langchain-core"),
    "langchain-anthropic": ("langchain-anthropic", "langchain-core"),
    "pydantic-ai": ("pydantic-ai-slim",),
    "instructor": ("instructor",),
    "llama-index-llms-openai": ("llama-index-llms-openai", "llama-index-core"),
}


@nox.session(python="3.11", venv_backend="uv|virtualenv")
@nox.parametrize("framework", list(FRAMEWORKS), ids=list(FRAMEWORKS))
def frameworks(session: nox.Session, framework: str) -> None:
    """One framework, record, offline replay and a candidate's format break, against the emulator (uv installs it
    when uv is there: seconds instead of a minute). In the session a missing framework fails its tests instead
    of skipping them (``FRAMEWORK_SESSION``)."""
    requirement, tests = FRAMEWORKS[framework]
    pins = f"constraints/frameworks/{framework}.txt"
    if os.environ.get("FRAMEWORKS_REPIN"):
        session.install("-q", "-e", ".[dev,all]", requirement)
        frozen = session.run("python", "-c", _FREEZE, silent=True)
        with open(pins, "w", encoding="utf-8") as out:
            out.write(f"# nox -s 'frameworks({framework})': what {requirement} resolved to (FRAMEWORKS_REPIN=1)\n")
            out.write(str(frozen))
    else:
        session.install("-q", "-c", pins, "-e", ".[dev,all]", requirement)
    shown = ", ".join(repr(d) for d in (*_FRAMEWORK_VERSIONS[framework], "openai", "anthropic", "google-genai"))
    session.run("python", "-c", _SHOW_FRAMEWORK.format(shown=shown))
    session.run(
        "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-rs",
        *(session.posargs or [tests]),
        env={"FRAMEWORK_SESSION": framework},
    )  # fmt: skip


#: ``pip freeze --exclude-editable`` for a venv with or without pip (uv's have none).
_FREEZE = (
    "import importlib.metadata as m; "
    "print(*sorted({f'{d.metadata[\"Name\"].lower()}=={d.version}' for d in m.distributions() "
    "if d.metadata['Name'] != 'pytest-llmversion'}), sep='\\n')"
)
_SHOW_FRAMEWORK = (
    "import importlib.metadata as m; from pytest_llmversion.sdk.http_stack import http_library as h; "
    "print(*(f'{{d}} {{m.version(d)}}' for d in [{shown}]), sep='; '); "
    "print(*(f'{{i}} on {{h(i)}}' for i in ['openai', 'anthropic', 'google.genai']), sep='; ')"
)
