"""Migrations: every released schema's fixture store upgrades to the current schema without
losing data, and a migration that fails or is killed midway leaves the old version, usable.

Fixtures are built by ``tests/fixtures/make_fixtures.py`` (one ``schema_NNNN.db`` per
released migration) and committed; a new migration must come with its fixture.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nbtrack.store import SCHEMA_VERSION, Store
from nbtrack.store.schema import MIGRATIONS
from nbtrack.tracking import Tracker

FIXTURES = Path(__file__).parent / "fixtures"
_spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
_make_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_make_fixtures)
RECEIPT = _make_fixtures.RECEIPT  # the receipt the fixtures of 0005 on hold

VERSIONS = list(range(1, SCHEMA_VERSION + 1))


def test_every_released_version_has_a_fixture():
    assert sorted(p.name for p in FIXTURES.glob("schema_*.db")) == [f"schema_{v:04d}.db" for v in VERSIONS]


def _copy(version: int, tmp_path: Path) -> Path:
    store = tmp_path / f"v{version}" / ".nbtrack"
    store.mkdir(parents=True)
    shutil.copyfile(FIXTURES / f"schema_{version:04d}.db", store / "nbtrack.db")
    return store


def _columns(db: Path) -> dict[str, list[str]]:
    """The columns of every table: the shape an upgrade must keep (it may add more)."""
    conn = sqlite3.connect(db)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != '_sqlite_migrations'"
            )
        ]
        return {t: [r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')] for t in tables}
    finally:
        conn.close()


def _contents_of(contents: dict[str, list], shape: dict[str, list[str]], kept: dict[str, list[str]]) -> dict[str, list]:
    """``contents`` (rows of ``shape``) with only the ``kept`` columns, sorted again."""
    out = {}
    for table, rows in contents.items():
        positions = [shape[table].index(c) for c in kept[table]]
        out[table] = sorted((tuple(row[i] for i in positions) for row in rows), key=repr)
    return out


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _contents(db: Path, shape: dict[str, list[str]] | None = None) -> dict[str, list]:
    """Every row of every table (only the tables and columns of ``shape``), sorted: a whole-value snapshot."""
    shape = shape or _columns(db)
    conn = sqlite3.connect(db)
    try:
        return {
            table: sorted(
                conn.execute(f'SELECT {", ".join(map(_quoted, columns))} FROM "{table}"').fetchall(), key=repr
            )
            for table, columns in shape.items()
        }
    finally:
        conn.close()


#: columns a migration moved to another table: (table, column) -> (new table, its run id column, column)
MOVED = {("runs", "provenance"): ("run_documents", "provenance"), ("runs", "receipt"): ("run_documents", "receipt")}


def _give_receipt(db: Path) -> None:
    """Before 0005 the fixtures have no receipt: give "second" the one later fixtures have, in its old place."""
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE runs SET receipt = ? WHERE name = 'second'", (json.dumps(RECEIPT),))
    conn.close()


def _moved(db: Path, before: bool) -> dict[tuple[str, str], dict]:
    """{(table, column): {run id: value}} of the moved columns, read where they are."""
    conn = sqlite3.connect(db)
    try:
        found = {}
        for (table, column), (new_table, new_column) in MOVED.items():
            sql = (
                f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL"
                if before
                else f"SELECT run_id, {new_column} FROM {new_table} WHERE {new_column} IS NOT NULL"
            )
            found[(table, column)] = dict(conn.execute(sql).fetchall())
        return found
    finally:
        conn.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_fixture_upgrades_without_losing_data(version, tmp_path):
    store_dir = _copy(version, tmp_path)
    if version < 5:
        _give_receipt(store_dir / "nbtrack.db")
    shape = _columns(store_dir / "nbtrack.db")
    before = _contents(store_dir / "nbtrack.db")
    moved_before = _moved(store_dir / "nbtrack.db", before=version < 5)
    assert sqlite3.connect(store_dir / "nbtrack.db").execute("PRAGMA user_version").fetchone()[0] == version
    tracker = Tracker.open(store_dir)
    assert tracker.store.schema_version == SCHEMA_VERSION
    applied = [
        r[0] for r in tracker.store.conn.execute("SELECT name FROM _sqlite_migrations ORDER BY applied_at, name")
    ]
    assert sorted(applied) == sorted(name for name, _ in MIGRATIONS)
    kept = {t: [c for c in columns if (t, c) not in MOVED] for t, columns in shape.items()}
    after = _contents(store_dir / "nbtrack.db", kept)
    for table, rows in _contents_of(before, shape, kept).items():
        assert after[table] == rows, table  # every old row, unchanged
    assert _moved(store_dir / "nbtrack.db", before=False) == moved_before  # provenance and receipts, in their new place
    assert moved_before[("runs", "provenance")] and moved_before[("runs", "receipt")]
    runs = {r.name: r for r in tracker.search_runs()}
    assert set(runs) == {"baseline", "child-parent", "child", "failed", "second"}
    deleted = {r.name: r for r in tracker.search_runs(deleted=True)}
    assert set(deleted) == ({"deleted", "deleted-child"} if version >= 3 else set())
    assert all(r.deleted_time is None for r in runs.values()) and all(r.deleted_time for r in deleted.values())
    base = runs["baseline"]
    assert runs["second"].receipt == RECEIPT and base.receipt is None and base.provenance.get("python")
    assert runs["second"].receipt_outline == {"checked": True, "kinds": ["out_of_order"]}
    assert tracker.get_run(runs["second"].id).receipt == RECEIPT
    assert base.params["lr"] == 0.1 and base.params["grid"] == [1, 2.5, "x"] and base.params["big"] == 2**70
    assert base.params["deep"] is True and base.params["none"] is None
    assert base.tags == {"team": "churn", "unicode": "é✓"}
    assert [p.step for p in tracker.metric_history(base.id, "loss")] == list(range(100))
    odd = [p.value for p in tracker.metric_history(base.id, "odd")]
    assert odd[1:] == [float("inf"), -float("inf")] and odd[0] != odd[0]
    assert tracker.artifact_bytes(base.id, "notes/hello.txt") == b"hello"
    assert tracker.artifact_bytes(base.id, "data/big.bin") == bytes(range(256)) * 3000
    assert runs["child"].parent_id == runs["child-parent"].id and runs["failed"].status == "FAILED"
    assert [c.source for c in tracker.runs.cells(tracker.runs.resolve(base.id))] == ["lr = 0.1\nprint(lr)"]
    if version >= 2:
        from nbtrack.registry import Registry

        registry = Registry(tracker.store, tracker.runs)
        assert registry.load_model("churn", stage="Production") == {"weights": [4, 5, 6]}
        assert registry.load_model("churn", alias="champion") == {"weights": [4, 5, 6]}
        assert [e.action for e in registry.history("churn")][:3] == ["create_model", "register", "register"]
        if version >= 4:
            assert registry.get_model("churn").deleted_versions == (3,)
            assert [m.name for m in registry.search_models()] == ["churn", "renamed"]
            assert [m.name for m in registry.search_models(deleted=True)] == ["retired"]
            assert registry.history("renamed")[-1].from_value == "old-name"
        else:  # the rebuilt event log takes the new actions on an upgraded store
            registry.delete_model_version("churn", 1, comment="after upgrade")
            assert registry.history("churn")[-1].action == "delete_version"
    # The upgraded store keeps working.
    with tracker.start_run("after-upgrade") as run:
        tracker.log_metric("loss", 0.5)
    assert tracker.get_run(run.id).status == "FINISHED"
    assert tracker.store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    tracker.close()


BROKEN = "CREATE TABLE half_done (x INTEGER) STRICT;\nINSERT INTO half_done VALUES (1);\nINSERT INTO no_such_table VALUES (1);\n"


@pytest.mark.parametrize("start", [1, SCHEMA_VERSION])
def test_migration_raising_halfway_leaves_old_version(start, tmp_path, monkeypatch):
    """From 1, every pending migration (0002 ... and the broken one) rolls back together; from the
    newest released version, the code of that version (this code) still reads and writes the store."""
    store_dir = _copy(start, tmp_path)
    before = _contents(store_dir / "nbtrack.db")
    from nbtrack.store import connection, schema

    broken = [*MIGRATIONS, ("0099_broken", BROKEN)]
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(broken))
    monkeypatch.setattr(connection, "MIGRATIONS", broken)
    monkeypatch.setattr(connection, "SCHEMA_VERSION", len(broken))
    with pytest.raises(Exception, match="no_such_table"):
        Store.open(store_dir)
    monkeypatch.undo()
    conn = sqlite3.connect(store_dir / "nbtrack.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == start
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "half_done" not in tables and ("registered_models" in tables) == (
        start >= 2
    )  # nothing of 0002 ... 0099 stayed
    assert sorted(r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")) == [
        name for name, _ in MIGRATIONS[:start]
    ]
    conn.close()
    assert _contents(store_dir / "nbtrack.db") == before
    current = Tracker.open(store_dir)  # reads and writes it (after the real upgrade, from 1)
    assert current.store.schema_version == SCHEMA_VERSION and len(current.search_runs()) == 5
    with current.start_run("after-failure"):
        current.log_metric("m", 1.0)
    assert len(current.search_runs()) == 6
    current.close()


def test_schema_2_store_upgrades_with_every_run_live(tmp_path):
    store_dir = _copy(2, tmp_path)
    tracker = Tracker.open(store_dir)
    assert tracker.store.schema_version == SCHEMA_VERSION >= 3
    assert tracker.store.query("SELECT count(*) FROM runs WHERE deleted_time IS NOT NULL")[0][0] == 0
    assert len(tracker.search_runs()) == tracker.store.query("SELECT count(*) FROM runs")[0][0] == 5
    assert tracker.search_runs(deleted=True) == []
    assert tracker.runs.experiment_summaries()[0][:2] == ("Default", 5)
    tracker.close()


SLOW_MIGRATOR = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[2])
    from nbtrack.store import connection, schema
    slow = ("0099_slow", "CREATE TABLE slow (x INTEGER) STRICT;\\n"
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000000) INSERT INTO slow SELECT x FROM c;\\n")
    migrations = [*schema.MIGRATIONS, slow]
    schema.MIGRATIONS = connection.MIGRATIONS = migrations
    schema.SCHEMA_VERSION = connection.SCHEMA_VERSION = len(migrations)
    print("migrating", flush=True)
    connection.Store.open(sys.argv[1])
    print("finished?!", flush=True)
    """
)


@pytest.mark.slow
def test_process_killed_during_slow_migration_leaves_old_version(tmp_path):
    store_dir = _copy(1, tmp_path)
    before = _contents(store_dir / "nbtrack.db")
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_MIGRATOR, str(store_dir), str(FIXTURES)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline() == "migrating\n"
        db = store_dir / "nbtrack.db"
        wal = store_dir / "nbtrack.db-wal"
        deadline = time.monotonic() + 20
        # wait until the slow migration is writing (its WAL grows past the fast 0002 tables)
        while time.monotonic() < deadline and not (wal.exists() and wal.stat().st_size > 2_000_000):
            time.sleep(0.05)
        assert wal.exists() and wal.stat().st_size > 2_000_000, "the slow migration never started writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert "slow" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert _contents(db) == before
    current = Tracker.open(store_dir)
    assert current.store.schema_version == SCHEMA_VERSION and len(current.search_runs()) == 5
    assert current.store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    current.close()


def test_moving_documents_reports_progress_on_a_big_store_and_keeps_them(tmp_path, monkeypatch, capfd):
    """0005 copies provenance and receipts in batches, a line on stderr per batch when the store is big."""
    from nbtrack.store import schema

    store_dir = _copy(4, tmp_path)
    _give_receipt(store_dir / "nbtrack.db")
    moved_before = _moved(store_dir / "nbtrack.db", before=True)
    monkeypatch.setattr(schema, "PROGRESS_EVERY", 2)  # 7 runs: a big store for this test
    Store.open(store_dir).close()
    lines = capfd.readouterr().err.splitlines()
    assert lines == [
        f"nbtrack: upgrading the store (0005): {done} of 7 runs ({100 * done // 7}%)" for done in (2, 4, 6, 7)
    ]
    assert _moved(store_dir / "nbtrack.db", before=False) == moved_before
    conn = sqlite3.connect(store_dir / "nbtrack.db")
    outlines = conn.execute("SELECT name, receipt_outline FROM runs WHERE receipt_outline IS NOT NULL").fetchall()
    conn.close()
    assert outlines == [("second", json.dumps({"checked": True, "kinds": ["out_of_order"]}))]


def test_small_store_upgrades_silently(tmp_path, capfd):
    Store.open(_copy(4, tmp_path)).close()
    assert capfd.readouterr().err == ""
