"""The kernel-facing half of snapshots: execution history, notebook path, lab pushes, run receipts.

Attached by the extension (``Extension._plugins``). Per executed cell it only notes the
cell's source, id, count, start time and where IPython's own output record stands
(``before_cell`` / ``after_cell``: microseconds, no copying). All real work happens when a
run ends (``Tracker.run_end_listeners``): resolve the notebook path, store the history and
the notebook snapshot (see :mod:`nbtrack.snapshot` for the format), build the hidden-state
receipt, record papermill's injected parameters. Any failure there becomes one
``nbtrack:`` line on stderr and a reason in the run's provenance; the run is still recorded.

Kernel-only pieces (no-ops in a plain ``InteractiveShell``): the comm target
``nbtrack.notebook`` that receives the JupyterLab extension's pushes into :attr:`live`,
``run_ended`` messages back over that comm, and the ``/api/sessions`` path lookup.
"""

from __future__ import annotations

import ast
import json
import sys
import time
from types import SimpleNamespace
from typing import Any

from .capture import analyze_cell, extract
from .hooks import MAGIC_PREFIX, is_tracked
from .lab_protocol import COMM_TARGET, PROTOCOL, run_ended
from .snapshot import ExecutionHistory, LivePush, notebook as nbfile, path as nbpath, receipt as rcpt, storage
from .snapshot.history import HistoryEntry
from .snapshot.outputs import to_nbformat

SNAPSHOT_FORMAT = 1
_PAPERMILL_TAGS = ("injected-parameters", "parameters")
_PAPERMILL_MARKER = "# Parameters"
_STREAM_TYPES = ("out_stream", "err_stream")


class NotebookPlugin:
    """One per extension load; ``attach`` / ``detach`` register and remove everything it adds."""

    def __init__(self) -> None:
        self.history = ExecutionHistory()
        self.live = LivePush()
        #: set by ``%track notebook PATH``; beats every other way of finding the path
        self.override: str | None = None
        self.shell = None
        #: the session's configuration (the TrackMagics traits snapshot, snapshot_outputs, max_output_bytes)
        self.config = None
        self.server: nbpath.ServerLookup | None = None
        self._comm = None
        self._comm_manager = None
        #: the tracker whose run-end listeners hold this plugin's callbacks
        self._wired = None
        self._no_snapshot_seq: set[int] = set()
        self._warned: set[str] = set()
        #: the receipt of each run, folded incrementally over ``history`` (each entry analysed once)
        self._receipts = rcpt.Receipts(self._transform)
        self._papermill_scan = _PapermillScan()
        #: the history chunks stored so far (see storage.put_history)
        self._history_chunks: dict[int, tuple] = {}
        #: seconds spent in the last run-end step (for benchmarks and the report)
        self.last_run_end_seconds = 0.0

    # -- attach / detach --------------------------------------------------------------------------
    def attach(self, session) -> None:
        self.shell, self.config = session.shell, session.config
        self.server = nbpath.ServerLookup(_kernel_id(self.shell))
        self._seed()
        session.cell_listeners.append(self)
        session.tracker_listeners.append(self._wire)
        session.notebook = self
        if session.open_tracker is not None:
            self._wire(session.open_tracker)
        self._register_comm_target()

    def _seed(self) -> None:
        """Cells run before ``%load_ext nbtrack`` (and the loading cell itself) from IPython's own history.

        Their start times and cell ids are unknown; their outputs come from the same record.
        """
        manager = getattr(self.shell, "history_manager", None)
        raw = list(getattr(manager, "input_hist_raw", None) or [])[1:]
        running = getattr(self.shell.displayhook, "exec_result", None) is not None
        for count, source in enumerate(raw, start=1):
            entry = self.history.begin(count, None, source, 0.0)
            entry.marks = {count: (0, 0)}
            if not (running and count == len(raw)):
                self.history.finish(0.0, self._outputs_of, self._error_of(entry))
        if not running:
            self.history.current = None

    def detach(self, session) -> None:
        if self in session.cell_listeners:
            session.cell_listeners.remove(self)
        if self._wire in session.tracker_listeners:
            session.tracker_listeners.remove(self._wire)
        if session.notebook is self:
            session.notebook = None
        self._unwire()
        if self._comm_manager is not None:
            self._comm_manager.unregister_target(COMM_TARGET, self._on_comm_open)
            self._comm_manager = None

    def _wire(self, tracker) -> None:
        self._unwire()
        self._wired = tracker
        tracker.run_end_listeners.append(self.on_run_end)
        tracker.run_ended_listeners.append(self.on_run_ended)

    def _unwire(self) -> None:
        tracker, self._wired = self._wired, None
        if tracker is not None:
            for listeners, callback in (
                (tracker.run_end_listeners, self.on_run_end),
                (tracker.run_ended_listeners, self.on_run_ended),
            ):
                if callback in listeners:
                    listeners.remove(callback)

    # -- per cell (hot path: keep it tiny) ---------------------------------------------------------
    def before_cell(self, info) -> None:
        shell = self.shell
        count = shell.execution_count
        stored = bool(getattr(info, "store_history", True))
        raw = info.raw_cell or ""
        entry = self.history.begin(count - 1 if stored else None, getattr(info, "cell_id", None), raw, time.time())
        record = _output_record(shell)
        # IPython keys a non-stored cell's streams under the next count, its results under the last one
        keys = (count - 1,) if stored else (count - 1, count)
        entry.marks = {k: _mark(record.get(k)) for k in keys} if record is not None else None
        if raw.startswith(MAGIC_PREFIX) and is_tracked(raw) and "--no-snapshot" in raw.split("\n", 1)[0]:
            self._no_snapshot_seq.add(entry.seq)

    def after_cell(self, result, run) -> None:
        self.history.finish(time.time(), self._outputs_of, self._error_of(self.history.current, result))

    def _outputs_of(self, entry: HistoryEntry) -> list:
        record = _output_record(self.shell)
        marks = getattr(entry, "marks", None)
        if record is None or not marks:
            return []
        return [item for key, mark in sorted(marks.items()) for item in _since(record.get(key), mark)]

    def _error_of(self, entry: HistoryEntry | None, result=None) -> dict | None:
        manager = getattr(self.shell, "history_manager", None)
        if entry is not None and entry.execution_count is not None and manager is not None:
            stored = getattr(manager, "exceptions", {}).get(entry.execution_count)
            if stored:
                return dict(stored)
        error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        return {"ename": type(error).__name__, "evalue": str(error), "traceback": []} if error is not None else None

    # -- notebook path ------------------------------------------------------------------------------
    def notebook_path(self) -> nbpath.NotebookPath:
        pushed = self.live.path
        if pushed is not None:
            pushed = nbpath.absolute_push_path(pushed, self.server.roots() if self.server else [])
        executed = tuple(e.source for e in self.history.entries[-20:])
        return nbpath.resolve(
            override=self.override, pushed=pushed, user_ns=self.shell.user_ns, server=self.server, executed=executed
        )

    # -- run end ----------------------------------------------------------------------------------------
    def on_run_end(self, run, status: str) -> None:
        started = time.perf_counter()
        try:
            self._record(run)
        finally:
            self.last_run_end_seconds = time.perf_counter() - started

    def _record(self, run) -> None:
        tracker = run.tracker
        current = self.history.current
        if current is not None:  # the run ends inside its cell: take the outputs produced so far
            current.raw_outputs, current.error, current.stored = (
                self._outputs_of(current),
                self._error_of(current),
                None,
            )
        entries = list(self.history.entries)
        first = _first_seq(entries, run.start_time)
        where = self.notebook_path()
        fields: dict[str, Any] = {"notebook_path": where.path, "path_method": where.method}
        info: dict[str, Any] = {"format": SNAPSHOT_FORMAT, "path_method": where.method}
        read = self._read_notebook(where, entries)
        if self.config.snapshot and not any(e.seq in self._no_snapshot_seq for e in entries[first:]):
            self._store(tracker, read, entries, fields, info)
        else:
            info["skipped"] = "disabled (--no-snapshot or TrackMagics.snapshot = False)"
        cells = (
            None
            if read.notebook is None
            else [
                rcpt.Cell(i, c.get("id"), nbfile.cell_source(c)) for i, c in enumerate(nbfile.code_cells(read.notebook))
            ]
        )
        fields["receipt"] = json.dumps(self._receipts.build(entries, cells, first, stale=read.stale))
        fields.update(_cell_key(run, self._receipts.cell_of_last()))
        self._papermill_params(run, read.notebook, entries, info)
        fields["provenance"] = json.dumps({**tracker.run_provenance(run), "snapshot": info}, default=str)
        tracker.record_run_fields(run, fields)

    def _read_notebook(self, where: nbpath.NotebookPath, entries: list[HistoryEntry]) -> nbfile.NotebookRead:
        if self.live.latest is not None and where.method == nbpath.LAB:
            return nbfile.NotebookRead(_with_outputs(self.live.notebook(), entries), "lab extension")
        return nbfile.read_disk(where.path, entries[-1].started if entries else None)

    def _store(self, tracker, read: nbfile.NotebookRead, entries, fields: dict, info: dict) -> None:
        blobs = tracker.blobs
        keep, limit = self.config.snapshot_outputs, self.config.max_output_bytes
        with tracker.transaction():
            info["history_sha256"], truncated = storage.put_history(blobs, entries, keep, limit, self._history_chunks)
            info["history_cells"] = len(entries)
            if truncated:
                info["outputs_truncated_cells"] = truncated
            if read.notebook is None:
                info["skipped"] = read.reason
                if read.source != "none":
                    self._warn_once(f"notebook snapshot skipped: {read.reason}")
                return
            notebook, cut = nbfile.limit_outputs(read.notebook, keep, limit)
            fields["snapshot_sha256"] = storage.put_notebook(blobs, notebook)
            info.update(source=read.source, stale=read.stale, outputs_truncated=cut, notebook_mtime=read.mtime)

    def _transform(self, source: str) -> str:
        """IPython's transform (magics -> calls), for the receipt's name analysis."""
        return self.shell.transform_cell(source)

    # -- papermill ----------------------------------------------------------------------------------------
    def _papermill_params(self, run, notebook: dict | None, entries, info: dict) -> None:
        source, origin = _parameters_source(notebook, entries, self._papermill_scan)
        if source is None:
            return
        captured = extract(analyze_cell(source), _literal_namespace(source), ())
        existing = set(run.tracker.stored_run(run).params)
        params = {k: v for k, v in captured.params.items() if k not in existing}
        if params:
            run.tracker.log_params(params, run=run)
        info["papermill"] = {"from": origin, "params": sorted(captured.params)}

    # -- JupyterLab comm ------------------------------------------------------------------------------------
    def _register_comm_target(self) -> None:
        kernel = getattr(self.shell, "kernel", None)
        manager = getattr(kernel, "comm_manager", None)
        if manager is None:
            return  # a plain InteractiveShell: nobody can push
        manager.register_target(COMM_TARGET, self._on_comm_open)
        self._comm_manager = manager
        self._open_comm()

    def _open_comm(self) -> None:
        """Open the comm from the kernel as soon as nbtrack loads.

        Under Run All every cell is scheduled before ``%load_ext nbtrack`` registers the
        target, so the frontend's own opens all fail; a kernel-opened comm (which the lab
        extension adopts, answering with a ``connect`` push) still carries ``run_ended``
        to the side panel. Without the extension nobody answers, which costs nothing.
        """
        try:
            from comm import create_comm

            self._on_comm_open(create_comm(target_name=COMM_TARGET, data={"type": "hello", "protocol": PROTOCOL}), {})
        except Exception:  # comms unavailable in this kernel: frontend-opened comms still work
            self._comm = None

    def _on_comm_open(self, comm, message) -> None:
        self._comm = comm
        comm.on_msg(self._on_comm_msg)
        comm.on_close(lambda _msg: setattr(self, "_comm", None) if self._comm is comm else None)
        self.receive((message.get("content") or {}).get("data"))

    def _on_comm_msg(self, message) -> None:
        self.receive((message.get("content") or {}).get("data"))

    def receive(self, data) -> None:
        """A push from the lab extension (tests may call this directly with the message dict)."""
        if data:
            self.live.receive(data)

    def on_run_ended(self, run) -> None:
        if self._comm is not None:
            self._comm.send(run_ended(run.id, run.status, name=run.name))

    def _warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            print(f"nbtrack: {message}", file=sys.stderr)


def _output_record(shell) -> dict | None:
    """IPython >= 9's per-execution output record (None before 9: outputs are then not captured)."""
    return getattr(getattr(shell, "history_manager", None), "outputs", None)


def _mark(outputs: list | None) -> tuple[int, int]:
    """Where IPython's output list for a count stands: (items, parts of the last item if a stream)."""
    if not outputs:
        return 0, 0
    last = outputs[-1]
    return len(outputs), len(last.bundle.get("stream", ())) if last.output_type in _STREAM_TYPES else 0


def _since(outputs: list | None, mark: tuple[int, int]) -> list:
    """Outputs added after ``mark``. IPython appends a new write to the previous stream item when the
    last item is a stream of the same name, even one from an earlier (non-stored) cell: keep only the new parts."""
    if not outputs:
        return []
    count, parts = mark
    new = list(outputs[count:])
    if count and parts:
        last = outputs[count - 1]
        grown = list(last.bundle.get("stream", ()))[parts:]
        if grown:
            new.insert(0, SimpleNamespace(output_type=last.output_type, bundle={"stream": grown}))
    return new


def _cell_key(run, cell: rcpt.Cell | None) -> dict[str, str]:
    """A run keyed by its cell's code (the kernel was told no cell id: nbclient, papermill, plain
    IPython) gets the id of the notebook cell the receipt located it in, so distinct cells with the
    same code are distinct cells (and a cell keeps its key when edited)."""
    key = getattr(run, "cell_key", None)
    if key and key.startswith("src:") and cell is not None and cell.cell_id:  # "src:<hash>": see hooks.CellHooks._start
        return {"cell_key": cell.cell_id}
    return {}


def _first_seq(entries: list[HistoryEntry], start_time: float) -> int:
    """The history entry the run started in (a run starts inside a cell, after its ``before_cell``);
    searched from the end, where the run is, so a long session costs nothing."""
    return next((entry.seq for entry in reversed(entries) if entry.started <= start_time), 0)


def _with_outputs(notebook: dict, entries: list[HistoryEntry]) -> dict:
    """Live cells carry no outputs: give each the outputs and count of its latest execution here."""
    latest = {e.cell_id: e for e in entries if e.cell_id}
    for cell in notebook["cells"]:
        entry = latest.get(cell.get("id"))
        if entry is not None and cell["cell_type"] == "code":
            cell["outputs"] = to_nbformat(entry.raw_outputs, entry.execution_count, entry.error)
            cell["execution_count"] = entry.execution_count
    return notebook


def _parameters_source(notebook: dict | None, entries: list[HistoryEntry], scan) -> tuple[str | None, str | None]:
    for tag in _PAPERMILL_TAGS:
        for cell in nbfile.code_cells(notebook):
            if tag in ((cell.get("metadata") or {}).get("tags") or []):
                if tag == "injected-parameters":
                    return nbfile.cell_source(cell), "notebook cell tagged injected-parameters"
                break
    entry = scan(entries)
    if entry is not None:
        return entry.source, "executed cell starting with papermill's '# Parameters' comment"
    return None, None


class _PapermillScan:
    """The first executed cell starting with papermill's marker; each entry looked at once per session."""

    def __init__(self) -> None:
        self.scanned, self.found = 0, None

    def __call__(self, entries: list[HistoryEntry]) -> HistoryEntry | None:
        for entry in entries[self.scanned :] if self.found is None else ():
            self.scanned += 1
            if entry.source.lstrip().startswith(_PAPERMILL_MARKER + "\n"):
                self.found = entry
                break
        return self.found


def _literal_namespace(source: str) -> dict[str, Any]:
    """Values of the cell's top-level literal assignments, read from the syntax tree (never executed)."""
    namespace: dict[str, Any] = {}
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return namespace
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            try:
                namespace[stmt.targets[0].id] = ast.literal_eval(stmt.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
    return namespace


def _kernel_id(shell) -> str | None:
    if getattr(shell, "kernel", None) is None:
        return None
    try:
        from ipykernel import get_connection_file

        return nbpath.kernel_id_from_connection_file(get_connection_file())
    except Exception:  # not started from a connection file (embedded kernels)
        return None


__all__ = ["COMM_TARGET", "NotebookPlugin"]
