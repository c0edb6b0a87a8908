"""``MlflowClient`` over nbtrack's services: MLflow's method names, signatures, units and return types.

Every call maps onto :class:`~nbtrack.tracking.Tracker` and :class:`~nbtrack.registry.Registry`
methods (never onto store SQL), so the registry keeps its audit trail, gates and stage rules and
runs keep their provenance. Field conversions come from :mod:`nbtrack.interop.mlflow_mapping`.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from .. import api
from ..entities import FINISHED, PRODUCTION, STAGE_NONE, STAGES
from ..errors import NotFoundError
from ..interop import mlflow_mapping as mapping
from ..tracking import DEFAULT_EXPERIMENT, ActiveRun, Tracker
from ..tracking.artifacts import check_artifact_name, dict_payload
from . import entities as ml
from .exceptions import MlflowException
from .uris import store_path

#: MLflow's default page sizes
SEARCH_MAX_RESULTS = 1000


class MlflowClient:
    """``mlflow.MlflowClient`` (also ``mlflow.tracking.MlflowClient``) over the nbtrack store.

    Without ``tracking_uri`` it works on the same store as ``nbtrack.mlflow``'s fluent API (the
    plain API's default store); a local path or ``sqlite:`` URI opens that store instead.
    """

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None):
        self._own = Tracker.open(store_path(tracking_uri)) if tracking_uri is not None else None
        self._tracking_uri = tracking_uri

    # -- plumbing ----------------------------------------------------------------------------------
    @property
    def tracker(self) -> Tracker:
        return self._own if self._own is not None else api.tracker()

    def _registry(self):
        if self._own is None:
            return api.registry()  # the notebook session's registry when the extension is loaded
        from ..registry import Registry

        self._own.flush()
        return Registry.of(self._own)

    def _handle(self, run_id: str) -> ActiveRun:
        return self.tracker.attach(_check_run_id(run_id))

    def _experiment_ids(self) -> dict[str, str]:
        return {e.name: mapping.experiment_id(e.id, e.name) for e in self.tracker.experiments()}

    def _experiment_name(self, experiment_id: str | int) -> str:
        if str(experiment_id) == mapping.DEFAULT_EXPERIMENT_ID:
            return DEFAULT_EXPERIMENT  # MLflow's "0", created on first use as MLflow's is always there
        for name, known in self._experiment_ids().items():
            if known == str(experiment_id):
                return name
        raise MlflowException(f"No Experiment with id={experiment_id} exists", "RESOURCE_DOES_NOT_EXIST")

    def _run(self, source) -> ml.Run:
        return ml.run(source, self._experiment_ids())

    # -- experiments ----------------------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> str:
        if any(e.name == name for e in self.tracker.experiments()):
            raise MlflowException(f"Experiment(name={name}) already exists.", "RESOURCE_ALREADY_EXISTS")
        _refuse_experiment_extras(artifact_location, tags)
        return mapping.experiment_id(self.tracker.experiment_id(name), name)

    def get_experiment(self, experiment_id: str) -> ml.Experiment:
        name = self._experiment_name(experiment_id)
        self.tracker.experiment_id(name)  # the Default experiment exists once asked for, as in MLflow
        return next(ml.experiment(e) for e in self.tracker.experiments() if e.name == name)

    def get_experiment_by_name(self, name: str) -> ml.Experiment | None:
        if name == DEFAULT_EXPERIMENT:
            self.tracker.experiment_id(name)  # MLflow's Default experiment always exists
        return next((ml.experiment(e) for e in self.tracker.experiments() if e.name == name), None)

    def search_experiments(
        self,
        view_type: int = ml.ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token=None,
    ) -> list[ml.Experiment]:
        if filter_string:
            raise MlflowException(
                "nbtrack's search_experiments takes no filter_string; filter the returned list in Python"
            )
        self.tracker.experiment_id(DEFAULT_EXPERIMENT)  # MLflow's Default experiment always exists
        found = [ml.experiment(e) for e in self.tracker.experiments()]
        return ml.PagedList(found[:max_results] if max_results else found)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        raise MlflowException("nbtrack experiments have no tags; tag the runs instead (set_tag)")

    def delete_experiment(self, experiment_id: str) -> None:
        raise MlflowException("nbtrack does not delete experiments; delete their runs (delete_run, `nbtrack runs rm`)")

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        raise MlflowException("nbtrack does not rename experiments; start runs in the new experiment instead")

    # -- runs ---------------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
    ) -> ml.Run:
        """A new RUNNING run that is not the fluent API's active run (as in MLflow)."""
        if start_time is not None:
            raise MlflowException("nbtrack records when a run really starts; create_run takes no start_time")
        fields, other = mapping.split_folded(dict(tags or {}))
        name = run_name if run_name is not None else fields.pop("name", None)
        run = self.tracker.create_run(name, experiment=self._experiment_name(experiment_id), tags=other)
        self._apply_fields(run.id, fields)
        return self.get_run(run.id)

    def get_run(self, run_id: str) -> ml.Run:
        try:
            return self._run(self.tracker.get_run(_check_run_id(run_id)))
        except NotFoundError:
            raise MlflowException(f"Run '{run_id}' not found", "RESOURCE_DOES_NOT_EXIST") from None

    def get_parent_run(self, run_id: str) -> ml.Run | None:
        parent = self.tracker.get_run(_check_run_id(run_id)).parent_id
        return None if parent is None else self.get_run(parent)

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        if end_time is not None:
            raise MlflowException("nbtrack records when a run really ends; set_terminated takes no end_time")
        self.tracker.end_run(status or FINISHED, run=self._handle(run_id))

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        if name is not None:
            self.tracker.update_run_info(_check_run_id(run_id), name=name)
        if status is not None and status != "RUNNING":
            self.set_terminated(run_id, status)

    def delete_run(self, run_id: str) -> None:
        self.tracker.delete_run(_check_run_id(run_id))

    def restore_run(self, run_id: str) -> None:
        self.tracker.restore_run(_check_run_id(run_id))

    # -- logging --------------------------------------------------------------------------------------
    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        log_params(self.tracker, self._handle(run_id), {key: value})
        return value

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> None:
        self.tracker.log_metric(key, value, step=step, timestamp=_seconds(timestamp), run=self._handle(run_id))

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence = (),
        params: Sequence = (),
        tags: Sequence = (),
        synchronous: bool | None = None,
    ) -> None:
        handle = self._handle(run_id)
        if params:
            log_params(self.tracker, handle, {p.key: p.value for p in params})
        for metric in metrics:
            self.tracker.log_metric(
                metric.key, metric.value, step=metric.step, timestamp=_seconds(metric.timestamp), run=handle
            )
        if tags:
            self._set_tags(run_id, {t.key: t.value for t in tags})

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        self._set_tags(run_id, {key: value})

    def _set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.tracker.set_tags(tags, run=self._handle(run_id))  # mlflow.runName etc. change the run's fields

    def _apply_fields(self, run_id: str, fields: Mapping[str, Any]) -> None:
        if fields:
            self.tracker.update_run_info(
                _check_run_id(run_id), **{k: (None if v is None else str(v)) for k, v in fields.items()}
            )

    def delete_tag(self, run_id: str, key: str) -> None:
        if key in mapping.FOLDED_TAGS:
            self._apply_fields(run_id, {mapping.FOLDED_TAGS[key]: None})
            return
        if not self.tracker.untag_runs([_check_run_id(run_id)], key):
            raise MlflowException(f"No tag with name: {key} in run with id {run_id}", "RESOURCE_DOES_NOT_EXIST")

    def get_metric_history(self, run_id: str, key: str) -> list[ml.Metric]:
        return [
            ml.Metric(key, p.value, mapping.to_ms(p.timestamp), p.step)
            for p in self.tracker.metric_history(_check_run_id(run_id), key)
        ]

    def search_runs(
        self,
        experiment_ids: Iterable[str] | str,
        filter_string: str = "",
        run_view_type: int = ml.ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS,
        order_by: list[str] | None = None,
        page_token=None,
    ) -> list[ml.Run]:
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [experiment_ids]
        names = [self._experiment_name(i) for i in experiment_ids]
        return ml.PagedList(
            self._run(r) for r in self.find_runs(names, filter_string, run_view_type, max_results, order_by)
        )

    def find_runs(
        self,
        experiments: list[str] | None,
        filter_string: str | None,
        view: int,
        max_results: int | None,
        order_by: Any,
    ) -> list:
        """nbtrack runs for an MLflow search: its filter dialect, view type and experiments."""
        if view not in (ml.ViewType.ACTIVE_ONLY, ml.ViewType.DELETED_ONLY, ml.ViewType.ALL):
            raise MlflowException(f"run_view_type must be ViewType.ACTIVE_ONLY, DELETED_ONLY or ALL, got {view!r}")
        if isinstance(order_by, str):
            order_by = [order_by]
        deleted = {ml.ViewType.ACTIVE_ONLY: False, ml.ViewType.DELETED_ONLY: True, ml.ViewType.ALL: None}[view]
        found = self.tracker.search_runs(
            filter_string or None,
            order_by or None,
            max_results,
            experiments=experiments,
            deleted=deleted,
            dialect="mlflow",
        )
        return found

    # -- artifacts -------------------------------------------------------------------------------------
    def log_artifact(self, run_id: str, local_path: str | os.PathLike, artifact_path: str | None = None) -> None:
        log_path(self.tracker, self._handle(run_id), local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike, artifact_path: str | None = None) -> None:
        log_folder(self.tracker, self._handle(run_id), Path(local_dir), artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self.tracker.log_bytes(str(text).encode("utf-8"), artifact_file, run=self._handle(run_id))

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        data, media = dict_payload(dictionary, artifact_file)
        self.tracker.log_bytes(data, artifact_file, media, run=self._handle(run_id))

    def log_figure(self, run_id: str, figure: Any, artifact_file: str, *, save_kwargs: dict | None = None) -> None:
        self.tracker.log_bytes(
            figure_payload(figure, artifact_file, save_kwargs), artifact_file, run=self._handle(run_id)
        )

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        log_image(self.tracker, self._handle(run_id), image, artifact_file, key, step)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        self.tracker.log_bytes(table_payload(data), artifact_file, "application/json", run=self._handle(run_id))

    def log_inputs(self, run_id: str, datasets: Sequence | None = None, models=None) -> None:
        for item in datasets or ():
            context = next((t.value for t in getattr(item, "tags", []) if t.key == "mlflow.data.context"), None)
            log_dataset(self.tracker, self._handle(run_id), getattr(item, "dataset", item), context)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[ml.FileInfo]:
        return list_folder(self.tracker.artifacts(_check_run_id(run_id)), path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        return download(self.tracker, _check_run_id(run_id), path, dst_path)

    # -- model registry ---------------------------------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> ml.RegisteredModel:
        registry = self._registry()
        registry.create_model(name, description=description, tags=tags)
        return ml.registered_model(registry.get_model(name))

    def get_registered_model(self, name: str) -> ml.RegisteredModel:
        return ml.registered_model(self._registry().get_model(name))

    def rename_registered_model(self, name: str, new_name: str) -> ml.RegisteredModel:
        return ml.registered_model(self._registry().rename_model(name, new_name))

    def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> ml.RegisteredModel:
        registry = self._registry()
        registry.set_description(name, description)
        return ml.registered_model(registry.get_model(name))

    def delete_registered_model(self, name: str) -> None:
        self._registry().delete_model(name)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self._registry().set_tag(name, key, value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._registry().delete_tag(name, key)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: list[str] | None = None,
        page_token=None,
    ) -> list[ml.RegisteredModel]:
        pattern = _name_pattern(filter_string)
        found = [ml.registered_model(m) for m in self._registry().search_models(pattern)]
        return ml.PagedList(found[:max_results])

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = 300,
        model_id: str | None = None,
    ) -> ml.ModelVersion:
        run_ref, artifact = source_of(source, run_id)
        registry = self._registry()
        version = registry.register_model(run_ref, artifact, name, description, tags)
        return ml.model_version(registry.get_model_version(name, version))

    def get_model_version(self, name: str, version: str | int) -> ml.ModelVersion:
        return ml.model_version(self._registry().get_model_version(name, int(version)))

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        found = self._registry().get_model_version(name, int(version))
        return f"runs:/{found.run_id}/{found.artifact}"

    def update_model_version(self, name: str, version: str | int, description: str | None = None) -> ml.ModelVersion:
        registry = self._registry()
        registry.set_description(name, description, int(version))
        return ml.model_version(registry.get_model_version(name, int(version)))

    def delete_model_version(self, name: str, version: str | int) -> None:
        self._registry().delete_model_version(name, int(version))

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> ml.ModelVersion:
        """MLflow's rule: ``archive_existing_versions`` archives the other versions in the target stage.
        nbtrack keeps one Production version, so moving to Production without it is refused while
        another version holds Production (the error says so); Staging may hold several."""
        if not mapping.is_stage(stage):
            raise MlflowException(f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(STAGES)}.")
        target = mapping.stage_from_mlflow(stage)
        registry = self._registry()
        if archive_existing_versions and target != PRODUCTION and target not in (STAGE_NONE, "Archived"):
            for other in registry.get_model(name).in_stage(target):
                if other.version != int(version):
                    registry.transition_stage(
                        name, other.version, "Archived", comment=f"archived by the transition of version {version}"
                    )
        found = registry.transition_stage(name, int(version), target, archive_existing=archive_existing_versions)
        return ml.model_version(found)

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self._registry().set_alias(name, alias, int(version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._registry().delete_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ml.ModelVersion:
        return ml.model_version(self._registry().get_model_version(name, alias=alias))

    def set_model_version_tag(
        self,
        name: str,
        version: str | int | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        registry = self._registry()
        if stage is not None:
            version = registry.get_model_version(name, stage=mapping.stage_from_mlflow(stage)).version
        registry.set_tag(name, key, value, int(version))

    def delete_model_version_tag(
        self, name: str, version: str | int | None = None, key: str | None = None, stage: str | None = None
    ) -> None:
        registry = self._registry()
        if stage is not None:
            version = registry.get_model_version(name, stage=mapping.stage_from_mlflow(stage)).version
        registry.delete_tag(name, key, int(version))

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ml.ModelVersion]:
        """The newest version in each stage (each of ``stages``, else every stage that has one)."""
        model = self._registry().get_model(name)
        latest = {v.current_stage: v for v in ml.registered_model(model).latest_versions}
        wanted = [mapping.stage_from_mlflow(s) for s in stages] if stages else list(latest)
        return [latest[s] for s in wanted if s in latest]

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: list[str] | None = None,
        page_token=None,
    ) -> list[ml.ModelVersion]:
        """``name = 'x'``, ``name LIKE 'x%'``, ``run_id = '...'`` (and ``run_id IN (...)``) filters, as MLflow documents them."""
        conditions = _version_filter(filter_string)
        found = []
        for model in self._registry().search_models(conditions.get("name_pattern")):
            for version in model.versions:
                if conditions.get("name") not in (None, model.name):
                    continue
                if "run_ids" in conditions and version.run_id not in conditions["run_ids"]:
                    continue
                found.append(ml.model_version(version))
        return ml.PagedList(found[:max_results])

    def get_model_version_stages(self, name: str, version: str | int) -> list[str]:
        return list(STAGES)


# -- helpers shared with the fluent API ---------------------------------------------------------------
def log_params(tracker: Tracker, run: ActiveRun, params: Mapping[str, Any]) -> None:
    """MLflow's rule: a param, once logged, keeps its value (logging the same text again is fine)."""
    logged = tracker.get_run(run.id).params
    for key, value in params.items():
        if key in logged and mapping.param_text(logged[key]) != str(value):
            raise MlflowException(
                f"Changing param values is not allowed. Param with key='{key}' was already logged with value="
                f"'{mapping.param_text(logged[key])}' for run ID='{run.id}'. Attempted logging new value '{value}'."
            )
    tracker.log_params({key: mapping.logged_param(value) for key, value in params.items()}, run=run)


def _check_run_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not run_id:
        raise MlflowException(f"a run id must be a non-empty string, got {run_id!r}")
    return run_id


def _seconds(timestamp_ms: Any) -> float | None:
    """MLflow timestamps are epoch milliseconds; the tracker keeps seconds."""
    if timestamp_ms is None:
        return None
    if isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, (int, float)):
        raise MlflowException(f"timestamp must be epoch milliseconds (an int), got {timestamp_ms!r}")
    if timestamp_ms and not mapping.looks_like_ms(timestamp_ms):
        raise MlflowException(
            f"timestamp {timestamp_ms} looks like epoch seconds; MLflow timestamps are milliseconds (int(time.time() * 1000))"
        )
    return mapping.to_seconds(timestamp_ms)


def _refuse_experiment_extras(artifact_location: Any, tags: Any) -> None:
    if artifact_location is not None:
        raise MlflowException("nbtrack keeps artifacts in its store; create_experiment takes no artifact_location")
    if tags:
        raise MlflowException("nbtrack experiments have no tags; tag the runs instead (mlflow.set_tags)")


def artifact_name(artifact_path: str | None, name: str) -> str:
    return check_artifact_name(
        f"{artifact_path.strip('/')}/{name}" if artifact_path and artifact_path.strip("/") else name
    )


def log_path(tracker: Tracker, run: ActiveRun, local_path: str | os.PathLike, artifact_path: str | None) -> None:
    """``log_artifact``: a file goes to ``artifact_path/<its name>``, a folder with its files under its name."""
    source = Path(local_path)
    if source.is_dir():
        log_folder(tracker, run, source, artifact_name(artifact_path, source.name))
        return
    if not source.is_file():
        raise MlflowException(f"{source} is not a file or directory")
    tracker.log_bytes(source.read_bytes(), artifact_name(artifact_path, source.name), run=run)


def log_folder(tracker: Tracker, run: ActiveRun, folder: Path, artifact_path: str | None) -> None:
    if not folder.is_dir():
        raise MlflowException(f"{folder} is not a directory")
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        tracker.log_bytes(path.read_bytes(), artifact_name(artifact_path, path.relative_to(folder).as_posix()), run=run)


def figure_payload(figure: Any, artifact_file: str, save_kwargs: dict | None = None) -> bytes:
    """A matplotlib figure in the file's format (png, svg, pdf, jpg), or a plotly figure as HTML."""
    suffix = PurePosixPath(artifact_file).suffix.lower().lstrip(".")
    if hasattr(figure, "savefig"):
        buffer = io.BytesIO()
        figure.savefig(buffer, format=suffix or "png", **(save_kwargs or {}))
        return buffer.getvalue()
    if hasattr(figure, "to_html") and suffix == "html":
        return figure.to_html().encode("utf-8")
    if hasattr(figure, "to_image"):
        return figure.to_image(format=suffix or "png")
    raise MlflowException(f"log_figure takes a matplotlib or plotly figure, got {type(figure).__name__}")


def log_image(
    tracker: Tracker, run: ActiveRun, image: Any, artifact_file: str | None, key: str | None, step: int | None
) -> None:
    if (artifact_file is None) == (key is None):
        raise MlflowException("log_image takes either artifact_file or key (with step), not both or neither")
    name = artifact_file or f"images/{key}/step_{0 if step is None else int(step)}.png"
    tracker.log_bytes(image_png(image, PurePosixPath(name).suffix.lower().lstrip(".") or "png"), name, run=run)


def image_png(image: Any, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if hasattr(image, "save") and hasattr(image, "mode"):  # a PIL image
        image.save(buffer, format={"jpg": "JPEG"}.get(fmt, fmt.upper()))
        return buffer.getvalue()
    try:
        import numpy as np
        from PIL import Image
    except ImportError:
        raise MlflowException("log_image of an array needs numpy and Pillow (pip install pillow)") from None
    array = np.asarray(image)
    if array.dtype.kind == "f":
        if array.min() < 0 or array.max() > 1:
            raise MlflowException("a float image must have values in [0, 1] (as MLflow requires)")
        array = (array * 255).round().astype("uint8")
    Image.fromarray(array.astype("uint8")).save(buffer, format={"jpg": "JPEG"}.get(fmt, fmt.upper()))
    return buffer.getvalue()


def table_payload(data: Any) -> bytes:
    """A dict of columns or a DataFrame, as MLflow's table JSON (``{"columns": [...], "data": [...]}``)."""
    if isinstance(data, Mapping):
        columns = list(data)
        rows = [list(row) for row in zip(*(data[c] for c in columns))]
    elif hasattr(data, "to_dict"):
        split = data.to_dict(orient="split")
        columns, rows = split["columns"], split["data"]
    else:
        raise MlflowException(f"log_table takes a dict or a pandas DataFrame, got {type(data).__name__}")
    return json.dumps({"columns": columns, "data": rows}, default=str).encode("utf-8")


def log_dataset(tracker: Tracker, run: ActiveRun, dataset: Any, context: str | None) -> None:
    """An ``nbtrack.mlflow.data`` dataset (or any object with ``.df``/``.name``) as a data input of the run."""
    data = getattr(dataset, "df", None)
    if data is None:
        data = getattr(dataset, "features", None)
    name = getattr(dataset, "name", None) or "dataset"
    if data is None:
        raise MlflowException("log_input takes a dataset from nbtrack.mlflow.data.from_pandas / from_numpy")
    tracker.log_input(data, name, run=run, context=context)


def list_folder(artifacts: Iterable, path: str | None) -> list[ml.FileInfo]:
    """MLflow lists one level: files directly under ``path`` and its sub-folders."""
    prefix = (path.strip("/") + "/") if path and path.strip("/") else ""
    entries: dict[str, ml.FileInfo] = {}
    for artifact in artifacts:
        if not artifact.name.startswith(prefix):
            continue
        head, _, rest = artifact.name[len(prefix) :].partition("/")
        if rest:
            entries.setdefault(prefix + head, ml.FileInfo(prefix + head, True, None))
        else:
            entries[artifact.name] = ml.FileInfo(artifact.name, False, artifact.size)
    return [entries[k] for k in sorted(entries)]


def download(tracker: Tracker, run_id: str, path: str | None, dst_path: str | None) -> str:
    """Write one artifact, or every artifact under a folder, below ``dst_path`` (a new temporary folder
    by default); returns the local path of what was asked for, as MLflow does."""
    import tempfile

    target = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="nbtrack-artifacts-"))
    wanted = (path or "").strip("/")
    names = [
        a.name for a in tracker.artifacts(run_id) if not wanted or a.name == wanted or a.name.startswith(wanted + "/")
    ]
    if not names:
        raise MlflowException(f"run {run_id[:8]} has no artifact {wanted!r}", "RESOURCE_DOES_NOT_EXIST")
    for name in names:
        tracker.download_artifacts(run_id, target, name)
    return str(target / wanted) if wanted else str(target)


def source_of(source: str, run_id: str | None) -> tuple[str, str]:
    """``runs:/ID/PATH`` (or an artifact path with ``run_id``) -> (run, artifact of that run)."""
    from ..tracking.artifacts import parse_runs_uri

    if isinstance(source, str) and source.startswith("runs:/"):
        return parse_runs_uri(source)
    if run_id is not None and isinstance(source, str):
        marker = f"/{run_id}/artifacts/"
        return run_id, source.split(marker, 1)[1] if marker in source else source
    raise MlflowException(
        f"model source {source!r} is not a runs:/RUN_ID/PATH URI; nbtrack registers models logged to its runs"
    )


def _name_pattern(filter_string: str | None) -> str | None:
    """``name = 'x'`` / ``name LIKE 'x%'`` / ``name ILIKE ...`` as a search_models glob."""
    conditions = _version_filter(filter_string)
    if "run_ids" in conditions:
        raise MlflowException("search_registered_models filters on the name only")
    if "name" in conditions:
        return conditions["name"]
    return conditions.get("name_pattern")


def _version_filter(filter_string: str | None) -> dict[str, Any]:
    import re

    if not filter_string or not filter_string.strip():
        return {}
    text = filter_string.strip()
    match = re.fullmatch(r"(?:attributes\.)?name\s*(=|LIKE|ILIKE)\s*(['\"])(.*)\2", text, re.IGNORECASE | re.DOTALL)
    if match:
        op, value = match.group(1).upper(), match.group(3)
        if op == "=":
            return {"name": value, "name_pattern": value}
        return {"name_pattern": value.replace("%", "*").replace("_", "?")}
    match = re.fullmatch(r"run_id\s*=\s*(['\"])([0-9a-fA-F]+)\1", text)
    if match:
        return {"run_ids": {match.group(2).lower()}}
    match = re.fullmatch(r"run_id\s+IN\s*\((.*)\)", text, re.IGNORECASE)
    if match:
        return {"run_ids": {v.strip().strip("'\"").lower() for v in match.group(1).split(",")}}
    raise MlflowException(
        f"nbtrack reads model filters of the form name = '...', name LIKE '...', run_id = '...' "
        f"or run_id IN (...); got {filter_string!r}"
    )
