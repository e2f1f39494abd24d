"""Gradual rollout in production: a stable share of keys goes to the candidate, each call is recorded,
and the stage is followed at run time."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from rollout_project import _fresh_deployments, make_project, store_of  # noqa: F401

from pytest_llmversion import checks, connect
from pytest_llmversion.rollout import Rollout, RolloutError, select_model
from pytest_llmversion.rollout.stage import set_stage


def test_the_same_key_always_gets_the_same_model() -> None:
    rollout = Rollout(candidate_percent=10)
    picks = {select_model("a/current", "a/candidate", rollout, "user-42") for _ in range(20)}
    assert len(picks) == 1


def test_the_share_of_keys_on_the_candidate_matches_the_stage() -> None:
    keys = [f"user-{n}" for n in range(20_000)]
    for percent in (1, 10, 50):
        share = sum(Rollout(candidate_percent=percent).uses_candidate(k) for k in keys) / len(keys) * 100
        assert abs(share - percent) < max(0.6, percent * 0.06), (percent, share)


def test_stages_nest_so_raising_the_percentage_only_adds_keys() -> None:
    keys = [f"tenant-{n}" for n in range(2_000)]
    at_10 = {k for k in keys if Rollout(candidate_percent=10).uses_candidate(k)}
    at_50 = {k for k in keys if Rollout(candidate_percent=50).uses_candidate(k)}
    assert at_10 < at_50


def test_no_candidate_or_zero_percent_means_the_current_model() -> None:
    assert select_model("a/current", None, Rollout(candidate_percent=100), "k") == "a/current"
    assert select_model("a/current", "a/candidate", Rollout(), "k") == "a/current"
    assert select_model("a/current", "a/candidate", Rollout(candidate_percent=100), "k") == "a/candidate"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"candidate_percent": 150},
            "[tool.llmversion.rollout] candidate_percent = 150: expected a number from 0 to 100",
        ),
        ({"candidate_percent": "ten"}, "candidate_percent = 'ten': expected a number from 0 to 100"),
        ({"stages": [50, 10]}, "[tool.llmversion.rollout] stages = [50, 10]: stages must increase"),
        ({"stages": [0, 10]}, "stages = [0, 10]: each stage must be above 0 and at most 100"),
        ({"alpha": 0.7}, "alpha = 0.7: expected a number above 0 and <= 0.5"),
        ({"metrics": ["prometheus"]}, "metrics = ['prometheus']: expected a list of 'sqlite' and 'otel'"),
        ({"store": "/var/rollout.sqlite"}, "store = '/var/rollout.sqlite': expected a path inside the project"),
        ({"min_calls": 2.5}, "min_calls = 2.5: expected a whole number >= 1"),
        ({"store_text": "yes"}, "store_text = 'yes': expected true or false"),
        ({"candidate_percnt": 10}, "unknown key 'candidate_percnt' in [tool.llmversion.rollout] (did you mean"),
    ],
)
def test_bad_tables_are_one_line_naming_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(RolloutError) as caught:
        Rollout.from_table(table)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_limits_can_be_switched_off_with_false() -> None:
    rollout = Rollout.from_table({"max_p95_latency_increase": False, "max_cost_increase": 10})
    assert rollout.max_p95_latency_increase is None
    assert rollout.max_cost_increase == 10


def test_connect_serves_the_rollout_share_from_the_candidate_and_records_every_call(tmp_path: Path) -> None:
    project = make_project(tmp_path, "candidate_percent = 25\n")
    answers = [connect(project, rollout_key=f"user-{n}", environ={}).complete("hi").text for n in range(400)]
    share = answers.count('{"answer": "new"}') / len(answers)
    assert 0.18 < share < 0.32
    assert connect(project, environ={}).complete("hi").text == '{"answer": "old"}'  # no key: no rollout

    records = store_of(project).calls()
    assert len(records) == 400  # the keyless call is not part of the comparison
    by_arm = {arm: [r for r in records if r.arm == arm] for arm in ("current", "candidate")}
    assert len(by_arm["candidate"]) == answers.count('{"answer": "new"}')
    assert {r.model for r in by_arm["candidate"]} == {"scripted/new"}
    assert {r.model_served for r in by_arm["current"]} == {"old"}
    assert all(200 <= r.latency_ms <= 400 for r in records)  # the scripted latency, not the microseconds it took
    assert all(r.stage == 25 and not r.fallback and r.error is None and r.input_tokens > 0 for r in records)


def test_what_is_stored_of_a_call_holds_no_text_and_no_readable_key(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    connect(project, rollout_key="customer-8812", environ={}).complete("my password is hunter2")
    database = (project / ".llmversion" / "rollout.sqlite").read_bytes()
    wal = project / ".llmversion" / "rollout.sqlite-wal"
    everything = database + (wal.read_bytes() if wal.exists() else b"")
    assert b"hunter2" not in everything
    assert b"customer-8812" not in everything
    record = store_of(project).calls()[0]
    assert record.prompt_text is None
    assert record.answer_text is None
    assert len(record.key) == 24


def test_store_text_keeps_prompt_and_answer_when_asked(tmp_path: Path) -> None:
    project = make_project(tmp_path, "candidate_percent = 0\nstore_text = true\n")
    connect(project, rollout_key="k", environ={}).complete("what is my order status?")
    record = store_of(project).calls()[0]
    assert record.prompt_text == "user: what is my order status?"
    assert record.answer_text == '{"answer": "old"}'


def test_a_failed_call_is_recorded_with_its_error_kind_and_still_raised(tmp_path: Path) -> None:
    broken = "default:\n  error: {kind: rate_limited}\n"
    project = make_project(
        tmp_path, "candidate_percent = 100\n", models={"old": "default: {respond: ok}\n", "new": broken}
    )
    with pytest.raises(Exception, match="injected rate limited"):
        connect(project, rollout_key="k", environ={}).complete("hi")
    (record,) = store_of(project).calls()
    assert (record.arm, record.error, record.answered_by, record.cost_usd) == ("candidate", "rate_limited", None, None)


def test_a_fallback_answer_is_recorded_as_such(tmp_path: Path) -> None:
    broken = "default:\n  error: {kind: unavailable}\n"
    models = {"old": "default: {respond: ok}\n", "new": broken, "spare": "default: {respond: spare}\n"}
    config = 'fallback_models = ["scripted/spare"]\n'
    project = make_project(tmp_path, "candidate_percent = 100\n", config=config, models=models)
    assert connect(project, rollout_key="k", environ={}).complete("hi").text == "spare"
    (record,) = store_of(project).calls()
    assert (record.arm, record.model, record.answered_by, record.fallback) == (
        "candidate",
        "scripted/new",
        "scripted/spare",
        True,
    )


def test_the_stage_is_reread_when_pyproject_changes_so_a_rollback_needs_no_redeploy(tmp_path: Path) -> None:
    project = make_project(tmp_path, "candidate_percent = 100\nreload_seconds = 0\n")
    client = connect(project, rollout_key="user-1", environ={})
    assert client.complete("hi").text == '{"answer": "new"}'
    set_stage(project / "pyproject.toml", 0, note="too many errors")
    assert client.complete("hi").text == '{"answer": "old"}'  # the same client object, no reconnect
    assert [r.stage for r in store_of(project).calls()] == [100, 0]


def test_the_file_is_looked_at_no_more_often_than_reload_seconds(tmp_path: Path) -> None:
    project = make_project(tmp_path, "candidate_percent = 100\nreload_seconds = 3600\n")
    client = connect(project, rollout_key="user-1", environ={})
    set_stage(project / "pyproject.toml", 0)
    assert client.complete("hi").text == '{"answer": "new"}'  # not looked at again within the hour


def test_a_broken_edit_keeps_the_last_good_stage(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    project = make_project(tmp_path, "candidate_percent = 100\nreload_seconds = 0\n")
    client = connect(project, rollout_key="user-1", environ={})
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("candidate_percent = 100", "candidate_percent = 1000"))
    with caplog.at_level(logging.WARNING, logger="pytest_llmversion.rollout"):
        assert client.complete("hi").text == '{"answer": "new"}'
    assert "candidate_percent = 1000: expected a number from 0 to 100; keeping candidate_percent = 100" in caplog.text


def test_registry_prompts_follow_the_arm_when_the_stage_changes_between_prompt_and_complete(tmp_path: Path) -> None:
    models = {
        "old": "default: {respond: '{{input}}'}\n",
        "new": "default: {respond: '{{input}}'}\n",
    }
    project = make_project(tmp_path, "candidate_percent = 0\nreload_seconds = 0\n", models=models)
    (project / "prompts").mkdir()
    (project / "prompts" / "greet.yaml").write_text(
        "task: greet\nversions:\n  v1:\n    default: true\n    user: 'v1 {{name}}'\n"
        "  v2:\n    tuned_for: [scripted/new]\n    user: 'v2 {{name}}'\n"
    )
    client = connect(project, rollout_key="user-1", environ={})
    prompt = client.prompt("greet")  # resolved for the current model: v1
    set_stage(project / "pyproject.toml", 100)
    assert client.complete(prompt, name="Ada").text == "v2 Ada"  # sent to the candidate with its own version
    assert str(client.model) == "scripted/new"
    assert store_of(project).calls()[0].prompt_version == "greet@v2"


def test_quality_checks_score_the_sampled_share_of_calls(tmp_path: Path) -> None:
    models = {"old": "default: {respond: '{\"a\": 1}'}\n", "new": "default: {respond: 'not json'}\n"}
    project = make_project(tmp_path, "candidate_percent = 50\n", models=models)
    for n in range(400):
        client = connect(
            project, rollout_key=f"u{n}", environ={}, quality_checks=[checks.valid_json()], quality_sample=0.25
        )
        client.complete("hi")
    records = store_of(project).calls()
    scored = [r for r in records if r.quality is not None]
    assert 60 < len(scored) < 140
    assert {(r.arm, r.quality_passed, r.quality) for r in scored} == {("current", True, 1.0), ("candidate", False, 0.0)}


def test_quality_checks_per_task_score_only_that_tasks_calls(tmp_path: Path) -> None:
    project = make_project(tmp_path, "candidate_percent = 0\n")
    (project / "prompts").mkdir()
    (project / "prompts" / "greet.yaml").write_text("task: greet\nversions:\n  v1:\n    default: true\n    user: hi\n")
    client = connect(
        project, rollout_key="k", environ={}, quality_checks={"greet": [checks.valid_json()]}, quality_sample=1
    )
    client.complete(client.prompt("greet"))
    client.complete("free text")
    assert [r.quality for r in store_of(project).calls()] == [1.0, None]


def test_acomplete_serves_and_records_from_async_code(tmp_path: Path) -> None:
    project = make_project(tmp_path, "candidate_percent = 50\n")

    async def main() -> list[str]:
        clients = [connect(project, rollout_key=f"user-{n}", environ={}) for n in range(40)]
        answers = await asyncio.gather(*(client.acomplete("hi") for client in clients))
        return [a.text for a in answers]

    answers = asyncio.run(main())
    assert {json.loads(a)["answer"] for a in answers} == {"old", "new"}
    assert store_of(project).count() == 40


def test_importing_the_plugin_and_connect_loads_neither_sqlite_nor_opentelemetry() -> None:
    code = (
        "import sys, pytest_llmversion.plugin, pytest_llmversion.client, pytest_llmversion.rollout\n"
        "from pytest_llmversion import cli; cli.build_parser()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlite3', '_sqlite3', 'opentelemetry')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
