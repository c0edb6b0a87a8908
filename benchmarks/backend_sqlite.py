"""The physical floor: raw ``sqlite3`` with nbtrack's own metrics table and pragmas, no Python logic."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from .timing import compacted_size

METRICS_DDL = """CREATE TABLE metrics (
    run_id INTEGER NOT NULL, key_id INTEGER NOT NULL, step INTEGER NOT NULL, value REAL, timestamp REAL NOT NULL,
    PRIMARY KEY (run_id, key_id, step)) STRICT, WITHOUT ROWID"""
PARAMS_DDL = "CREATE TABLE params (run_id INTEGER NOT NULL, key TEXT NOT NULL, value ANY, PRIMARY KEY (run_id, key)) STRICT, WITHOUT ROWID"
INSERT = "INSERT INTO metrics VALUES (?, ?, ?, ?, ?)"


class SqliteBackend:
    name = "sqlite3"

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self._count = 0
        self._history: tuple[sqlite3.Connection, int] | None = None

    def _connect(self, name: str) -> sqlite3.Connection:
        self._count += 1
        conn = sqlite3.connect(self.workdir / f"{name}-{self._count}.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(METRICS_DDL)
        conn.execute(PARAMS_DDL)
        return conn

    def _insert_seconds(self, rows: list[tuple]) -> float:
        conn = self._connect("insert")
        start = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(INSERT, rows)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
        return elapsed

    def measure_log_param(self, size: dict) -> float:
        conn = self._connect("params")
        calls = size["calls"]
        start = time.perf_counter()
        for i in range(calls):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT OR REPLACE INTO params VALUES (?, ?, ?)", (1, f"p{i}", i))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
        return elapsed / calls

    def measure_log_metric(self, size: dict) -> float:
        now = time.time()
        rows = [(1, 1, step, 0.5, now) for step in range(size["calls"])]
        return self._insert_seconds(rows) / len(rows)

    def measure_batch_points(self, size: dict) -> float:
        now, keys = time.time(), size["keys"]
        rows = [(1, k, step, 0.5, now) for step in range(size["points"] // keys) for k in range(keys)]
        return self._insert_seconds(rows) / len(rows)

    def prepare_history(self, size: dict) -> None:
        conn = self._connect("history")
        now = time.time()
        conn.execute("BEGIN")
        conn.executemany(INSERT, [(1, 1, step, step * 1e-3, now + step) for step in range(size["points"])])
        conn.execute("COMMIT")
        self._history = (conn, size["points"])

    def measure_history(self, size: dict) -> float:
        conn, points = self._history
        start = time.perf_counter()
        rows = conn.execute(
            "SELECT step, value, timestamp FROM metrics WHERE run_id = ? AND key_id = ? ORDER BY step", (1, 1)
        ).fetchall()
        elapsed = time.perf_counter() - start
        assert len(rows) == points
        return elapsed

    def measure_bytes_per_point(self, size: dict) -> float:
        conn = self._connect("bytes")
        path = Path(conn.execute("PRAGMA database_list").fetchone()[2])
        before = compacted_size(path)
        now = time.time()
        conn.execute("BEGIN")
        conn.executemany(INSERT, [(1, 1, step, step * 1e-3, now + step) for step in range(size["points"])])
        conn.execute("COMMIT")
        conn.close()
        return (compacted_size(path) - before) / size["points"]
