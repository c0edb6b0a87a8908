-- index idx__sqlite_migrations_migration_set_name
CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name"
    ON "_sqlite_migrations" ("migration_set", "name");
-- index latest_metrics_key_value
CREATE INDEX latest_metrics_key_value ON latest_metrics(key_id, value);
-- index params_key_value
CREATE INDEX params_key_value ON params(key, value);
-- index runs_cell_key
CREATE INDEX runs_cell_key ON runs(cell_key);
-- index runs_experiment_start
CREATE INDEX runs_experiment_start ON runs(experiment_id, start_time);
-- index runs_notebook
CREATE INDEX runs_notebook ON runs(notebook_path);
-- index runs_parent
CREATE INDEX runs_parent ON runs(parent_id);
-- index runs_status
CREATE INDEX runs_status ON runs(status);
-- index tags_key_value
CREATE INDEX tags_key_value ON tags(key, value);
-- table _sqlite_migrations
CREATE TABLE "_sqlite_migrations" (
   "id" INTEGER PRIMARY KEY,
   "migration_set" TEXT,
   "name" TEXT,
   "applied_at" TEXT
);
-- table artifacts
CREATE TABLE artifacts (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (run_id, name)
) STRICT, WITHOUT ROWID;
-- table blobs
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    size INTEGER NOT NULL,
    encoding TEXT NOT NULL CHECK (encoding IN ('raw', 'zlib', 'file')),
    data BLOB,
    created REAL NOT NULL
) STRICT, WITHOUT ROWID;
-- table experiments
CREATE TABLE experiments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created REAL NOT NULL
) STRICT;
-- table latest_metrics
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
-- table metric_keys
CREATE TABLE metric_keys (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
) STRICT;
-- table metrics
CREATE TABLE metrics (
    run_id INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    step INTEGER NOT NULL,
    value REAL,
    timestamp REAL NOT NULL,
    PRIMARY KEY (run_id, key_id, step)
) STRICT, WITHOUT ROWID;
-- table params
CREATE TABLE params (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('int', 'float', 'bool', 'str', 'json', 'null')),
    value ANY,
    PRIMARY KEY (run_id, key)
) STRICT, WITHOUT ROWID;
-- table run_cells
CREATE TABLE run_cells (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    execution_count INTEGER,
    cell_id TEXT,
    source_sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    outputs_sha256 TEXT REFERENCES blobs(sha256),
    PRIMARY KEY (run_id, seq)
) STRICT, WITHOUT ROWID;
-- table runs
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
-- table tags
CREATE TABLE tags (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) STRICT, WITHOUT ROWID;
