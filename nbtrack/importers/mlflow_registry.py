"""MLflow's model registry into nbtrack's: models, versions with their numbers, stages, aliases, tags, descriptions.

Runs first (:mod:`nbtrack.importers.mlflow`): a version points at its source run, which must
be in the store. Version numbers are kept, gaps included (MLflow's deleted versions), so
``models:/Name/3`` names the same model in both tools. What a version holds:

- a pickle (``model.pkl``, ``python_model.pkl``, or a run artifact registered MLflow 2 style):
  loadable with ``nbtrack.load_model`` like any other version;
- anything else (MLflow 3 stores scikit-learn models as skops files): the whole MLflow model
  directory, zipped, as artifact ``models/<name>-v<N>.mlflow.zip``. Stages, aliases, gates and
  comparisons work on it; ``load_model`` refuses it and says how to load it with MLflow.

The audit trail says what happened here: each event is the import (who ran it, when), with
MLflow's own creation time and user in its details, rather than a made-up past. MLflow
allowed several Production versions at once; nbtrack does not, so the newest keeps
Production and the others arrive Archived, each named in the report.
"""

from __future__ import annotations

import io
import sqlite3
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..entities import ARCHIVED, PRODUCTION, STAGE_NONE
from ..errors import UsageError
from ..interop import mlflow_mapping as mapping
from ..registry import Registry
from ..registry.names import check_alias, check_model_name
from ..registry.service import MLFLOW_MODEL_SUFFIX
from ..tracking import Tracker
from ..values import PICKLE_MEDIA_TYPE
from .mlflow_source import checked_tags, files_under, local_path, outside_roots, seconds

if TYPE_CHECKING:
    from .mlflow_source import ImportReport, MlflowDatabase

#: files that hold a pickled model in MLflow model directories, most specific first
PICKLE_NAMES = ("model.pkl", "python_model.pkl")
#: MLflow's marker for a version it deleted but keeps a row for
MLFLOW_DELETED = mapping.MLFLOW_DELETED_STAGE
_IMPORT = {"imported_from": "mlflow"}
_COMMENT = "imported from MLflow"


def import_registry(tracker: Tracker, source: MlflowDatabase, roots: list[Path], report: ImportReport) -> None:
    """Import every registered model of ``source`` not yet in the registry (one transaction each)."""
    if not source.has_table("registered_models"):
        return
    registry = Registry.of(tracker)
    for model in source.rows("SELECT * FROM registered_models ORDER BY name"):
        name = model["name"]
        try:
            check_model_name(name)
        except UsageError as exc:
            report.warnings.append(f"model {name!r} skipped: {exc}")
            continue
        if registry.models.model_id(name) is not None:
            report.skipped_models.append(name)
            continue
        try:
            with tracker.store.atomic():
                versions = _import_model(registry, source, model, roots, report)
        except (UsageError, OSError, sqlite3.IntegrityError) as exc:
            report.warnings.append(f"model {name!r} was not imported: {exc}")
            continue
        report.models.append(name)
        report.versions += versions


def _import_model(
    registry: Registry, source: MlflowDatabase, model: sqlite3.Row, roots: list[Path], report: ImportReport
) -> int:
    models, who, now = registry.models, registry.who, registry.clock()
    name = model["name"]
    model_id = models.create_model(name, now)
    models.append_event(
        model_id,
        now,
        who,
        "create_model",
        comment=_COMMENT,
        details={**_IMPORT, "created": seconds(model["creation_time"])},
    )
    if model["description"]:
        models.set_model_description(model_id, model["description"], now)
        models.append_event(model_id, now, who, "set_description", to_value=model["description"], details=_IMPORT)
    for key, value in checked_tags(
        source.rows("SELECT key, value FROM registered_model_tags WHERE name = ?", (name,)), f"model {name!r}", report
    ):
        models.set_tag(model_id, None, key, value)
        models.append_event(model_id, now, who, "set_tag", key=key, to_value=value, details=_IMPORT)
    stages: dict[int, str] = {}
    for version in source.rows("SELECT * FROM model_versions WHERE name = ? ORDER BY version", (name,)):
        if version["current_stage"] == MLFLOW_DELETED:
            # its number stays unused, as in MLflow: the deletion is recorded so the next version skips it
            models.append_event(
                model_id,
                now,
                who,
                "delete_version",
                version=int(version["version"]),
                comment=f"{_COMMENT}: deleted there before the import",
                details=_IMPORT,
            )
            continue
        label = f"model {name!r} version {version['version']}"
        run_row = registry.runs.row_id_of(str(version["run_id"])) if version["run_id"] else None
        if run_row is None:
            report.warnings.append(f"{label} skipped: its run {str(version['run_id'])[:8]} is not in the store")
            continue
        artifact, sha = _model_artifact(registry, run_row, version, roots, label, report)
        if artifact is None:
            continue
        number = int(version["version"])
        models.insert_version(model_id, number, run_row, artifact, sha, version["description"], now, who)
        tags = source.rows("SELECT key, value FROM model_version_tags WHERE name = ? AND version = ?", (name, number))
        for key, value in checked_tags(tags, label, report):
            models.set_tag(model_id, number, key, value)
        details = {
            **_IMPORT,
            "run": registry.runs.uuid_of(run_row),
            "artifact": artifact,
            "sha256": sha,
            "created": seconds(version["creation_time"]),
            "user": version["user_id"],
            "source": version["source"],
        }
        models.append_event(
            model_id, now, who, "register", version=number, to_value=STAGE_NONE, comment=_COMMENT, details=details
        )
        stages[number] = _stage(version["current_stage"])
    _apply_stages(registry, model_id, name, stages, now, report)
    _apply_aliases(registry, source, model_id, name, set(stages), now, report)
    return len(stages)


def _apply_stages(
    registry: Registry, model_id: int, name: str, stages: dict[int, str], now: float, report: ImportReport
) -> None:
    production = sorted(v for v, s in stages.items() if s == PRODUCTION)
    for older in production[:-1]:
        stages[older] = ARCHIVED
        report.warnings.append(
            f"model {name!r} version {older} was in Production in MLflow next to version {production[-1]}; "
            "imported as Archived (nbtrack keeps one Production version)"
        )
    for number, stage in sorted(stages.items()):
        if stage == STAGE_NONE:
            continue
        registry.models.set_stage(model_id, number, stage, now)
        registry.models.append_event(
            model_id,
            now,
            registry.who,
            "transition",
            version=number,
            from_value=STAGE_NONE,
            to_value=stage,
            comment=f"{_COMMENT}: its stage there",
            details=_IMPORT,
        )


def _apply_aliases(
    registry: Registry,
    source: MlflowDatabase,
    model_id: int,
    name: str,
    versions: set[int],
    now: float,
    report: ImportReport,
) -> None:
    if not source.has_table("registered_model_aliases"):  # MLflow < 2.3
        return
    for row in source.rows(
        "SELECT alias, version FROM registered_model_aliases WHERE name = ? ORDER BY alias", (name,)
    ):
        alias, number = row["alias"], int(row["version"])
        try:
            check_alias(alias)
        except UsageError as exc:
            report.warnings.append(f"model {name!r}: alias {alias!r} skipped: {exc}")
            continue
        if number not in versions:
            report.warnings.append(f"model {name!r}: alias {alias!r} skipped: version {number} was not imported")
            continue
        registry.models.set_alias(model_id, alias, number, now)
        registry.models.append_event(
            model_id, now, registry.who, "set_alias", version=number, key=alias, to_value=str(number), details=_IMPORT
        )


def _model_artifact(
    registry: Registry, run_row: int, version: sqlite3.Row, roots: list[Path], label: str, report: ImportReport
) -> tuple[str | None, str | None]:
    """(artifact name, sha256) of the version's model on its run, adding the artifact when needed."""
    runs, blobs = registry.runs, registry.store.blobs
    source_text = str(version["source"] or "")
    if source_text.startswith("runs:/"):  # MLflow 2 style: the model is among the run's (imported) artifacts
        prefix = source_text.split("/", 2)[2].strip("/") if source_text.count("/") >= 2 else ""
        existing = {a.name: a for a in runs.artifacts(run_row)}
        for candidate in (f"{prefix}/{n}" if prefix else n for n in PICKLE_NAMES):
            if candidate in existing:
                return candidate, existing[candidate].sha256
    folder = next(
        (
            p
            for p in (local_path(version["storage_location"], roots), local_path(source_text, roots))
            if p and p.is_dir()
        ),
        None,
    )
    if folder is None:
        report.warnings.append(
            f"{label} skipped: its model files were not found ({version['storage_location'] or source_text}); "
            "pass --artifacts-root with the folder that now holds MLflow's mlruns"
        )
        return None, None
    refused = outside_roots(folder, roots)
    if refused:
        report.warnings.append(f"{label} skipped: its model files were not copied: {refused}")
        return None, None
    name = version["name"]
    pickled = next((folder / n for n in PICKLE_NAMES if (folder / n).is_file() and not (folder / n).is_symlink()), None)
    if pickled is not None:
        data, artifact, media = pickled.read_bytes(), f"models/{name}-v{version['version']}.pkl", PICKLE_MEDIA_TYPE
    else:
        data, artifact, media = (
            _zip_folder(folder),
            f"models/{name}-v{version['version']}{MLFLOW_MODEL_SUFFIX}",
            "application/zip",
        )
        kinds = ", ".join(sorted(p.name for p in folder.iterdir() if p.name.startswith("model."))) or "no pickle"
        report.warnings.append(
            f"{label} is not a pickle ({kinds}): kept as {artifact}; its stage and aliases work, "
            "nbtrack.load_model refuses it (load it with MLflow)"
        )
    sha = blobs.put(data)
    runs.add_artifact(run_row, artifact, sha, len(data), media)
    return artifact, sha


def _zip_folder(folder: Path) -> bytes:
    """The folder as a zip with fixed timestamps: the same model gives the same bytes, so one blob."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files_under(folder)[0]:  # links left out, as among run artifacts
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _stage(mlflow_stage: str | None) -> str:
    """MLflow's stage names ("None", "Staging", ...) match nbtrack's; anything unknown is None."""
    return mapping.stage_from_mlflow(mlflow_stage)
