"""Timing helpers shared by the backends: cold imports in a fresh interpreter, store file sizes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

_IMPORT_PROBE = "import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"


_warmed: set[str] = set()


def cold_import(statement: str, cwd: Path) -> float:
    """Seconds ``statement`` takes in a fresh interpreter (its start-up excluded).

    With bytecode cached, as a user has it: pip compiles an installed package's modules, but
    an editable checkout under ``PYTHONDONTWRITEBYTECODE`` (set on some machines) would be
    compiled from source on every import, which measures the compiler, not nbtrack. So the
    variable is dropped and one unmeasured import per statement writes the cache first.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if statement not in _warmed:
        _probe(statement, cwd, env)
        _warmed.add(statement)
    return _probe(statement, cwd, env)


def _probe(statement: str, cwd: Path, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE.format(statement=statement)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return float(out.stdout.strip().splitlines()[-1])


def compacted_size(db_path: Path) -> int:
    """File size after checkpointing the WAL into the database and a VACUUM: the bytes that stay."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return db_path.stat().st_size
