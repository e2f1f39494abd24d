"""The embedded metrics store: one SQLite file per host, written by every process and thread of the app.

Each record is one short autocommit ``INSERT`` on a connection of the writing thread, in WAL mode (readers
never block writers, writers queue on the busy timeout instead of failing). A write that still fails
is counted in :attr:`RolloutStore.dropped` and logged, never raised into the application's call. The
schema is versioned in its ``meta`` table; records older than ``retention_days`` are deleted when the
store opens and then hourly. A fleet of hosts reports through OpenTelemetry instead (:mod:`.otel`).
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.rollout.records import CallRecord

SCHEMA_VERSION = 1
PURGE_EVERY_SECONDS = 3600.0
_log = logging.getLogger("pytest_llmversion.rollout")

_COLUMNS = [f.name for f in fields(CallRecord)]
_TYPES = {"at": "REAL NOT NULL", "arm": "TEXT NOT NULL", "stage": "REAL NOT NULL", "model": "TEXT NOT NULL"}
_TYPES |= {"key": "TEXT NOT NULL", "latency_ms": "REAL NOT NULL", "fallback": "INTEGER NOT NULL"}
_TYPES |= {name: "INTEGER NOT NULL" for name in ("input_tokens", "output_tokens", "cached_tokens")}
_TYPES |= {"cost_usd": "REAL", "quality": "REAL", "quality_passed": "INTEGER"}
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS calls (id INTEGER PRIMARY KEY, "
    + ", ".join(f"{name} {_TYPES.get(name, 'TEXT')}" for name in _COLUMNS)
    + ")",
    "CREATE INDEX IF NOT EXISTS calls_by_time ON calls (at)",
    "CREATE TABLE IF NOT EXISTS stage_changes (id INTEGER PRIMARY KEY, at REAL NOT NULL, candidate TEXT NOT NULL, "
    "before REAL NOT NULL, after REAL NOT NULL, reason TEXT)",
)
_INSERT = f"INSERT INTO calls ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"


class StoreError(LLMVersionError):
    """The store cannot be opened (not a store, a newer schema, no permission); one line."""


@dataclass(frozen=True)
class StageChange:
    """A stage set by ``llmversion rollout advance`` or ``rollback``."""

    at: float
    candidate: str
    before: float
    after: float
    reason: str | None = None


class RolloutStore:
    """Call records and stage changes in one SQLite file; safe for many threads and processes of one host."""

    def __init__(self, path: Path, *, retention_days: float = 30.0, timeout: float = 10.0) -> None:
        self.path = path
        self.retention_days = retention_days
        self.timeout = timeout
        #: Records that could not be written (the file locked past the timeout, a full disk).
        self.dropped = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        self._pid = os.getpid()
        self._connections: list[sqlite3.Connection] = []
        self._next_purge = 0.0
        self.secret = self._initialise()

    # -- connections -----------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if os.getpid() != self._pid:
            # a forked worker must not use its parent's connections: start its own set
            self._pid, self._local, self._connections = os.getpid(), threading.local(), []
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            connection.execute("PRAGMA synchronous = NORMAL")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _initialise(self) -> bytes:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = self._connection()
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode = WAL")  # a property of the file: set once
            connection.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA:
                    connection.execute(statement)
                connection.executemany(
                    "INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)",
                    [("schema_version", str(SCHEMA_VERSION)), ("key_secret", secrets.token_hex(16))],
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            meta = dict(connection.execute("SELECT name, value FROM meta").fetchall())
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot open the rollout store ({exc})") from None
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: written by a newer pytest-llmversion (schema {version}, this one reads "
                f"{SCHEMA_VERSION}); upgrade it"
            )
        self.purge()
        return bytes.fromhex(meta["key_secret"])

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()

    # -- writing ---------------------------------------------------------------------------------------

    def write(self, record: CallRecord) -> bool:
        """Keep one record; False (and counted in :attr:`dropped`) when it could not be written."""
        return self.write_many([record]) == 1

    def write_many(self, records: Sequence[CallRecord]) -> int:
        """Keep several records in one transaction; returns how many were written (all or none)."""
        try:
            connection = self._connection()
            rows = [_row(record) for record in records]
            if len(rows) == 1:
                connection.execute(_INSERT, rows[0])
            else:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    connection.executemany(_INSERT, rows)
                    connection.execute("COMMIT")
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            with self._lock:
                self.dropped += len(records)
                dropped = self.dropped
            if dropped == len(records) or dropped % 1000 < len(records):
                _log.warning("%s: %d rollout record(s) not written so far (%s)", self.path, dropped, exc)
            return 0
        if time.monotonic() >= self._next_purge:
            self.purge()
        return len(records)

    def purge(self, now: float | None = None) -> int:
        """Delete records older than ``retention_days``; returns how many went."""
        self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
        cutoff = (time.time() if now is None else now) - self.retention_days * 86400
        try:
            return self._connection().execute("DELETE FROM calls WHERE at < ?", (cutoff,)).rowcount
        except sqlite3.Error as exc:  # a busy store is purged next time
            _log.warning("%s: old rollout records not purged (%s)", self.path, exc)
            return 0

    def record_stage_change(self, change: StageChange) -> None:
        self._connection().execute(
            "INSERT INTO stage_changes (at, candidate, before, after, reason) VALUES (?, ?, ?, ?, ?)",
            (change.at, change.candidate, change.before, change.after, change.reason),
        )

    # -- reading ---------------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def calls(self, *, since: float | None = None, models: Mapping[str, str] | None = None) -> list[CallRecord]:
        """Records in the order they were written, from ``since`` on; ``models`` keeps arm -> that model's."""
        query, params = f"SELECT {', '.join(_COLUMNS)} FROM calls", list[object]()
        where: list[str] = []
        if since is not None:
            where.append("at >= ?")
            params.append(since)
        if models:
            where.append("(" + " OR ".join("(arm = ? AND model = ?)" for _ in models) + ")")
            for arm, model in models.items():
                params += [arm, model]
        if where:
            query += " WHERE " + " AND ".join(where)
        rows = self._connection().execute(query + " ORDER BY at, id", params).fetchall()
        return [_record(row) for row in rows]

    def stage_changes(self, candidate: str | None = None) -> list[StageChange]:
        query = "SELECT at, candidate, before, after, reason FROM stage_changes"
        params: tuple[str, ...] = ()
        if candidate is not None:
            query, params = query + " WHERE candidate = ?", (candidate,)
        return [StageChange(*row) for row in self._connection().execute(query + " ORDER BY at, id", params)]


def _row(record: CallRecord) -> tuple[object, ...]:
    values = list(astuple(record))
    for name in ("fallback", "quality_passed"):
        index = _COLUMNS.index(name)
        values[index] = None if values[index] is None else int(values[index])
    return tuple(values)


def _record(row: Iterable[object]) -> CallRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["fallback"] = bool(values["fallback"])
    if values["quality_passed"] is not None:
        values["quality_passed"] = bool(values["quality_passed"])
    return CallRecord(**values)  # type: ignore[arg-type]
