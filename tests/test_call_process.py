"""Calls in a process of their own (``call_process``): the SDK in a child, everything that decides in pytest's.

Real OpenAI SDK calls against the loopback emulator, as in ``test_call_pool``. What must hold: the run is the
same run (verdicts, recordings, goldens, report, the requests the provider saw) with or without the child;
pytest's process never imports the SDK when the child makes the calls; errors read as they do in-process; a
child killed mid-run costs the calls it held (retried) and nothing else; ``auto`` starts one only for long
runs; Ctrl-C leaves no child behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import LLMProject
from test_call_pool import (
    CANDIDATE,
    CANDIDATE_MODEL,
    CASE_TEST,
    CASES,
    CURRENT,
    CURRENT_MODEL,
    emulated_project,
    tree,
    without_timing,
)

from pytest_llmversion.testing import Emulator, Fault

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads children from /proc")

#: The call processes under the process that runs this source (inside the user's project).
CHILDREN = """\
import os
from pathlib import Path

def children():
    found = []
    for pid in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"call_worker" in cmdline:
            found.append(int(pid))
    return found
"""

#: A conftest that notes, after every test, the call processes alive under this pytest process, and at the
#: session's end whether it imported the SDK itself.
WATCH = (
    CHILDREN
    + """\
import json, sys

SEEN = set()

def pytest_runtest_teardown(item):
    SEEN.update(children())

def pytest_sessionfinish(session):
    Path("watch.json").write_text(json.dumps({"children": sorted(SEEN), "openai": "openai" in sys.modules}))
"""
)

NOT_FOUND = (
    "ERROR: the provider failed, so nothing was scored: ModelNotFound: openai/gpt-4o-mini-2024-07-18: model not"
    " found (404): The model `gpt-4o-mini-2024-07-18` does not exist or you do not have access to it.; it may be"
    " retired or misspelled (or base_url is wrong)"
)

ARGS = (f"--candidate-model=openai/{CANDIDATE_MODEL}", "--llm-candidate-recordings=all")


def timeless(report: dict[str, Any]) -> dict[str, Any]:
    """The report minus the clock and the config's hash (the two runs' tables differ in ``call_process``)."""
    kept = without_timing(report)
    kept["run"].pop("config_hash")
    return kept


def watched(project: LLMProject) -> dict[str, object]:
    data: dict[str, object] = json.loads((project.path / "watch.json").read_text())
    return data


def test_a_run_through_the_call_process_is_the_run_made_in_pytests_process(
    llm_project: LLMProject, emu: Emulator
) -> None:
    project = emulated_project(llm_project, emu)
    project.write("conftest.py", WATCH)
    goldens = tree(project.path / "tests" / "__llm_goldens__")

    project.write_config(emu.provider_tables(), call_process="off")
    inside = project.run_subprocess("--llm-concurrency=6", *ARGS)
    inside.assert_outcomes(passed=21, failed=3)
    assert watched(project) == {"children": [], "openai": True}
    inside_report = project.report()
    inside_recordings = tree(project.path / ".llmversion" / "recordings")
    inside_calls = sorted(json.dumps(r.body, sort_keys=True) for r in emu.requests())

    shutil.rmtree(project.path / ".llmversion")
    emu.reset()
    emu.add_model(CANDIDATE_MODEL, CANDIDATE, latency_ms=30)
    project.write_config(emu.provider_tables(), call_process="on")
    child = project.run_subprocess("--llm-concurrency=6", *ARGS)
    child.assert_outcomes(passed=21, failed=3)
    seen = watched(project)
    assert len(seen["children"]) == 1  # type: ignore[arg-type]
    assert seen["openai"] is False  # the SDK was imported, and called, in the child only
    assert 1 < emu.peak_in_flight <= 6  # the limiter in pytest's process still decides what is in flight
    assert timeless(project.report()) == timeless(inside_report)
    assert tree(project.path / ".llmversion" / "recordings") == inside_recordings
    assert tree(project.path / "tests" / "__llm_goldens__") == goldens
    assert sorted(json.dumps(r.body, sort_keys=True) for r in emu.requests()) == inside_calls
    child.stdout.fnmatch_lines(["sent ahead: 12 live calls, 6 at a time: 12 used, 0 wasted"])
    gone = [pid for pid in seen["children"] if Path(f"/proc/{pid}").exists()]  # type: ignore[attr-defined]
    assert gone == []  # ended with the run


@pytest.mark.parametrize("setting", ["off", "on"])
def test_errors_read_the_same_from_the_call_process(llm_project: LLMProject, emu: Emulator, setting: str) -> None:
    project = emulated_project(llm_project, emu)
    project.write_config(emu.provider_tables(), call_process=setting)
    unknown = project.run("--candidate-model=openai/gpt-4o-mini-2024-07-18", "-k", "c00")  # not served here
    unknown.stdout.fnmatch_lines([NOT_FOUND])  # the same line in both, word for word

    project.write_config(emu.provider_tables(), max_retries=3, retry_base_delay=0.01)
    emu.clear_requests()
    emu.add_fault(Fault.http(429, retry_after=0.05, first=4))
    limited = project.run(*ARGS)
    limited.assert_outcomes(passed=21, failed=3)
    statuses = [r.status for r in emu.requests()]
    assert statuses.count(429) == 4
    assert statuses.count(200) == 12


KILLER = (
    CHILDREN
    + """\
import signal

def kill_call_process():
    for pid in children():
        os.kill(pid, signal.SIGKILL)
        Path("killed").write_text(str(pid))
"""
)


def test_a_killed_call_process_costs_the_calls_it_held_and_the_run_goes_on(
    llm_project: LLMProject, emu: Emulator
) -> None:
    project = emulated_project(llm_project, emu)
    project.run(*ARGS).assert_outcomes(passed=21, failed=3)
    verdicts = project.verdicts()

    emu.add_model(CANDIDATE_MODEL, CANDIDATE, latency_ms=300)  # answers still in flight when the child dies
    project.write("tests/killer.py", KILLER)
    killing = CASE_TEST.replace(
        "    out = llm.complete", "    if llm_case.id == 'c04':\n        kill_call_process()\n    out = llm.complete"
    ).replace("import pytest\n", "import pytest\nfrom killer import kill_call_process\n")
    project.test_file(killing)
    project.write_config(emu.provider_tables(), call_process="on", max_retries=2, retry_base_delay=0.01)
    result = project.run("--llm-concurrency=4", *ARGS)
    assert (project.path / "killed").exists()
    result.assert_outcomes(passed=21, failed=3)
    assert project.verdicts() == verdicts


def many_cases(llm_project: LLMProject, emu: Emulator, count: int) -> LLMProject:
    emu.add_model(CURRENT_MODEL, CURRENT)
    emu.add_model(CANDIDATE_MODEL, CURRENT)
    llm_project.write_config(emu.provider_tables(), model=f"openai/{CURRENT_MODEL}", max_retries=0)
    cases = "".join(f"- {{id: c{i:02d}, input: 'Person {i} was born in City{i}.'}}\n" for i in range(count))
    llm_project.write("tests/cases.yaml", cases)
    llm_project.test_file(CASE_TEST)
    llm_project.write("conftest.py", WATCH)
    llm_project.run("--llm-record", "--llm-concurrency=8").assert_outcomes(passed=count)
    return llm_project


def test_auto_starts_a_call_process_for_a_long_run_only(llm_project: LLMProject, emu: Emulator) -> None:
    project = many_cases(llm_project, emu, 40)
    project.run(*ARGS).assert_outcomes(passed=80)  # 80 live calls: worth a child
    assert len(watched(project)["children"]) == 1  # type: ignore[arg-type]

    project.run(*ARGS, "-k", "c0").assert_outcomes(passed=20, deselected=60)  # 10 cases: not worth one
    assert watched(project)["children"] == []

    project.run(*ARGS, "--llm-concurrency=1").assert_outcomes(passed=80)  # one call at a time: nothing to gain
    assert watched(project)["children"] == []

    # respx loaded (as its pytest plugin would have it): its mocks answer in pytest's process, so the calls stay
    respx = "import sys, types\nsys.modules.setdefault('respx', types.ModuleType('respx'))\n"
    project.write("conftest.py", respx + WATCH)
    try:
        project.run(*ARGS).assert_outcomes(passed=80)
    finally:
        sys.modules.pop("respx", None)
    assert watched(project)["children"] == []


def test_ctrl_c_leaves_no_call_process_behind(llm_project: LLMProject, emu: Emulator) -> None:
    project = many_cases(llm_project, emu, 40)
    emu.add_model(CANDIDATE_MODEL, CANDIDATE, latency_ms=1500)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project.path), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *ARGS],
        cwd=project.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    child: list[int] = []
    while not child and time.monotonic() < deadline:
        time.sleep(0.2)
        child = [
            int(pid)
            for pid in os.listdir("/proc")
            if pid.isdigit() and _parent(int(pid)) == proc.pid and b"call_worker" in _cmdline(int(pid))
        ]
    assert child, "no call process started"
    # started before pytest configures: interrupted once the run is under way, with calls in flight in the child
    while not emu.requests(CANDIDATE_MODEL) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert emu.requests(CANDIDATE_MODEL), "no candidate call was made"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out.decode()
    assert b"KeyboardInterrupt" in out
    assert not _alive(child[0])


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


SESSION_KEY = """\
import os

import pytest

@pytest.fixture(scope="session", autouse=True)
def key_from_a_vault():
    os.environ["OPENAI_API_KEY"] = "sk-from-a-session-fixture"
    yield
    del os.environ["OPENAI_API_KEY"]
"""


@pytest.mark.parametrize("setting", ["off", "on"])
def test_a_key_a_session_fixture_sets_reaches_the_call_process(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    project = emulated_project(llm_project, emu)
    project.write("conftest.py", SESSION_KEY)
    project.write_config(emu.provider_tables(), call_process=setting)
    monkeypatch.delenv("OPENAI_API_KEY")  # the child starts before the fixture sets it
    project.run(*ARGS).assert_outcomes(passed=21, failed=3)
    assert {r.api_key for r in emu.requests()} == {"sk-from-a-session-fixture"}


def test_a_call_process_that_cannot_start_costs_nothing(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = emulated_project(llm_project, emu)
    project.run(*ARGS).assert_outcomes(passed=21, failed=3)
    verdicts = project.verdicts()
    emu.clear_requests()

    project.write_config(emu.provider_tables(), call_process="on")  # max_retries = 0: a failed call would show
    broken = project.path / "broken-python"  # an interpreter that cannot run the worker, found out late:
    broken.write_text("#!/bin/sh\nsleep 1\nexit 1\n")  # the first calls are waiting on it by then
    broken.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(broken))
    project.run(*ARGS).assert_outcomes(passed=21, failed=3)
    assert project.verdicts() == verdicts
    assert len(emu.requests()) == 12  # each call made once, in pytest's process


ODD_PARAMS = """\
import enum
import types

import pytest
from pytest_llmversion import checks


class Stop(str, enum.Enum):  # a str, so a valid stop sequence; its class is this test module's
    END = "<end>"


@pytest.mark.llm_regression(cases="cases.yaml")
def test_city(llm, llm_case, llm_golden):
    if llm_case.id < "c06":
        extra = {"stop": [Stop.END]}
    else:  # a mapping that does not pickle at all
        extra = {"response_format": types.MappingProxyType({"type": "json_object"})}
    out = llm.complete(llm_case.input, **extra)
    llm_golden.check(out, checks.valid_json())
"""


def test_a_request_that_cannot_cross_is_made_in_pytests_process(llm_project: LLMProject, emu: Emulator) -> None:
    emu.add_model(CURRENT_MODEL, CURRENT)
    llm_project.write_config(emu.provider_tables(), model=f"openai/{CURRENT_MODEL}", max_retries=0, call_process="on")
    llm_project.write("tests/cases.yaml", CASES)
    llm_project.test_file(ODD_PARAMS)
    llm_project.write("conftest.py", WATCH)
    # a first recording: nothing to plan from, so each body's own request goes out, odd parameters and all
    result = llm_project.run("--llm-record")
    result.assert_outcomes(passed=12)
    assert "call process" not in result.stdout.str()
    assert len(watched(llm_project)["children"]) == 1  # type: ignore[arg-type]
    sent = emu.requests(CURRENT_MODEL)
    assert len(sent) == 12  # each made once
    assert sum(r.body.get("stop") == ["<end>"] for r in sent) == 6
    assert sum(r.body.get("response_format") == {"type": "json_object"} for r in sent) == 6


def test_a_key_under_a_name_of_its_own_is_known_to_pytests_redaction(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_llmversion.redaction import known_secrets

    project = emulated_project(llm_project, emu)
    key = "company-vault-key-5d1e9a0b7c"
    monkeypatch.setenv("COMPANY_LLM_KEY", key)
    tables = emu.provider_tables().replace(
        "[tool.llmversion.providers.openai]\n", '[tool.llmversion.providers.openai]\napi_key_env = "COMPANY_LLM_KEY"\n'
    )
    project.write_config(tables, call_process="on")
    project.run(*ARGS).assert_outcomes(passed=21, failed=3)
    assert {r.api_key for r in emu.requests()} == {key}
    assert key in known_secrets()  # read by the child's adapter, remembered here as well


def test_a_run_that_never_reaches_its_end_leaves_no_call_process(llm_project: LLMProject, emu: Emulator) -> None:
    project = emulated_project(llm_project, emu)
    project.write_config(emu.provider_tables(), call_process="on")
    mine = os.getpid()
    project.run("--markers", *ARGS)  # configures (the child starts), then lists markers: no session
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = [
            int(pid)
            for pid in os.listdir("/proc")
            if pid.isdigit() and _parent(int(pid)) == mine and b"call_worker" in _cmdline(int(pid)) and _alive(int(pid))
        ]
        if not alive:
            break
        time.sleep(0.1)
    assert alive == []


#: A conftest that notes the call processes alive as pytest configures, before the plugin does (tryfirst), with
#: the arguments each was started with after its descriptor (the SDKs it imports at once).
BEFORE_CONFIGURE = (
    WATCH
    + """\
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    seen = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\\0")[5:] for pid in children()}
    noted = {pid: [a.decode() for a in args if a] for pid, args in seen.items()}
    Path("before_configure.json").write_text(json.dumps(noted))
"""
)


def before_configure(project: LLMProject) -> dict[str, list[str]]:
    data: dict[str, list[str]] = json.loads((project.path / "before_configure.json").read_text())
    return data


def test_a_live_run_starts_its_call_process_before_pytest_configures(llm_project: LLMProject, emu: Emulator) -> None:
    """The command line asks for live calls: the child is started before any plugin configures, importing the SDK
    its models name while pytest's process builds the run's context, and it is the child the run calls through."""
    project = many_cases(llm_project, emu, 40)
    project.write("conftest.py", BEFORE_CONFIGURE)
    emu.clear_requests()
    project.run(*ARGS).assert_outcomes(passed=80)
    before = before_configure(project)
    assert list(before.values()) == [["openai"]]
    assert watched(project)["children"] == [int(pid) for pid in before]  # adopted: no second child
    assert len(emu.requests(CANDIDATE_MODEL)) == 40


@pytest.mark.parametrize(
    ("args", "config", "environ"),
    [
        pytest.param((), {"call_process": "off"}, {}, id="off in the config"),
        pytest.param((), {}, {"LLMVERSION_CALL_PROCESS": "off"}, id="off in the environment"),
        pytest.param(("--llm-concurrency=1",), {}, {}, id="one call at a time"),
        pytest.param(("--help",), {}, {}, id="help"),
    ],
)
def test_no_call_process_is_started_early_where_the_run_would_not_take_it(
    llm_project: LLMProject,
    emu: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    config: dict[str, str],
    environ: dict[str, str],
) -> None:
    project = many_cases(llm_project, emu, 40)
    project.write("conftest.py", BEFORE_CONFIGURE)
    if config:
        project.write_config(emu.provider_tables(), **config)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    project.run(*ARGS, *args)
    assert before_configure(project) == {}
    if "--help" not in args:
        assert watched(project)["children"] == []


def test_a_call_process_started_early_and_not_wanted_is_ended(llm_project: LLMProject, emu: Emulator) -> None:
    """The guess was wrong: the candidate is the current model, so the run makes no live call; the child started
    before pytest configured is ended as the context is built, and reaped."""
    project = many_cases(llm_project, emu, 40)
    project.write("conftest.py", BEFORE_CONFIGURE)
    mine = os.getpid()
    project.run(f"--candidate-model=openai/{CURRENT_MODEL}").assert_outcomes(passed=40)
    assert len(before_configure(project)) == 1  # started on the command line's word
    assert watched(project)["children"] == []  # gone before the first test ran
    assert not [
        pid
        for pid in os.listdir("/proc")
        if pid.isdigit() and _parent(int(pid)) == mine and b"call_worker" in _cmdline(int(pid))
    ]  # not even a zombie: it was waited for
