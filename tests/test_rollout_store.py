"""The embedded store: concurrent writers lose nothing, old records go, a foreign file is one line."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from rollout_project import _fresh_deployments, make_project, store_of  # noqa: F401

from pytest_llmversion import connect
from pytest_llmversion.rollout.records import CallRecord
from pytest_llmversion.rollout.store import RolloutStore, StageChange, StoreError

PER_WRITER = 200


def _record(n: int, writer: str, at: float | None = None) -> CallRecord:
    arm = "candidate" if n % 2 else "current"
    return CallRecord(time.time() if at is None else at, arm, 50, f"scripted/{arm}", writer, 12.5, cost_usd=0.001)


def _write_from_a_process(path: str, writer: str) -> None:
    store = RolloutStore(Path(path))
    written = sum(store.write(_record(n, writer)) for n in range(PER_WRITER))
    store.close()
    if written != PER_WRITER:
        raise SystemExit(f"{writer} wrote {written}")


def test_threads_and_processes_writing_at_once_lose_no_record(tmp_path: Path) -> None:
    path = tmp_path / "rollout.sqlite"
    store = RolloutStore(path)
    threads = [
        threading.Thread(target=lambda w=f"thread-{t}": [store.write(_record(n, w)) for n in range(PER_WRITER)])
        for t in range(4)
    ]
    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=_write_from_a_process, args=(str(path), f"process-{p}")) for p in range(3)]
    for worker in (*processes, *threads):
        worker.start()
    for worker in (*threads, *processes):
        worker.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    assert store.dropped == 0
    assert store.count() == 7 * PER_WRITER
    per_writer = {r.key for r in store.calls()}
    assert len(per_writer) == 7
    store.close()


def test_concurrent_application_threads_through_connect_record_every_call(tmp_path: Path) -> None:
    project = make_project(tmp_path)

    def serve(thread: int) -> None:
        for n in range(50):
            connect(project, rollout_key=f"user-{thread}-{n}", environ={}).complete("hi")

    threads = [threading.Thread(target=serve, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store_of(project).count() == 300


def test_records_past_the_retention_are_purged(tmp_path: Path) -> None:
    store = RolloutStore(tmp_path / "rollout.sqlite", retention_days=7)
    day = 86400
    store.write_many([_record(0, "w", at=time.time() - 10 * day), _record(1, "w", at=time.time() - 1 * day)])
    assert store.purge() == 1
    assert store.count() == 1
    store.close()


def test_records_round_trip_through_the_store(tmp_path: Path) -> None:
    store = RolloutStore(tmp_path / "rollout.sqlite")
    record = CallRecord(
        1.5, "candidate", 10, "openai/x", "k", 80.0, answered_by="openai/y", model_served="y-1", fallback=True,
        input_tokens=5, output_tokens=7, cost_usd=0.25, quality=0.5, quality_passed=False, prompt_version="t@v1",
    )  # fmt: skip
    store.write(record)
    assert store.calls() == [record]
    assert store.calls(models={"current": "openai/x"}) == []
    store.record_stage_change(StageChange(2.0, "openai/x", 10, 0, "errors"))
    assert store.stage_changes("openai/x") == [StageChange(2.0, "openai/x", 10, 0, "errors")]
    store.close()


def test_the_store_is_in_wal_mode_with_its_schema_version(tmp_path: Path) -> None:
    RolloutStore(tmp_path / "rollout.sqlite").close()
    with sqlite3.connect(tmp_path / "rollout.sqlite") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()[0] == "1"


def test_a_store_from_a_newer_version_is_refused_in_one_line(tmp_path: Path) -> None:
    RolloutStore(tmp_path / "rollout.sqlite").close()
    with sqlite3.connect(tmp_path / "rollout.sqlite") as raw:
        raw.execute("UPDATE meta SET value = '9' WHERE name = 'schema_version'")
    with pytest.raises(StoreError, match=r"written by a newer pytest-llmversion \(schema 9, this one reads 1\)"):
        RolloutStore(tmp_path / "rollout.sqlite")


def test_a_file_that_is_not_a_store_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "rollout.sqlite").write_text("not a database, just text that is long enough to be read as a header")
    with pytest.raises(StoreError, match="cannot open the rollout store"):
        RolloutStore(tmp_path / "rollout.sqlite")
