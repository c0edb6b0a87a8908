-- index idx__sqlite_migrations_migration_set_name
CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name"
    ON "_sqlite_migrations" ("migration_set", "name");
-- index latest_metrics_key_value
CREATE INDEX latest_metrics_key_value ON latest_metrics(key_id, value);
-- index model_versions_one_production
CREATE UNIQUE INDEX model_versions_one_production ON model_versions(model_id) WHERE stage = 'Production';
-- index model_versions_run
CREATE INDEX model_versions_run ON model_versions(run_id);
-- index params_key_type_value
CREATE INDEX params_key_type_value ON params(key, type, value);
-- index runs_cell_key
CREATE INDEX runs_cell_key ON runs(cell_key);
-- index runs_deleted
CREATE INDEX runs_deleted ON runs(deleted_time) WHERE deleted_time IS NOT NULL;
-- index runs_experiment_start
CREATE INDEX runs_experiment_start ON runs(experiment_id, start_time);
-- index runs_live_experiment_newest
CREATE INDEX runs_live_experiment_newest ON runs(experiment_id, start_time DESC, id DESC) WHERE deleted_time IS NULL;
-- index runs_live_newest
CREATE INDEX runs_live_newest ON runs(start_time DESC, id DESC) WHERE deleted_time IS NULL;
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
-- table aliases
CREATE TABLE aliases (
    model_id INTEGER NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (model_id, alias),
    FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version)
) STRICT, WITHOUT ROWID;
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
-- table model_tags
CREATE TABLE model_tags (
    model_id INTEGER NOT NULL REFERENCES registered_models(id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) STRICT, WITHOUT ROWID;
-- table model_versions
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
    created_by TEXT, deleted_time REAL,
    PRIMARY KEY (model_id, version)
) STRICT, WITHOUT ROWID;
-- table params
CREATE TABLE params (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('int', 'float', 'bool', 'str', 'json', 'null')),
    value ANY,
    PRIMARY KEY (run_id, key)
) STRICT, WITHOUT ROWID;
-- table purges
CREATE TABLE purges (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    runs INTEGER NOT NULL,
    blobs INTEGER NOT NULL,
    bytes INTEGER NOT NULL
, last_run_id INTEGER) STRICT;
-- table registered_models
CREATE TABLE registered_models (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
, deleted_time REAL) STRICT;
-- table registry_events
CREATE TABLE "registry_events" (
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
-- table run_documents
CREATE TABLE run_documents (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    provenance TEXT,
    receipt TEXT
) STRICT;
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
    deleted_time REAL, receipt_outline TEXT) STRICT;
-- table tags
CREATE TABLE tags (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) STRICT, WITHOUT ROWID;
-- table version_tags
CREATE TABLE version_tags (
    model_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, version, key),
    FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version)
) STRICT, WITHOUT ROWID;
-- trigger registry_events_no_delete
CREATE TRIGGER registry_events_no_delete BEFORE DELETE ON registry_events
BEGIN
    SELECT RAISE(ABORT, 'registry_events is append-only: events cannot be deleted');
END;
-- trigger registry_events_no_update
CREATE TRIGGER registry_events_no_update BEFORE UPDATE ON registry_events
BEGIN
    SELECT RAISE(ABORT, 'registry_events is append-only: events cannot be changed');
END;
