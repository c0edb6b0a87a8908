"""A store of many runs (100,000 at full size) for the scale workloads, built once and cached.

Logging 100,000 runs through the Tracker takes minutes; this writes the same row shapes with
raw ``executemany`` straight into the tables of a store nbtrack created and migrated itself
(10 params of every type, 5 metrics with 2 steps, 3 tags, a provenance document and a receipt
per run). The filter of :mod:`benchmarks.data` matches the same 5% of runs as everywhere else.

The built file is kept under ``benchmarks/.work/`` keyed by size and schema version, and each
benchmark run works on a copy, so later runs start in a second.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from pathlib import Path

from . import data

CACHE = Path(__file__).resolve().parent / ".work"
T0 = 1_767_225_600.0  # 2026-01-01
EXPERIMENTS = ("Default", "churn", "fraud", "ranking")
METRICS = ("f1", "auc", "loss", "precision", "recall")


def store_copy(runs: int, target: Path, cache: bool = True) -> Path:
    """A fresh copy of the cached ``runs``-run store as the store directory ``target`` (``cache=False``:
    built in place, for the small smoke sizes)."""
    from nbtrack.store import SCHEMA_VERSION

    if not cache:
        build(target, runs)
        return target
    cached = CACHE / f"scale-{runs}-schema{SCHEMA_VERSION}-{_schema_digest()}.db"
    if not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".partial")
        build(partial.parent / (partial.name + ".d"), runs)
        shutil.move(str(partial.parent / (partial.name + ".d") / "nbtrack.db"), cached)
        shutil.rmtree(partial.parent / (partial.name + ".d"), ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, target / "nbtrack.db")
    return target


def _schema_digest() -> str:
    """A short digest of the schema a new store gets: a cached store of another schema is not reused."""
    import hashlib
    import tempfile

    from nbtrack.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp))
        schema = "\n".join(
            row[0] for row in store.conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
        )
        store.close()
    return hashlib.sha256(schema.encode()).hexdigest()[:10]


def build(directory: Path, runs: int, documents_in_runs: bool = False) -> None:
    """Fill a new store at ``directory``; ``documents_in_runs`` writes a schema-0004 store (documents
    in the runs table), for measuring the upgrade."""
    from nbtrack.store import Store

    store = Store.open(directory)
    store.close()
    conn = sqlite3.connect(directory / "nbtrack.db", isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO experiments(id, name, created) VALUES (?, ?, ?)",
        [(i + 1, name, T0) for i, name in enumerate(EXPERIMENTS)],
    )
    conn.executemany("INSERT INTO metric_keys(id, key) VALUES (?, ?)", [(i + 1, k) for i, k in enumerate(METRICS)])
    rng = random.Random(19)
    run_rows, doc_rows, param_rows, tag_rows, point_rows, latest_rows = [], [], [], [], [], []
    for i in range(runs):
        row_id, start = i + 1, T0 + 30.0 * i
        provenance = json.dumps(
            {
                "python": "3.11.6",
                "host": "bench",
                "packages": {"numpy": "1.26", "sklearn": "1.4"},
                "inputs": {"train": {"digest": f"{rng.getrandbits(128):032x}", "rows": 1000 + i}},
            }
        )
        receipt = json.dumps(
            {
                "checked": True,
                "problems": []
                if i % 7
                else [{"kind": "out_of_order", "message": "cell 3 ran before cell 2 " + "x" * 300}],
            }
        )
        run = (
            row_id,
            f"{rng.getrandbits(128):032x}",
            1 + i % len(EXPERIMENTS),
            f"run-{i}",
            "FINISHED",
            start,
            start + 12.5,
            start + 12.5,
            f"cell-{i % 40}",
            4242,
            "bench",
            "bench",
            f"nb/exp{i % 20}.ipynb",
            "session",
        )
        run_rows.append((*run, provenance, receipt) if documents_in_runs else run)
        doc_rows.append((row_id, provenance, receipt))
        p = data.params(i)
        param_rows += [
            (row_id, "model", "str", p["model"]),
            (row_id, "lr", "float", p["lr"]),
            (row_id, "depth", "int", p["depth"]),
            (row_id, "n_estimators", "int", p["n_estimators"]),
            (row_id, "seed", "int", p["seed"]),
            (row_id, "optimizer", "str", ("adam", "sgd")[i % 2]),
            (row_id, "dropout", "float", 0.05 * (i % 10)),
            (row_id, "batch", "int", 32 << (i % 4)),
            (row_id, "augment", "bool", i % 3 == 0),
            (row_id, "layers", "json", json.dumps([64, 32, i % 5])),
        ]
        t = data.tags(i)
        tag_rows += [
            (row_id, "team", t["team"]),
            (row_id, "dataset", t["dataset"]),
            (row_id, "stage", ("dev", "prod")[i % 5 == 0]),
        ]
        finals = data.metrics(i)
        finals.update(precision=(finals["f1"] + 0.11) % 1.0, recall=(finals["f1"] + 0.23) % 1.0)
        for key_id, key in enumerate(METRICS, start=1):
            value = finals[key]
            point_rows += [(row_id, key_id, 0, value / 2, start + 1), (row_id, key_id, 1, value, start + 2)]
            latest_rows.append((row_id, key_id, 1, value, start + 2, min(value / 2, value), max(value / 2, value), 2))
    columns = (
        "id, uuid, experiment_id, name, status, start_time, end_time, heartbeat, cell_key, pid, host, user, "
        "notebook_path, path_method"
    )
    if documents_in_runs:
        conn.executemany(f"INSERT INTO runs({columns}, provenance, receipt) VALUES ({', '.join('?' * 16)})", run_rows)
    else:
        conn.executemany(f"INSERT INTO runs({columns}) VALUES ({', '.join('?' * 14)})", run_rows)
        conn.executemany("INSERT INTO run_documents(run_id, provenance, receipt) VALUES (?, ?, ?)", doc_rows)
    conn.executemany("INSERT INTO params(run_id, key, type, value) VALUES (?, ?, ?, ?)", param_rows)
    conn.executemany("INSERT INTO tags(run_id, key, value) VALUES (?, ?, ?)", tag_rows)
    conn.executemany("INSERT INTO metrics(run_id, key_id, step, value, timestamp) VALUES (?, ?, ?, ?, ?)", point_rows)
    conn.executemany(
        "INSERT INTO latest_metrics(run_id, key_id, step, value, timestamp, min, max, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        latest_rows,
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
