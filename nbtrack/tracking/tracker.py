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
import socket
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .. import fingerprint as fingerprints
from .. import provenance
from ..entities import FINISHED, KILLED, RUN_STATUSES, RUNNING, SYSTEM_TAG_PREFIX, Run
from ..errors import RunStateError, StoreError, UsageError
from ..store import RunRepository, Store
from ..store.runs import BufferedRow, ParamRow
from ..values import check_key, check_text, metric_step, metric_timestamp, metric_value, param_value
from . import liveness
from .active import ActiveRun
from .annotation import Annotation, tag_rows
from .artifact_log import ArtifactLog
from .buffer import MetricBuffer
from .git_recorder import GitRecorder
from .lost import LOST_POINTS_TAG, LostPoints, refusal_lines
from .policy_check import RunPolicy
from .parts import TrackerPart, checked_mapping
from .reading import DEFAULT_MAX_RESULTS, Reading
from .retention import Retention

DEFAULT_EXPERIMENT = "Default"
#: the kind of a run started implicitly by logging outside any run
AUTO = "auto"
#: tags written by nbtrack itself live under this prefix
#: set by ``nbtrack rerun`` in the kernel it starts, so every run made there names the run it re-executes
RERUN_ENV = "NBTRACK_RERUN_OF"
RERUN_TAG = SYSTEM_TAG_PREFIX + "rerun_of"


class Tracker(Annotation, ArtifactLog, Retention, Reading, TrackerPart):
    """Tracking service over one :class:`~nbtrack.store.Store`: the faces' one entry point.

    This module holds the run lifecycle (start, end, resume, attach), logging (params, metrics,
    inputs) and the buffered writes; the other responsibilities are mixins in their own modules
    (see :mod:`nbtrack.tracking.parts` for why mixins): :class:`~.annotation.Annotation` (tags,
    notes, renames), :class:`~.artifact_log.ArtifactLog` (artifacts and cells),
    :class:`~.retention.Retention` (delete, restore, purge) and :class:`~.reading.Reading`
    (get, search, listing, keys, history).
    """

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
    def open(
        cls, path: str | os.PathLike | None = None, experiment: str = DEFAULT_EXPERIMENT, *, create: bool = True
    ) -> "Tracker":
        """A tracker on the store at ``path`` (found as :func:`~nbtrack.store.resolve_store` finds it);
        ``create=False`` refuses, with a StoreError, to create a store that does not exist."""
        return cls(Store.open(path, create=create), experiment)

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
                {
                    "python": provenance.python_info(),
                    "cwd": info.get("cwd"),
                    "env": provenance.safe_environment(),
                    "kind": kind,
                    "process": self.process,
                    **(extra or {}),
                },
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
            self.report(
                f"run {ended.short_id} ended {ended.status}, but {ended.tags[LOST_POINTS_TAG]} logged values "
                f"were not recorded (tag {LOST_POINTS_TAG})"
            )
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
            self.runs.update_run(
                node.id,
                {
                    "status": RUNNING,
                    "end_time": None,
                    "error": None,
                    "heartbeat": now,
                    "pid": os.getpid(),
                    "host": self.host,
                },
            )
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
        handle = ActiveRun(
            self, node.id, stored.id, stored.name, stored.experiment, stored.start_time, ended=stored.status != RUNNING
        )
        handle.steps = {key: summary.step + 1 for key, summary in stored.metrics.items()}
        return handle

    def create_run(
        self,
        name: str | None = None,
        *,
        experiment: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> ActiveRun:
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
        return (
            self._stack.index(candidate) > self._stack.index(ancestor)
            if candidate in self._stack and ancestor in self._stack
            else False
        )

    # -- logging --------------------------------------------------------------------------------
    def log_param(self, key: str, value: Any, run: ActiveRun | None = None) -> Any:
        self.log_params({key: value}, run=run)
        return value

    def log_params(self, params: Mapping[str, Any], run: ActiveRun | None = None) -> None:
        """Checked now, written with the next flush (like metrics): a commit per param would cost ~20 us."""
        params = checked_mapping(params, "params")
        run = self._require_run(run)
        params, _, hidden = self.redact_values(params, redact=run.redact)
        rows = [ParamRow(run.row_id, check_key(k, "param name"), *param_value(v, k)) for k, v in params.items()]
        self.record_redacted(run.row_id, hidden)
        self.buffer.extend(rows)

    def log_metric(
        self,
        key: str,
        value: Any,
        step: int | None = None,
        timestamp: float | None = None,
        run: ActiveRun | None = None,
    ) -> None:
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

    def log_metrics(
        self,
        metrics: Mapping[str, Any],
        step: int | None = None,
        timestamp: float | None = None,
        run: ActiveRun | None = None,
    ) -> None:
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
        checked = [
            (key if key in known else check_key(key, "metric name"), metric_value(value, key))
            for key, value in metrics.items()
        ]
        if run is None:
            run = self._require_run(None)
        steps, row_id = run.steps, run.row_id
        self.buffer.extend([(row_id, key, _next_step(steps, key, step), value, when) for key, value in checked])

    def transaction(self):
        """One transaction for several writes (nested ones join it): ``with tracker.transaction(): ...``."""
        return self.store.atomic()

    def record_run_fields(self, run: ActiveRun, fields: Mapping[str, Any]) -> None:
        """Write what the run-end listeners found (notebook path, snapshot, receipt, provenance, cell key)."""
        self.runs.update_run(run.row_id, dict(fields))

    def change_stamp(self) -> tuple[int, int]:
        """Differs from an earlier stamp iff the store may have changed since, by any process
        (see :meth:`nbtrack.store.Store.change_stamp`); buffered points count once flushed."""
        return self.store.change_stamp()

    def log_input(
        self, data: Any, name: str, run: ActiveRun | None = None, context: str | None = None
    ) -> dict[str, Any]:
        """Record a fingerprint of ``data`` (shape, dtypes, content digest; not the data) as input ``name``.

        Kept with the run and written when it ends, like the rest of its provenance. ``context``
        says what the run used it for (MLflow's dataset context: ``training``, ``eval``, ...).
        """
        name = check_key(name, "input name")
        if not fingerprints.is_data(data):
            raise UsageError(
                f"log_input takes a NumPy array or a pandas DataFrame, Series or Index, got {type(data).__name__}"
            )
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

    def _write(
        self,
        row_id: int,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        redact: bool | None = None,
    ) -> None:
        params, tags, hidden = self.redact_values(params, tags, redact)
        typed = [(check_key(k, "param name"), *param_value(v, k)) for k, v in params.items()]
        texts = tag_rows(tags)
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

    def _write_buffered(self, rows: list[BufferedRow]) -> int:
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

    def _write_rows(self, rows: list[BufferedRow], lost: dict[int, int]) -> list[tuple[BufferedRow, str]]:
        """Write buffered rows in one transaction (the caller's, if any): a row the database
        refuses is left out and counted, with the counts ``lost`` earlier, in its run's tag."""
        with self.store.atomic():
            refused = self.runs.write_buffered(rows)
            self.runs.add_to_count_tag(LOST_POINTS_TAG, _merge(lost, _counts(row for row, _ in refused)))
        return refused

    def _lost_rows(self, rows: list[BufferedRow], reason: str) -> None:
        """The buffer gave up on ``rows`` (the store kept refusing): counted, written with a later write."""
        self.lost.add(rows)
        self.report(f"{len(rows)} logged values were not recorded: {reason}")

    def _report_refused(self, refused: list[tuple[BufferedRow, str]]) -> None:
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
                tracker.end_run(
                    FINISHED if finished else KILLED,
                    error=None if finished else "the process exited while the run was active",
                    run=run,
                )
            except Exception:  # at exit there is no one left to tell
                pass


def _next_step(steps: dict[str, int], key: str, step: int | None) -> int:
    """The step of a new point of ``key`` (the next one when None), advancing the key's counter."""
    last = steps.get(key, 0)
    at = last if step is None else step
    steps[key] = at + 1 if at >= last else last
    return at


def _merge(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in {*a, *b}}


def _counts(rows: Iterable[BufferedRow]) -> dict[int, int]:
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


__all__ = ["AUTO", "ActiveRun", "DEFAULT_EXPERIMENT", "DEFAULT_MAX_RESULTS", "RERUN_ENV", "RERUN_TAG", "Tracker"]
