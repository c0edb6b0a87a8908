"""Runs, params, tags, metrics and artifacts in SQL: the only place that knows those tables.

Every write that belongs to one logical event happens in one transaction. The metric
hot path uses raw ``executemany`` with tuples (sqlite-utils' ``insert_all`` is ~3x slower).
"""

from __future__ import annotations

import functools
import json
import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

from ..entities import (
    KILLED,
    RUNNING,
    Artifact,
    Experiment,
    MetricHistory,
    MetricSummary,
    Run,
    RunCell,
    receipt_outline,
    record,
)
from ..errors import AmbiguousIdError, NotFoundError, UsageError
from ..values import decode_param
from .connection import Store

#: a buffered metric point: (run_row_id, key, step, value, timestamp). A plain tuple, not a
#: NamedTuple: building one costs ~0.3 us more, on the ``log_metric`` path of training loops.
MetricRow = tuple[int, str, int, float, float]


class ParamRow(NamedTuple):
    """A buffered param value (``log_params`` buffers params with the metric points, see
    :meth:`RunRepository.write_buffered`); its type tells it from a :data:`MetricRow`."""

    run_id: int
    key: str
    type: str
    value: Any


#: what the tracker's buffer holds and :meth:`RunRepository.write_buffered` writes
BufferedRow = MetricRow | ParamRow

_RUN_COLUMNS = (
    "r.id, r.uuid, e.name AS experiment, r.name, r.status, r.start_time, r.end_time, r.heartbeat, "
    "(SELECT p.uuid FROM runs p WHERE p.id = r.parent_id) AS parent_uuid, r.cell_key, r.pid, r.host, "
    "r.user, r.error, r.note, r.notebook_path, r.path_method, r.git_commit, r.env_sha256, "
    "r.snapshot_sha256, r.receipt_outline, r.deleted_time"
)
#: how many columns ``_RUN_COLUMNS`` has (rows read by position: see RunRepository.select)
_RUN_WIDTH = 22
#: provenance fields kept in their own columns: (name, position in ``_RUN_COLUMNS``)
_PROVENANCE_COLUMNS = (
    ("notebook_path", 15),
    ("path_method", 16),
    ("git_commit", 17),
    ("env_sha256", 18),
    ("snapshot_sha256", 19),
)
_FROM = "FROM runs r JOIN experiments e ON e.id = r.experiment_id"
#: the large documents of a run live in their own table (migration 0005): read with one run, never for a listing
_WITH_DOCUMENTS = ", d.provenance, d.receipt FROM runs r JOIN experiments e ON e.id = r.experiment_id LEFT JOIN run_documents d ON d.run_id = r.id"
#: the leading columns of :meth:`RunRepository.table_rows` (then params.*, metrics.*, tags.*)
TABLE_COLUMNS = ("id", "name", "experiment", "status", "start_time", "end_time", "duration")
_COLUMNS_OF_3 = (itemgetter(0), itemgetter(1), itemgetter(2))
#: the default order of listings: newest first (served by the partial index runs_live_newest)
DEFAULT_ORDER = "r.start_time DESC, r.id DESC"
_OLDEST_FIRST = "r.start_time ASC, r.id ASC"
#: key tables and their key column, for :meth:`RunRepository.key_usage` (our constants, never user text)
_KEY_SOURCES = {"params": ("params", "key"), "metrics": ("latest_metrics", "key_id"), "tags": ("tags", "key")}
#: key use is counted over this many of the newest runs (the dashboard's column order)
KEY_USAGE_SAMPLE = 5000
#: a keyset paging position: (start time, row id) of a run
Cursor = tuple[float, int]
#: ``before=OLDEST``: the oldest runs, i.e. the last page in the default order
OLDEST = (-math.inf, 0)
#: run fields stored in ``run_documents`` rather than in ``runs``
DOCUMENT_FIELDS = ("provenance", "receipt")
#: every table with rows per run, besides ``runs`` itself (the metrics table has no foreign key to
#: cascade from, so a purge deletes from each by name)
RUN_TABLES = ("params", "tags", "metrics", "latest_metrics", "artifacts", "run_cells", "run_documents")
#: the next run row id: above the live ones and above the highest ever purged (see migration 0004)
_NEXT_RUN_ID = (
    "SELECT max(coalesce((SELECT max(id) FROM runs), 0), coalesce((SELECT max(last_run_id) FROM purges), 0)) + 1"
)
#: rows of deleted runs, for excluding them from aggregates (served by the partial index runs_deleted)
_DELETED_IDS = "SELECT id FROM runs WHERE deleted_time IS NOT NULL"
_NODE_COLUMNS = "SELECT r.id, r.uuid, r.status, r.parent_id, r.deleted_time FROM runs r"
_TREE = (
    "WITH RECURSIVE tree(id) AS (SELECT value FROM json_each(?1) UNION SELECT r.id FROM runs r JOIN tree t ON r.parent_id = t.id) "
    f"{_NODE_COLUMNS} JOIN tree USING (id) ORDER BY r.id"
)
_NODES = f"{_NODE_COLUMNS} WHERE r.id IN (SELECT value FROM json_each(?1)) ORDER BY r.id"
_UPSERT_LATEST = """
INSERT INTO latest_metrics(run_id, key_id, step, value, timestamp, min, max, count)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(run_id, key_id) DO UPDATE SET
    step = CASE WHEN excluded.step >= step THEN excluded.step ELSE step END,
    value = CASE WHEN excluded.step >= step THEN excluded.value ELSE value END,
    timestamp = CASE WHEN excluded.step >= step THEN excluded.timestamp ELSE timestamp END,
    min = CASE WHEN excluded.min IS NULL THEN min WHEN min IS NULL OR excluded.min < min
               THEN excluded.min ELSE min END,
    max = CASE WHEN excluded.max IS NULL THEN max WHEN max IS NULL OR excluded.max > max
               THEN excluded.max ELSE max END,
    count = count + excluded.count
"""

_RECOMPUTE_LATEST = """
INSERT OR REPLACE INTO latest_metrics(run_id, key_id, step, value, timestamp, min, max, count)
SELECT m.run_id, m.key_id, m.step, m.value, m.timestamp, agg.lo, agg.hi, agg.n
FROM metrics m,
     (SELECT min(value) AS lo, max(value) AS hi, count(*) AS n FROM metrics WHERE run_id = ?1 AND key_id = ?2) agg
WHERE m.run_id = ?1 AND m.key_id = ?2
ORDER BY m.step DESC LIMIT 1
"""


#: what the database raises for a row it refuses (as opposed to trouble with the store itself):
#: a failed constraint, a value SQLite cannot bind (too big an int, a lone surrogate, an odd type)
_REFUSED_ROW = (
    sqlite3.IntegrityError,
    sqlite3.DataError,
    sqlite3.InterfaceError,
    sqlite3.ProgrammingError,
    OverflowError,
    ValueError,
    TypeError,
)


class RunNode(NamedTuple):
    """What deleting, restoring and purging need to know of a run (no params or metrics)."""

    id: int
    uuid: str
    status: str
    parent_id: int | None
    deleted_time: float | None


class RunRepository:
    """SQL for runs and everything hanging off them."""

    def __init__(self, store: Store):
        self.store = store
        self._key_ids: dict[str, int] = {}
        #: metric key names by id, for reading summaries without a join per row (cleared with _key_ids)
        self._key_names: dict[int, str] = {}
        store.rollback_listeners.append(self._forget_key_cache)

    # -- experiments -------------------------------------------------------------------------
    def experiment_id(self, name: str) -> int:
        with self.store.atomic() as conn:
            row = conn.execute("SELECT id FROM experiments WHERE name = ?", (name,)).fetchone()
            if row:
                return row[0]
            return conn.execute("INSERT INTO experiments(name, created) VALUES (?, ?)", (name, time.time())).lastrowid

    def experiments(self) -> list[Experiment]:
        return [
            Experiment(r["id"], r["name"], r["created"])
            for r in self.store.query("SELECT * FROM experiments ORDER BY id")
        ]

    def experiment_summaries(self) -> list[tuple[str, int, float | None]]:
        """(name, number of live runs, start of the latest) per experiment, most recently used first."""
        rows = self.store.query(
            "SELECT e.name, count(r.id) AS runs, max(r.start_time) AS latest FROM experiments e "
            "LEFT JOIN runs r ON r.experiment_id = e.id AND r.deleted_time IS NULL "
            "GROUP BY e.id ORDER BY latest IS NULL, latest DESC, e.name"
        )
        return [(r["name"], r["runs"], r["latest"]) for r in rows]

    # -- run lifecycle -------------------------------------------------------------------------
    def insert_run(self, fields: dict[str, Any]) -> int:
        """Insert a run numbered above every run the store ever held, purged ones included: a
        row id never names two runs (late writers that kept one cannot hit a newer run)."""
        fields, documents = _split_documents(fields)
        columns = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        with self.store.atomic() as conn:
            # column names come from our code (Tracker), never from user text
            run_id = conn.execute(
                f"INSERT INTO runs(id, {columns}) VALUES (({_NEXT_RUN_ID}), {marks})", tuple(fields.values())
            ).lastrowid
            _write_documents(conn, run_id, documents)
            return run_id

    def update_run(self, run_id: int, fields: dict[str, Any]) -> None:
        fields, documents = _split_documents(fields)
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.store.atomic() as conn:
            if fields:
                conn.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*fields.values(), run_id))
            _write_documents(conn, run_id, documents)

    def provenance(self, run_id: int) -> dict[str, Any]:
        """The run's stored provenance document (empty when none), for read-modify-write updates."""
        rows = self.store.query("SELECT provenance FROM run_documents WHERE run_id = ?", (run_id,))
        return json.loads(rows[0]["provenance"]) if rows and rows[0]["provenance"] else {}

    def heartbeat(self, run_ids: Iterable[int], when: float, revive_prefix: str | None = None) -> None:
        """Refresh the heartbeat of running runs. A run another process presumed dead for want of
        heartbeats (its error starts with ``revive_prefix``) is RUNNING again: its owner is alive."""
        with self.store.atomic() as conn:
            conn.executemany(
                "UPDATE runs SET heartbeat = ?1, status = 'RUNNING', end_time = NULL, error = NULL WHERE id = ?2 AND "
                "(status = 'RUNNING' OR (status = 'KILLED' AND deleted_time IS NULL AND substr(error, 1, length(?3)) = ?3))",
                [(when, i, revive_prefix) for i in run_ids],
            )

    def mark_dead_runs(
        self,
        dead: Callable[[Mapping[str, Any]], bool],
        error: Callable[[Mapping[str, Any]], str],
        skip: Iterable[int] = (),
    ) -> int:
        """End as KILLED every RUNNING run ``dead(row)`` says is dead, at its last heartbeat.

        ``row`` has id, host, pid, start_time, heartbeat and the process recorded at start
        (``space``, ``start``: see :mod:`nbtrack.tracking.liveness`). A run whose heartbeat moved
        since it was read is left alone (its owner just proved alive). Runs in ``skip`` (the caller's
        own) are not read: a listing by the process that owns every running run reads no document.
        """
        skipped = set(skip)
        others = [i for (i,) in self.store.rows("SELECT id FROM runs WHERE status = 'RUNNING'") if i not in skipped]
        if not others:
            return 0
        rows = self.store.query(
            "SELECT r.id AS id, r.host AS host, r.pid AS pid, r.start_time AS start_time, r.heartbeat AS heartbeat, "
            "CASE WHEN json_valid(d.provenance) THEN json_extract(d.provenance, '$.process.space') END AS space, "
            "CASE WHEN json_valid(d.provenance) THEN json_extract(d.provenance, '$.process.start') END AS start "
            "FROM runs r LEFT JOIN run_documents d ON d.run_id = r.id "
            "WHERE r.status = 'RUNNING' AND r.id IN (SELECT value FROM json_each(?))",
            (_json_ids(others),),
        )
        gone = [r for r in rows if dead(r)]
        if not gone:
            return 0
        with self.store.atomic() as conn:
            conn.executemany(
                "UPDATE runs SET status = ?, end_time = ?, error = coalesce(error, ?) WHERE id = ? AND status = 'RUNNING' AND heartbeat IS ?",
                [(KILLED, r["heartbeat"] or r["start_time"], error(r), r["id"], r["heartbeat"]) for r in gone],
            )
        return len(gone)

    # -- deletion ------------------------------------------------------------------------------------
    def nodes(self, run_ids: Iterable[int], nested: bool = False) -> list[RunNode]:
        """The runs ``run_ids``, oldest first; ``nested`` adds every run under them, at any depth
        (a parent is always older than its children)."""
        rows = self.store.query(_TREE if nested else _NODES, (_json_ids(run_ids),))
        return [RunNode(*row) for row in rows]

    def set_deleted(self, run_ids: Iterable[int], when: float | None) -> None:
        """Hide runs from listings as deleted at ``when``; None makes them live again."""
        with self.store.atomic() as conn:
            conn.execute(
                "UPDATE runs SET deleted_time = ? WHERE id IN (SELECT value FROM json_each(?))",
                (when, _json_ids(run_ids)),
            )

    def deleted_before(self, cutoff: float | None) -> list[int]:
        """Deleted runs, all or those deleted before ``cutoff``."""
        rows = self.store.query(
            "SELECT id FROM runs WHERE deleted_time IS NOT NULL AND (?1 IS NULL OR deleted_time < ?1) ORDER BY id",
            (cutoff,),
        )
        return [r["id"] for r in rows]

    def delete(self, run_ids: Iterable[int]) -> list[str]:
        """Remove runs and every row of theirs for good, in one transaction; returns their ids.

        Pass whole trees (see :meth:`nodes`): a run cannot outlive its parent.
        """
        ids = _json_ids(run_ids)
        with self.store.atomic() as conn:
            uuids = [
                row[0]
                for row in conn.execute(
                    "SELECT uuid FROM runs WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id", (ids,)
                )
            ]
            for table in RUN_TABLES:  # names from our own constant, never user text
                conn.execute(f"DELETE FROM {table} WHERE run_id IN (SELECT value FROM json_each(?))", (ids,))
            conn.execute("DELETE FROM runs WHERE id IN (SELECT value FROM json_each(?))", (ids,))
        return uuids

    # -- params, tags, metrics ------------------------------------------------------------------
    def write_batch(
        self,
        run_id: int | None = None,
        params: Sequence[tuple[str, str, Any]] = (),
        tags: Sequence[tuple[str, str]] = (),
        metrics: Sequence[MetricRow] = (),
        run_params: Sequence[tuple[int, str, str, Any]] = (),
    ) -> None:
        """The one batch write primitive: params, tags and metric points in one transaction.

        ``params``/``tags`` belong to ``run_id``; ``run_params`` rows name their run (buffered writes).
        """
        if params:
            run_params = [*run_params, *((run_id, k, t, v) for k, t, v in params)]
        with self.store.atomic() as conn:
            if run_params:
                conn.executemany(
                    "INSERT OR REPLACE INTO params(run_id, key, type, value) VALUES (?, ?, ?, ?)", run_params
                )
            if tags:
                conn.executemany(
                    "INSERT OR REPLACE INTO tags(run_id, key, value) VALUES (?, ?, ?)",
                    [(run_id, k, v) for k, v in tags],
                )
            if metrics:
                self._write_metrics(conn, metrics)

    def write_buffered(self, rows: Sequence[BufferedRow]) -> list[tuple[BufferedRow, str]]:
        """Write buffered metric points (:data:`MetricRow`) and params (:class:`ParamRow`) in
        one transaction (joining the caller's); returns the rows the database refused, which are
        left out, each with the database's reason.

        The whole batch is tried first; when the database refuses a row (a constraint, a value it
        cannot bind), the batch is halved under savepoints until the refused rows stand alone,
        so one bad row costs ``log2(len(rows))`` retries and never the rest of the batch. Errors
        about the store itself (locked, full, read-only) still abort the transaction.
        """
        refused: list[tuple[tuple, str]] = []
        with self.store.atomic() as conn:
            self._write_salvaging(conn, list(rows), refused)
        return refused

    def _write_salvaging(self, conn, rows: list[BufferedRow], refused: list[tuple[BufferedRow, str]]) -> None:
        if not rows:
            return
        conn.execute("SAVEPOINT nbtrack_rows")
        try:
            params = [r for r in rows if type(r) is ParamRow]
            metrics = [r for r in rows if type(r) is not ParamRow] if params else rows
            self.write_batch(metrics=metrics, run_params=params)
        except _REFUSED_ROW as exc:
            conn.execute("ROLLBACK TO nbtrack_rows")
            conn.execute("RELEASE nbtrack_rows")
            self._forget_key_cache()  # metric keys inserted since the savepoint are gone
            if len(rows) == 1:
                refused.append((rows[0], f"{type(exc).__name__}: {exc}"))
                return
            middle = len(rows) // 2
            self._write_salvaging(conn, rows[:middle], refused)
            self._write_salvaging(conn, rows[middle:], refused)
            return
        conn.execute("RELEASE nbtrack_rows")

    def add_to_count_tag(self, key: str, counts: dict[int, int]) -> None:
        """Add ``counts[run]`` to the integer tag ``key`` of each run that still exists."""
        with self.store.atomic() as conn:
            conn.executemany(
                "INSERT INTO tags(run_id, key, value) SELECT id, ?2, ?3 FROM runs WHERE id = ?1 "
                "ON CONFLICT(run_id, key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + ?3 AS TEXT)",
                [(run_id, key, str(n)) for run_id, n in counts.items()],
            )

    def tags_of(self, run_ids: Iterable[int]) -> dict[int, dict[str, str]]:
        """The tags of each run named (every run named is a key, tagged or not)."""
        ids = list(run_ids)
        found: dict[int, dict[str, str]] = {run_id: {} for run_id in ids}
        for run_id, key, value in self.store.rows(
            "SELECT run_id, key, value FROM tags WHERE run_id IN (SELECT value FROM json_each(?))", (_json_ids(ids),)
        ):
            found[run_id][key] = value
        return found

    def delete_tag(self, run_ids: Iterable[int], key: str) -> int:
        """Remove tag ``key`` from the runs ``run_ids`` in one statement; returns how many had it."""
        with self.store.atomic() as conn:
            return conn.execute(
                "DELETE FROM tags WHERE key = ? AND run_id IN (SELECT value FROM json_each(?))",
                (key, _json_ids(run_ids)),
            ).rowcount

    def _write_metrics(self, conn, rows: Sequence[MetricRow]) -> None:
        key_ids = self._ensure_keys(conn, {row[1] for row in rows})
        points = [(run, key_ids[key], step, value, ts) for run, key, step, value, ts in rows]
        # The incremental summary is exact only when every point is a new step beyond the stored
        # ones; a re-logged step (or one before the last) replaces or precedes a point, so those
        # series get their summary recomputed from their rows instead.
        redo = _repeated_pairs(points)
        lowest: dict[tuple[int, int], int] = {}
        for run, key_id, step, _, _ in points:
            lowest[(run, key_id)] = min(step, lowest.get((run, key_id), step))
        for pair, low in lowest.items():
            if pair not in redo:
                stored = conn.execute(
                    "SELECT step FROM latest_metrics WHERE run_id = ? AND key_id = ?", pair
                ).fetchone()
                if stored is not None and low <= stored[0]:
                    redo.add(pair)
        conn.executemany(
            "INSERT OR REPLACE INTO metrics(run_id, key_id, step, value, timestamp) VALUES (?, ?, ?, ?, ?)", points
        )
        conn.executemany(_UPSERT_LATEST, [s for s in _summaries(points) if (s[0], s[1]) not in redo])
        conn.executemany(_RECOMPUTE_LATEST, [(run, key_id) for run, key_id in redo])

    def _ensure_keys(self, conn, keys: set[str]) -> dict[str, int]:
        missing = [k for k in keys if k not in self._key_ids]
        if missing:
            conn.executemany("INSERT OR IGNORE INTO metric_keys(key) VALUES (?)", [(k,) for k in missing])
            marks = ",".join("?" * len(missing))
            for key_id, key in conn.execute(f"SELECT id, key FROM metric_keys WHERE key IN ({marks})", missing):
                self._key_ids[key] = key_id
        return self._key_ids

    def _forget_key_cache(self) -> None:
        """Metric key ids inserted by a rolled-back transaction are gone: re-read them."""
        self._key_ids.clear()
        self._key_names.clear()

    def metric_history(self, run_id: int, key: str) -> MetricHistory:
        """The points of one metric by step, as columns (NaN is stored as NULL)."""
        rows = self._history_rows(run_id, key)
        if not rows:
            return MetricHistory()
        # one C-level pass per column (zip(*rows) costs 4x more for 100,000 rows)
        steps, values, stamps = (list(map(column, rows)) for column in _COLUMNS_OF_3)
        if None in values:
            values = [math.nan if value is None else value for value in values]
        return MetricHistory(steps, values, stamps)

    def _history_rows(self, run_id: int, key: str) -> list[tuple]:
        with self.store.lock:
            row = self.store.conn.execute("SELECT id FROM metric_keys WHERE key = ?", (key,)).fetchone()
            if row is None:
                return []
            return self.store.conn.execute(
                "SELECT step, value, timestamp FROM metrics WHERE run_id = ? AND key_id = ? ORDER BY step",
                (run_id, row[0]),
            ).fetchall()

    # -- artifacts and cells ------------------------------------------------------------------------
    def add_artifact(self, run_id: int, name: str, sha: str, size: int, media_type: str) -> None:
        with self.store.atomic() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO artifacts(run_id, name, sha256, size, media_type, created) VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, name, sha, size, media_type, time.time()),
            )

    def artifacts(self, run_id: int) -> tuple[Artifact, ...]:
        """One run's artifacts by name, without loading the rest of the run."""
        return tuple(
            _artifact(row)
            for row in self.store.query("SELECT * FROM artifacts WHERE run_id = ? ORDER BY name", (run_id,))
        )

    def artifact(self, run_id: int, name: str) -> Artifact:
        rows = self.store.query("SELECT * FROM artifacts WHERE run_id = ? AND name = ?", (run_id, name))
        if not rows:
            raise NotFoundError(f"run has no artifact named {name!r}")
        return _artifact(rows[0])

    def add_cell(
        self,
        run_id: int,
        execution_count: int | None,
        cell_id: str | None,
        source_sha: str,
        outputs_sha: str | None = None,
    ) -> None:
        with self.store.atomic() as conn:
            seq = conn.execute(
                "SELECT coalesce(max(seq), 0) + 1 FROM run_cells WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO run_cells(run_id, seq, execution_count, cell_id, source_sha256, outputs_sha256) VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, seq, execution_count, cell_id, source_sha, outputs_sha),
            )

    def cells(self, run_id: int) -> list[RunCell]:
        rows = self.store.query(
            "SELECT seq, execution_count, cell_id, source_sha256 FROM run_cells WHERE run_id = ? ORDER BY seq",
            (run_id,),
        )
        return [
            RunCell(
                r["seq"], r["execution_count"], r["cell_id"], self.store.blobs.get(r["source_sha256"]).decode("utf-8")
            )
            for r in rows
        ]

    # -- reading runs ---------------------------------------------------------------------------
    def resolve(self, run_ref: str) -> int:
        """Row id of the run whose uuid is ``run_ref`` or starts with it (>= 4 hex characters)."""
        ref = (run_ref or "").strip().lower()
        if len(ref) < 4 or any(c not in "0123456789abcdef" for c in ref):
            return self._by_name(run_ref)
        rows = self.store.query("SELECT id, uuid FROM runs WHERE uuid >= ? AND uuid < ? LIMIT 2", (ref, ref + "g"))
        if not rows:
            raise NotFoundError(f"no run with id {run_ref!r}")
        if len(rows) > 1:
            raise AmbiguousIdError(
                f"run id prefix {run_ref!r} matches several runs ({rows[0]['uuid'][:8]}, {rows[1]['uuid'][:8]}, ...); type more characters"
            )
        return rows[0]["id"]

    def _by_name(self, name: str) -> int:
        """A name means the live run of that name; a deleted one only when no live run has it (to restore it)."""
        for live in ("IS NULL", "IS NOT NULL"):
            # the two conditions are constants of this function, never user text
            rows = self.store.query(f"SELECT id FROM runs WHERE name = ? AND deleted_time {live} LIMIT 2", (name,))
            if len(rows) == 1:
                return rows[0]["id"]
            if len(rows) > 1:
                raise AmbiguousIdError(f"several runs are named {name!r}; use the run id instead")
        raise UsageError(f"{name!r} is not a run id (at least 4 hex characters) or a run name")

    def get(self, run_id: int) -> Run:
        runs = self.select(f"SELECT {_RUN_COLUMNS}{_WITH_DOCUMENTS} WHERE r.id = ?", (run_id,))
        if not runs:
            raise NotFoundError(f"no run with row id {run_id}")
        return runs[0]

    def row_id_of(self, uuid: str) -> int | None:
        """The row id of the run with exactly this 32-hex id, or None (no prefix matching: see :meth:`resolve`)."""
        rows = self.store.query("SELECT id FROM runs WHERE uuid = ?", (uuid,))
        return rows[0]["id"] if rows else None

    def uuid_of(self, run_id: int) -> str:
        return self.store.query("SELECT uuid FROM runs WHERE id = ?", (run_id,))[0]["uuid"]

    def is_row_of(self, run_id: int, run_uuid: str) -> bool:
        """Whether row ``run_id`` still holds run ``run_uuid`` (a purged run's row id is reused)."""
        return bool(self.store.query("SELECT 1 FROM runs WHERE id = ? AND uuid = ?", (run_id, run_uuid)))

    def search(self, *args: Any, **kwargs: Any) -> list[Run]:
        """Whole runs (params, metrics, tags) of the page :meth:`page` selects, with the same arguments:
        WHERE/ORDER BY fragments produced by :mod:`nbtrack.query` (always parameterized), a limit,
        an offset or a keyset cursor. Live runs only, unless ``deleted``: then only the deleted ones.
        """
        return self.by_ids([row_id for _, row_id in self.page(*args, **kwargs)])

    def page(
        self,
        where: str = "",
        params: Sequence[Any] = (),
        order_by: str = "",
        order_params: Sequence[Any] = (),
        limit: int | None = None,
        offset: int = 0,
        deleted: bool = False,
        after: Cursor | None = None,
        before: Cursor | None = None,
    ) -> list[Cursor]:
        """(start time, row id) of the matching runs in order: only the narrow columns paging needs.

        In the default order (newest first) ``after=(start, id)`` continues after that run and
        ``before=(start, id)`` gives the ``limit`` runs just before it (``before=OLDEST`` the last
        page): keyset paging, served by the ``runs_live_newest`` index whatever the page number,
        where ``offset`` reads and skips every run before the page.
        """
        conditions, args = [_with_deleted(where, deleted)], [*params]
        order = order_by or DEFAULT_ORDER
        cursor = after if after is not None else before
        if cursor is not None:
            if order != DEFAULT_ORDER:
                raise UsageError("keyset paging (after/before) follows the default order only")
            conditions.append(f"(r.start_time, r.id) {'<' if after is not None else '>'} (?, ?)")
            args += [float(cursor[0]), int(cursor[1])]
            if before is not None:
                order = _OLDEST_FIRST
        # the experiments join only when the filter or order names the experiment (our compiler writes e.name)
        source = _FROM if "e.name" in where or "e.name" in order else "FROM runs r"
        sql = f"SELECT r.start_time, r.id {source} WHERE {' AND '.join(conditions)} ORDER BY {order}"
        args += order_params
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            args += [-1 if limit is None else int(limit), int(offset)]
        with self.store.lock:
            rows = self.store.conn.execute(sql, args).fetchall()
        return rows[::-1] if before is not None else rows

    def by_ids(self, ids: Sequence[int]) -> list[Run]:
        """Runs (params, metrics, tags, artifacts) for ``ids``, in that order; their provenance and
        receipt are read from the store when first used."""
        if not ids:
            return []
        # CROSS JOIN keeps the list as the outer loop (one lookup per id), ordered by its position
        return self.select(
            f"SELECT {_RUN_COLUMNS} FROM json_each(?) j CROSS JOIN runs r ON r.id = j.value "
            f"JOIN experiments e ON e.id = r.experiment_id ORDER BY j.key",
            (_json_ids(ids),),
        )

    def table_rows(self, ids: Sequence[int], columns: Mapping[str, Sequence[str]]) -> list[list]:
        """One row per run of ``ids``, in order: id, name, experiment, status, start_time, end_time,
        duration, then each key of ``columns["params"]`` (decoded), ``["metrics"]`` (last value) and
        ``["tags"]``, "" where the run has none. Built straight from the rows, with no Run objects."""
        if not ids:
            return []
        params_at = {key: len(TABLE_COLUMNS) + i for i, key in enumerate(columns["params"])}
        metrics_at = {key: len(TABLE_COLUMNS) + len(params_at) + i for i, key in enumerate(columns["metrics"])}
        tags_at = {
            key: len(TABLE_COLUMNS) + len(params_at) + len(metrics_at) + i for i, key in enumerate(columns["tags"])
        }
        width = len(TABLE_COLUMNS) + len(params_at) + len(metrics_at) + len(tags_at)
        table, row_of = [], {}
        with self.store.lock:
            conn = self.store.conn
            for run_id, uuid, name, experiment, status, start, end, heartbeat in conn.execute(
                "SELECT r.id, r.uuid, r.name, e.name, r.status, r.start_time, r.end_time, r.heartbeat FROM json_each(?) j "
                "CROSS JOIN runs r ON r.id = j.value JOIN experiments e ON e.id = r.experiment_id ORDER BY j.key",
                (_json_ids(ids),),
            ):
                stop = end if end is not None else heartbeat
                row = [uuid, name, experiment, status, start, end, None if stop is None else max(0.0, stop - start)] + [
                    ""
                ] * (width - len(TABLE_COLUMNS))
                table.append(row)
                row_of[run_id] = row
            self._fill_wanted(conn, ids)
            decode, current, row = decode_param, None, None
            for run_id, key, kind, value in conn.execute(
                "SELECT p.run_id, p.key, p.type, p.value FROM temp._wanted w CROSS JOIN params p ON p.run_id = w.id"
            ):
                at = params_at.get(key)
                if at is not None:
                    if run_id != current:
                        current, row = run_id, row_of[run_id]
                    # str, and numbers stored as themselves, need no decoding (big ints and non-finite floats are text)
                    plain = (
                        kind == "str"
                        or (kind == "float" and type(value) is float)
                        or (kind == "int" and type(value) is int)
                    )
                    row[at] = value if plain else decode(kind, value)
            nan = math.nan
            metric_at = {
                key_id: metrics_at[key]
                for key_id, key in conn.execute(
                    "SELECT id, key FROM metric_keys WHERE key IN (SELECT value FROM json_each(?))",
                    (json.dumps(list(metrics_at)),),
                )
            }
            for run_id, key_id, value in conn.execute(
                "SELECT l.run_id, l.key_id, l.value FROM temp._wanted w CROSS JOIN latest_metrics l ON l.run_id = w.id"
            ):
                at = metric_at.get(key_id)
                if at is not None:
                    row_of[run_id][at] = nan if value is None else value
            for run_id, key, value in conn.execute(
                "SELECT t.run_id, t.key, t.value FROM temp._wanted w CROSS JOIN tags t ON t.run_id = w.id"
            ):
                at = tags_at.get(key)
                if at is not None:
                    row_of[run_id][at] = value
        return table

    def _fill_wanted(self, conn, ids: Sequence[int]) -> None:
        """``temp._wanted`` holds exactly ``ids``: joined CROSS first, it makes SQLite read only their child rows."""
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS _wanted(id INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM temp._wanted")
        conn.execute("INSERT OR IGNORE INTO temp._wanted(id) SELECT value FROM json_each(?)", (_json_ids(ids),))

    def documents(self, run_id: int) -> tuple[str | None, str | None]:
        """(provenance JSON, receipt JSON) of one run, as stored."""
        rows = self.store.rows_even_if_closed(
            "SELECT provenance, receipt FROM run_documents WHERE run_id = ?", (run_id,)
        )
        return rows[0] if rows else (None, None)

    def cell_runs(self, cell_key: str) -> list[tuple[str, str | None, str, float]]:
        """(id, name, status, start) of every live run of one cell, oldest first: re-runs are linked this way."""
        rows = self.store.query(
            "SELECT uuid, name, status, start_time FROM runs WHERE cell_key = ? AND deleted_time IS NULL ORDER BY start_time, id",
            (cell_key,),
        )
        return [(r["uuid"], r["name"], r["status"], r["start_time"]) for r in rows]

    def key_usage(self, deleted: bool = False) -> dict[str, tuple[str, ...]]:
        """Param, metric and tag keys of live runs (or, with ``deleted``, of deleted ones), most used
        first (ties alphabetical); use is counted over the newest :data:`KEY_USAGE_SAMPLE` runs, so
        keys only older runs have come last, alphabetically.

        Lets the dashboard offer columns without loading every run, or even every key row.
        """
        state = "IS NOT NULL" if deleted else "IS NULL"  # constants of this function, never user text
        newest = f"SELECT id FROM runs WHERE deleted_time {state} ORDER BY start_time DESC, id DESC LIMIT {int(KEY_USAGE_SAMPLE)}"
        usage = {}
        with self.store.lock:
            for kind, (table, column) in _KEY_SOURCES.items():
                present = self._present_keys(kind, f"{'' if deleted else 'NOT '}IN ({_DELETED_IDS})", ())
                counts = dict(
                    self.store.conn.execute(
                        f"SELECT {column}, count(*) FROM {table} WHERE run_id IN ({newest}) GROUP BY {column}"
                    )
                )
                usage[kind] = tuple(
                    name for name, _ in sorted(present, key=lambda pair: (-counts.get(pair[1], 0), pair[0]))
                )
        return usage

    def keys_of(self, where: str = "", params: Sequence[Any] = (), deleted: bool = False) -> dict[str, list[str]]:
        """The param, metric and tag keys of the runs :meth:`search` would return, each sorted."""
        source = _FROM if "e.name" in where else "FROM runs r"
        # every live run: "not one of the (few) deleted" reads less than listing 100,000 live ones
        matching = (
            f"IN (SELECT r.id {source} WHERE {_with_deleted(where, deleted)})"
            if where or deleted
            else f"NOT IN ({_DELETED_IDS})"
        )
        with self.store.lock:
            return {
                kind: sorted(name for name, _ in self._present_keys(kind, matching, params)) for kind in _KEY_SOURCES
            }

    def _present_keys(self, kind: str, matching: str, params: Sequence[Any]) -> list[tuple[str, Any]]:
        """(name, stored key) of each ``kind`` key that a run ``run_id <matching>`` has (``IN (...)``).

        The distinct keys come from hopping along the key index (one seek per key, however many
        rows each has), then each is checked for one matching run: no scan of every key row.
        """
        table, column = _KEY_SOURCES[kind]
        sql = (
            f"WITH RECURSIVE k(v) AS (SELECT (SELECT min({column}) FROM {table}) UNION ALL "
            f"SELECT (SELECT min({column}) FROM {table} WHERE {column} > k.v) FROM k WHERE k.v IS NOT NULL) "
            f"SELECT v FROM k WHERE v IS NOT NULL AND EXISTS (SELECT 1 FROM {table} x WHERE x.{column} = k.v AND x.run_id {matching})"
        )
        found = [row[0] for row in self.store.conn.execute(sql, params)]
        if kind != "metrics":
            return [(key, key) for key in found]
        names = dict(
            self.store.conn.execute(
                "SELECT id, key FROM metric_keys WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(found),)
            )
        )
        return [(names[key_id], key_id) for key_id in found]

    def totals(self) -> dict[str, int]:
        """What the store holds: experiments, live and deleted runs, metric points, blobs and their bytes."""
        row = self.store.query(
            "SELECT (SELECT count(*) FROM experiments) AS experiments, (SELECT count(*) FROM runs WHERE deleted_time IS NULL) AS runs, "
            "(SELECT count(*) FROM runs WHERE deleted_time IS NOT NULL) AS deleted_runs, "
            "(SELECT count(*) FROM metrics) AS metric_points, (SELECT count(*) FROM blobs) AS blobs, "
            "(SELECT coalesce(sum(size), 0) FROM blobs) AS blob_bytes"
        )[0]
        return {key: row[key] for key in row.keys()}

    def count(self, where: str = "", params: Sequence[Any] = (), deleted: bool = False) -> int:
        """How many runs :meth:`search` would return without a limit."""
        source = _FROM if "e.name" in where else "FROM runs r"
        return self.store.query(f"SELECT count(*) {source} WHERE {_with_deleted(where, deleted)}", params)[0][0]

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[Run]:
        """Runs of rows with the columns of ``_RUN_COLUMNS`` (plus, for one run, its two documents).

        Rows are plain tuples read by position (``sqlite3.Row`` lookups by name cost more than the
        query for a 1,000-run listing), and the records are built with :func:`~nbtrack.entities.record`.
        """
        rows = self.store.rows(sql, params)
        if not rows:
            return []
        params_by, metrics_by, tags_by, artifacts_by = self._children([row[0] for row in rows])
        eager = len(rows[0]) > _RUN_WIDTH
        documents = self.documents
        runs = []
        for row in rows:
            run_id, outline = row[0], row[20]
            runs.append(
                record(
                    Run,
                    {
                        "id": row[1],
                        "name": row[3],
                        "experiment": row[2],
                        "status": row[4],
                        "start_time": row[5],
                        "end_time": row[6],
                        "heartbeat": row[7],
                        "parent_id": row[8],
                        "cell_key": row[9],
                        "pid": row[10],
                        "host": row[11],
                        "user": row[12],
                        "error": row[13],
                        "note": row[14],
                        "params": params_by.get(run_id, {}),
                        "metrics": metrics_by.get(run_id, {}),
                        "tags": tags_by.get(run_id, {}),
                        "artifacts": artifacts_by.get(run_id, ()),
                        "provenance_json": row[_RUN_WIDTH] if eager else None,
                        "provenance_columns": {name: row[i] for name, i in _PROVENANCE_COLUMNS if row[i] is not None},
                        "receipt_json": row[_RUN_WIDTH + 1] if eager else None,
                        "deleted_time": row[21],
                        "documents": None if eager else functools.partial(documents, run_id),
                        "outline": json.loads(outline) if outline else None,
                    },
                )
            )
        return runs

    def _children(self, ids: list[int]):
        """Params, metric summaries, tags and artifacts of the runs ``ids``, by run row id."""
        params_by: dict[int, dict] = {}
        metrics_by: dict[int, dict] = {}
        tags_by: dict[int, dict] = {}
        artifacts_by: dict[int, list] = {}
        nan, summary, decode = math.nan, MetricSummary, decode_param
        # CROSS JOIN pins temp._wanted as the outer loop: SQLite otherwise scans whole child tables.
        # Rows come grouped by run, so each run's dict is looked up once, not once per row.
        with self.store.lock:
            conn = self.store.conn
            self._fill_wanted(conn, ids)
            current, into = None, {}
            for run_id, key, kind, value in conn.execute(
                "SELECT p.run_id, p.key, p.type, p.value FROM temp._wanted w CROSS JOIN params p ON p.run_id = w.id"
            ):
                if run_id != current:
                    current, into = run_id, params_by.setdefault(run_id, {})
                into[key] = value if kind == "str" else decode(kind, value)
            current, names = None, self._key_names
            for run_id, key_id, step, value, ts, lo, hi, count in conn.execute(
                "SELECT l.run_id, l.key_id, l.step, l.value, l.timestamp, l.min, l.max, l.count FROM temp._wanted w "
                "CROSS JOIN latest_metrics l ON l.run_id = w.id"
            ):
                key = names.get(key_id)
                if key is None:  # a key this process has not seen (or a rollback cleared them): read them all again
                    names.update(conn.execute("SELECT id, key FROM metric_keys"))
                    key = names[key_id]
                if run_id != current:
                    current, into = run_id, metrics_by.setdefault(run_id, {})
                into[key] = record(
                    summary,
                    {
                        "key": key,
                        "last": nan if value is None else value,
                        "step": step,
                        "timestamp": ts,
                        "min": lo,
                        "max": hi,
                        "count": count,
                    },
                )
            current = None
            for run_id, key, value in conn.execute(
                "SELECT t.run_id, t.key, t.value FROM temp._wanted w CROSS JOIN tags t ON t.run_id = w.id"
            ):
                if run_id != current:
                    current, into = run_id, tags_by.setdefault(run_id, {})
                into[key] = value
            cursor = conn.execute(
                "SELECT a.* FROM temp._wanted w CROSS JOIN artifacts a ON a.run_id = w.id ORDER BY a.name"
            )
            cursor.row_factory = sqlite3.Row
            for row in cursor:
                artifacts_by.setdefault(row["run_id"], []).append(_artifact(row))
        return params_by, metrics_by, tags_by, {k: tuple(v) for k, v in artifacts_by.items()}


def _split_documents(fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(columns of ``runs``, columns of ``run_documents``) of one insert or update."""
    documents = {k: fields[k] for k in DOCUMENT_FIELDS if k in fields}
    return ({k: v for k, v in fields.items() if k not in documents}, documents) if documents else (fields, documents)


def _write_documents(conn, run_id: int, documents: dict[str, Any]) -> None:
    if not documents:
        return
    if "receipt" in documents:  # its verdict is kept next to the run, for listings
        conn.execute("UPDATE runs SET receipt_outline = ? WHERE id = ?", (outline_json(documents["receipt"]), run_id))
    # column names from DOCUMENT_FIELDS only, never user text
    columns = ", ".join(documents)
    updates = ", ".join(f"{k} = excluded.{k}" for k in documents)
    conn.execute(
        f"INSERT INTO run_documents(run_id, {columns}) VALUES (?, {', '.join('?' * len(documents))}) "
        f"ON CONFLICT(run_id) DO UPDATE SET {updates}",
        (run_id, *documents.values()),
    )


def outline_json(receipt: str | None) -> str | None:
    """The ``receipt_outline`` column for a stored receipt (see :func:`nbtrack.entities.receipt_outline`)."""
    outline = receipt_outline(json.loads(receipt)) if receipt else None
    return json.dumps(outline) if outline is not None else None


def _json_ids(run_ids: Iterable[int]) -> str:
    """Row ids as one JSON parameter, read back with ``json_each``: any number of them in one statement."""
    return json.dumps([int(i) for i in run_ids])


def _with_deleted(where: str, deleted: bool | None) -> str:
    if deleted is None:  # live and deleted runs alike
        return where or "1"
    state = "r.deleted_time IS NOT NULL" if deleted else "r.deleted_time IS NULL"
    return f"({where}) AND {state}" if where else state


def _repeated_pairs(points: list[tuple[int, int, int, float, float]]) -> set[tuple[int, int]]:
    """The (run, key) series in which one batch logs the same step twice."""
    seen: set[tuple[int, int, int]] = set()
    repeated: set[tuple[int, int]] = set()
    for run, key_id, step, _, _ in points:
        if (run, key_id, step) in seen:
            repeated.add((run, key_id))
        seen.add((run, key_id, step))
    return repeated


def _summaries(points: list[tuple[int, int, int, float, float]]) -> list[tuple]:
    """Per (run, key): the point with the highest step, min/max ignoring NaN, and a count."""
    acc: dict[tuple[int, int], list] = {}
    for run, key_id, step, value, ts in points:
        entry = acc.get((run, key_id))
        real = None if value is None or math.isnan(value) else value
        if entry is None:
            acc[(run, key_id)] = [step, value, ts, real, real, 1]
            continue
        if step >= entry[0]:
            entry[0], entry[1], entry[2] = step, value, ts
        if real is not None:
            entry[3] = real if entry[3] is None else min(entry[3], real)
            entry[4] = real if entry[4] is None else max(entry[4], real)
        entry[5] += 1
    return [(run, key_id, *entry) for (run, key_id), entry in acc.items()]


def _artifact(row) -> Artifact:
    return Artifact(row["name"], row["sha256"], row["size"], row["media_type"], row["created"])


__all__ = ["BufferedRow", "MetricRow", "ParamRow", "RunRepository", "RUNNING"]
