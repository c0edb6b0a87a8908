"""MLflow's fluent API over nbtrack: ``import nbtrack.mlflow as mlflow`` and MLflow code runs on the local store.

The functions take MLflow's names, arguments, units (epoch milliseconds) and return MLflow's
types (``run.info.run_id``, ``search_runs`` frames with ``metrics.x`` columns, ``ModelVersion``
objects), mapped onto nbtrack's tracker and registry. It never imports ``mlflow``.

>>> import nbtrack.mlflow as mlflow
>>> mlflow.set_experiment("churn")                                  # doctest: +SKIP
>>> with mlflow.start_run(run_name="gbm") as run:                  # doctest: +SKIP
...     mlflow.log_params({"lr": 0.1})
...     mlflow.log_metric("f1", 0.91, step=3)
>>> mlflow.register_model(f"runs:/{run.info.run_id}/model", "churn")  # doctest: +SKIP

What differs from MLflow (each says so when it matters): runs live in the nbtrack store (a
local path or ``sqlite:`` tracking URI chooses it; a server URI is refused, use ``nbtrack push``),
a metric logged again at the same step replaces the earlier value, and a metric logged without
``step`` gets the next step (0, 1, 2, ...) instead of MLflow's 0 for every point, so no point
replaces another. Features nbtrack does not have (autolog, tracing, GenAI, deployments, serving)
raise :class:`MlflowException` naming what to do instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .. import api
from ..entities import FINISHED
from ..interop import mlflow_mapping as mapping
from ..tracking import ActiveRun as _NbActiveRun
from ..tracking.tracker import AUTO
from . import entities
from .client import (
    MlflowClient,
    _check_run_id,
    _seconds,
    dict_payload,
    figure_payload,
    log_dataset,
    log_folder,
    log_image as _log_image,
    log_params as _log_params,
    log_path,
    table_payload,
)
from .entities import Experiment, Run, ViewType
from .exceptions import MlflowException
from .uris import store_path

#: MLflow's default search size
SEARCH_MAX_RESULTS_PANDAS = 100_000
_FLUENT_KINDS = ("api", AUTO)


class ActiveRun(Run):
    """What ``start_run`` returns: an MLflow ``Run`` (``.info``, ``.data``) and a context manager ending it.

    ``.info`` and ``.data`` are read from the store when asked, so they show what was logged so far.
    """

    def __init__(self, run: _NbActiveRun):
        object.__setattr__(self, "_run", run)

    @property
    def info(self) -> entities.RunInfo:  # type: ignore[override]
        return _client().get_run(self._run.id).info

    @property
    def data(self) -> entities.RunData:  # type: ignore[override]
        return _client().get_run(self._run.id).data

    @property
    def inputs(self) -> entities.RunInputs:  # type: ignore[override]
        return _client().get_run(self._run.id).inputs

    def __enter__(self) -> "ActiveRun":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        return self._run.__exit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        return f"<ActiveRun: run_id={self._run.id}, run_name={self._run.name}>"


def _client() -> MlflowClient:
    return MlflowClient()


def _tracker():
    return api.tracker()


# -- tracking URI and experiments ---------------------------------------------------------------------
def set_tracking_uri(uri: str | os.PathLike) -> None:
    """A local folder, database file, ``file:`` or ``sqlite:///`` URI: the nbtrack store to use."""
    api.set_store(store_path(uri))


def get_tracking_uri() -> str:
    """The store's database as a ``sqlite:///`` URI (absolute path)."""
    return f"sqlite:///{_tracker().location.db_path}"


def get_registry_uri() -> str:
    return get_tracking_uri()


def set_registry_uri(uri: str) -> None:
    if store_path(uri) != store_path(get_tracking_uri()):
        raise MlflowException("nbtrack keeps the registry in the tracking store; set_tracking_uri chooses both")


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make the experiment current (created if needed, by name) and return it."""
    if (experiment_name is None) == (experiment_id is None):
        raise MlflowException("Must specify exactly one of: `experiment_id` or `experiment_name`.")
    client = _client()
    name = experiment_name if experiment_name is not None else client._experiment_name(experiment_id)
    _tracker().set_experiment(name)
    return client.get_experiment_by_name(name)


def create_experiment(name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None) -> str:
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client().get_experiment_by_name(name)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Experiment]:
    return _client().search_experiments(view_type, max_results, filter_string, order_by)


# -- runs -----------------------------------------------------------------------------------------------
def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``); as in MLflow, a second top-level run while one is active
    needs ``nested=True``. Use it as a context manager: the run ends FINISHED, or FAILED on error."""
    tracker = _tracker()
    active = tracker.active_run()
    if run_id is not None:
        resumed = tracker.resume_run(_check_run_id(run_id))
        return ActiveRun(resumed)
    fluent = active is not None and active.kind in _FLUENT_KINDS
    if fluent and not nested and parent_run_id is None:
        raise MlflowException(
            f"Run with UUID {active.id} is already active. To start a new run, first end the current run with mlflow.end_run(). "
            "To start a nested run, call start_run with nested=True"
        )
    if log_system_metrics:
        raise MlflowException("nbtrack does not sample system metrics; log what you need with log_metric")
    fields, other_tags = mapping.split_folded(dict(tags or {}))
    name = run_name if run_name is not None else fields.pop("name", None)
    fields.pop("name", None)
    experiment = _client()._experiment_name(experiment_id) if experiment_id is not None else None
    parent = tracker.attach(parent_run_id) if parent_run_id is not None else None
    run = tracker.start_run(
        name,
        experiment=experiment,
        tags=other_tags,
        parent=parent,
        nested=nested or (active is not None and not fluent),
    )
    if description is not None:
        fields["note"] = description
    if fields:
        tracker.update_run_info(run.id, **{k: (None if v is None else str(v)) for k, v in fields.items()})
    return ActiveRun(run)


def end_run(status: str = FINISHED) -> None:
    """End the active run (nothing to do when none is active, as in MLflow). A ``%%track`` cell's own
    run is not MLflow's to end: the cell ends it."""
    tracker = _tracker()
    active = tracker.active_run()
    if active is not None and active.kind in _FLUENT_KINDS:
        tracker.end_run(status)


def active_run() -> ActiveRun | None:
    run = _tracker().active_run()
    return None if run is None else ActiveRun(run)


def last_active_run() -> Run | None:
    tracker = _tracker()
    run = tracker.active_run()
    run_id = run.id if run is not None else tracker.last_ended_id
    return None if run_id is None else get_run(run_id)


def get_run(run_id: str) -> Run:
    return _client().get_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    return _client().get_parent_run(run_id)


def delete_run(run_id: str) -> None:
    _client().delete_run(run_id)


def _target(run_id: str | None) -> _NbActiveRun | None:
    """The run a fluent call writes to: ``run_id``'s, else the active one (None: the tracker starts one, as MLflow does)."""
    return _tracker().attach(_check_run_id(run_id)) if run_id is not None else None


def _current() -> _NbActiveRun:
    tracker = _tracker()
    run = tracker.active_run()
    if run is None:
        run = tracker.start_run(kind=AUTO)  # MLflow: logging without a run starts one
    return run


# -- logging ------------------------------------------------------------------------------------------
def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Kept typed when MLflow's text for it (``str(value)``) reads back as the same value; else as that text.
    As in MLflow, a param cannot change its value once logged."""
    _log_params(_tracker(), _current(), {key: value})
    return value


def log_params(params: Mapping[str, Any], synchronous: bool | None = None, run_id: str | None = None) -> None:
    _log_params(_tracker(), _target(run_id) or _current(), params)


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset=None,
) -> None:
    """``timestamp`` is epoch milliseconds, as in MLflow."""
    _tracker().log_metric(key, value, step=step, timestamp=_seconds(timestamp), run=_target(run_id))


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset=None,
) -> None:
    _tracker().log_metrics(metrics, step=step, timestamp=_seconds(timestamp), run=_target(run_id))


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    """``mlflow.runName``, ``mlflow.note.content``, ``mlflow.user`` and ``mlflow.parentRunId`` change the run's fields."""
    _client()._set_tags(_current().id, {key: value})


def set_tags(tags: Mapping[str, Any], synchronous: bool | None = None) -> None:
    _client()._set_tags(_current().id, tags)


def delete_tag(key: str) -> None:
    run = _tracker().active_run()
    if run is None:
        raise MlflowException("delete_tag needs an active run; start one with mlflow.start_run()")
    _client().delete_tag(run.id, key)


def log_artifact(local_path: str | os.PathLike, artifact_path: str | None = None, run_id: str | None = None) -> None:
    """A file goes to ``artifact_path/<file name>`` (a folder: its files under its name), as in MLflow."""
    log_path(_tracker(), _target(run_id) or _current(), local_path, artifact_path)


def log_artifacts(local_dir: str | os.PathLike, artifact_path: str | None = None, run_id: str | None = None) -> None:
    from pathlib import Path

    log_folder(_tracker(), _target(run_id) or _current(), Path(local_dir), artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    _tracker().log_bytes(str(text).encode("utf-8"), artifact_file, run=_target(run_id))


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """JSON, or YAML when ``artifact_file`` ends in ``.yml``/``.yaml`` (as MLflow writes them)."""
    data, media = dict_payload(dictionary, artifact_file)
    _tracker().log_bytes(data, artifact_file, media, run=_target(run_id))


def log_figure(figure: Any, artifact_file: str, *, save_kwargs: dict | None = None) -> None:
    _tracker().log_bytes(figure_payload(figure, artifact_file, save_kwargs), artifact_file)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
) -> None:
    _log_image(_tracker(), _current(), image, artifact_file, key, step)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    _tracker().log_bytes(table_payload(data), artifact_file, "application/json", run=_target(run_id))


def log_input(
    dataset: Any = None, context: str | None = None, tags: Mapping[str, str] | None = None, model=None
) -> None:
    """A dataset (``nbtrack.mlflow.data.from_pandas``/``from_numpy``) as a data input with its context."""
    if dataset is None:
        raise MlflowException("log_input needs a dataset; nbtrack does not log LoggedModel inputs")
    log_dataset(_tracker(), _current(), dataset, context)


def log_inputs(
    datasets: list | None = None, contexts: list | None = None, tags_list: list | None = None, models=None
) -> None:
    for index, dataset in enumerate(datasets or ()):
        log_input(dataset, (contexts or [None] * (index + 1))[index])


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """``runs:/RUN_ID[/PATH]``: what ``load_model``, ``register_model`` and ``artifacts.download_artifacts`` take."""
    run = _current()
    return f"runs:/{run.id}" + (f"/{artifact_path.strip('/')}" if artifact_path else "")


def search_runs(
    experiment_ids: list[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = SEARCH_MAX_RESULTS_PANDAS,
    order_by: list[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
):
    """MLflow's ``search_runs``: a pandas DataFrame (``run_id``, ``experiment_id``, ``status``, ``start_time``, ...,
    ``metrics.x``, ``params.x``, ``tags.x`` columns), or with ``output_format="list"`` a list of Runs.

    Without experiments it searches the current experiment (``search_all_experiments=True``: all).
    """
    if output_format not in ("pandas", "list"):
        raise MlflowException(
            f"Unsupported output format: {output_format}. Supported string values are 'pandas' or 'list'"
        )
    client = _client()
    if experiment_ids is not None and experiment_names is not None:
        raise MlflowException("Only experiment_ids or experiment_names can be used, but not both")
    if isinstance(experiment_ids, (str, int)):
        experiment_ids = [experiment_ids]
    if experiment_ids:
        names = [client._experiment_name(i) for i in experiment_ids]
    elif experiment_names:
        known = {e.name for e in _tracker().experiments()}
        names = [n for n in experiment_names if n in known]  # MLflow skips names that do not exist
    elif search_all_experiments:
        names = None
    else:
        names = [_tracker().experiment]
    runs = [client._run(r) for r in client.find_runs(names, filter_string, run_view_type, max_results, order_by)]
    if output_format == "list":
        return runs
    from .frames import runs_frame

    return runs_frame(runs)


def set_experiment_tag(key: str, value: Any) -> None:
    raise MlflowException("nbtrack experiments have no tags; tag the runs instead (mlflow.set_tags)")


def set_experiment_tags(tags: Mapping[str, Any]) -> None:
    set_experiment_tag("", "")


def delete_experiment(experiment_id: str) -> None:
    raise MlflowException(
        "nbtrack does not delete experiments; delete their runs (mlflow.delete_run, `nbtrack runs rm`)"
    )


def flush_async_logging() -> None:
    """Write buffered points now (nbtrack buffers every metric; ``synchronous=False`` needs nothing more)."""
    _tracker().flush()


def is_tracking_uri_set() -> bool:
    return True


def load_table(artifact_file: str, run_ids: list[str] | None = None, extra_columns: list[str] | None = None):
    """The rows ``log_table`` wrote to ``artifact_file`` in the given runs (default: the current experiment's), as a DataFrame."""
    import json

    import pandas as pd

    tracker = _tracker()
    ids = run_ids if run_ids is not None else [r.id for r in tracker.search_runs(experiment=tracker.experiment)]
    frames = []
    for run_id in ids:
        if not any(a.name == artifact_file for a in tracker.artifacts(run_id)):
            continue
        table = json.loads(tracker.artifact_bytes(run_id, artifact_file))
        frame = pd.DataFrame(table["data"], columns=table["columns"])
        if extra_columns and "run_id" in extra_columns:
            frame["run_id"] = run_id
        frames.append(frame)
    if not frames:
        raise MlflowException(f"no run has a table {artifact_file!r}", "RESOURCE_DOES_NOT_EXIST")
    return pd.concat(frames, ignore_index=True)


def search_registered_models(
    max_results: int | None = None, filter_string: str | None = None, order_by: list[str] | None = None
):
    return _client().search_registered_models(filter_string, max_results or 100_000, order_by)


def search_model_versions(
    max_results: int | None = None, filter_string: str | None = None, order_by: list[str] | None = None
):
    return _client().search_model_versions(filter_string, max_results or 100_000, order_by)


# -- models -------------------------------------------------------------------------------------------
def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = 300,
    *,
    tags: Mapping[str, Any] | None = None,
    env_pack=None,
) -> entities.ModelVersion:
    """``register_model("runs:/RUN_ID/PATH", "name")`` -> the new ModelVersion (nbtrack's audit trail records it)."""
    from .models_io import register

    return register(_client(), model_uri, name, tags)


def __getattr__(name: str):
    """Submodules on first use (``mlflow.sklearn``, ``mlflow.pyfunc``, ...); features out of scope say what to do instead."""
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _OUT_OF_SCOPE:
        raise MlflowException(f"mlflow.{name} is not part of nbtrack: {_OUT_OF_SCOPE[name]}")
    raise AttributeError(
        f"nbtrack.mlflow has no {name!r}: nbtrack covers MLflow's tracking, search, artifact and registry calls "
        "(README, 'Coming from MLflow'); for anything else use MLflow itself on runs pushed with `nbtrack push`"
    )


_SUBMODULES = ("sklearn", "pyfunc", "artifacts", "tracking", "data", "models", "client", "entities", "exceptions")
_OUT_OF_SCOPE = {
    **dict.fromkeys(
        ("autolog", "sklearn_autolog"),
        "log what you need with log_params/log_metric/sklearn.log_model, or use %%track cells, which record params and metrics automatically",
    ),
    **dict.fromkeys(
        (
            "trace",
            "start_span",
            "get_trace",
            "search_traces",
            "get_current_active_span",
            "update_current_trace",
            "tracing",
            "get_last_active_trace_id",
            "log_trace",
        ),
        "tracing LLM calls needs MLflow; run MLflow for tracing and keep nbtrack for experiments",
    ),
    **dict.fromkeys(
        (
            "genai",
            "openai",
            "langchain",
            "llama_index",
            "anthropic",
            "transformers",
            "evaluate",
            "metrics",
            "set_active_model",
            "create_external_model",
            "log_prompt",
            "register_prompt",
            "load_prompt",
        ),
        "GenAI evaluation, prompts and LLM flavours need MLflow; nbtrack tracks and registers pickle/sklearn models",
    ),
    **dict.fromkeys(
        ("deployments", "get_deploy_client", "models_serve", "serve", "server", "projects", "run", "docker", "gateway"),
        "deploy or serve models with MLflow or your own service: nbtrack.mlflow.pyfunc.load_model (or "
        "nbtrack.load_model) gives you the model to serve; `nbtrack push` shares runs and models with an MLflow server",
    ),
    **dict.fromkeys(
        (
            "spark",
            "pytorch",
            "tensorflow",
            "keras",
            "xgboost",
            "lightgbm",
            "catboost",
            "onnx",
            "statsmodels",
            "prophet",
            "h2o",
        ),
        "nbtrack stores models as pickles: use nbtrack.mlflow.pyfunc.log_model(name, python_model=...) or "
        "nbtrack.mlflow.sklearn.log_model for anything picklable",
    ),
    **dict.fromkeys(
        (
            "log_model",
            "initialize_logged_model",
            "get_logged_model",
            "search_logged_models",
            "finalize_logged_model",
            "set_logged_model_tags",
            "last_logged_model",
            "log_model_params",
        ),
        "MLflow 3's LoggedModel entities are not part of nbtrack; log models with nbtrack.mlflow.sklearn.log_model "
        "or pyfunc.log_model (they are run artifacts: runs:/RUN_ID/NAME) and register them with register_model",
    ),
    "enable_system_metrics_logging": "nbtrack does not sample system metrics; log what you need with log_metric",
    "set_system_metrics_sampling_interval": "nbtrack does not sample system metrics; log what you need with log_metric",
    "doctor": "run `nbtrack store info` to see the store nbtrack uses",
}
