"""Reading an MLflow tracking database, and the report an import fills in (shared by the run and registry importers)."""

from __future__ import annotations

import math
import sqlite3
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..errors import UsageError
from ..interop import mlflow_mapping as mapping
from ..values import check_key, check_text

#: the tables and columns every MLflow tracking database has had since 1.x
REQUIRED_COLUMNS = {
    "experiments": {"experiment_id", "name"},
    "runs": {
        "run_uuid",
        "name",
        "user_id",
        "status",
        "start_time",
        "end_time",
        "lifecycle_stage",
        "artifact_uri",
        "experiment_id",
    },
    "params": {"key", "value", "run_uuid"},
    "metrics": {"key", "value", "timestamp", "run_uuid", "step", "is_nan"},
    "tags": {"key", "value", "run_uuid"},
}


@dataclass(repr=False)
class ImportReport:
    """What an import did: ids of the runs it added or skipped, counts, and every problem it met."""

    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    params: int = 0
    metrics: int = 0
    tags: int = 0
    artifacts: int = 0
    artifact_bytes: int = 0
    without_artifacts: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    versions: int = 0
    skipped_models: list[str] = field(default_factory=list)
    #: MLflow 3 LoggedModels kept as artifacts of their runs (model ids)
    logged_models: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"<ImportReport: {len(self.imported)} runs, {len(self.models)} models, {len(self.warnings)} warnings>"

    def summary(self) -> str:
        lines = [
            f"imported {len(self.imported)} run{'s' * (len(self.imported) != 1)} "
            f"({self.params} params, {self.metrics} metric points, {self.tags} tags, {self.artifacts} artifacts, "
            f"{self.artifact_bytes} artifact bytes); skipped {len(self.skipped)} already in the store",
            f"imported {len(self.models)} registered model{'s' * (len(self.models) != 1)} with {self.versions} "
            f"version{'s' * (self.versions != 1)}; skipped {len(self.skipped_models)} already in the registry",
        ]
        if self.logged_models:
            lines.append(
                f"kept {len(self.logged_models)} MLflow logged model{'s' * (len(self.logged_models) != 1)} "
                "as artifacts of their runs (logged_models/<model id>/)"
            )
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        # a notebook cell ending in import_mlflow(...) shows the summary, not the dataclass fields
        printer.text(self.summary())


class MlflowDatabase:
    """Read-only access to one MLflow tracking database file."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        if str(path).startswith("sqlite:///"):
            self.path = Path(str(path)[len("sqlite:///") :])
        if self.path.is_dir():
            raise UsageError(
                f"{self.path} is a folder; nbtrack reads MLflow's SQLite backend store (a file such as mlflow.db), "
                "not an mlruns file store"
            )
        if not self.path.is_file():
            raise UsageError(f"{self.path} does not exist; pass the file of MLflow's backend store (sqlite:///FILE)")
        try:
            self.conn = sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True)
            self.conn.row_factory = sqlite3.Row
            tables = {
                r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }  # reads the header
        except sqlite3.DatabaseError as exc:
            raise UsageError(
                f"{self.path} is not a SQLite database ({exc}); pass the file of MLflow's backend store"
            ) from None
        missing = sorted(
            f"{table}.{column}"
            for table, columns in REQUIRED_COLUMNS.items()
            for column in columns - self._columns(table)
        )
        if missing:
            hint = " (it is an nbtrack store)" if "registry_events" in tables or "run_cells" in tables else ""
            raise UsageError(f"{self.path} is not an MLflow tracking database{hint}: it lacks {', '.join(missing[:4])}")

    def _columns(self, table: str) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT name FROM pragma_table_info(?)", (table,))}

    def has_table(self, table: str) -> bool:
        """Whether this MLflow version has ``table`` (the registry came in 1.x, aliases in 2.3)."""
        return bool(self._columns(table))

    def rows(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        self.conn.close()

    def experiments(self) -> dict[int, str]:
        return {r["experiment_id"]: r["name"] for r in self.conn.execute("SELECT experiment_id, name FROM experiments")}

    def runs(self) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM runs ORDER BY start_time, run_uuid").fetchall()

    def params(self, run_uuid: str) -> list[tuple[str, str]]:
        return [
            (r[0], r[1])
            for r in self.conn.execute("SELECT key, value FROM params WHERE run_uuid = ? ORDER BY key", (run_uuid,))
        ]

    def tags(self, run_uuid: str) -> dict[str, str]:
        rows = self.conn.execute("SELECT key, value FROM tags WHERE run_uuid = ? ORDER BY key", (run_uuid,))
        return {r[0]: r[1] for r in rows if r[1] is not None}

    def metrics(self, run_uuid: str) -> list[tuple[str, int, float, float]]:
        """(key, step, value, timestamp in seconds) in logging order, with MLflow's encodings undone."""
        rows = self.conn.execute(
            "SELECT key, step, value, timestamp, is_nan FROM metrics WHERE run_uuid = ? ORDER BY timestamp, step",
            (run_uuid,),
        )
        return [(key, int(step), _metric(value, is_nan), seconds(ts)) for key, step, value, ts, is_nan in rows]

    def dataset_inputs(self, run_uuid: str) -> list[dict]:
        """The run's dataset inputs (MLflow 2.4+): name, digest, source, schema, profile and context."""
        if not (self.has_table("inputs") and self.has_table("datasets")):
            return []
        rows = self.conn.execute(
            "SELECT i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source, d.dataset_schema, d.dataset_profile "
            "FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id "
            "WHERE i.destination_type = 'RUN' AND i.destination_id = ? AND i.source_type = 'DATASET' ORDER BY d.name, i.input_uuid",
            (run_uuid,),
        ).fetchall()
        found = []
        for row in rows:
            tags = {}
            if self.has_table("input_tags"):
                tags = {
                    r[0]: r[1]
                    for r in self.conn.execute("SELECT name, value FROM input_tags WHERE input_uuid = ?", (row[0],))
                }
            found.append(
                {
                    "name": row[1],
                    "digest": row[2],
                    "source_type": row[3],
                    "source": row[4],
                    "schema": row[5],
                    "profile": row[6],
                    "context": tags.pop("mlflow.data.context", None),
                    "tags": tags or None,
                }
            )
        return found

    def logged_models(self) -> list[sqlite3.Row]:
        """MLflow 3's LoggedModels (none before 3.0)."""
        if not self.has_table("logged_models"):
            return []
        return self.conn.execute("SELECT * FROM logged_models ORDER BY creation_timestamp_ms, model_id").fetchall()

    def logged_model_details(self, model_id: str) -> dict[str, object]:
        """A LoggedModel's params, metrics and tags, from whichever of their tables this MLflow has."""
        details: dict[str, object] = {}
        for table, columns in (
            ("logged_model_params", "param_key, param_value"),
            ("logged_model_tags", "tag_key, tag_value"),
        ):
            if self.has_table(table):
                # table and column names are constants of this method, never user text
                details[table.rsplit("_", 1)[1]] = dict(
                    self.conn.execute(f"SELECT {columns} FROM {table} WHERE model_id = ?", (model_id,)).fetchall()
                )
        if self.has_table("logged_model_metrics"):
            rows = self.conn.execute(
                "SELECT metric_name, metric_value, metric_step, metric_timestamp_ms, run_id FROM logged_model_metrics "
                "WHERE model_id = ? ORDER BY metric_timestamp_ms",
                (model_id,),
            ).fetchall()
            details["metrics"] = [
                {"key": r[0], "value": r[1], "step": r[2], "timestamp": seconds(r[3]), "run_id": r[4]} for r in rows
            ]
        return details


def is_remote(recorded: str | None) -> bool:
    """An object store or other remote location (``s3://``, ``gs://``, ``dbfs:/``, ...): nothing local to copy."""
    scheme = urlparse(recorded or "").scheme
    return scheme not in ("", "file", "mlflow-artifacts") and len(scheme) > 1  # one letter: a Windows drive


def local_path(recorded: str | None, roots: list[Path]) -> Path | None:
    """A location MLflow recorded, as a local path that exists now, or None.

    Plain paths and ``file:`` URIs are taken where they were, else re-rooted at the part
    after their last ``mlruns`` under one of ``roots`` (the folder moved); ``mlflow-artifacts:``
    URIs (a tracking server's proxied artifacts) are relative to its artifact root, which is
    one of ``roots`` (``mlartifacts`` next to the database by default). Remote stores (s3, gs,
    ...) give None.
    """
    if not recorded:
        return None
    parsed = urlparse(recorded)
    if parsed.scheme == "mlflow-artifacts":
        tail = [part for part in unquote(parsed.path).split("/") if part]
        return next((root.joinpath(*tail) for root in roots if tail and root.joinpath(*tail).exists()), None)
    if parsed.scheme not in ("", "file"):
        return None
    path = Path(unquote(parsed.path) if parsed.scheme else recorded)
    if path.exists():
        return path
    parts = path.parts
    if "mlruns" in parts:
        tail = parts[len(parts) - parts[::-1].index("mlruns") :]
        return next((root.joinpath(*tail) for root in roots if root.joinpath(*tail).exists()), None)
    return None


#: MLflow's epoch milliseconds -> nbtrack's epoch seconds (the one mapping)
seconds = mapping.to_seconds


def _metric(value: float, is_nan: int) -> float:
    if is_nan:
        return math.nan
    if value >= sys.float_info.max:
        return math.inf
    if value <= -sys.float_info.max:
        return -math.inf
    return float(value)


def checked_tags(pairs: Iterable[tuple[str, str | None]], label: str, report: ImportReport) -> list[tuple[str, str]]:
    """The (key, value) pairs nbtrack can store as tags; each one it cannot is named in the report."""
    kept = []
    for key, value in pairs:
        if value is None:
            continue
        try:
            kept.append((check_key(key, "tag name"), check_text(value, f"tag {key!r}")))
        except UsageError as exc:
            report.warnings.append(f"{label}: tag {key!r} skipped: {exc}")
    return kept


def outside_roots(path: Path, roots: list[Path]) -> str | None:
    """None when ``path`` (resolved: ``..`` and links followed) lies under one of ``roots``, else why not.

    An MLflow database is data from elsewhere: its ``artifact_uri`` or a model's ``source`` may
    name any folder (``/home/me/.ssh``, ``mlruns/../../..``); files are copied only from under
    the artifact roots the user gave or that sit next to the database.
    """
    resolved = path.resolve()
    if any(resolved.is_relative_to(root.resolve()) for root in roots):
        return None
    return f"{path} is outside the artifact roots ({', '.join(map(str, roots))}); pass --artifacts-root with its folder if you trust it"


def files_under(folder: Path) -> tuple[list[Path], list[Path]]:
    """``(files, links)``: the regular files below ``folder``, sorted, and the paths left out because
    they are symbolic links or reached through one (they may point anywhere)."""
    top, files, links = folder.resolve(), [], []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.resolve().is_relative_to(top):
            links.append(path)
        elif path.is_file():
            files.append(path)
    return files, links


__all__ = [
    "ImportReport",
    "MlflowDatabase",
    "checked_tags",
    "files_under",
    "is_remote",
    "local_path",
    "outside_roots",
    "seconds",
]
