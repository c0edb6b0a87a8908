"""The run state machine and the logging calls behind ``nbtrack.start_run``, ``%%track`` and friends.

A :class:`Tracker` owns one store connection, a stack of active runs (nested runs get
the enclosing run as parent) and a :class:`MetricBuffer`. Re-running a cell never
raises "already active": every ``start_run`` makes a new run.
"""

from __future__ import annotations

import atexit
import getpass
import json
import os
import pickle
import socket
import time
import traceback
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from .. import fingerprint as fingerprints
from .. import provenance, redaction
from ..entities import FAILED, FINISHED, KILLED, RUN_STATUSES, RUNNING, SYSTEM_TAG_PREFIX, Artifact, MetricHistory, PurgeReport, Run
from ..errors import NotFoundError, RunStateError, StoreError, UsageError
from ..interop import mlflow_mapping as mapping
from ..store import RunRepository, Store, gc
from ..store.models import ModelRepository
from ..store.runs import RunNode
from ..values import check_key, check_text, metric_step, metric_timestamp, metric_value, param_value, tag_value
from . import artifacts as payloads
from .buffer import MetricBuffer
from .git_recorder import GitRecorder
from . import liveness
from .lost import LOST_POINTS_TAG, LostPoints, refusal_lines
from .policy_check import RunPolicy

DEFAULT_EXPERIMENT = "Default"
#: the kind of a run started implicitly by logging outside any run
AUTO = "auto"
#: tags written by nbtrack itself live under this prefix
#: set by ``nbtrack rerun`` in the kernel it starts, so every run made there names the run it re-executes
RERUN_ENV = "NBTRACK_RERUN_OF"
RERUN_TAG = SYSTEM_TAG_PREFIX + "rerun_of"


def _compiled(filter: str | None, order_by: str | list[str] | None, experiment: str | None,
              experiments: Iterable[str] | None = None, dialect: str = "nbtrack") -> tuple[str, list, str, list]:
    """WHERE and ORDER BY fragments (with their parameters) of a search."""
    from ..query import compile_filter, compile_order_by  # pure; imported lazily to keep import cheap

    where, args = compile_filter(filter, dialect)
    if experiment is not None:
        where = f"({where}) AND e.name = ?" if where else "e.name = ?"
        args = [*args, experiment]
    if experiments is not None:
        names = list(experiments)
        clause = f"e.name IN ({', '.join('?' for _ in names)})" if names else "0"
        where = f"({where}) AND {clause}" if where else clause
        args = [*args, *names]
    order_sql, order_args = compile_order_by(order_by)
    return where, args, order_sql, order_args


#: runs ``search_runs`` returns unless told otherwise (``max_results=None``: all): a store of a
#: year of runs is not loaded whole by accident
DEFAULT_MAX_RESULTS = 1000


@dataclass(eq=False)
class ActiveRun:
    """A run that has started and not yet ended. Use as a context manager to end it.

    >>> with tracker.start_run("baseline") as run:   # doctest: +SKIP
    ...     tracker.log_metric("f1", 0.91)
    """

    tracker: "Tracker" = field(repr=False)
    row_id: int
    id: str
    name: str | None
    experiment: str
    start_time: float
    kind: str = "api"
    cell_key: str | None = None
    steps: dict[str, int] = field(default_factory=dict, repr=False)
    #: data fingerprints (:mod:`nbtrack.fingerprint`) by name, written with the run's end
    inputs: dict[str, dict] = field(default_factory=dict, repr=False)
    git_probe: Any = field(default=None, repr=False)
    ended: bool = False
    #: replace secret param and tag values by "<redacted>" (:mod:`nbtrack.redaction`)
    redact: bool = field(default=True, repr=False)

    def __enter__(self) -> "ActiveRun":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self.ended:
            return False
        if exc_type is None:
            self.tracker.end_run(FINISHED, run=self)
        elif issubclass(exc_type, KeyboardInterrupt):
            self.tracker.end_run(KILLED, error=_format_exception(exc_type, exc, tb), run=self)
        else:
            self.tracker.end_run(FAILED, error=_format_exception(exc_type, exc, tb), run=self)
        return False

    @property
    def short_id(self) -> str:
        return self.id[:8]

    def __repr__(self) -> str:
        return f"<ActiveRun {self.name or self.short_id} ({self.id})>"


class Tracker:
    """Tracking service over one :class:`~nbtrack.store.Store`."""

    def __init__(self, store: Store, experiment: str = DEFAULT_EXPERIMENT):
        self.store = store
        self.runs = RunRepository(store)
        self.experiment = experiment
        #: default for new runs: secret param/tag values stored as "<redacted>" (start_run(redact=...) overrides)
        self.redact = True
        self.host = socket.gethostname()
        #: this process as runs record it (PID space and start time), so PID reuse is detected
        self.process = liveness.own_process()
        self.user = _user()
        self._stack: list[ActiveRun] = []
        #: the id of the run this tracker ended last (MLflow's ``last_active_run``)
        self.last_ended_id: str | None = None
        self._env_data: bytes | None = None
        #: row id -> end fields of runs whose end the store refused; retried on later writes
        self._unrecorded_ends: dict[int, dict[str, Any]] = {}
        #: how tracking problems that cannot be raised (background flushes, listeners) reach the
        #: user: a RuntimeWarning in scripts; the IPython extension prints one line per cell instead
        self.report: Callable[[str], None] = _warn
        self.git = GitRecorder(self.runs, lambda message: self.report(message))
        #: counts of logged values lost per run, until the run's lost-points tag holds them
        self.lost = LostPoints()
        self.buffer = MetricBuffer(self._write_buffered, self._heartbeat, self._lost_rows)
        #: called with (ActiveRun, status) just before a run's end is committed; a listener that
        #: raises is reported as a warning by the caller (the snapshot layer hooks in here)
        self.run_end_listeners: list[Callable[[ActiveRun, str], None]] = []
        #: called with the ended Run (e.g. to notify the JupyterLab side panel)
        self.run_ended_listeners: list[Callable[[Run], None]] = []
        #: the team policy (nbtrack.policy): defaults at start, the verdict tag at end and on tag changes
        self.policy = RunPolicy(self.runs, store.location.directory)
        self.mark_dead_runs()
        _open_trackers.add(self)

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, experiment: str = DEFAULT_EXPERIMENT) -> "Tracker":
        return cls(Store.open(path), experiment)

    # -- experiments ---------------------------------------------------------------------------
    def set_experiment(self, name: str) -> str:
        self.experiment = check_key(name, "experiment name")
        self.runs.experiment_id(self.experiment)
        return self.experiment

    # -- run lifecycle ------------------------------------------------------------------------
    def start_run(
        self,
        name: str | None = None,
        *,
        experiment: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        parent: ActiveRun | None = None,
        nested: bool = True,
        kind: str = "api",
        cell_key: str | None = None,
        extra: Mapping[str, Any] | None = None,
        redact: bool | None = None,
    ) -> ActiveRun:
        """Start a new run; while another run is active the new one becomes its child.

        A run started implicitly by logging outside any run (``kind="auto"``) is never a
        parent: in a notebook it stays open across cells, and a later ``%%track`` cell or
        ``start_run`` nesting under a run the user never started would be a surprise.
        ``redact`` (default: :attr:`redact`) stores secret param and tag values as "<redacted>".
        """
        redact = self.redact if redact is None else bool(redact)
        if name is not None and not isinstance(name, str):
            raise UsageError(f"run name must be a string, got {type(name).__name__}")
        if name is not None:
            check_text(name, "run name")
        experiment = check_key(experiment, "experiment name") if experiment else self.experiment
        if parent is None and nested:
            parent = next((r for r in reversed(self._stack) if r.kind != AUTO), None)
        rerun_of = os.environ.get(RERUN_ENV)
        if rerun_of:
            tags = {**(tags or {}), RERUN_TAG: rerun_of}
        tags = self.policy.with_defaults(tags)
        now = time.time()
        run_uuid = uuid.uuid4().hex
        info = provenance.host_info()
        record = {
            "uuid": run_uuid,
            "experiment_id": self.runs.experiment_id(experiment),
            "name": name,
            "status": RUNNING,
            "start_time": now,
            "heartbeat": now,
            "parent_id": parent.row_id if parent else None,
            "cell_key": cell_key,
            "pid": os.getpid(),
            "host": self.host,
            "user": self.user,
            "provenance": json.dumps(
                {"python": provenance.python_info(), "cwd": info.get("cwd"), "env": provenance.safe_environment(), "kind": kind,
                 "process": self.process, **(extra or {})},
                default=str,
            ),
        }
        environment = self._environment()
        with self.store.atomic():
            # stored again for every run (one lookup when present), not remembered by hash: a
            # purge may have removed it since; in this transaction no purge can run meanwhile
            env_sha = None if environment is None else self.store.blobs.put(environment)
            row_id = self.runs.insert_run({**record, "env_sha256": env_sha})
            self._write(row_id, params=params, tags=tags, redact=redact)
        self._retry_unrecorded_ends()
        run = ActiveRun(self, row_id, run_uuid, name, experiment, now, kind, cell_key, redact=redact)
        run.git_probe = self.git.probe(info.get("cwd") or os.getcwd())
        self._stack.append(run)
        self.buffer.start()  # its heartbeat: a run that logs nothing for minutes must not look dead
        return run

    def end_run(self, status: str = FINISHED, error: str | None = None, run: ActiveRun | None = None) -> Run:
        """End ``run`` (default: the innermost active run) and any runs nested inside it."""
        if status not in RUN_STATUSES or status == RUNNING:
            raise UsageError(f"a run ends FINISHED, FAILED or KILLED, not {status!r}")
        run = run or self.active_run()
        if run is None:
            raise RunStateError("no active run to end; start one with start_run() or %track start")
        if run.ended:
            return self.runs.get(run.row_id)
        for child in [r for r in self._stack if r is not run and self._is_inside(r, run)][::-1]:
            self.end_run(status, error=None if status == FINISHED else "parent run ended", run=child)
        end = time.time()
        fields = {"status": status, "end_time": end, "heartbeat": end, "error": error}
        rows, lost = self.buffer.take(), self.lost.take()
        warnings: list[str] = []
        git_fields: dict[str, Any] = {}
        try:
            # One transaction for the whole end: listeners' writes (snapshot, receipt), the last
            # buffered points, git provenance and the status land together or not at all.
            with self.store.atomic():
                warnings = self._notify(self.run_end_listeners, run, status)
                git_fields = self.git.fields_now(run.row_id, run.git_probe)
                refused = self._write_rows(rows, lost)
                self.runs.update_run(run.row_id, {**fields, **git_fields, **self._inputs_field(run)})
                self.policy.stamp([run.row_id])
        except Exception:
            # The store refused the end (locked, read-only, full; or anything unforeseen). The run
            # is over all the same: it leaves the stack (later runs must not nest under it), its
            # points go back to the buffer, and its end is written by the next successful
            # start/end (or at close); if the process dies first, the next open marks it KILLED.
            self.buffer.restore(rows)
            self.lost.give_back(lost)
            run.ended = True
            if run in self._stack:
                self._stack.remove(run)
            self._unrecorded_ends[run.row_id] = fields
            raise
        self._report_refused(refused)
        run.ended = True
        self.last_ended_id = run.id
        if run in self._stack:
            self._stack.remove(run)
        self._retry_unrecorded_ends()
        if not git_fields:
            self.git.write_later(run.row_id, run.id, run.git_probe)
        ended = self.runs.get(run.row_id)
        self._notify(self.run_ended_listeners, ended)
        if self.policy.problem:  # the run is recorded all the same; the user learns why it is unchecked
            warnings.append(f"policy not checked: {self.policy.problem}")
        for message in warnings:
            self.report(message)
        if LOST_POINTS_TAG in ended.tags:
            self.report(f"run {ended.short_id} ended {ended.status}, but {ended.tags[LOST_POINTS_TAG]} logged values "
                        f"were not recorded (tag {LOST_POINTS_TAG})")
        return ended

    def active_run(self) -> ActiveRun | None:
        return self._stack[-1] if self._stack else None

    def resume_run(self, run_ref: str | Run) -> ActiveRun:
        """Make an existing (ended) run active again, RUNNING until it ends anew; its steps continue.

        The MLflow-compatible ``start_run(run_id=...)``. A deleted run is refused.
        """
        for run in self._stack:
            if run.id == getattr(run_ref, "id", run_ref):
                return run
        self.flush()
        with self.store.atomic():
            (node,) = self._live_nodes([run_ref], "resume")
            now = time.time()
            self.runs.update_run(node.id, {"status": RUNNING, "end_time": None, "error": None, "heartbeat": now,
                                           "pid": os.getpid(), "host": self.host})
        stored = self.runs.get(node.id)
        run = ActiveRun(self, node.id, stored.id, stored.name, stored.experiment, stored.start_time)
        run.steps = {key: summary.step + 1 for key, summary in stored.metrics.items()}
        self._stack.append(run)
        return run

    def attach(self, run_ref: str | Run | ActiveRun) -> ActiveRun:
        """A handle for logging to any live run by id (active or ended) without making it active;
        steps continue after the stored ones. The MLflow client's ``log_*(run_id, ...)``."""
        if isinstance(run_ref, ActiveRun):
            return run_ref
        for run in self._stack:
            if run.id == getattr(run_ref, "id", run_ref):
                return run
        self.flush()
        (node,) = self._live_nodes([run_ref], "log to")
        stored = self.runs.get(node.id)
        handle = ActiveRun(self, node.id, stored.id, stored.name, stored.experiment, stored.start_time, ended=stored.status != RUNNING)
        handle.steps = {key: summary.step + 1 for key, summary in stored.metrics.items()}
        return handle

    def update_run_info(self, run_ref: str | Run | ActiveRun, **fields: Any) -> None:
        """Change a live run's ``name``, ``user``, ``note`` or ``parent`` (a run id, or None for none).

        What MLflow does through its ``mlflow.runName``/``mlflow.user``/``mlflow.note.content``/
        ``mlflow.parentRunId`` tags.
        """
        unknown = set(fields) - {"name", "user", "note", "parent"}
        if unknown:
            raise UsageError(f"a run's {', '.join(sorted(unknown))} cannot be changed")
        values: dict[str, Any] = {}
        for key in ("name", "user", "note"):
            if key in fields:
                values[key] = None if fields[key] is None else check_text(str(fields[key]), f"run {key}")
        with self.store.atomic():
            (node,) = self._live_nodes([run_ref], "change")
            if "parent" in fields:
                parent = fields["parent"]
                values["parent_id"] = None if parent in (None, "") else self._row_id(parent)
                if values["parent_id"] == node.id:
                    raise UsageError("a run cannot be its own parent")
            if values:
                self.runs.update_run(node.id, values)
        for run in self._stack:
            if run.row_id == node.id and "name" in values:
                run.name = values["name"]

    def experiments(self):
        """Every experiment (id, name, creation time), oldest first."""
        return self.runs.experiments()

    def experiment_id(self, name: str) -> int:
        """The id of experiment ``name``, created when it does not exist yet (the current one stays)."""
        return self.runs.experiment_id(check_key(name, "experiment name"))

    def create_run(self, name: str | None = None, *, experiment: str | None = None, tags: Mapping[str, Any] | None = None,
                   params: Mapping[str, Any] | None = None) -> ActiveRun:
        """A new RUNNING top-level run that is not made active (the MLflow client's ``create_run``);
        log to it by id and end it with :meth:`end_run` (``run=``)."""
        run = self.start_run(name, experiment=experiment, tags=tags, params=params, nested=False)
        self._stack.remove(run)
        return run

    def _require_run(self, run: ActiveRun | None) -> ActiveRun:
        run = run or self.active_run()
        if run is None:
            run = self.start_run(kind=AUTO)  # MLflow-familiar: logging without a run starts one
        return run

    def _is_inside(self, candidate: ActiveRun, ancestor: ActiveRun) -> bool:
        return self._stack.index(candidate) > self._stack.index(ancestor) if candidate in self._stack and ancestor in self._stack else False

    # -- logging --------------------------------------------------------------------------------
    def log_param(self, key: str, value: Any, run: ActiveRun | None = None) -> Any:
        self.log_params({key: value}, run=run)
        return value

    def log_params(self, params: Mapping[str, Any], run: ActiveRun | None = None) -> None:
        """Checked now, written with the next flush (like metrics): a commit per param would cost ~20 us."""
        params = _mapping(params, "params")
        run = self._require_run(run)
        params, _, hidden = self.redact_values(params, redact=run.redact)
        rows = [(run.row_id, check_key(k, "param name"), *param_value(v, k)) for k, v in params.items()]
        self.record_redacted(run.row_id, hidden)
        self.buffer.extend(rows)

    def set_tag(self, key: str, value: Any, run: ActiveRun | None = None) -> None:
        self.set_tags({key: value}, run=run)

    def set_tags(self, tags: Mapping[str, Any], run: ActiveRun | None = None) -> None:
        """MLflow's ``mlflow.runName``/``mlflow.user``/``mlflow.note.content``/``mlflow.parentRunId`` tags
        change the run's name, user, note and parent (nbtrack keeps those as run fields, not tags)."""
        tags = _mapping(tags, "tags")
        run = self._require_run(run)
        fields, other = mapping.split_folded(tags)
        if fields:
            self.update_run_info(run, **{k: (None if v is None else str(v)) for k, v in fields.items()})
        if other:
            self._write(run.row_id, tags=other, redact=run.redact)
            if run.ended:  # an ended run's verdict follows its tags; a running one is judged at its end
                self.policy.stamp([run.row_id])

    def log_metric(self, key: str, value: Any, step: int | None = None, timestamp: float | None = None, run: ActiveRun | None = None) -> None:
        """Buffer one metric point. Without ``step``, steps count 0, 1, 2, ... per key and run.

        :meth:`log_metrics` for one point, written out: this is the call made in training loops.
        """
        when = time.time() if timestamp is None else metric_timestamp(timestamp)
        if step is not None:
            step = metric_step(step)
        if run is None and self._stack:
            run = self._stack[-1]
        if run is None or type(key) is not str or key not in run.steps:
            check_key(key, "metric name")
        value = metric_value(value, key)
        if run is None:
            run = self._require_run(None)  # only now: a refused call starts no run
        self.buffer.append((run.row_id, key, _next_step(run.steps, key, step), value, when))

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None, timestamp: float | None = None, run: ActiveRun | None = None) -> None:
        """Several metrics at one step and time.

        Every argument is checked before anything is buffered (a refused call changes no step
        counter and buffers nothing), so no value the store would refuse reaches the buffer.
        """
        if type(metrics) is not dict and not isinstance(metrics, Mapping):
            raise UsageError(f"metrics must be a mapping of name to value, got {type(metrics).__name__}")
        when = time.time() if timestamp is None else metric_timestamp(timestamp)
        if step is not None:
            step = metric_step(step)
        if run is None and self._stack:
            run = self._stack[-1]
        known = run.steps if run is not None else {}
        checked = [(key if key in known else check_key(key, "metric name"), metric_value(value, key)) for key, value in metrics.items()]
        if run is None:
            run = self._require_run(None)
        steps, row_id = run.steps, run.row_id
        self.buffer.extend([(row_id, key, _next_step(steps, key, step), value, when) for key, value in checked])

    def set_note(self, text: str, run: ActiveRun | None = None) -> None:
        self._write_note(self._require_run(run).row_id, text)

    # -- annotating ended runs by id (the dashboard) ------------------------------------------------
    def tag_runs(self, run_refs: Iterable[str | Run], tags: Mapping[str, Any]) -> list[str]:
        """Set ``tags`` on every run named, in one transaction; returns their ids.

        Refused, changing nothing, when a tag is invalid or a run is deleted (MLflow, too,
        tags only active runs): a batch half-applied would leave the user guessing which runs
        carry the tag.

        >>> tracker.tag_runs(["3f2a", "9b1c"], {"stage": "prod"})   # doctest: +SKIP
        """
        tags, _, hidden = self.redact_values(tags)
        texts = _tag_rows(tags)
        with self.store.atomic():
            nodes = self._live_nodes(run_refs, "tag")
            for node in nodes:
                self.runs.write_batch(node.id, tags=texts)
                self.record_redacted(node.id, hidden)
            self.policy.stamp(n.id for n in nodes if n.status != RUNNING)
        return [n.uuid for n in nodes]

    def untag_runs(self, run_refs: Iterable[str | Run], key: str) -> int:
        """Delete tag ``key`` from every run named, in one transaction; returns how many had it."""
        key = check_key(key, "tag name")
        with self.store.atomic():
            nodes = self._live_nodes(run_refs, "untag")
            removed = self.runs.delete_tag((n.id for n in nodes), key)
            self.policy.stamp(n.id for n in nodes if n.status != RUNNING)
            return removed

    def note_run(self, run_ref: str | Run, text: str) -> None:
        """Replace the note of any live run, by id (``set_note`` writes to the active run)."""
        with self.store.atomic():
            (node,) = self._live_nodes([run_ref], "write a note on")
            self._write_note(node.id, text)

    def _live_nodes(self, run_refs: Iterable[str | Run], action: str) -> list[RunNode]:
        nodes = self.runs.nodes(self._row_id(ref) for ref in run_refs)
        deleted = next((n for n in nodes if n.deleted_time is not None), None)
        if deleted is not None:
            raise RunStateError(f"run {_short(deleted)} is deleted; restore it before you {action} it")
        return nodes

    def _write_note(self, row_id: int, text: str) -> None:
        self.runs.update_run(row_id, {"note": check_text(str(text), "note")})

    def flush(self) -> int:
        return self.buffer.flush()

    def change_stamp(self) -> tuple[int, int]:
        """Differs from an earlier stamp iff the store may have changed since, by any process
        (see :meth:`nbtrack.store.Store.change_stamp`); buffered points count once flushed."""
        return self.store.change_stamp()

    def log_input(self, data: Any, name: str, run: ActiveRun | None = None, context: str | None = None) -> dict[str, Any]:
        """Record a fingerprint of ``data`` (shape, dtypes, content digest; not the data) as input ``name``.

        Kept with the run and written when it ends, like the rest of its provenance. ``context``
        says what the run used it for (MLflow's dataset context: ``training``, ``eval``, ...).
        """
        name = check_key(name, "input name")
        if not fingerprints.is_data(data):
            raise UsageError(f"log_input takes a NumPy array or a pandas DataFrame, Series or Index, got {type(data).__name__}")
        try:
            print_ = fingerprints.fingerprint(data)
        except Exception as exc:  # data of an odd kind: say which input, keep the run going
            raise UsageError(f"cannot fingerprint input {name!r}: {type(exc).__name__}: {exc}") from None
        if context is not None:
            print_ = {**print_, "context": check_text(str(context), "input context")}
        self._require_run(run).inputs[name] = print_
        return print_

    def _inputs_field(self, run: ActiveRun) -> dict[str, Any]:
        """The provenance document with the run's inputs merged in (read after the end listeners wrote theirs)."""
        if not run.inputs:
            return {}
        document = self.runs.provenance(run.row_id)
        document["inputs"] = {**document.get("inputs", {}), **run.inputs}
        return {"provenance": json.dumps(document, default=str)}

    # -- artifacts --------------------------------------------------------------------------------
    def log_bytes(self, data: bytes, name: str, media_type: str | None = None, run: ActiveRun | None = None) -> Artifact:
        run = self._require_run(run)
        name = payloads.check_artifact_name(name)
        media = media_type or payloads.media_type(name)
        with self.store.atomic():
            sha = self.store.blobs.put(bytes(data))
            self.runs.add_artifact(run.row_id, name, sha, len(data), media)
        return self.runs.artifact(run.row_id, name)

    def log_artifact(self, path: str | os.PathLike, name: str | None = None, run: ActiveRun | None = None) -> Artifact:
        source = Path(path)
        if not source.is_file():
            raise UsageError(f"log_artifact: {source} is not a file")
        return self.log_bytes(source.read_bytes(), name or source.name, run=run)

    def log_text(self, text: str, name: str, run: ActiveRun | None = None) -> Artifact:
        return self.log_bytes(str(text).encode("utf-8"), name, run=run)

    def log_dict(self, data: Any, name: str, run: ActiveRun | None = None) -> Artifact:
        """JSON, or YAML when ``name`` ends in ``.yml``/``.yaml`` (the file is what its name says)."""
        data, media = payloads.dict_payload(data, name)
        return self.log_bytes(data, name, media, run=run)

    def log_figure(self, figure: Any, name: str, run: ActiveRun | None = None) -> Artifact:
        if not name.lower().endswith(".png"):
            name += ".png"
        return self.log_bytes(payloads.figure_png(figure), name, "image/png", run=run)

    def log_model(self, model: Any, name: str = "model", run: ActiveRun | None = None) -> Artifact:
        """Pickle ``model`` as artifact ``models/<name>.pkl``; the registry loads it back by hash."""
        return self.log_bytes(payloads.model_bytes(model), f"models/{name}.pkl", payloads.PICKLE_MEDIA_TYPE, run=run)

    def artifact_bytes(self, run_ref: str, name: str) -> bytes:
        """An artifact's bytes, checked against its sha256."""
        return self.store.blobs.get(self.find_artifact(run_ref, (name,)).sha256)

    def artifacts(self, run_ref: str | Run | ActiveRun) -> tuple[Artifact, ...]:
        return self.runs.artifacts(self._row_id(run_ref))

    def find_artifact(self, run_ref: str | Run | ActiveRun, names: Iterable[str]) -> Artifact:
        """The run's first artifact among ``names``; not found names what the run does have."""
        row_id = self._row_id(run_ref)
        by_name = {a.name: a for a in self.runs.artifacts(row_id)}
        names = tuple(names)
        for name in names:
            if name in by_name:
                return by_name[name]
        have = ", ".join(sorted(by_name)[:20]) or "none"
        raise NotFoundError(f"run {self.runs.uuid_of(row_id)[:8]} has no artifact {names[0]!r} (its artifacts: {have})")

    def download_artifacts(self, run_ref: str | Run, folder: str | os.PathLike, name: str | None = None) -> list[Path]:
        """Write one artifact (``name``) or all of them under ``folder``, keeping their relative
        names; each checked against its sha256 first. Returns the files written."""
        chosen = [self.find_artifact(run_ref, (name,))] if name is not None else self.artifacts(run_ref)
        return [payloads.write_artifact(folder, a.name, self.store.blobs.get(a.sha256)) for a in chosen]

    def load_model_artifact(self, run_ref: str, name: str = "model") -> Any:
        """The model logged as ``name`` (``log_model(m, name)``, or any pickle artifact), unpickled
        after its bytes were checked against the sha256 recorded when it was logged.
        Unpickling runs code: load models only from stores you trust."""
        artifact = self.find_artifact(run_ref, payloads.model_candidates(name))
        return pickle.loads(self.store.blobs.get(artifact.sha256))

    # -- cells ------------------------------------------------------------------------------------
    def record_cell(self, source: str, execution_count: int | None = None, cell_id: str | None = None, outputs: Any = None, run: ActiveRun | None = None) -> None:
        run = self._require_run(run)
        with self.store.atomic():
            source_sha = self.store.blobs.put(source.encode("utf-8", "surrogatepass"))
            outputs_sha = self.store.blobs.put(json.dumps(outputs).encode()) if outputs else None
            self.runs.add_cell(run.row_id, execution_count, cell_id, source_sha, outputs_sha)

    # -- reading ------------------------------------------------------------------------------------
    def get_run(self, run_ref: str | Run | ActiveRun) -> Run:
        """Any run, deleted ones too (their ``deleted_time`` says so)."""
        self.flush()
        return self.runs.get(self._row_id(run_ref))

    def search_runs(self, filter: str | None = None, order_by: str | list[str] | None = None,
                    max_results: int | None = DEFAULT_MAX_RESULTS, experiment: str | None = None, deleted: bool | None = False,
                    *, experiments: Iterable[str] | None = None, dialect: str = "nbtrack") -> list[Run]:
        """Runs matching the query grammar of :mod:`nbtrack.query`, newest first by default.

        At most ``max_results`` (1,000 by default; ``None`` for every match). Deleted runs are
        left out; ``deleted=True`` lists only them, ``deleted=None`` both. ``experiments`` names
        several experiments; ``dialect="mlflow"`` reads MLflow's filters.
        """
        self.flush()
        self.mark_dead_runs()
        where, args, order_sql, order_args = _compiled(filter, order_by, experiment, experiments, dialect)
        return self.runs.search(where, args, order_sql, order_args, max_results, deleted=deleted)

    def iter_runs(self, filter: str | None = None, order_by: str | None = None, max_results: int | None = None,
                  experiment: str | None = None, deleted: bool = False, batch: int = 1000) -> Iterator[Run]:
        """Every matching run (or the first ``max_results``), read ``batch`` runs at a time: memory
        stays flat however many match (``nbtrack runs export --format json``)."""
        for ids in self._id_batches(filter, order_by, max_results, experiment, deleted, batch):
            yield from self.runs.by_ids(ids)

    def iter_table(self, columns: Mapping[str, Sequence[str]], filter: str | None = None, order_by: str | None = None,
                   max_results: int | None = None, experiment: str | None = None, deleted: bool = False,
                   batch: int = 1000) -> Iterator[list]:
        """The matching runs as table rows (see :meth:`RunRepository.table_rows`), ``batch`` at a time,
        without building Run objects: ``nbtrack runs export --format csv`` at >= 50,000 runs/s."""
        for ids in self._id_batches(filter, order_by, max_results, experiment, deleted, batch):
            yield from self.runs.table_rows(ids, columns)

    def _id_batches(self, filter: str | None, order_by: str | None, max_results: int | None, experiment: str | None,
                    deleted: bool, batch: int) -> Iterator[list[int]]:
        """Row ids of the matching runs in order, ``batch`` at a time.

        In the default order each batch continues after the last run of the one before (keyset);
        another order reads the matching row ids once, then hands them out batch by batch.
        """
        self.flush()
        self.mark_dead_runs()
        where, args, order_sql, order_args = _compiled(filter, order_by, experiment)
        if order_by is not None and order_by.strip():
            ids = [row_id for _, row_id in self.runs.page(where, args, order_sql, order_args, max_results, deleted=deleted)]
            for first in range(0, len(ids), batch):
                yield ids[first:first + batch]
            return
        cursor, left = None, max_results
        while left is None or left > 0:
            rows = self.runs.page(where, args, limit=batch if left is None else min(batch, left), deleted=deleted, after=cursor)
            if not rows:
                return
            yield [row_id for _, row_id in rows]
            cursor, left = rows[-1], None if left is None else left - len(rows)

    def run_keys(self, filter: str | None = None, experiment: str | None = None, deleted: bool = False) -> dict[str, list[str]]:
        """The param, metric and tag keys of the matching runs, each sorted: an export's columns, known before its rows."""
        self.flush()
        where, args, _, _ = _compiled(filter, None, experiment)
        return self.runs.keys_of(where, args, deleted=deleted)

    def metric_history(self, run_ref: str | Run | ActiveRun, key: str) -> MetricHistory:
        self.flush()
        return self.runs.metric_history(self._row_id(run_ref), key)

    # -- deleting runs ------------------------------------------------------------------------------
    def delete_run(self, *run_refs: str | Run | ActiveRun) -> list[str]:
        """Hide runs, and the runs nested under them, from every listing; returns the ids deleted.

        Nothing is removed yet: :meth:`restore_run` brings them back, :meth:`purge` removes them
        for good. Refused, changing nothing, while a run is RUNNING or when it is the source of
        a registered model version. All of them in one transaction.

        >>> tracker.delete_run("3f2a")   # doctest: +SKIP
        """
        self.flush()
        self.mark_dead_runs()
        with self.store.atomic():
            roots = [self._row_id(ref) for ref in run_refs]
            tree = self.runs.nodes(roots, nested=True)
            _check_deletable(roots, tree, ModelRepository(self.store).registered_from(n.id for n in tree))
            live = [n for n in tree if n.deleted_time is None]
            self.runs.set_deleted((n.id for n in live), time.time())
        return [n.uuid for n in live]

    def restore_run(self, *run_refs: str | Run) -> list[str]:
        """Bring deleted runs back, with the nested runs deleted together with them; returns their ids."""
        with self.store.atomic():
            roots = self.runs.nodes(self._row_id(ref) for ref in run_refs)
            # a run and one nested under it may both be named: each comes back (and is listed) once
            back = list({n.id: n for root in roots for n in self._deleted_with(root)}.values())
            ids = {n.id for n in back}
            parents = self.runs.nodes(r.parent_id for r in roots if r.parent_id is not None and r.parent_id not in ids)
            hidden = next((p for p in parents if p.deleted_time is not None), None)
            if hidden is not None:
                child = next(r for r in roots if r.parent_id == hidden.id)
                raise RunStateError(f"run {_short(child)} is nested under run {_short(hidden)}, which is deleted too; "
                                    f"restore {_short(hidden)} (the runs deleted with it come back too)")
            self.runs.set_deleted(ids, None)
        return [n.uuid for n in sorted(back, key=lambda n: n.id)]

    def purge(self, older_than: float | timedelta | None = None, runs: Iterable[str | Run] = (), dry_run: bool = False) -> PurgeReport:
        """Remove deleted runs for good, with every row of theirs, then every blob nothing references.

        Which runs: those in ``runs`` (they must be deleted), else every deleted run, or those
        deleted at least ``older_than`` ago (seconds or a timedelta). Runs nested under them go
        too. One transaction; ``dry_run`` reports what would go and changes nothing.

        >>> tracker.purge(older_than=timedelta(days=30)).bytes   # doctest: +SKIP
        """
        refs = list(runs)
        if refs and older_than is not None:
            raise UsageError("purge either the runs named or the runs deleted long enough ago, not both")
        cutoff = None if older_than is None else time.time() - _seconds(older_than)
        self.flush()
        select = (lambda: [self._deleted_row(ref) for ref in refs]) if refs else (lambda: self.runs.deleted_before(cutoff))
        return gc.purge(self.store, self.runs, select, dry_run)

    def _deleted_with(self, root: RunNode) -> list[RunNode]:
        if root.deleted_time is None:
            raise RunStateError(f"run {_short(root)} is not deleted")
        return [n for n in self.runs.nodes([root.id], nested=True) if n.deleted_time == root.deleted_time]

    def _deleted_row(self, run_ref: str | Run) -> int:
        node = self.runs.nodes([self._row_id(run_ref)])[0]
        if node.deleted_time is None:
            raise RunStateError(f"run {_short(node)} is not deleted; delete it first (only deleted runs are purged)")
        return node.id

    def _row_id(self, run_ref: str | Run | ActiveRun) -> int:
        if isinstance(run_ref, ActiveRun):
            return run_ref.row_id
        return self.runs.resolve(run_ref.id if isinstance(run_ref, Run) else run_ref)

    def mark_dead_runs(self) -> int:
        """Mark KILLED, at their last heartbeat, the RUNNING runs whose process is gone: on this
        machine, the process is asked (PID alive, same start time); runs from other hosts or
        containers are dead when their heartbeat is older than ``liveness.STALE_AFTER``."""
        judge = liveness.judge(self.host, self.process, {r.row_id for r in self._stack})
        return self.runs.mark_dead_runs(judge.dead, judge.reason, skip=judge.own_runs)

    def close(self) -> None:
        """Flush buffered points and close the connection. Active runs stay RUNNING: if this
        process then exits, the next open marks them KILLED."""
        self.git.join()
        _open_trackers.discard(self)
        self.buffer.close()
        self._retry_unrecorded_ends()
        self.store.close()

    # -- internals ------------------------------------------------------------------------------
    def redact_values(self, params: Mapping[str, Any] | None = None, tags: Mapping[str, Any] | None = None,
                      redact: bool | None = None) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        """``(params, tags, names)``: secret values replaced by "<redacted>" and the names replaced.

        Every param and tag write passes here (captured params, the API, the magics, importers),
        then :meth:`record_redacted` once the rows are checked. ``redact`` defaults to :attr:`redact`.
        """
        params, tags = dict(params or {}), dict(tags or {})
        if not (self.redact if redact is None else redact):
            return params, tags, []
        params, hidden = redaction.redact(params)
        tags, hidden_tags = redaction.redact(tags)
        return params, tags, hidden + hidden_tags

    def record_redacted(self, row_id: int, names: Iterable[str]) -> None:
        """Add ``names`` to the run's ``nbtrack.redacted`` tag (read only when there is something to add)."""
        names = set(names)
        if names:
            earlier = self.runs.get(row_id).tags.get(redaction.REDACTED_TAG, "")
            listed = ",".join(sorted(names.union(filter(None, earlier.split(",")))))
            self.runs.write_batch(row_id, tags=[(redaction.REDACTED_TAG, listed)])

    def _write(self, row_id: int, params: Mapping[str, Any] | None = None, tags: Mapping[str, Any] | None = None,
               redact: bool | None = None) -> None:
        params, tags, hidden = self.redact_values(params, tags, redact)
        typed = [(check_key(k, "param name"), *param_value(v, k)) for k, v in params.items()]
        texts = _tag_rows(tags)
        if typed or texts:
            self.runs.write_batch(row_id, params=typed, tags=texts)
        self.record_redacted(row_id, hidden)

    def _retry_unrecorded_ends(self) -> None:
        for row_id, fields in list(self._unrecorded_ends.items()):
            try:
                self.runs.update_run(row_id, fields)
            except StoreError:
                return  # still refused: try again after the next successful write
            del self._unrecorded_ends[row_id]

    def _write_buffered(self, rows) -> int:
        """The buffer's write: its rows and the pending lost counts, in one transaction; returns
        how many rows were written."""
        lost = self.lost.take()
        try:
            refused = self._write_rows(rows, lost)
        except BaseException:
            self.lost.give_back(lost)
            raise
        self._report_refused(refused)
        return len(rows) - len(refused)

    def _write_rows(self, rows, lost: dict[int, int]) -> list[tuple[tuple, str]]:
        """Write buffered rows in one transaction (the caller's, if any): a row the database
        refuses is left out and counted, with the counts ``lost`` earlier, in its run's tag."""
        with self.store.atomic():
            refused = self.runs.write_buffered(rows)
            self.runs.add_to_count_tag(LOST_POINTS_TAG, _merge(lost, _counts(row for row, _ in refused)))
        return refused

    def _lost_rows(self, rows: list[tuple], reason: str) -> None:
        """The buffer gave up on ``rows`` (the store kept refusing): counted, written with a later write."""
        self.lost.add(rows)
        self.report(f"{len(rows)} logged values were not recorded: {reason}")

    def _report_refused(self, refused: list[tuple[tuple, str]]) -> None:
        for line in refusal_lines(refused, self._run_name):
            self.report(line)

    def _run_name(self, row_id: int) -> str:
        try:
            return self.runs.uuid_of(row_id)[:8]
        except Exception:  # purged meanwhile: the row id is all there is
            return f"#{row_id}"

    def _heartbeat(self) -> None:
        if self._stack:
            self.runs.heartbeat([r.row_id for r in self._stack], time.time(), liveness.STALE_ERROR_PREFIX)

    def _environment(self) -> bytes | None:
        """The installed packages as JSON, read once per tracker (reading them takes a while)."""
        if self._env_data is None:
            try:
                self._env_data = json.dumps(provenance.packages(), sort_keys=True).encode()
            except Exception:  # an odd distribution must not stop tracking
                return None
        return self._env_data

    @staticmethod
    def _notify(listeners: Iterable[Callable], *args) -> list[str]:
        problems = []
        for listener in list(listeners):
            try:
                listener(*args)
            except Exception as exc:  # a listener must never lose the run
                problems.append(f"{getattr(listener, '__qualname__', listener)} failed: {type(exc).__name__}: {exc}")
        return problems


_open_trackers: "weakref.WeakSet[Tracker]" = weakref.WeakSet()


@atexit.register
def _end_runs_at_exit() -> None:
    """Like MLflow, a script's open API (and auto-started) runs end FINISHED at exit; cell/span runs end KILLED."""
    for tracker in list(_open_trackers):
        try:
            tracker._retry_unrecorded_ends()
        except Exception:  # at exit there is no one left to tell
            pass
        for run in reversed(list(tracker._stack)):
            try:
                finished = run.kind in ("api", AUTO)
                tracker.end_run(FINISHED if finished else KILLED, error=None if finished else "the process exited while the run was active", run=run)
            except Exception:  # at exit there is no one left to tell
                pass


def _check_deletable(roots: list[int], tree: list[RunNode], registered: list[tuple[str, int, str]]) -> None:
    """Refuse (before anything changes) to delete a deleted, RUNNING or registered run."""
    for node in tree:
        if node.id in roots and node.deleted_time is not None:
            raise RunStateError(f"run {_short(node)} is already deleted; restore it first (restore_run, %track undelete or nbtrack runs restore)")
        if node.status == RUNNING:
            nested = "" if node.id in roots else " (nested under a run being deleted)"
            raise RunStateError(f"run {_short(node)} is RUNNING{nested}; end it before deleting it")
    if registered:
        model, version, run = registered[0]
        raise RunStateError(f"run {run[:8]} is the source of model {model!r} version {version}; "
                            "the registry's audit trail keeps it, so it cannot be deleted")


def _tag_rows(tags: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, text) rows for the tags table, every key and value checked before anything is written."""
    return [(check_key(k, "tag name"), tag_value(v, k)) for k, v in _mapping(tags, "tags").items()]


def _mapping(value: Any, what: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise UsageError(f"{what} must be a mapping of name to value, got {type(value).__name__}")
    return value


def _short(node: RunNode) -> str:
    return node.uuid[:8]


def _seconds(span: float | timedelta) -> float:
    seconds = span.total_seconds() if isinstance(span, timedelta) else float(span)
    if not seconds >= 0:
        raise UsageError(f"older_than must be a duration of zero or more, got {span!r}")
    return seconds


def _format_exception(exc_type, exc, tb) -> str:
    return "".join(traceback.format_exception(exc_type, exc, tb))


def _next_step(steps: dict[str, int], key: str, step: int | None) -> int:
    """The step of a new point of ``key`` (the next one when None), advancing the key's counter."""
    last = steps.get(key, 0)
    at = last if step is None else step
    steps[key] = at + 1 if at >= last else last
    return at


def _merge(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in {*a, *b}}


def _counts(rows: Iterable[tuple]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for row in rows:
        counts[row[0]] = counts.get(row[0], 0) + 1
    return counts


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return None


def _warn(message: str) -> None:
    import warnings

    warnings.warn(f"nbtrack: {message}", RuntimeWarning, stacklevel=4)
