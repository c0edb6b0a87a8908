"""The plain-Python API: MLflow-familiar functions over one lazily created default context.

Outside IPython the first call opens the store found by the usual discovery rules
(``NBTRACK_STORE``, nearest ``.nbtrack/``, git root, working directory). When the IPython
extension is loaded it installs its own tracker here, so ``nbtrack.log_metric`` inside a
``%%track`` cell logs into that cell's run.

>>> import nbtrack
>>> with nbtrack.start_run("baseline"):          # doctest: +SKIP
...     nbtrack.log_params({"lr": 0.1, "depth": 3})
...     for epoch in range(10):
...         nbtrack.log_metric("loss", 1 / (epoch + 1), step=epoch)
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Callable, Mapping

from .display import RunList
from .entities import Artifact, MetricHistory, Run
from .errors import StoreError, UsageError
from .tracking import DEFAULT_EXPERIMENT, DEFAULT_MAX_RESULTS, ActiveRun, Tracker


class ProblemPolicy:
    """How tracking problems that cannot be raised reach the user: ``nbtrack: ...`` on stderr.

    A script's policy is strict: store errors raise, every problem is printed. A notebook
    session's (``lenient``, see :class:`nbtrack.session.Session`) never raises store errors
    into a cell: a refused write pauses logging until the next cell, and only the first
    problem of a cell is printed (it is the one that matters).
    """

    def __init__(self, lenient: bool = False) -> None:
        self.lenient = lenient
        #: why logging is off until the next cell, after the store refused a write in this one
        self.paused: str | None = None
        self.reported = False

    def begin_cell(self) -> None:
        """A new cell starts: logging resumes and problems may be reported again."""
        self.paused, self.reported = None, False

    def pause(self, reason: str) -> None:
        """Stop logging until the next cell, reporting ``reason`` (once per cell)."""
        self.paused = reason
        self.report(reason)

    def report(self, message: str) -> None:
        if self.lenient and self.reported:
            return
        self.reported = True
        print(f"nbtrack: {message}", file=sys.stderr, flush=True)


class _Context:
    """The one default context of the plain API (the only process-wide state nbtrack keeps)."""

    def __init__(self) -> None:
        self.tracker: Tracker | None = None
        self.owned = False
        #: the error policy: a loaded extension installs its session's (lenient) one
        self.problems = ProblemPolicy()
        #: opens the tracker on first use (the extension points this at its configured store)
        self.factory: Callable[[], Tracker] | None = None
        #: the loaded extension's registry for a tracker (None when the tracker is not its session's)
        self.session_registry: Callable[[Tracker], Any] | None = None


_context = _Context()


class _NullRun:
    """What ``start_run`` returns while logging is paused: a context manager that does nothing."""

    id = None
    name = None
    ended = True

    def __enter__(self) -> "_NullRun":
        return self

    def __exit__(self, *exc) -> bool:
        return False


def _tolerant(function: Callable) -> Callable:
    """In a notebook, a store that refuses a write pauses logging for the rest of the cell
    and says so once, instead of raising into the user's code (which then runs on)."""

    @functools.wraps(function)
    def call(*args, **kwargs):
        problems = _context.problems
        if problems.paused:
            return _NullRun() if function is _start_run else None
        try:
            return function(*args, **kwargs)
        except StoreError as exc:
            if not problems.lenient:
                raise
            problems.pause(f"logging is off for the rest of this cell: {exc}")
            return _NullRun() if function is _start_run else None

    return call


def install(
    factory: Callable[[], Tracker] | None,
    problems: ProblemPolicy | None = None,
    registry: Callable[[Tracker], Any] | None = None,
) -> None:
    """Called by the IPython extension's session on load (``factory`` opens its configured tracker,
    ``problems`` is its lenient error policy, ``registry`` gives its one registry) and on unload
    (``None``: a strict policy again). While a lenient policy is installed, logging calls never
    raise store errors: see :func:`_tolerant`."""
    _context.factory, _context.session_registry = factory, registry
    _context.problems = problems if problems is not None else ProblemPolicy(lenient=factory is not None)
    _context.problems.begin_cell()


def report_problem(message: str) -> None:
    """Report a problem through the installed policy (one ``nbtrack: ...`` line on stderr)."""
    _context.problems.report(message)


def use(tracker: Tracker | None) -> None:
    """Make ``tracker`` the target of the plain API (the IPython extension calls this)."""
    if _context.owned and _context.tracker is not None and _context.tracker is not tracker:
        _context.tracker.close()
    _context.tracker, _context.owned = tracker, False


def set_store(path: str | os.PathLike | None) -> Tracker:
    """Open the store at ``path`` for the plain API (closing one it opened itself)."""
    experiment = _context.tracker.experiment if _context.tracker else DEFAULT_EXPERIMENT
    tracker = Tracker.open(path, experiment)
    use(tracker)
    _context.owned = True
    return tracker


def tracker() -> Tracker:
    """The tracker behind the plain API, opened on first use."""
    if _context.tracker is None:
        if _context.factory is not None:
            use(_context.factory())
        else:
            set_store(None)
    return _context.tracker


def set_experiment(name: str) -> str:
    return tracker().set_experiment(name)


def _start_run(
    name: str | None = None,
    *,
    experiment: str | None = None,
    tags: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    nested: bool = True,
    run_name: str | None = None,
    experiment_id: str | int | None = None,
    description: str | None = None,
    redact: bool | None = None,
) -> ActiveRun:
    """Start a run; use it as a context manager to end it (FAILED with the traceback on error).

    MLflow's keywords work too: ``run_name=`` (the name), ``experiment_id=`` (an experiment's id, as
    ``nbtrack.mlflow`` shows it), ``description=`` (the note).
    ``redact=False`` stores secret-looking params and tags of this run as given (default: redacted).
    """
    current = tracker()
    name = _one_of("name", name, "run_name", run_name)
    if experiment_id is not None:
        from .interop.mlflow_mapping import experiment_id as mlflow_id

        by_id = {mlflow_id(e.id, e.name): e.name for e in current.experiments()}
        if str(experiment_id) not in by_id:
            raise UsageError(
                f"no experiment with id {experiment_id!r}; nbtrack names experiments: start_run(experiment='name') "
                f"(ids: {', '.join(f'{i}={n}' for i, n in by_id.items()) or 'none yet'})"
            )
        experiment = _one_of("experiment", experiment, "experiment_id", by_id[str(experiment_id)])
    run = current.start_run(name, experiment=experiment, tags=tags, params=params, nested=nested, redact=redact)
    if description is not None:
        current.set_note(description, run=run)
    return run


def _one_of(first: str, value: Any, second: str, other: Any) -> Any:
    """A value given under nbtrack's keyword or MLflow's, refused when the two disagree."""
    if value is not None and other is not None and value != other:
        raise UsageError(f"{first}={value!r} and {second}={other!r} disagree; give one of them")
    return value if value is not None else other


start_run = _tolerant(_start_run)


@_tolerant
def end_run(status: str = "FINISHED") -> Run:
    return tracker().end_run(status)


def active_run() -> ActiveRun | None:
    return tracker().active_run()


@_tolerant
def log_param(key: str, value: Any) -> Any:
    return tracker().log_param(key, value)


@_tolerant
def log_params(params: Mapping[str, Any]) -> None:
    tracker().log_params(params)


@_tolerant
def log_metric(key: str, value: Any, step: int | None = None, timestamp: float | None = None) -> None:
    tracker().log_metric(key, value, step=step, timestamp=timestamp)


@_tolerant
def log_metrics(metrics: Mapping[str, Any], step: int | None = None, timestamp: float | None = None) -> None:
    tracker().log_metrics(metrics, step=step, timestamp=timestamp)


@_tolerant
def set_tag(key: str, value: Any) -> None:
    tracker().set_tag(key, value)


@_tolerant
def set_tags(tags: Mapping[str, Any]) -> None:
    tracker().set_tags(tags)


@_tolerant
def set_note(text: str) -> None:
    tracker().set_note(text)


@_tolerant
def log_artifact(path: str | os.PathLike, name: str | None = None, *, artifact_path: str | None = None) -> Artifact:
    """Store a file as artifact ``name`` (default: the file's name). ``artifact_path=`` is MLflow's
    folder: the file keeps its name inside it (``artifact_path="plots"`` -> ``plots/roc.png``)."""
    if artifact_path is not None:
        if name is not None:
            raise UsageError("give the artifact's name or its folder (artifact_path=), not both")
        name = (
            f"{str(artifact_path).strip('/')}/{os.path.basename(os.fspath(path))}"
            if str(artifact_path).strip("/")
            else None
        )
    elif name is not None and "." not in os.path.basename(str(name)) and os.path.splitext(os.fspath(path))[1]:
        import warnings

        warnings.warn(
            f"nbtrack: {os.fspath(path)!r} is stored as artifact {name!r} (the second argument is the artifact's name); "
            f"to put it in a folder as MLflow does, pass artifact_path={name!r}",
            UserWarning,
            stacklevel=3,
        )
    return tracker().log_artifact(path, name)


@_tolerant
def log_text(text: str, name: str) -> Artifact:
    return tracker().log_text(text, name)


@_tolerant
def log_dict(data: Any, name: str) -> Artifact:
    return tracker().log_dict(data, name)


@_tolerant
def log_figure(figure: Any, name: str) -> Artifact:
    return tracker().log_figure(figure, name)


@_tolerant
def log_model(model: Any, name: str = "model") -> Artifact:
    return tracker().log_model(model, name)


@_tolerant
def log_input(data: Any, name: str) -> dict | None:
    """Record a fingerprint (shape, dtypes, content digest; not the data) of a NumPy array or pandas
    DataFrame/Series the run used. ``%%track`` cells do this for every such name they read."""
    return tracker().log_input(data, name)


def get_run(run_id: str) -> Run:
    return tracker().get_run(run_id)


# -- reading artifacts back ---------------------------------------------------------------------------
def list_artifacts(run_id: str) -> tuple[Artifact, ...]:
    """The run's artifacts: name, size, sha256, media type."""
    return tracker().artifacts(run_id)


def load_artifact(run_id: str, name: str) -> bytes:
    """An artifact's bytes, checked against the sha256 recorded when it was logged."""
    return tracker().artifact_bytes(run_id, name)


def load_text(run_id: str, name: str, encoding: str = "utf-8") -> str:
    """What ``log_text`` (or ``log_artifact`` of a text file) stored."""
    return load_artifact(run_id, name).decode(encoding)


def load_dict(run_id: str, name: str) -> Any:
    """What ``log_dict`` stored (any JSON artifact), NaN and infinities included."""
    import json

    return json.loads(load_artifact(run_id, name))


def download_artifacts(run_id: str, name: str | None = None, dst_path: str | os.PathLike = ".") -> str:
    """Write one artifact (``name``) or all of them under ``dst_path``, keeping their relative
    names (``models/churn.pkl``); returns the file written, or ``dst_path`` for all."""
    written = tracker().download_artifacts(run_id, dst_path, name)
    return str(written[0]) if name is not None else str(dst_path)


def search_runs(
    filter: str | None = None,
    order_by: str | None = None,
    max_results: int | None = DEFAULT_MAX_RESULTS,
    experiment: str | None = None,
    deleted: bool = False,
) -> RunList:
    """Runs matching the query grammar, as a displayable list with ``.to_pandas()``; ``deleted=True``
    lists the deleted runs instead of the live ones.

    At most ``max_results`` runs (1,000 by default; ``max_results=None`` returns every match); the
    list's ``truncated`` says whether more matched, and its table says so too.
    """
    fetch = None if max_results is None else max_results + 1  # one more tells whether more match
    return RunList.limited(tracker().search_runs(filter, order_by, fetch, experiment, deleted), max_results)


def delete_run(*run_ids: str) -> list[str]:
    """Hide runs and their nested runs from every listing; returns the ids deleted.

    ``restore_run`` brings them back until ``nbtrack gc`` removes them for good. Refused for a
    RUNNING run and for the source run of a registered model version.

    >>> nbtrack.delete_run("3f2a")   # doctest: +SKIP
    """
    return tracker().delete_run(*run_ids)


def restore_run(*run_ids: str) -> list[str]:
    """Bring deleted runs back, with the nested runs deleted together with them; returns their ids."""
    return tracker().restore_run(*run_ids)


def metric_history(run_id: str, key: str) -> MetricHistory:
    """The metric's points by step: a sequence of ``MetricPoint`` with ``.steps``, ``.values``, ``.timestamps`` columns."""
    return tracker().metric_history(run_id, key)


def plot_history(key: str, filter: str | None = None, *, runs: list[Run] | None = None, order_by: str | None = None):
    """One chart of metric ``key`` by step, a line per run (the runs matching ``filter``, or ``runs``).

    >>> nbtrack.plot_history("val_loss", "experiment = 'training-curves'")   # doctest: +SKIP
    """
    from .display.chart import Chart
    from .plotting import metric_histories

    chosen = list(runs) if runs is not None else search_runs(filter, order_by=order_by)
    labels = [run.label for run in chosen]
    histories = {
        (label if labels.count(label) == 1 else f"{label} ({run.short_id})"): metric_history(run.id, key)
        for label, run in zip(labels, chosen)
    }
    return Chart(metric_histories(histories, key), f"{key} by step")


@_tolerant
def flush() -> int:
    return tracker().flush()


# -- model registry ---------------------------------------------------------------------------------
def registry():
    """A :class:`~nbtrack.registry.Registry` over the default tracker's store: in a notebook, the
    session's one registry (unless ``set_store`` chose another store); elsewhere a new one (cheap)."""
    from .registry import Registry

    current = tracker()
    current.flush()  # gates and comparisons read metrics: buffered points must count
    shared = _context.session_registry(current) if _context.session_registry is not None else None
    return shared if shared is not None else Registry.of(current)


def register_model(
    run: Any,
    artifact_or_object: Any = None,
    name: str | None = None,
    description: str | None = None,
    tags: Mapping[str, Any] | None = None,
) -> int:
    """Register a run's logged model (artifact name) or any object as the next version of ``name``; returns it."""
    return registry().register_model(run, artifact_or_object, name, description, tags)


def transition_stage(name: str, version: int, stage: str, archive_existing: bool = True, comment: str | None = None):
    return registry().transition_stage(name, version, stage, archive_existing, comment)


def promote(
    name: str,
    version: int,
    to: str,
    require: Any = (),
    archive_existing: bool = True,
    comment: str | None = None,
    strict: bool = False,
):
    """Transition after checking the ``require`` gates; raises GateFailedError and changes nothing if one fails.
    Displays what happened: the new stage, who was archived, each gate with its evaluated values."""
    from .display.models import PromotionView

    return PromotionView(registry().promote(name, version, to, require, archive_existing, comment, strict))


def set_alias(name: str, alias: str, version: int, comment: str | None = None) -> None:
    registry().set_alias(name, alias, version, comment)


def delete_alias(name: str, alias: str, comment: str | None = None) -> None:
    registry().delete_alias(name, alias, comment)


def get_model_version(
    name_or_uri: str, version: int | str | None = None, *, stage: str | None = None, alias: str | None = None
):
    return registry().get_model_version(name_or_uri, version, stage=stage, alias=alias)


def search_models(pattern: str | None = None, deleted: bool = False):
    """Registered models as a displayable list (``deleted=True``: the deleted ones)."""
    from .display.models import ModelList

    return ModelList(registry().search_models(pattern, deleted))


def rename_model(name: str, new_name: str, comment: str | None = None):
    """Rename a model; its versions, aliases and audit trail follow it. URIs must use the new name."""
    return registry().rename_model(name, new_name, comment)


def delete_model_version(name: str, version: int, comment: str | None = None):
    """Soft-delete a version (not the Production one); undo with :func:`restore_model_version`."""
    return registry().delete_model_version(name, version, comment)


def restore_model_version(name: str, version: int, comment: str | None = None):
    return registry().restore_model_version(name, version, comment)


def delete_model(name: str, comment: str | None = None):
    """Soft-delete a model with no Production version; its name stays taken, its history readable."""
    return registry().delete_model(name, comment)


def restore_model(name: str, comment: str | None = None):
    return registry().restore_model(name, comment)


def load_model(
    name_or_uri: str, version: int | str | None = None, *, stage: str | None = None, alias: str | None = None
) -> Any:
    """``load_model("models:/fraud/Production")``, ``load_model("fraud", alias="champion")``, or a
    run's logged model, registered or not: ``load_model("runs:/3f2a1b0c/churn")``. The bytes are
    checked against their recorded sha256 before unpickling."""
    if isinstance(name_or_uri, str) and name_or_uri.startswith("runs:/"):
        from .tracking.artifacts import parse_runs_uri

        return tracker().load_model_artifact(*parse_runs_uri(name_or_uri))
    return registry().load_model(name_or_uri, version, stage=stage, alias=alias)


def compare_versions(name: str, a: int | str, b: int | str):
    """Metric and param deltas of the runs behind versions ``a`` and ``b`` (numbers, stages or aliases)."""
    from .display.models import VersionComparisonView

    return VersionComparisonView(registry().compare_versions(name, a, b))


def model_history(name: str):
    """The model's append-only audit trail, oldest first, as a displayable list."""
    from .display.models import ModelHistory

    return ModelHistory(registry().history(name))


# -- importing ------------------------------------------------------------------------------------
def import_mlflow(database: str, artifacts_root: str | None = None, artifacts: bool = True, models: bool = True):
    """Import an MLflow SQLite database into the default store: runs with their local artifacts,
    then registered models with their version numbers, stages and aliases.

    Runs keep their MLflow ids; importing again skips runs and models already here. Returns an
    :class:`~nbtrack.importers.ImportReport` (counts and every warning).
    """
    from .importers import import_mlflow as run_import

    current = tracker()
    current.flush()
    return run_import(current, database, artifacts_root, artifacts, models)


# -- dashboard ------------------------------------------------------------------------------------
def dashboard(query: str | None = None, page_size: int = 25):
    """The inline dashboard (Runs, Compare, Registry tabs) over the default store; display it.

    >>> nbtrack.dashboard("metrics.f1 > 0.8")   # doctest: +SKIP
    """
    from .widgets import Dashboard  # ipywidgets only when a dashboard is opened

    return Dashboard(tracker(), query, page_size=page_size, registry=registry())


# -- diff and re-execution --------------------------------------------------------------------------
def diff_runs(a: str, b: str):
    """What changed from run ``a`` to run ``b``: params, metrics, cells, packages, git; display it.

    >>> nbtrack.diff_runs("3f2a", "9bc1").diff.cells   # doctest: +SKIP
    """
    from .display.diff import RunDiffView
    from .repro.diff import diff_runs as compute

    return RunDiffView(compute(tracker(), a, b))


def rerun(
    run_id: str,
    *,
    rtol: float = 1e-9,
    atol: float = 0.0,
    timeout: int = 600,
    kernel_name: str | None = None,
    as_executed: bool = False,
    output: str | None = None,
    progress=None,
):
    """Re-execute a run's notebook in a fresh kernel; tags it ``nbtrack.verified`` true/false (no tag when no
    metric or cell output could be compared: "not verifiable"). Display the report.

    ``progress(number, total, title)`` is called before each code cell runs.

    >>> nbtrack.rerun("3f2a").result.verified   # doctest: +SKIP
    True
    """
    from .display.rerun import RerunReport
    from .repro.rerun import nested_rerun, rerun as execute
    from .repro.tolerance import Tolerance

    if nested_rerun():  # the restored notebook's own rerun cell, inside the re-execution
        print(f"nbtrack: {nested_rerun()}")
        return None
    result = execute(
        tracker(),
        run_id,
        tolerance=Tolerance(rtol, atol),
        timeout=timeout,
        kernel_name=kernel_name,
        as_executed=as_executed,
        output=output,
        progress=progress,
    )
    return RerunReport(result)
