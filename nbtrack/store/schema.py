"""The store schema as numbered migrations, kept in sqlite-utils' migrations table.

Released migrations are never edited: add the next number (``0006_...``) instead. ``PRAGMA user_version``
mirrors the number of applied migrations (set inside the same transaction), so a store
can be checked with one cheap pragma on open, without importing sqlite-utils.
"""

from __future__ import annotations

import json
import sys
from typing import Any

#: ``PRAGMA application_id`` of every nbtrack store ("nbtr"); tells our files from others'.
APPLICATION_ID = 0x6E627472
MIGRATION_SET = "nbtrack"

_DOCUMENTS_0005 = """
-- Large JSON documents (provenance, the hidden-state receipt) leave the runs table, so a
-- listing, a count or a filtered scan reads only the small columns it shows.
CREATE TABLE run_documents (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    provenance TEXT,
    receipt TEXT
) STRICT;
-- The receipt's verdict (checked, problem kinds; a few bytes): what a listing's badge shows.
ALTER TABLE runs ADD COLUMN receipt_outline TEXT;
"""
_INDEXES_0005 = """
-- The default order (newest first) of live runs, overall and per experiment: the first page
-- and every later page (keyset paging) read only their rows, without a sort.
CREATE INDEX runs_live_newest ON runs(start_time DESC, id DESC) WHERE deleted_time IS NULL;
CREATE INDEX runs_live_experiment_newest ON runs(experiment_id, start_time DESC, id DESC) WHERE deleted_time IS NULL;
-- Typed param filters (params.lr > 0.01 only looks at numeric params) answered from the index
-- alone; it serves everything params_key_value did, which goes (one index less per write).
CREATE INDEX params_key_type_value ON params(key, type, value);
DROP INDEX params_key_value;
"""


def migrate_0005(conn) -> None:
    """Copy provenance and receipts into ``run_documents`` in batches (a line on stderr per
    :data:`PROGRESS_EVERY` runs of a big store), then drop the two columns from ``runs``."""
    for statement in _statements(_DOCUMENTS_0005):
        conn.execute(statement)
    total = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    last, done = 0, 0
    while True:
        row = conn.execute(
            "SELECT max(id), count(*) FROM (SELECT id FROM runs WHERE id > ? ORDER BY id LIMIT ?)",
            (last, PROGRESS_EVERY),
        ).fetchone()
        if not row[1]:
            break
        conn.execute(
            "INSERT INTO run_documents(run_id, provenance, receipt) SELECT id, provenance, receipt FROM runs "
            "WHERE id > ? AND id <= ? AND (provenance IS NOT NULL OR receipt IS NOT NULL)",
            (last, row[0]),
        )
        outlines = [
            (_outline_0005(receipt), run_id)
            for run_id, receipt in conn.execute(
                "SELECT id, receipt FROM runs WHERE id > ? AND id <= ? AND receipt IS NOT NULL", (last, row[0])
            ).fetchall()
        ]
        conn.executemany("UPDATE runs SET receipt_outline = ? WHERE id = ?", outlines)
        last, done = row[0], done + row[1]
        if total > PROGRESS_EVERY:
            print(
                f"nbtrack: upgrading the store (0005): {done:,} of {total:,} runs ({100 * done // total}%)",
                file=sys.stderr,
                flush=True,
            )
    conn.execute("ALTER TABLE runs DROP COLUMN provenance")
    conn.execute("ALTER TABLE runs DROP COLUMN receipt")
    for statement in _statements(_INDEXES_0005):
        conn.execute(statement)


def _outline_0005(receipt: str) -> str:
    """The ``receipt_outline`` of a stored receipt as of 0005 (what ``runs.outline_json`` writes today)."""
    document = json.loads(receipt)
    return json.dumps(
        {"checked": document.get("checked"), "kinds": [p.get("kind") for p in document.get("problems") or []]}
    )


#: a store with more runs than this reports the progress of a migration that copies them (stderr)
PROGRESS_EVERY = 20_000

# Each entry: (name, SQL script, or a function of the sqlite3 connection for a migration that
# must report progress). It runs inside the migration's transaction.
MIGRATIONS: list[tuple[str, Any]] = [
    (
        "0001_initial",
        """
CREATE TABLE experiments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created REAL NOT NULL
) STRICT;

CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE CHECK (length(uuid) = 32),
    experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    name TEXT,
    status TEXT NOT NULL CHECK (status IN ('RUNNING', 'FINISHED', 'FAILED', 'KILLED')),
    start_time REAL NOT NULL,
    end_time REAL,
    heartbeat REAL,
    parent_id INTEGER REFERENCES runs(id),
    cell_key TEXT,
    pid INTEGER,
    host TEXT,
    user TEXT,
    error TEXT,
    note TEXT,
    notebook_path TEXT,
    path_method TEXT,
    git_commit TEXT,
    env_sha256 TEXT,
    snapshot_sha256 TEXT,
    provenance TEXT,
    receipt TEXT
) STRICT;
CREATE INDEX runs_status ON runs(status);
CREATE INDEX runs_experiment_start ON runs(experiment_id, start_time);
CREATE INDEX runs_cell_key ON runs(cell_key);
CREATE INDEX runs_parent ON runs(parent_id);
CREATE INDEX runs_notebook ON runs(notebook_path);

CREATE TABLE params (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('int', 'float', 'bool', 'str', 'json', 'null')),
    value ANY,
    PRIMARY KEY (run_id, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX params_key_value ON params(key, value);

CREATE TABLE tags (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX tags_key_value ON tags(key, value);

CREATE TABLE metric_keys (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
) STRICT;

-- One row per point. value NULL means NaN (SQLite stores NaN as NULL); +-inf are kept.
-- No foreign key here: checking it costs a lookup per point on the hot path; runs are
-- never deleted without their metrics (see RunRepository.delete).
CREATE TABLE metrics (
    run_id INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    step INTEGER NOT NULL,
    value REAL,
    timestamp REAL NOT NULL,
    PRIMARY KEY (run_id, key_id, step)
) STRICT, WITHOUT ROWID;

-- Maintained once per flush (not by trigger): the last point and aggregates per metric.
CREATE TABLE latest_metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key_id INTEGER NOT NULL REFERENCES metric_keys(id),
    step INTEGER NOT NULL,
    value REAL,
    timestamp REAL NOT NULL,
    min REAL,
    max REAL,
    count INTEGER NOT NULL,
    PRIMARY KEY (run_id, key_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX latest_metrics_key_value ON latest_metrics(key_id, value);

-- Content-addressed bytes. Small blobs live in `data` (zlib when it helps); large
-- ones in blobs/<sha256[:2]>/<sha256> next to the database, with data NULL.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    size INTEGER NOT NULL,
    encoding TEXT NOT NULL CHECK (encoding IN ('raw', 'zlib', 'file')),
    data BLOB,
    created REAL NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE artifacts (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (run_id, name)
) STRICT, WITHOUT ROWID;

-- The cells a run executed, in order; sources are blobs so re-runs cost no copy.
CREATE TABLE run_cells (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    execution_count INTEGER,
    cell_id TEXT,
    source_sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    outputs_sha256 TEXT REFERENCES blobs(sha256),
    PRIMARY KEY (run_id, seq)
) STRICT, WITHOUT ROWID;
""",
    ),
    (
        "0002_registry",
        """
-- The model registry. Versions point at a run and at the blob of their pickled model;
-- the blob's sha256 is copied here so load_model can verify it before unpickling.
CREATE TABLE registered_models (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
) STRICT;

CREATE TABLE model_versions (
    model_id INTEGER NOT NULL REFERENCES registered_models(id),
    version INTEGER NOT NULL CHECK (version >= 1),
    run_id INTEGER NOT NULL REFERENCES runs(id),
    artifact TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    stage TEXT NOT NULL DEFAULT 'None' CHECK (stage IN ('None', 'Staging', 'Production', 'Archived')),
    description TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    created_by TEXT,
    PRIMARY KEY (model_id, version)
) STRICT, WITHOUT ROWID;
-- At most one Production version per model, whatever the code above it does.
CREATE UNIQUE INDEX model_versions_one_production ON model_versions(model_id) WHERE stage = 'Production';
CREATE INDEX model_versions_run ON model_versions(run_id);

CREATE TABLE model_tags (
    model_id INTEGER NOT NULL REFERENCES registered_models(id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE version_tags (
    model_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, version, key),
    FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE aliases (
    model_id INTEGER NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (model_id, alias),
    FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version)
) STRICT, WITHOUT ROWID;

-- Append-only audit trail; seq counts 1, 2, 3, ... per model with no gaps (assigned
-- inside the writing transaction). from_value/to_value hold stages, alias targets or texts.
CREATE TABLE registry_events (
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES registered_models(id),
    seq INTEGER NOT NULL CHECK (seq >= 1),
    time REAL NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('create_model', 'register', 'transition', 'set_alias', 'delete_alias',
                                           'set_description', 'set_tag', 'delete_tag')),
    version INTEGER,
    key TEXT,
    from_value TEXT,
    to_value TEXT,
    comment TEXT,
    details TEXT,
    UNIQUE (model_id, seq)
) STRICT;
CREATE TRIGGER registry_events_no_update BEFORE UPDATE ON registry_events
BEGIN
    SELECT RAISE(ABORT, 'registry_events is append-only: events cannot be changed');
END;
CREATE TRIGGER registry_events_no_delete BEFORE DELETE ON registry_events
BEGIN
    SELECT RAISE(ABORT, 'registry_events is append-only: events cannot be deleted');
END;
""",
    ),
    (
        "0003_deleted_runs",
        """
-- Soft deletion: NULL is a live run; a time is when it was deleted (it can be restored
-- until a purge removes it and its rows for good, see RunRepository.delete).
ALTER TABLE runs ADD COLUMN deleted_time REAL;
CREATE INDEX runs_deleted ON runs(deleted_time) WHERE deleted_time IS NOT NULL;

-- One row per purge that removed something. The newest id tells writers that cached a
-- blob's hash (execution history entries) to store it again: the purge may have removed it.
CREATE TABLE purges (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    runs INTEGER NOT NULL,
    blobs INTEGER NOT NULL,
    bytes INTEGER NOT NULL
) STRICT;
""",
    ),
    (
        "0004_registry_deletion_run_numbering",
        """
-- The highest run row id a purge removed: new runs are numbered above it, so a row id
-- never names two runs over the life of a store (what AUTOINCREMENT would give, without
-- rebuilding the runs table that every per-run table references).
ALTER TABLE purges ADD COLUMN last_run_id INTEGER;

-- Registry deletion is soft: a deleted model or version keeps its rows (and its place in
-- the audit trail), its number and its name stay taken, and it can be restored.
ALTER TABLE registered_models ADD COLUMN deleted_time REAL;
ALTER TABLE model_versions ADD COLUMN deleted_time REAL;

-- The audit trail gains rename, delete and restore actions. A CHECK constraint cannot be
-- altered in SQLite, so the table is rebuilt with every event copied as it was.
CREATE TABLE registry_events_0004 (
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES registered_models(id),
    seq INTEGER NOT NULL CHECK (seq >= 1),
    time REAL NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('create_model', 'register', 'transition', 'set_alias', 'delete_alias',
                                           'set_description', 'set_tag', 'delete_tag', 'rename_model',
                                           'delete_model', 'restore_model', 'delete_version', 'restore_version')),
    version INTEGER,
    key TEXT,
    from_value TEXT,
    to_value TEXT,
    comment TEXT,
    details TEXT,
    UNIQUE (model_id, seq)
) STRICT;
INSERT INTO registry_events_0004(id, model_id, seq, time, who, action, version, key, from_value, to_value, comment, details)
    SELECT id, model_id, seq, time, who, action, version, key, from_value, to_value, comment, details FROM registry_events;
DROP TABLE registry_events;
ALTER TABLE registry_events_0004 RENAME TO registry_events;
CREATE TRIGGER registry_events_no_update BEFORE UPDATE ON registry_events
BEGIN
    SELECT RAISE(ABORT, 'registry_events is append-only: events cannot be changed');
END;
CREATE TRIGGER registry_events_no_delete BEFORE DELETE ON registry_events
BEGIN
    SELECT RAISE(ABORT, 'registry_events is append-only: events cannot be deleted');
END;
""",
    ),
    ("0005_run_documents_listing_indexes", migrate_0005),
]

SCHEMA_VERSION = len(MIGRATIONS)


def apply_migrations(conn) -> None:
    """Apply pending migrations inside the caller's transaction, with plain :mod:`sqlite3`.

    The bookkeeping is sqlite-utils' (``Migrations("nbtrack")``): the same ``_sqlite_migrations``
    table and rows, so stores stay readable by its tools. sqlite-utils itself is not imported:
    importing it imports pandas and numpy when installed, and a store is first opened from a
    tracked cell's ``pre_run_cell`` hook, where pandas cannot yet see IPython and would keep
    terminal display defaults (``display.max_columns`` 0) for the user's whole session.
    """
    import datetime

    conn.execute(_MIGRATIONS_TABLE)
    conn.execute(_MIGRATIONS_INDEX)
    applied = {
        name
        for (name,) in conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (MIGRATION_SET,))
    }
    for number, (name, script) in enumerate(MIGRATIONS, start=1):
        if name in applied:
            continue
        if callable(script):
            script(conn)
        else:
            for statement in _statements(script):
                conn.execute(statement)
        # Inside the migration's transaction: an interrupted migration leaves the old number.
        conn.execute(f"PRAGMA user_version = {int(number)}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        applied_at = str(datetime.datetime.now(datetime.timezone.utc))
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
            (MIGRATION_SET, name, applied_at),
        )


# As sqlite-utils' ``Migrations.ensure_migrations_table`` creates them.
_MIGRATIONS_TABLE = """CREATE TABLE IF NOT EXISTS "_sqlite_migrations" (
   "id" INTEGER PRIMARY KEY,
   "migration_set" TEXT,
   "name" TEXT,
   "applied_at" TEXT
)"""
_MIGRATIONS_INDEX = """CREATE UNIQUE INDEX IF NOT EXISTS "idx__sqlite_migrations_migration_set_name"
    ON "_sqlite_migrations" ("migration_set", "name")"""


def _statements(script: str) -> list[str]:
    """Split a migration script on ';' ending a line (our scripts contain no such literal)."""
    import sqlite3

    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements
