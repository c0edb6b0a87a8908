"""The store: discovery, schema, refusal of foreign/corrupt/newer files, value round trips."""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from nbtrack.errors import IntegrityError, NotAStoreError, SchemaTooNewError, StoreError
from nbtrack.store import SCHEMA_VERSION, Store, resolve_store
from nbtrack.store.schema import APPLICATION_ID

SNAPSHOT = Path(__file__).parent / "snapshots" / "schema.sql"


def _schema_text(store: Store) -> str:
    rows = store.conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type, name"
    ).fetchall()
    return "\n".join(f"-- {kind} {name}\n{sql.strip()};" for kind, name, sql in rows) + "\n"


def test_schema_snapshot(tmp_path):
    """The schema is exactly the committed snapshot (set NBTRACK_UPDATE_SNAPSHOTS=1 after adding a migration)."""
    store = Store.open(tmp_path / "s")
    text = _schema_text(store)
    if os.environ.get("NBTRACK_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text()
    assert store.schema_version == SCHEMA_VERSION
    assert store.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_pragmas(tmp_path):
    store = Store.open(tmp_path / "s")
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    tables = dict(
        store.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type='table' AND name NOT LIKE '\\_%' ESCAPE '\\'"
        )
    )
    assert all("STRICT" in sql for sql in tables.values()), tables


def test_reopen_is_idempotent(tmp_path):
    Store.open(tmp_path / "s").close()
    store = Store.open(tmp_path / "s")
    assert store.conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == SCHEMA_VERSION


class TestDiscovery:
    def test_explicit_argument_wins(self, tmp_path, monkeypatch):
        monkeypatch.setenv("NBTRACK_STORE", str(tmp_path / "env"))
        assert resolve_store(tmp_path / "arg").directory == tmp_path / "arg"
        assert resolve_store(tmp_path / "arg").how == "argument"

    def test_environment_variable(self, tmp_path, monkeypatch):
        monkeypatch.setenv("NBTRACK_STORE", str(tmp_path / "env"))
        location = resolve_store()
        assert (location.directory, location.how) == (tmp_path / "env", "environment")

    def test_nearest_ancestor(self, tmp_path, monkeypatch):
        monkeypatch.delenv("NBTRACK_STORE")
        (tmp_path / "proj" / ".nbtrack").mkdir(parents=True)
        (tmp_path / "proj" / "a" / "b").mkdir(parents=True)
        (tmp_path / "proj" / ".git").mkdir()
        location = resolve_store(cwd=tmp_path / "proj" / "a" / "b")
        assert (location.directory, location.how) == (tmp_path / "proj" / ".nbtrack", "ancestor")

    def test_git_root(self, tmp_path, monkeypatch):
        monkeypatch.delenv("NBTRACK_STORE")
        (tmp_path / "repo" / ".git").mkdir(parents=True)
        (tmp_path / "repo" / "notebooks").mkdir()
        location = resolve_store(cwd=tmp_path / "repo" / "notebooks")
        assert (location.directory, location.how) == (tmp_path / "repo" / ".nbtrack", "git root")

    def test_working_directory(self, tmp_path, monkeypatch):
        monkeypatch.delenv("NBTRACK_STORE")
        folder = tmp_path / "plain"
        folder.mkdir()
        if any((p / ".git").exists() or (p / ".nbtrack").is_dir() for p in folder.parents):
            pytest.skip("tmp_path lies inside a git repository or store on this machine")
        location = resolve_store(cwd=folder)
        assert (location.directory, location.how) == (folder / ".nbtrack", "working directory")

    def test_database_file_argument(self, tmp_path):
        Store.open(tmp_path / "s").close()
        location = resolve_store(tmp_path / "s" / "nbtrack.db")
        assert location.db_path == tmp_path / "s" / "nbtrack.db"

    def test_project_folder_argument(self, tmp_path):
        Store.open(tmp_path / "proj" / ".nbtrack").close()
        assert resolve_store(tmp_path / "proj").directory == tmp_path / "proj" / ".nbtrack"


class TestRefusal:
    def test_not_sqlite(self, tmp_path):
        (tmp_path / "s").mkdir()
        (tmp_path / "s" / "nbtrack.db").write_text("this is a text file, not a database\n" * 10)
        with pytest.raises(NotAStoreError, match="not an nbtrack store.*move it away"):
            Store.open(tmp_path / "s")

    def test_corrupt_sqlite(self, tmp_path):
        Store.open(tmp_path / "s").close()
        db = tmp_path / "s" / "nbtrack.db"
        data = bytearray(db.read_bytes())
        data[100:4096] = b"\xff" * (4096 - 100)  # smash the first page's b-tree
        db.write_bytes(bytes(data))
        with pytest.raises(StoreError, match="damaged|not an nbtrack store"):
            Store.open(tmp_path / "s")

    def test_foreign_database(self, tmp_path):
        (tmp_path / "s").mkdir()
        conn = sqlite3.connect(tmp_path / "s" / "nbtrack.db")
        conn.execute("CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL)")
        conn.commit()
        conn.close()
        with pytest.raises(NotAStoreError, match="another application.*invoices"):
            Store.open(tmp_path / "s")

    def test_newer_schema(self, tmp_path):
        Store.open(tmp_path / "s").close()
        conn = sqlite3.connect(tmp_path / "s" / "nbtrack.db")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.close()
        with pytest.raises(SchemaTooNewError, match=r"pip install -U nbtrack"):
            Store.open(tmp_path / "s")

    @pytest.mark.slow
    def test_refusal_message_is_one_line_in_cli(self, tmp_path):
        (tmp_path / "s").mkdir()
        (tmp_path / "s" / "nbtrack.db").write_bytes(b"garbage" * 100)
        proc = subprocess.run(
            [sys.executable, "-m", "nbtrack", "--store", str(tmp_path / "s"), "store", "info"],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1 and "not an nbtrack store" in proc.stderr


class TestBlobs:
    def test_dedup_and_round_trip(self, tmp_path):
        store = Store.open(tmp_path / "s")
        small, large = b"hello" * 100, os.urandom(600 * 1024)
        assert store.blobs.put(small) == store.blobs.put(small)
        sha = store.blobs.put(large)
        assert store.blobs.get(sha) == large
        assert store.blobs.path_for(sha).exists()
        assert store.conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == 2

    def test_tampered_file_blob_refused(self, tmp_path):
        store = Store.open(tmp_path / "s")
        sha = store.blobs.put(os.urandom(600 * 1024))
        store.blobs.path_for(sha).write_bytes(b"evil")
        with pytest.raises(IntegrityError, match="does not match its sha256"):
            store.blobs.get(sha)

    def test_tampered_inline_blob_refused(self, tmp_path):
        store = Store.open(tmp_path / "s")
        sha = store.blobs.put(b"x")
        store.conn.execute("UPDATE blobs SET data = ? WHERE sha256 = ?", (b"y", sha))
        with pytest.raises(IntegrityError):
            store.blobs.get(sha)

    def test_a_blob_file_that_cannot_be_written_is_a_store_error_and_leaves_no_row(self, tmp_path):
        import hashlib

        store = Store.open(tmp_path / "s")
        data = os.urandom(600 * 1024)
        sha = hashlib.sha256(data).hexdigest()
        store.blobs.path_for(sha).parent.parent.mkdir(parents=True, exist_ok=True)
        store.blobs.path_for(sha).parent.write_text("a file where the blob folder goes")  # mkdir fails: a real OSError
        with pytest.raises(StoreError, match="cannot write a blob under"):
            store.blobs.put(data)
        assert store.conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == 0


class TestTransactions:
    """A full disk can fail any statement of a transaction (SQLite spills pages to the WAL), not
    only its COMMIT: the caller must get the same StoreError, and nothing of it may stay."""

    @pytest.mark.parametrize(
        "message, expected",
        [
            ("disk I/O error", "is full or failing"),
            ("database or disk is full", "is full or failing"),
            ("attempt to write a readonly database", "is read-only"),
            ("database is locked", "is locked by another process"),
        ],
    )
    def test_a_condition_raised_inside_a_transaction_is_a_store_error_and_rolls_back(self, tmp_path, message, expected):
        store = Store.open(tmp_path / "s")
        with pytest.raises(StoreError, match=expected):
            with store.atomic() as conn:
                conn.execute("INSERT INTO experiments(name, created) VALUES ('half', 0)")
                raise sqlite3.OperationalError(message)
        assert store.query("SELECT count(*) FROM experiments WHERE name = 'half'")[0][0] == 0
        assert not store.conn.in_transaction

    def test_errors_about_our_sql_or_data_pass_unchanged(self, tmp_path):
        store = Store.open(tmp_path / "s")
        with pytest.raises(sqlite3.IntegrityError):
            with store.atomic() as conn:
                conn.execute("INSERT INTO experiments(name, created) VALUES (NULL, 0)")
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            with store.atomic() as conn:
                conn.execute("SELECT * FROM no_such_table")


class TestValues:
    def test_metric_special_values_round_trip(self, tracker):
        import numpy as np

        values = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308, 5e-324, np.float32(0.5), np.int64(7), True]
        with tracker.start_run("v") as run:
            for step, value in enumerate(values):
                tracker.log_metric("m", value, step=step)
        history = tracker.metric_history(run.id, "m")
        got = [p.value for p in history]
        assert math.isnan(got[0]) and got[1:3] == [math.inf, -math.inf]
        assert got[3:] == [0.0, -0.0, 1e308, 5e-324, 0.5, 7.0, 1.0]
        summary = tracker.get_run(run.id).metrics["m"]
        assert (summary.min, summary.max, summary.count) == (-math.inf, math.inf, len(values))

    def test_params_round_trip_typed(self, tracker):
        import numpy as np

        params = {
            "i": 3,
            "big": 2**80,
            "neg": -(2**63),
            "f": 0.1,
            "nan": math.nan,
            "b": False,
            "s": "gbm",
            "none": None,
            "lst": [1, 2.5, "x"],
            "d": {"a": [1, {"b": None}]},
            "np_i": np.int32(4),
            "np_f": np.float64(0.25),
            "uni": "ünïcødé ✓",
        }
        with tracker.start_run("p") as run:
            tracker.log_params(params)
        got = tracker.get_run(run.id).params
        assert math.isnan(got.pop("nan"))
        expected = dict(params, np_i=4, np_f=0.25)
        expected.pop("nan")
        assert got == expected
        assert type(got["big"]) is int and type(got["b"]) is bool and type(got["np_i"]) is int

    def test_param_types_compare_numerically_in_sql(self, tracker):
        with tracker.start_run() as run:
            tracker.log_params({"lr": 0.1, "depth": 10})
        row = tracker.store.conn.execute(
            "SELECT typeof(value) FROM params p JOIN runs r ON r.id = p.run_id WHERE r.uuid = ? AND key = 'depth'",
            (run.id,),
        ).fetchone()
        assert row[0] == "integer"

    @pytest.mark.parametrize("bad", [object(), {1: "int key"}, {"s": {1, 2}}, b"bytes"])
    def test_unstorable_params_refused_clearly(self, tracker, bad):
        from nbtrack.errors import UsageError

        with tracker.start_run():
            with pytest.raises(UsageError, match="param 'x'"):
                tracker.log_param("x", bad)


def test_metric_history_is_columnar_and_reads_as_points(tmp_path):
    """A history read builds three columns, not one object per point; indexing and iterating give MetricPoints."""
    from nbtrack.entities import MetricHistory, MetricPoint
    from nbtrack.tracking import Tracker

    tracker = Tracker.open(tmp_path / "s")
    with tracker.start_run() as run:
        for step, value in enumerate([1.0, float("nan"), float("inf"), 0.25]):
            tracker.log_metric("loss", value, step=step * 10)
    history = tracker.metric_history(run.id, "loss")
    assert isinstance(history, MetricHistory) and len(history) == 4
    assert history.steps == [0, 10, 20, 30] and history.values[0] == 1.0 and math.isnan(history.values[1])
    assert history.values[2:] == [float("inf"), 0.25] and len(history.timestamps) == 4
    points = list(history)
    assert all(type(p) is MetricPoint for p in points) and points[3] == history[-1] == MetricPoint(
        30, 0.25, history.timestamps[3]
    )
    assert history == points and history[1:] == points[1:] and history[::2].steps == [0, 20]
    assert tracker.metric_history(run.id, "missing") == [] and not tracker.metric_history(run.id, "missing")
    tracker.close()
