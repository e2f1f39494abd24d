"""``llmversion rollout status|advance|rollback|simulate`` as a user runs them, and the checklist line."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
from rollout_project import _fresh_deployments, make_project, store_of  # noqa: F401

from pytest_llmversion import cli, connect
from pytest_llmversion.rollout.records import CallRecord
from pytest_llmversion.rollout.store import StageChange

FAILING_NEW = """\
rules:
  - error: {kind: unavailable, probability: 0.3}
    respond: '{"answer": "new"}'
default:
  respond: '{"answer": "new"}'
"""


def run(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> tuple[int, str, str]:
    status = cli.main(["--root", str(project), "rollout", *args])
    out, err = capsys.readouterr()
    return status, out, err


def traffic(project: Path, calls: int, prefix: str = "user") -> None:
    for n in range(calls):
        # a failed call: the application would show an error page; the record is what matters here
        with contextlib.suppress(Exception):
            connect(project, rollout_key=f"{prefix}-{n}", environ={}).complete(f"ticket {prefix} {n}")


def test_status_shows_the_arms_side_by_side_and_rolls_back_a_failing_candidate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path, "candidate_percent = 50\nmin_stage_hours = 0\n", models=None)
    (project / "models" / "new.yaml").write_text(FAILING_NEW)
    traffic(project, 600)
    status, out, err = run(capsys, project, "status")
    assert (status, err) == (1, "")
    lines = out.splitlines()
    assert lines[0] == "llmversion rollout: scripted/old -> scripted/new at 50 % (stages 1, 5, 10, 25, 50, 100)"
    assert lines[1] == "  .llmversion/rollout.sqlite, since the first record"
    header = next(line for line in lines if line.strip().startswith("current"))
    assert header.split() == ["current", "candidate"]
    error_row = next(line for line in lines if line.strip().startswith("error rate ")).split()
    assert error_row[2:4] == ["0.00", "%"]
    assert 20 < float(error_row[4]) < 40
    assert any(line.startswith("  error rate      OVER  above the +50 % tolerance (e = ") for line in lines)
    assert lines[-1] == 'recommendation: ROLL BACK: llmversion rollout rollback --reason "..."'


def test_status_too_early_holds_and_says_how_many_calls_are_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path, "candidate_percent = 10\n")
    traffic(project, 300)
    status, out, _ = run(capsys, project, "status")
    assert status == 0
    assert "recommendation: HOLD at 10 % (the open rules above say what is missing)" in out
    calls_rule = next(line for line in out.splitlines() if "min_calls" in line)
    assert calls_rule.startswith("  calls           open  ")
    assert calls_rule.endswith("more per arm (min_calls = 200)")
    assert "h more at 10 % (min_stage_hours = 48)" in out


def test_advance_moves_to_the_next_stage_keeping_comments_and_records_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(
        tmp_path, "# stages go 1, 10, 50, 100\ncandidate_percent = 0  # set by the CLI\nstages = [1, 10, 50, 100]\n"
    )
    before = (project / "pyproject.toml").read_text()
    status, out, err = run(capsys, project, "advance")
    assert (status, err) == (0, "")
    assert out.splitlines()[0] == "llmversion: candidate_percent: 0 -> 1 in pyproject.toml ([tool.llmversion.rollout])"
    after = (project / "pyproject.toml").read_text()
    assert after == before.replace("candidate_percent = 0  # set by the CLI", "candidate_percent = 1  # set by the CLI")
    (change,) = store_of(project).stage_changes("scripted/new")
    assert (change.before, change.after, change.reason) == (0, 1, "advanced")


def test_advance_refuses_while_status_does_not_say_advance_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path, "candidate_percent = 10\nstages = [1, 10, 50, 100]\n")
    status, _, err = run(capsys, project, "advance")
    assert status == 1
    assert err.startswith("llmversion: status says hold, not advance (error rate: ")
    assert err.rstrip().endswith("advance anyway with --force")
    assert "candidate_percent = 10" in (project / "pyproject.toml").read_text()
    status, out, _ = run(capsys, project, "advance", "--force")
    assert status == 0
    assert "candidate_percent: 10 -> 50" in out
    assert "  recorded: advanced with --force while status said hold" in out


def test_advance_goes_when_the_evidence_is_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = make_project(
        tmp_path, "candidate_percent = 50\nmin_stage_hours = 0\nmin_calls = 100\nstages = [50, 100]\n"
    )
    traffic(project, 2400)  # no failures: the candidate's rate is shown below the negligible 0.5 %
    status, out, _ = run(capsys, project, "status")
    assert status == 0
    assert out.splitlines()[-1] == "recommendation: ADVANCE to 100 %: llmversion rollout advance"
    status, out, _ = run(capsys, project, "advance")
    assert (status, out.splitlines()[0]) == (
        0,
        "llmversion: candidate_percent: 50 -> 100 in pyproject.toml ([tool.llmversion.rollout])",
    )
    status, _, err = run(capsys, project, "advance")
    assert status == 1
    assert err == (
        "llmversion: candidate_percent = 100 is the last stage; "
        "at 100 % make scripted/new the model with llmversion promote\n"
    )


def test_rollback_sets_zero_with_the_reason_in_pyproject_and_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path, "candidate_percent = 10\nreload_seconds = 0\n")
    client = connect(project, rollout_key="user-1", environ={})
    status, out, err = run(capsys, project, "rollback", "--reason", "error rate 7 % vs 2 %")
    assert (status, err) == (0, "")
    assert out.splitlines()[0] == (
        "llmversion: candidate_percent: 10 -> 0 in pyproject.toml ([tool.llmversion.rollout]); "
        "reason: error rate 7 % vs 2 %"
    )
    text = (project / "pyproject.toml").read_text()
    assert "candidate_percent = 0 # rolled back " in text
    assert text.splitlines()[-2].endswith("UTC: error rate 7 % vs 2 %")
    assert store_of(project).stage_changes()[-1].reason == "error rate 7 % vs 2 %"
    assert client.complete("hi").text == '{"answer": "old"}'
    run(capsys, project, "advance")  # starting again removes the roll-back note
    assert "rolled back" not in (project / "pyproject.toml").read_text()


def test_status_reads_the_window_from_the_last_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = make_project(tmp_path, "candidate_percent = 10\n")
    store = store_of(project)
    old = time.time() - 3600
    store.write(CallRecord(old - 10, "candidate", 10, "scripted/new", "k", 5.0, error="unavailable"))
    store.record_stage_change(StageChange(old, "scripted/new", 0, 10, "advanced"))
    store.write(CallRecord(old + 10, "candidate", 10, "scripted/new", "k", 5.0))
    store.close()
    _, out, _ = run(capsys, project, "status")
    candidate_calls = next(line for line in out.splitlines() if line.startswith("  calls ")).split()[-1]
    assert candidate_calls == "1"  # the failure before the restart is not counted
    assert "time at stage" in out
    assert "  time at stage   open  47.0 h more at 10 %" in out


def test_bad_input_is_one_line_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = make_project(tmp_path, "stages = [50, 10]\n")
    status, out, err = run(capsys, project, "status")
    assert (status, out) == (2, "")
    assert err == "llmversion: [tool.llmversion.rollout] stages = [50, 10]: stages must increase\n"
    assert run(capsys, project, "status", "--since", "yesterday")[0] == 2


def test_no_candidate_means_nothing_to_roll_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.llmversion]\nmodel = "scripted/old"\n')
    status, _, err = run(capsys, tmp_path, "status")
    assert status == 2
    assert err == "llmversion: no candidate_model (and model) in [tool.llmversion]: nothing is rolling out\n"


def test_simulate_reports_the_operating_characteristics_of_the_projects_thresholds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path)
    status, out, _ = run(
        capsys, project, "simulate", "--current-error", "0.02", "--candidate-error", "0.07", "--runs", "50"
    )
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith(
        "llmversion rollout simulate: error rate 2.00% (current) vs 7.00% (candidate), 50 rollouts"
    )
    assert lines[2].startswith("  rollback   100.0%; calls per arm: median ")


def test_the_migration_checklist_ticks_production_monitoring_from_the_store(tmp_path: Path) -> None:
    from pytest_llmversion.config import load_config
    from pytest_llmversion.governance.checklist import Line
    from pytest_llmversion.rollout.status import monitoring_fact

    project = make_project(tmp_path, "candidate_percent = 100\nstages = [10, 100]\n")
    resolved = load_config(project, environ={})
    assert monitoring_fact(resolved, project, current="scripted/old", candidate="scripted/new") == (
        False,
        "no rollout metrics in .llmversion/rollout.sqlite (connect(rollout_key=...) records them)",
    )
    store = store_of(project)
    start = time.time() - 120 * 3600
    for stage, first_hour in ((10, 0), (100, 60)):
        for hour in range(first_hour, first_hour + 50):
            for arm in ("current", "candidate"):
                model = "scripted/old" if arm == "current" else "scripted/new"
                store.write(CallRecord(start + hour * 3600, arm, stage, model, "k", 100.0))  # type: ignore[arg-type]
    store.close()
    done, text = monitoring_fact(resolved, project, current="scripted/old", candidate="scripted/new")
    assert (done, text) == (
        True,
        "10 % for 49 h, 100 % for 49 h (48 h each, .llmversion/rollout.sqlite), no roll-back signal",
    )
    assert Line(done, f"Production metrics monitored at each stage: {text}").render().startswith("  [x] Production")
