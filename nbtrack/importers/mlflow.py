"""Bring an MLflow tracking store into nbtrack: experiments, runs, params, metric histories, tags, notes, artifacts.

The switching cost is what keeps a team on its old tracker, so the import asks for nothing
but the file: MLflow's SQLite database is read directly, read-only, without importing
``mlflow``. The tables it reads (``experiments``, ``runs``, ``params``, ``metrics``, ``tags``)
have kept their columns since MLflow 1.x. Each MLflow run becomes one nbtrack run with the
*same* 32-hex id, so ``runs:/ID/...`` references keep working and importing again skips the
runs already there: run it after every batch of MLflow runs until the team has switched.

What changes on the way in, on purpose:

- Params: MLflow keeps every param as text (``"0.1"``, ``"True"``, ``"[1, 2]"``). Text that is a
  Python literal becomes that value when the value reads back as the very same text, so
  ``params.lr > 0.01`` compares numbers as it does for runs tracked by nbtrack; anything else
  (``"1e3"``, ``"0.10"``, ``"(1, 2)"``) stays text (:mod:`nbtrack.interop.mlflow_mapping`).
- Metrics: MLflow stores infinities as the largest float and NaN as 0 with a flag; both come
  back as the IEEE values. Timestamps go from milliseconds to seconds. MLflow keeps every point
  logged at one step; nbtrack keeps the last, and the report names each metric that had more.
- Dataset inputs become the run's data inputs (name, digest, context, source), queryable as
  ``datasets.name`` / ``datasets.digest`` / ``datasets.context``.
- MLflow 3 LoggedModels become artifacts of their source run (``logged_models/<model id>/...``,
  with their params, metrics and tags in ``logged_models/<model id>/logged_model.json``); one
  whose files or run are missing is named in the report.
- A run MLflow still lists as RUNNING or SCHEDULED is imported KILLED: nbtrack cannot resume it.
- ``mlflow.runName``, ``mlflow.user``, ``mlflow.parentRunId`` and ``mlflow.note.content`` become the
  run's name, user, parent and note; every other tag is kept as it was.
- Runs deleted in MLflow arrive deleted (restorable, purged by ``nbtrack gc``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..entities import FAILED, FINISHED, KILLED, SYSTEM_TAG_PREFIX
from ..errors import NbtrackError, UsageError
from ..interop import mlflow_mapping as mapping
from ..tracking import Tracker
from ..tracking.artifacts import check_artifact_name, media_type
from ..values import check_key, param_value
from .mlflow_logged import import_logged_models
from .mlflow_registry import import_registry
from .mlflow_source import (
    ImportReport,
    MlflowDatabase,
    checked_tags,
    files_under,
    is_remote,
    local_path,
    outside_roots,
    seconds,
)

#: MLflow tags that become run columns instead of tags
FOLDED_TAGS = tuple(mapping.FOLDED_TAGS)
IMPORTED_TAG = SYSTEM_TAG_PREFIX + "imported_from"
_STATUS = {"FINISHED": FINISHED, "FAILED": FAILED, "KILLED": KILLED}


def import_mlflow(
    tracker: Tracker,
    database: str | Path,
    artifacts_root: str | Path | None = None,
    artifacts: bool = True,
    models: bool = True,
) -> ImportReport:
    """Import every run of an MLflow database into ``tracker``'s store (see the module docstring),
    then, with ``models``, its registered models (:mod:`nbtrack.importers.mlflow_registry`).

    ``artifacts_root`` is where MLflow's ``mlruns`` folder (or a tracking server's artifact root)
    is now, when the artifact paths recorded in the database no longer exist (the folder was
    moved or copied from another machine); ``mlruns`` and ``mlartifacts`` next to the database
    file are tried too. Symbolic links among the artifacts are not followed.
    """
    source = MlflowDatabase(database)
    report = ImportReport()
    defaults = (source.path.parent / "mlruns", source.path.parent / "mlartifacts")  # MLflow's and its server's
    roots = [Path(p).expanduser() for p in (artifacts_root, *defaults) if p is not None]
    try:
        experiments = source.experiments()
        parents: dict[str, str] = {}
        for row in source.runs():
            uuid = row["run_uuid"]
            if tracker.runs.row_id_of(uuid) is not None:
                report.skipped.append(uuid)
                continue
            try:
                with tracker.store.atomic():
                    parent = _import_run(tracker, source, row, experiments, roots if artifacts else None, report)
            except (NbtrackError, OSError, ValueError, sqlite3.IntegrityError) as exc:
                report.warnings.append(f"run {uuid[:8]} was not imported: {exc}")
                continue
            report.imported.append(uuid)
            if parent:
                parents[uuid] = parent
        _link_parents(tracker, parents, report)
        if report.without_artifacts and not report.artifacts:
            report.warnings.append(
                f"no artifact folder was found for any of the {len(report.without_artifacts)} imported runs "
                f"(looked at the paths MLflow recorded and under {', '.join(map(str, roots))}); if MLflow's mlruns "
                "folder has moved, import again into a fresh store with --artifacts-root pointing at it"
            )
        if artifacts:
            import_logged_models(tracker, source, roots, report)
        if models:
            import_registry(tracker, source, roots, report)
    finally:
        source.close()
    return report


def _import_run(
    tracker: Tracker,
    source: MlflowDatabase,
    row: sqlite3.Row,
    experiments: dict[int, str],
    roots: list[Path] | None,
    report: ImportReport,
) -> str | None:
    """Write one MLflow run (inside the caller's transaction); returns its MLflow parent id, if any."""
    uuid, short = row["run_uuid"], row["run_uuid"][:8]
    tags = source.tags(uuid)
    status = _STATUS.get(row["status"])
    if status is None:
        status = KILLED
        report.warnings.append(
            f"run {short} was {row['status']} in MLflow; imported as KILLED (nbtrack cannot resume it)"
        )
    deleted = row["lifecycle_stage"] == "deleted"
    fields = {
        "uuid": uuid,
        "experiment_id": tracker.runs.experiment_id(
            experiments.get(row["experiment_id"], f"mlflow-{row['experiment_id']}")
        ),
        "name": row["name"] or tags.get("mlflow.runName"),
        "status": status,
        "start_time": mapping.to_seconds(row["start_time"]) or 0.0,
        "end_time": mapping.to_seconds(row["end_time"]),
        "user": row["user_id"] or tags.get(mapping.USER),
        "note": tags.get(mapping.NOTE),
        "git_commit": tags.get(mapping.GIT_COMMIT),
        "provenance": json.dumps(
            {
                "kind": "import",
                "imported_from": {
                    "tool": "mlflow",
                    "run_id": uuid,
                    "database": str(source.path.resolve()),
                    "artifact_uri": row["artifact_uri"],
                    "source_name": tags.get(mapping.SOURCE_NAME),
                    "source_type": tags.get(mapping.SOURCE_TYPE),
                },
                **_inputs(source.dataset_inputs(uuid), short, report),
            }
        ),
        "deleted_time": (seconds(_column(row, "deleted_time")) or time.time()) if deleted else None,
    }
    row_id = tracker.runs.insert_run(fields)
    texts, tags, redacted = tracker.redact_values(dict(source.params(uuid)), tags)  # secrets stay out here too
    params = _params(texts.items(), short, report)
    kept_tags = _tags(tags, short, report)
    points = _points(row_id, source.metrics(uuid), short, report)
    tracker.runs.write_batch(row_id, params=params, tags=kept_tags, metrics=points)
    tracker.record_redacted(row_id, redacted)
    tracker.policy.stamp([row_id])  # checked, not defaulted: the importing machine did not make the run
    report.params += len(params)
    report.tags += len(kept_tags) - 1
    report.metrics += len({(key, step) for _, key, step, _, _ in points})  # a re-logged step keeps its last value
    if roots is not None:
        _import_artifacts(tracker, row_id, row, roots, report)
    return tags.get("mlflow.parentRunId")


def _params(pairs: Iterable[tuple[str, str]], short: str, report: ImportReport) -> list[tuple[str, str, Any]]:
    typed = []
    for key, text in pairs:
        try:
            typed.append((check_key(key, "param name"), *param_value(_literal(text), key)))
        except UsageError as exc:
            report.warnings.append(f"run {short}: param {key!r} skipped: {exc}")
    return typed


#: ``"0.1"`` -> 0.1, ``"True"`` -> True, ``"[1, 2]"`` -> [1, 2]; text that would read back differently stays text
_literal = mapping.param_from_text


def _inputs(datasets: list[dict[str, Any]], short: str, report: ImportReport) -> dict[str, Any]:
    """MLflow's dataset inputs as the run's data inputs (by name; a second input of one name gets its context added)."""
    inputs: dict[str, dict[str, Any]] = {}
    for dataset in datasets:
        name = dataset.pop("name") or "dataset"
        if name in inputs:
            renamed = f"{name} ({dataset.get('context') or len(inputs)})"
            report.warnings.append(f"run {short}: a second dataset named {name!r} was logged; imported as {renamed!r}")
            name = renamed
        inputs[name] = {"kind": "mlflow-dataset", **{k: v for k, v in dataset.items() if v is not None}}
    return {"inputs": inputs} if inputs else {}


def _tags(tags: dict[str, str], short: str, report: ImportReport) -> list[tuple[str, str]]:
    unfolded = ((key, value) for key, value in tags.items() if key not in FOLDED_TAGS)
    return [(IMPORTED_TAG, "mlflow"), *checked_tags(unfolded, f"run {short}", report)]


def _points(row_id: int, metrics: list[tuple[str, int, float, float]], short: str, report: ImportReport) -> list[tuple]:
    """Metric rows for the store; MLflow keeps every logged point, nbtrack the last one per step (each
    metric that loses points this way is named in the report)."""
    rows, refused = [], set()
    repeated: dict[str, int] = {}
    seen: set[tuple[str, int]] = set()
    for key, step, value, ts in metrics:
        if (key, step) in seen:
            repeated[key] = repeated.get(key, 0) + 1
        seen.add((key, step))
        if key in refused:
            continue
        try:
            check_key(key, "metric name")
        except UsageError as exc:
            refused.add(key)
            report.warnings.append(f"run {short}: metric {key!r} skipped: {exc}")
            continue
        rows.append((row_id, key, step, value, ts))
    for key, count in sorted(repeated.items()):
        if key not in refused:
            report.warnings.append(
                f"run {short}: metric {key!r} had {count} more value{'s' * (count != 1)} logged at a step that "
                "already had one; MLflow keeps every point, nbtrack the last value per step"
            )
    return rows


def _import_artifacts(tracker: Tracker, row_id: int, row: sqlite3.Row, roots: list[Path], report: ImportReport) -> None:
    folder = _artifact_folder(row["artifact_uri"], row["experiment_id"], row["run_uuid"], roots)
    if folder is None and is_remote(row["artifact_uri"]):
        report.warnings.append(
            f"run {row['run_uuid'][:8]}: its artifacts are in {row['artifact_uri']}; "
            "nbtrack copies local artifacts only (download them, then pass --artifacts-root)"
        )
        return
    if folder is None:  # MLflow makes the folder with the first artifact: most such runs logged none
        report.without_artifacts.append(row["run_uuid"])
        return
    refused = outside_roots(folder, roots)
    if refused:
        report.warnings.append(f"run {row['run_uuid'][:8]}: artifacts not copied: {refused}")
        return
    files, links = files_under(folder)
    report.warnings += [
        f"run {row['run_uuid'][:8]}: artifact {p.relative_to(folder).as_posix()} not copied: "
        "a symbolic link (it may point anywhere)"
        for p in links
    ]
    for path in files:
        try:
            name = check_artifact_name(path.relative_to(folder).as_posix())
        except UsageError as exc:
            report.warnings.append(f"run {row['run_uuid'][:8]}: artifact skipped: {exc}")
            continue
        data = path.read_bytes()
        tracker.runs.add_artifact(row_id, name, tracker.store.blobs.put(data), len(data), media_type(name))
        report.artifacts += 1
        report.artifact_bytes += len(data)


def _artifact_folder(uri: str | None, experiment_id: int, run_uuid: str, roots: list[Path]) -> Path | None:
    """The run's artifact folder on this machine: the recorded local path, else ``ROOT/EXP/RUN/artifacts``
    (also when the recorded path lies outside the roots; the caller refuses a folder outside them)."""
    found = local_path(uri, roots)
    rerooted = next(
        (c for c in (root / str(experiment_id) / run_uuid / "artifacts" for root in roots) if c.is_dir()), None
    )
    if found is not None and found.is_dir() and (rerooted is None or outside_roots(found, roots) is None):
        return found
    return rerooted


def _link_parents(tracker: Tracker, parents: dict[str, str], report: ImportReport) -> None:
    with tracker.store.atomic():
        for child, parent in parents.items():
            parent_row = tracker.runs.row_id_of(parent)
            if parent_row is None:
                report.warnings.append(
                    f"run {child[:8]}: its MLflow parent {parent[:8]} is not in the store; imported as a top-level run"
                )
                continue
            tracker.runs.update_run(tracker.runs.row_id_of(child), {"parent_id": parent_row})


def _column(row: sqlite3.Row, name: str) -> Any:
    """A column that older MLflow schemas lack (``runs.deleted_time`` came in 1.x)."""
    return row[name] if name in row.keys() else None


__all__ = ["ImportReport", "import_mlflow"]
