"""Ctrl-C during ``--llm-record`` leaves every golden old or new, never half-written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from conftest import LLMProject

from pytest_llmversion import atomic

TESTS = """\
import os
import signal

import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression
def test_first(llm, llm_golden):
    llm_golden.check(llm.complete("Ada Lovelace was born in {city}."), checks.valid_json())

@pytest.mark.llm_regression
def test_second(llm, llm_golden):
    llm_golden.check(llm.complete("Alan Turing was born in {city}."), checks.valid_json())
    {interrupt}

@pytest.mark.llm_regression
def test_third(llm, llm_golden):
    llm_golden.check(llm.complete("Grace Hopper was born in {city}."), checks.valid_json())
"""

GOLDENS = ("test_first", "test_second", "test_third")


@pytest.mark.parametrize(
    "interrupt",
    [
        pytest.param("raise KeyboardInterrupt", id="keyboard-interrupt"),
        pytest.param("os.kill(os.getpid(), signal.SIGINT)", id="sigint"),
    ],
)
def test_an_interrupted_recording_leaves_each_golden_old_or_new(llm_project: LLMProject, interrupt: str) -> None:
    llm_project.test_file(TESTS.format(city="London", interrupt="pass"))
    llm_project.run("--llm-record").assert_outcomes(passed=3)
    old = {name: llm_project.golden(f"test_llm/{name}.yaml").read_bytes() for name in GOLDENS}

    llm_project.test_file(TESTS.format(city="Paris", interrupt=interrupt))
    result = llm_project.run_subprocess("--llm-record")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    result.stdout.fnmatch_lines(["gate: FAIL (the run was interrupted before every item ran)"])

    new = {name: llm_project.golden(f"test_llm/{name}.yaml").read_bytes() for name in GOLDENS}
    assert new["test_first"] != old["test_first"]  # it passed before the interrupt: its golden is written, whole
    assert b"Paris" in new["test_first"]
    assert new["test_second"] == old["test_second"]  # interrupted: left as it was
    assert new["test_third"] == old["test_third"]  # never ran
    for text in new.values():
        assert yaml.safe_load(text)["schema"] == 1
    assert [p.name for p in llm_project.golden("test_llm").iterdir() if not p.name.endswith(".yaml")] == []
    report = llm_project.report()
    assert report["summary"]["gate"] == "fail"
    assert report["run"]["exit_status"] == int(pytest.ExitCode.INTERRUPTED)


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_write_interrupted_midway_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    golden = tmp_path / "test_x.yaml"
    golden.write_text("schema: 1\nold: true\n")

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, failing, interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic.write_atomic(golden, "schema: 1\nnew: true\n" * 1000)
    monkeypatch.undo()
    assert golden.read_text() == "schema: 1\nold: true\n"
    assert [p.name for p in tmp_path.iterdir()] == ["test_x.yaml"]
