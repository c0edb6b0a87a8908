"""IPython cell hooks: how ``%%track`` runs a cell *exactly* as IPython would.

``%%track`` is not executed as a cell magic. A cleanup input transformer removes the
``%%track ...`` line (keeping a blank line so traceback line numbers stay right), so the
cell body is compiled and run by IPython itself: same prints, same ``Out[n]``, same
exceptions and tracebacks, same "stop on error" in run-all. ``pre_run_cell`` starts the
run and ``post_run_cell`` ends it from the ``ExecutionResult`` (FAILED with the traceback,
KILLED on KeyboardInterrupt). The cell magic itself is only the fallback for code that
calls ``run_cell_magic("track", ...)`` directly, and the carrier of ``%%track?`` help.

Tracking must never break the notebook: every tracking step is wrapped so that a store
problem prints one line on stderr and the user's cell result stands.
"""

from __future__ import annotations

import hashlib
import os
import traceback
from dataclasses import dataclass, field
from functools import lru_cache

from .capture import Before, CellNames, analyze_cell, data_inputs, extract, failure_position, snapshot
from .entities import FAILED, FINISHED, KILLED
from .errors import NbtrackError, RunStateError
from .magics.parser import cell_parser, names, parse
from .magics.summary import UNSEEDED_TAG, run_summary
from .tracking import ActiveRun
from .values import parse_assignment

MAGIC_PREFIX = "%%track"


def is_tracked(raw_cell: str) -> bool:
    first = raw_cell.lstrip("\n").split("\n", 1)[0]
    return first == MAGIC_PREFIX or first.startswith(MAGIC_PREFIX + " ")


def strip_track_line(lines: list[str]) -> list[str]:
    """Cleanup transformer: blank the ``%%track`` line when its arguments parse."""
    index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if index is None or not is_tracked(lines[index].rstrip("\n")):
        return lines
    if not _parses(lines[index].rstrip("\n")):
        return lines  # leave it to the cell magic, which reports the error in one line
    rest = lines[index + 1 :]
    if any(line.strip() for line in rest) and next(line for line in rest if line.strip()).startswith("%%"):
        return rest  # another cell magic must stay first; line numbers shift by one here
    return lines[:index] + ["\n"] + rest


@lru_cache(maxsize=64)
def _parses(first_line: str) -> bool:
    """Cached: the transformer runs for IPython and again for the capture analysis, and building
    the argument parser costs more than the rest of a trivial cell's tracking."""
    try:
        parse_cell_line(first_line)
    except NbtrackError:
        return False
    return True


def parse_cell_line(first_line: str):
    """Parse and validate the ``%%track ...`` line; raises UsageError on any mistake."""
    args = parse(cell_parser(), first_line[len(MAGIC_PREFIX) :])
    args.tags = dict(parse_assignment(t) for t in args.tag)
    return args


@dataclass
class _Pending:
    """What pre_run_cell learned about the executing cell, for post_run_cell."""

    run: ActiveRun
    owns_run: bool
    names: CellNames | None
    source: str
    cell_id: str | None
    extra_params: list[str] = field(default_factory=list)
    extra_metrics: list[str] = field(default_factory=list)
    quiet: bool = False
    snapshot: bool = True
    #: the namespace as the cell found it: tells this execution's bindings from older ones
    before: Before | None = None


class CellHooks:
    """Registers the transformer and the pre/post_run_cell callbacks for one extension load.

    Holds the session's per-cell state (the pending cell, the ``%track start`` span, the last run);
    reads configuration, the tracker, the error policy and the cell listeners from ``session``.
    """

    def __init__(self, shell, session):
        self.shell = shell
        self.session = session
        self.config = session.config
        self._pending: _Pending | None = None
        self._depth = 0
        self._span: ActiveRun | None = None
        self.last_run: ActiveRun | None = None

    # -- registration -----------------------------------------------------------------------------
    def register(self) -> None:
        self.shell.input_transformers_cleanup.append(strip_track_line)
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)

    def unregister(self) -> None:
        transformers = self.shell.input_transformers_cleanup
        while strip_track_line in transformers:
            transformers.remove(strip_track_line)
        for event, callback in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            if callback in self.shell.events.callbacks[event]:
                self.shell.events.unregister(event, callback)

    # -- spans (%track start ... %track end) ----------------------------------------------------------
    def begin_span(self, run: ActiveRun) -> None:
        self._span = run
        self.last_run = run

    def span_active(self) -> bool:
        return self._span is not None and not self._span.ended

    def end_span(self, status: str = FINISHED):
        if not self.span_active():
            raise RunStateError("no run started with %track start is active")
        run, self._span = self._span, None
        return self.session.tracker.end_run(status, run=run)

    # -- events ------------------------------------------------------------------------------------
    def pre_run_cell(self, info) -> None:
        self._depth += 1
        if self._depth > 1:
            return  # a nested run_cell (e.g. from user code) belongs to the outer cell
        raw = info.raw_cell or ""
        self.session.problems.begin_cell()
        for listener in self.session.cell_listeners:
            self._guard(getattr(listener, "before_cell", None), info)
        tracked = is_tracked(raw)
        if not tracked and not self.span_active():
            return
        self._guard(self._begin, raw, getattr(info, "cell_id", None), tracked)

    def post_run_cell(self, result) -> None:
        self._depth = max(0, self._depth - 1)
        if self._depth:
            return
        pending, self._pending = self._pending, None
        if pending is not None:
            self._guard(self._finish, pending, result)
        for listener in self.session.cell_listeners:
            self._guard(getattr(listener, "after_cell", None), result, pending.run if pending else None)

    # -- the cell magic fallback ------------------------------------------------------------------------
    def run_cell_magic(self, line: str, cell: str):
        """``run_cell_magic('track', line, cell)`` called directly: run the body as a nested cell."""
        args = parse_cell_line(MAGIC_PREFIX + " " + line)  # UsageError shows as one line
        pending = self._start(args, cell, None)
        self._depth += 1  # the nested run_cell's own hooks must not start a second run
        try:
            result = self.shell.run_cell(cell, store_history=False)
        finally:
            self._depth -= 1
        self._finish(pending, result)
        return None

    # -- internals ----------------------------------------------------------------------------------
    def _begin(self, raw: str, cell_id: str | None, tracked: bool) -> None:
        if tracked:
            first, _, body = raw.lstrip("\n").partition("\n")
            try:
                args = parse_cell_line(first)
            except NbtrackError:
                return  # not stripped by the transformer: the cell magic reports the mistake
            self._pending = self._start(args, body, cell_id, compiled=raw)
        else:
            pending = _Pending(self._span, False, self._analyze(raw), raw, cell_id)
            pending.before = self._snapshot(pending)
            self._pending = pending

    def _start(self, args, body: str, cell_id: str | None, compiled: str | None = None) -> _Pending:
        """``compiled``: the cell as IPython compiles it (the ``%%track`` line blanked), analysed so
        that line numbers in a traceback match; ``body`` when IPython runs the body itself."""
        tracker = self.session.tracker
        tags = args.tags
        cell_key = cell_id or "src:" + hashlib.sha1(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        run = tracker.start_run(args.name, experiment=args.experiment, tags=tags, kind="cell", cell_key=cell_key)
        self.last_run = run
        pending = _Pending(
            run,
            True,
            self._analyze(body if compiled is None else compiled),
            body,
            cell_id,
            names(args.params),
            names(args.metrics),
            quiet=args.quiet or self.config.quiet,
            snapshot=not args.no_snapshot and self.config.snapshot,
        )
        pending.before = self._snapshot(pending)
        return pending

    def _snapshot(self, pending: _Pending) -> Before | None:
        if pending.names is None and not pending.extra_params and not pending.extra_metrics:
            return None
        return snapshot(
            pending.names or CellNames(),
            self.shell.user_ns,
            (*pending.extra_params, *pending.extra_metrics),
            inputs=pending.names is not None and self.config.capture_inputs,
        )

    def _analyze(self, source: str) -> CellNames | None:
        if not self.config.capture_params:
            return None
        try:
            return analyze_cell(self.shell.transform_cell(source))
        except Exception:  # transform of odd input: capture nothing rather than fail
            return None

    def _finish(self, pending: _Pending, result) -> None:
        tracker = self.session.tracker
        run = pending.run
        try:
            self._capture(pending, result)
            tracker.record_cell(pending.source, getattr(result, "execution_count", None), pending.cell_id, run=run)
        finally:
            if pending.owns_run:
                status, error = _outcome(result)
                ended = tracker.end_run(status, error=error, run=run)
                if not pending.quiet:
                    print(run_summary(tracker, ended))

    def _capture(self, pending: _Pending, result) -> None:
        """Only what this execution bound or read: nothing when the cell did not compile, and
        only what ran before the failing statement when it raised (see nbtrack.capture)."""
        if pending.before is None or getattr(result, "error_before_exec", None) is not None:
            return
        names = pending.names or CellNames()
        error = getattr(result, "error_in_exec", None)
        if error is not None:
            names = names.executed(failure_position(error, self.shell.user_global_ns))
        captured = extract(
            names,
            self.shell.user_ns,
            tuple(self.config.metric_patterns),
            extra_params=pending.extra_params,
            extra_metrics=pending.extra_metrics,
            estimators=self.config.capture_estimators,
            before=pending.before,
        )
        tracker = self.session.tracker
        if pending.names is not None and self.config.capture_inputs:
            inputs, _ = data_inputs(names, self.shell.user_ns, pending.before)
            pending.run.inputs.update(inputs)
        if captured.params:
            tracker.log_params(captured.params, run=pending.run)
        for key, value in captured.metrics.items():
            tracker.log_metric(key, value, run=pending.run)
        if captured.unseeded and pending.owns_run:
            tracker.set_tag(UNSEEDED_TAG, ", ".join(dict.fromkeys(captured.unseeded)), run=pending.run)
        for name, reason in captured.skipped:
            if name in pending.extra_params or name in pending.extra_metrics:
                self.session.problems.report(f"{name!r} was not recorded: {reason}")

    def _guard(self, step, *args) -> None:
        """Run a tracking step; a failure prints one line and never reaches the user's cell."""
        if step is None:
            return
        try:
            step(*args)
        except NbtrackError as exc:
            # pausing also keeps nbtrack.log_metric & co. in this cell from retrying a refusing store
            self.session.problems.pause(f"this cell was not fully recorded: {exc}")
        except Exception as exc:  # a bug in nbtrack must not break the notebook either
            self.session.problems.pause(
                f"internal error, this cell was not fully recorded: {type(exc).__name__}: {exc}"
            )
            if "NBTRACK_DEBUG" in os.environ:
                traceback.print_exc()


def _outcome(result) -> tuple[str, str | None]:
    error = getattr(result, "error_before_exec", None) or getattr(result, "error_in_exec", None)
    if error is None:
        return FINISHED, None
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.endswith("interactiveshell.py"):
        tb = tb.tb_next  # start at the user's cell, not inside IPython
    text = "".join(traceback.format_exception(type(error), error, tb))
    if isinstance(error, KeyboardInterrupt):
        return KILLED, text
    return FAILED, text


__all__ = ["CellHooks", "is_tracked", "strip_track_line"]
