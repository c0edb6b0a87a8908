"""MLflow 3's LoggedModels into nbtrack: each becomes artifacts of the run that logged it.

A LoggedModel is MLflow 3's first-class model (``models:/m-...``), stored outside the run's
artifact folder. nbtrack has no separate model entity besides registered versions, so its
files become artifacts of its source run under ``logged_models/<model id>/`` together with a
``logged_model.json`` holding its name, type, status, params, metrics and tags. A model whose
run was not imported, or whose files are not on this machine, is named in the report.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..tracking import Tracker
from ..tracking.artifacts import check_artifact_name, media_type
from .mlflow_source import local_path, seconds

if TYPE_CHECKING:
    from .mlflow_source import ImportReport, MlflowDatabase

PREFIX = "logged_models"


def import_logged_models(tracker: Tracker, source: MlflowDatabase, roots: list[Path], report: ImportReport) -> None:
    for model in source.logged_models():
        model_id, label = model["model_id"], f"logged model {model['model_id']} ({model['name']})"
        run_row = tracker.runs.row_id_of(str(model["source_run_id"])) if model["source_run_id"] else None
        if run_row is None:
            report.warnings.append(f"{label} not imported: it has no source run in the store")
            continue
        if any(a.name.startswith(f"{PREFIX}/{model_id}/") for a in tracker.runs.artifacts(run_row)):
            continue  # imported before
        folder = _folder(model, roots)
        if folder is None:
            report.warnings.append(
                f"{label} not imported: its files were not found ({model['artifact_location']}); "
                "pass --artifacts-root with the folder that now holds MLflow's mlruns"
            )
            continue
        try:
            with tracker.store.atomic():
                _add(tracker, run_row, model, source.logged_model_details(model_id), folder)
        except (UsageError, OSError, sqlite3.IntegrityError) as exc:
            report.warnings.append(f"{label} not imported: {exc}")
            continue
        report.logged_models.append(model_id)


def _folder(model: sqlite3.Row, roots: list[Path]) -> Path | None:
    found = local_path(model["artifact_location"], roots)
    if found is not None and found.is_dir():
        return found
    candidates = (root / str(model["experiment_id"]) / "models" / model["model_id"] / "artifacts" for root in roots)
    return next((c for c in candidates if c.is_dir()), None)


def _add(tracker: Tracker, run_row: int, model: sqlite3.Row, details: dict, folder: Path) -> None:
    base = f"{PREFIX}/{model['model_id']}"
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        name = check_artifact_name(f"{base}/{path.relative_to(folder).as_posix()}")
        data = path.read_bytes()
        tracker.runs.add_artifact(run_row, name, tracker.store.blobs.put(data), len(data), media_type(name))
    record = {
        "model_id": model["model_id"],
        "name": model["name"],
        "model_type": model["model_type"],
        "status": model["status"],
        "lifecycle_stage": model["lifecycle_stage"],
        "created": seconds(model["creation_timestamp_ms"]),
        "source_run_id": model["source_run_id"],
        **details,
    }
    data = json.dumps(record, indent=2, sort_keys=True, default=str).encode("utf-8")
    tracker.runs.add_artifact(
        run_row, f"{base}/logged_model.json", tracker.store.blobs.put(data), len(data), "application/json"
    )
