"""pytest-xdist: ``-n 2`` gives the same verdicts, goldens and report as a serial run; only the controller
writes files; ``-p no:xdist`` works."""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest
from conftest import LLMProject

CASES = "".join(f"- id: case{n}\n  input: Person{n} Smith was born in Town{n}.\n" for n in range(6))

TEST_PEOPLE = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(cases="cases/people.yaml")
def test_people(llm, llm_case, llm_golden):
    out = llm.complete(llm_case.input)
    llm_golden.check(out, checks.valid_json(), checks.json_field("city", llm_case.input.split(" in ")[1][:-1]))
"""

TEST_OTHER = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.parametrize("name", ["Ada Lovelace", "Alan Turing", "Grace Hopper"])
@pytest.mark.llm_regression
def test_named(llm, llm_golden, name):
    llm_golden.check(llm.complete(f"{name} was born in London."), checks.contains(name))

def test_plain():
    pass
"""

#: On a worker, writing a golden or the report is logged and refused: only the controller may.
WORKERS_MUST_NOT_WRITE = """\
from pathlib import Path

def pytest_configure(config):
    if not hasattr(config, "workerinput"):
        return
    import pytest_llmversion.atomic, pytest_llmversion.run.goldens, pytest_llmversion.report.schema

    original = pytest_llmversion.atomic.write_atomic

    def guarded(path, text):
        if "__llm_goldens__" in str(path) or Path(path).name == "report.json":
            with open(Path(str(config.rootpath)) / "worker-writes.log", "a") as log:
                log.write(f"{path}\\n")
            raise RuntimeError(f"a worker wrote {path}")
        return original(path, text)

    for module in (pytest_llmversion.run.goldens, pytest_llmversion.report.schema, pytest_llmversion.atomic):
        module.write_atomic = guarded
"""

CANDIDATE = """\
# synthetic: fences two of the people, forgets the city of a third
extends: m1
rules:
  - when: {any: [{contains: Person1 }, {contains: Person4 }]}
    respond: '{"name": "x", "city": "y"}'
    transform: {fence: json}
  - when: {contains: Person2 }
    respond: '{"name": "Person2 Smith"}'
"""


@pytest.fixture
def project(llm_project: LLMProject) -> LLMProject:
    llm_project.write("tests/cases/people.yaml", CASES)
    llm_project.test_file(TEST_PEOPLE, name="test_people.py")
    llm_project.test_file(TEST_OTHER, name="test_other.py")
    llm_project.write("conftest.py", WORKERS_MUST_NOT_WRITE)
    llm_project.model("m2", CANDIDATE)
    return llm_project


def goldens(project: LLMProject) -> dict[str, bytes]:
    return {
        str(p.relative_to(project.path)): p.read_bytes()
        for p in sorted((project.path / "tests").rglob("__llm_goldens__/**/*.yaml"))
    }


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what differs between any two runs: timestamps and measured latencies."""

    def without_latency(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_latency(v) for k, v in value.items() if "latency" not in k}
        if isinstance(value, list):
            return [without_latency(v) for v in value]
        return value

    return without_latency({"items": report["items"], "summary": report["summary"], "mode": report["run"]["mode"]})


def llm_section(result: pytest.RunResult) -> list[str]:
    lines = result.stdout.lines
    start = next(
        i for i, line in enumerate(lines) if line.endswith(" llmversion " + "=" * 10) or "= llmversion =" in line
    )
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith("report: "))
    return [line for line in lines[start : end + 1] if "latency" not in line]  # measured, so it varies


def test_recording_with_two_workers_writes_the_same_goldens_as_a_serial_run_from_the_controller(
    project: LLMProject,
) -> None:
    project.run("--llm-record").assert_outcomes(passed=10)
    serial = goldens(project)
    assert len(serial) == 9
    shutil.rmtree(project.path / "tests" / "__llm_goldens__")
    stale = project.golden("test_gone/test_removed.yaml")  # unused: pruned by the controller after merging
    stale.parent.mkdir(parents=True)
    stale.write_text("# pytest-llmversion golden: of a test module that is gone\nschema: 1\n")

    result = project.run("--llm-record", "--llm-prune-unused", "-n", "2")
    result.assert_outcomes(passed=10)
    result.stdout.fnmatch_lines(
        [
            "goldens: 9 written, 0 unchanged (review them with git diff, then commit)",
            "1 golden(s) removed, no collected test uses them:",
            "  tests/__llm_goldens__/test_gone/test_removed.yaml",
        ]
    )
    assert not (project.path / "worker-writes.log").exists()
    assert goldens(project) == serial


def test_two_workers_give_the_same_verdicts_report_and_summary_as_a_serial_run(project: LLMProject) -> None:
    project.run("--llm-record").assert_outcomes(passed=10)
    stale = project.golden("test_gone/test_removed.yaml")  # an unused golden, to compare the unused list too
    stale.parent.mkdir()
    shutil.copy(project.golden("test_other/test_named[Ada-Lovelace]-5445b732c2.yaml"), stale)

    serial = project.run("--candidate-model=scripted/m2")
    serial.assert_outcomes(passed=16, failed=3)
    serial_report = comparable(project.report())
    assert serial_report["summary"]["counts"]["candidate"] == {"FORMAT_BREAK": 2, "REGRESSED": 1, "UNCHANGED": 6}
    assert serial_report["summary"]["unused_goldens"] == ["tests/__llm_goldens__/test_gone/test_removed.yaml"]

    parallel = project.run("--candidate-model=scripted/m2", "-n", "2", "-v")
    parallel.assert_outcomes(passed=16, failed=3)
    assert comparable(project.report()) == serial_report
    assert llm_section(parallel) == llm_section(serial)
    assert not (project.path / "worker-writes.log").exists()
    # -v names each item's verdict on the controller too (the word rides on the test report from the worker)
    words = re.findall(r"^\[gw\d\] (?:\[ *\d+%\] )?(\S+) tests/", parallel.stdout.str(), re.M)
    assert sorted(set(words)) == ["FORMAT_BREAK", "MATCH", "PASSED", "REGRESSED", "UNCHANGED"]


def test_p_no_xdist_runs_serially_with_the_same_verdicts(project: LLMProject) -> None:
    project.run("--llm-record").assert_outcomes(passed=10)
    result = project.run("-p", "no:xdist", "--candidate-model=scripted/m2")
    result.assert_outcomes(passed=16, failed=3)
    assert "PluginValidationError" not in result.stdout.str() + result.stderr.str()
    assert project.report()["summary"]["counts"]["candidate"] == {"FORMAT_BREAK": 2, "REGRESSED": 1, "UNCHANGED": 6}
