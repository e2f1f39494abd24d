"""A rollout through the real SDK path of ``connect()`` against the loopback emulator: errors, latency,
fallbacks, and the OpenTelemetry metrics a fleet would export."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from rollout_project import _fresh_deployments, store_of  # noqa: F401

from pytest_llmversion import checks, connect
from pytest_llmversion.config import load_config
from pytest_llmversion.providers.base import ProviderError
from pytest_llmversion.rollout.recorder import close_deployments
from pytest_llmversion.rollout.status import read_status
from pytest_llmversion.testing import Emulator, Fault

CURRENT, CANDIDATE, SPARE = "gpt-4o-2024-08-06", "gpt-4o-2024-11-20", "gpt-4o-mini-2024-07-18"


def emulated_project(root: Path, emu: Emulator, rollout: str, extra: str = "") -> Path:
    for model in (CURRENT, CANDIDATE, SPARE):
        emu.add_model(model, respond='{"category": "bug"}')
    (root / "pyproject.toml").write_text(
        f'[tool.llmversion]\nmodel = "openai/{CURRENT}"\ncandidate_model = "openai/{CANDIDATE}"\n'
        f"max_retries = 0\ntimeout = 10\n{extra}{emu.provider_tables()}\n[tool.llmversion.rollout]\n{rollout}"
    )
    return root


def call(project: Path, key: str, **kwargs: Any) -> None:
    with contextlib.suppress(ProviderError):  # the application's error path; the failure is recorded
        connect(project, rollout_key=key, **kwargs).complete(f"ticket of {key}")


def test_a_candidate_failing_7_percent_against_2_is_told_to_roll_back_within_2000_calls_per_arm(
    tmp_path: Path, emu: Emulator
) -> None:
    project = emulated_project(tmp_path, emu, "candidate_percent = 50\nmin_stage_hours = 0\n")
    emu.add_fault(Fault.http(500, probability=0.02, model=CURRENT))
    emu.add_fault(Fault.http(500, probability=0.07, model=CANDIDATE))
    resolved = load_config(project)
    for n in range(1, 4001):
        call(project, f"customer-{n}")
        if n % 200 == 0:  # somebody runs `llmversion rollout status` every ~100 calls per arm
            status = read_status(resolved, project)
            if status.recommendation.action == "rollback":
                break
    assert status.recommendation.action == "rollback"
    assert status.recommendation.finding("error rate").state == "over"
    assert status.candidate.calls <= 2000
    assert 0.04 < (status.candidate.error_rate or 0) < 0.12
    assert (status.current.error_rate or 0) < 0.04
    failures = {r.error for r in store_of(project).calls() if r.error}
    assert failures == {"unavailable"}


def test_a_slower_candidate_is_told_to_roll_back_on_p95_latency(tmp_path: Path, emu: Emulator) -> None:
    rollout = "candidate_percent = 50\nmin_stage_hours = 0\nmin_calls = 80\nmax_p95_latency_increase = 50\n"
    project = emulated_project(tmp_path, emu, rollout)
    emu.add_model(CURRENT, respond='{"category": "bug"}', latency_ms=5)
    # Far apart: "over" needs the candidate's p95 above 1.5x the upper confidence bound of the current's, which
    # with ~90 calls is one of its two slowest; a loaded machine can stall one call by a hundred ms or more.
    emu.add_model(CANDIDATE, respond='{"category": "bug"}', latency_ms=300)
    for n in range(180):
        call(project, f"customer-{n}")
    status = read_status(load_config(project), project)
    assert status.recommendation.finding("p95 latency").state == "over"
    assert status.recommendation.action == "rollback"
    assert (status.candidate.latency(50) or 0) >= 300 > (status.current.latency(95) or 0)


def test_a_fallback_answer_is_recorded_with_the_model_that_gave_it_and_its_price(tmp_path: Path, emu: Emulator) -> None:
    project = emulated_project(tmp_path, emu, "candidate_percent = 100\n", f'fallback_models = ["openai/{SPARE}"]\n')
    emu.add_fault(Fault.http(503, model=CANDIDATE))
    answer = connect(project, rollout_key="customer-1").complete("ticket")
    assert answer.fallback_from == f"openai/{CANDIDATE}"
    (record,) = store_of(project).calls()
    assert (record.arm, record.model, record.answered_by, record.fallback) == (
        "candidate",
        f"openai/{CANDIDATE}",
        f"openai/{SPARE}",
        True,
    )
    assert record.model_served == SPARE
    assert record.cost_usd is not None
    assert record.cost_usd > 0  # priced as the fallback, from the bundled catalogue


def test_opentelemetry_metrics_use_the_genai_conventions_and_the_arm(tmp_path: Path, emu: Emulator) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    project = emulated_project(tmp_path, emu, 'candidate_percent = 50\nmetrics = ["otel"]\n')
    emu.add_fault(Fault.http(429, first=1, model=CURRENT))
    for n in range(40):
        call(project, f"customer-{n}", meter_provider=provider, quality_checks=[checks.valid_json()], quality_sample=1)
    assert not (project / ".llmversion" / "rollout.sqlite").exists()  # otel only: no store
    data = reader.get_metrics_data()
    assert data is not None
    metrics = {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert set(metrics) == {
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "llmversion.rollout.cost",
        "llmversion.rollout.quality",
    }
    duration = metrics["gen_ai.client.operation.duration"]
    assert duration.unit == "s"
    points = list(duration.data.data_points)
    assert sum(p.count for p in points) == 40
    arms = {p.attributes["llmversion.arm"] for p in points}
    assert arms == {"current", "candidate"}
    failed = [p for p in points if "error.type" in p.attributes]
    assert [(p.count, p.attributes["error.type"]) for p in failed] == [(1, "rate_limited")]
    answered = next(p for p in points if p.attributes["llmversion.arm"] == "candidate")
    assert answered.attributes["gen_ai.provider.name"] == answered.attributes["gen_ai.system"] == "openai"
    assert answered.attributes["gen_ai.request.model"] == CANDIDATE
    assert answered.attributes["gen_ai.response.model"] == CANDIDATE
    assert answered.attributes["gen_ai.operation.name"] == "chat"
    tokens = {p.attributes["gen_ai.token.type"] for p in metrics["gen_ai.client.token.usage"].data.data_points}
    assert tokens == {"input", "output"}
    assert all("customer" not in str(p.attributes) for p in points)


@pytest.mark.usefixtures("canary_keys")
def test_closing_the_deployments_closes_their_sdk_clients_and_connections(tmp_path: Path) -> None:
    with Emulator() as emu:  # its own: no other test's connection is counted
        project = emulated_project(tmp_path, emu, "candidate_percent = 50\nmin_stage_hours = 0\n")
        for n in range(6):
            call(project, f"customer-{n}")
        assert emu.open_connections(settle=0) >= 1  # each arm's client keeps its connection for the next call
        close_deployments()
        assert emu.open_connections() == 0


ALIAS = "gpt-4o"  # the catalogue's alias of gpt-4o-2024-08-06 (bundled data)
REFUSED = (
    f"pytest-llmversion: rollout candidate model openai/{ALIAS} (pyproject.toml [tool.llmversion]) is an alias "
    "(today it resolves to openai/gpt-4o-2024-08-06), not a pinned snapshot: the keys on the candidate would get "
    'whatever model it names that day; pin it: candidate_model = "openai/gpt-4o-2024-08-06" (or set '
    "allow_unpinned = true in [tool.llmversion] or LLMVERSION_ALLOW_UNPINNED=1)"
)


def alias_candidate_project(root: Path, emu: Emulator, percent: int, extra: str = "") -> Path:
    emu.add_model(CURRENT, respond='{"category": "bug"}')
    emu.add_model(ALIAS, respond='{"category": "feature"}')
    (root / "pyproject.toml").write_text(
        f'[tool.llmversion]\nmodel = "openai/{CURRENT}"\ncandidate_model = "openai/{ALIAS}"\nmax_retries = 0\n'
        f"{extra}{emu.provider_tables()}\n[tool.llmversion.rollout]\ncandidate_percent = {percent}\n"
        "reload_seconds = 0\n"
    )
    return root


def test_a_rollout_serves_no_key_from_an_alias_candidate_and_says_why_once(
    tmp_path: Path, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    project = alias_candidate_project(tmp_path, emu, 50)
    keys = [f"customer-{n}" for n in range(20)]
    with caplog.at_level("ERROR", logger="pytest_llmversion.rollout"):
        for key in keys:  # the application still runs: production is never broken by its rollout's settings
            connect(project, rollout_key=key, environ={}).complete(f"ticket of {key}")
    assert {r.model for r in emu.requests()} == {CURRENT}
    assert [r.getMessage() for r in caplog.records] == [f"{REFUSED}; every key stays on openai/{CURRENT}"]
    close_deployments()
    emu.clear_requests()
    alias_candidate_project(tmp_path, emu, 50, extra="allow_unpinned = true\n")
    for key in keys:
        connect(project, rollout_key=key, environ={}).complete(f"ticket of {key}")
    assert emu.requests(ALIAS)  # allowed, as for the current model


def test_a_stage_raised_by_hand_after_start_keeps_every_key_on_the_current_model(
    tmp_path: Path, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    project = alias_candidate_project(tmp_path, emu, 0)
    client = connect(project, rollout_key="customer-1", environ={})
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("candidate_percent = 0", "candidate_percent = 100"))
    with caplog.at_level("ERROR", logger="pytest_llmversion.rollout"):
        for n in range(5):
            connect(project, rollout_key=f"customer-{n}", environ={}).complete("ticket")
        client.complete("ticket")
    assert {r.model for r in emu.requests()} == {CURRENT}
    assert str(client.model) == f"openai/{CURRENT}"
    (logged,) = [r.getMessage() for r in caplog.records]  # said once, not once per call
    assert logged == f"{REFUSED}; every key stays on openai/{CURRENT}"


def test_rollout_advance_refuses_an_alias_and_status_says_it_serves_no_traffic(
    tmp_path: Path, emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_llmversion import cli

    project = alias_candidate_project(tmp_path, emu, 0)
    before = (project / "pyproject.toml").read_text()
    status = cli.main(["--root", str(project), "rollout", "advance"])
    _, err = capsys.readouterr()
    assert status == 2
    assert err.strip().splitlines() == [f"llmversion: {REFUSED.removeprefix('pytest-llmversion: ')}"]
    assert (project / "pyproject.toml").read_text() == before
    cli.main(["--root", str(project), "rollout", "status"])
    out, _ = capsys.readouterr()
    assert out.splitlines()[-1] == f"  the candidate serves no traffic: {REFUSED.removeprefix('pytest-llmversion: ')}"
