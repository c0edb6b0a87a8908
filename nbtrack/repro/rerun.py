"""Re-execute a run's notebook snapshot in a fresh kernel and check that it reproduces the run.

Why a fresh kernel: the point is to prove the notebook runs top to bottom without the
hidden state of the session that made the run. The snapshot is written to a notebook file
(``output``, else a temporary one) whose path the kernel learns via ``JPY_SESSION_NAME``, so
the rerun's own snapshots are of exactly what ran; the kernel's working directory is the
original notebook's folder when it still exists (relative data paths keep working). The
kernel tracks into the same store (``NBTRACK_STORE``) and, through ``NBTRACK_RERUN_OF``,
tags every run it makes ``nbtrack.rerun_of=<original id>``.

The kernel is a separate process driven by nbclient, so calling this from a notebook
(``%track rerun``) does not need the calling kernel and cannot deadlock with it. A rerun
inside a rerun (the snapshot contains the ``%track rerun`` cell) is refused.

Verified means an outcome was compared and matched: the run's metrics and its cells'
outputs (see :mod:`.verify`). A rerun whose match has neither (no metric logged, no output
printed, or no execution history stored) is "not verifiable: no outcomes to compare", never
verified, however many params and inputs agree.

The original run gets ``nbtrack.verified`` = "true" | "false" (removed when not verifiable),
``nbtrack.verified_by`` (the matching rerun run id, empty when none) and ``nbtrack.differs``
(the differing fields, ``metrics.acc, params.seed, outputs.In [3]``, empty when verified).

>>> result = rerun(tracker, "3f2a", progress=print)   # doctest: +SKIP
>>> result.verified, result.differing
(False, ['metrics.acc'])
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..entities import RUNNING, Run
from ..errors import UsageError
from ..tracking.tracker import RERUN_ENV, RERUN_TAG, SYSTEM_TAG_PREFIX
from ..values import tag_value
from ..snapshot import canonical, storage
from . import verify
from ..snapshot.outputs import output_text
from .tolerance import Tolerance

VERIFIED_TAG = SYSTEM_TAG_PREFIX + "verified"
VERIFIED_BY_TAG = SYSTEM_TAG_PREFIX + "verified_by"
DIFFERS_TAG = SYSTEM_TAG_PREFIX + "differs"
DEFAULT_CELL_TIMEOUT = 600
NOT_VERIFIABLE = "not verifiable: no outcomes to compare (no metric logged and no cell output recorded)"
#: ``progress(number, total, first line of the cell)`` before each code cell runs
Progress = Callable[[int, int, str], Any]


@dataclass(frozen=True)
class Execution:
    cells_run: int
    cells_total: int
    error: str | None  # why execution stopped early (a cell raised, timed out, the kernel died)


@dataclass(frozen=True)
class RerunResult:
    """The outcome of :func:`rerun`; ``display.rerun.RerunReport`` renders it."""

    original: Run
    match: Run | None
    matched_by: str | None
    checks: tuple[verify.Check, ...]
    runs: tuple[Run, ...]  # every run the re-execution recorded, in start order
    execution: Execution
    tolerance: Tolerance
    source: str  # "snapshot" | "execution history"
    notebook: str | None  # the executed notebook, when kept (``output``)
    notes: tuple[str, ...] = ()  # caveats, e.g. a stale snapshot

    @property
    def differing(self) -> list[str]:
        return [c.field for c in self.checks if not c.ok]

    @property
    def reasons(self) -> list[str]:
        """Why the run is not verified (empty when it is)."""
        if self.match is None:
            found = f"{len(self.runs)} run(s) recorded, none" if self.runs else "no runs recorded, so none"
            return [f"{found} matches run {self.original.short_id} by cell or name"]
        found = []
        if self.match.status != self.original.status:
            found.append(f"the rerun ended {self.match.status}, the original {self.original.status}")
        if self.differing:
            found.append("differs: " + ", ".join(self.differing))
        elif not self.verifiable:
            found.append(NOT_VERIFIABLE)
        return found

    @property
    def verifiable(self) -> bool:
        """Whether any outcome (a metric, a cell's output) was compared."""
        return verify.outcomes_compared(self.checks)

    @property
    def verified(self) -> bool:
        return not self.reasons


def rerun(
    tracker,
    run_ref: str,
    *,
    tolerance: Tolerance | None = None,
    timeout: int = DEFAULT_CELL_TIMEOUT,
    kernel_name: str | None = None,
    as_executed: bool = False,
    output: str | None = None,
    progress: Progress | None = None,
) -> RerunResult:
    """Re-execute run ``run_ref``'s notebook and mark the run verified or not (see the module doc)."""
    if nested_rerun():
        raise UsageError(nested_rerun())
    tolerance = tolerance or Tolerance()
    original = tracker.get_run(run_ref)
    if original.status == RUNNING:
        raise UsageError(f"run {original.short_id} is still running; end it before re-executing it")
    if output and os.path.exists(output):
        raise UsageError(f"{output} exists; choose another --output file")
    blobs = tracker.store.blobs
    notebook = storage.history_notebook(blobs, original) if as_executed else storage.snapshot_notebook(blobs, original)
    tracker.flush()
    with tempfile.TemporaryDirectory(prefix="nbtrack-rerun-") as scratch:
        path = os.path.abspath(output) if output else os.path.join(scratch, _file_name(original))
        node = storage.writable(notebook)
        _write(node, path)
        original_dir = os.path.dirname(original.provenance.get("notebook_path") or "")
        cwd = original_dir if original_dir and os.path.isdir(original_dir) else scratch
        env = _kernel_env(tracker, original, path)
        started = time.time()
        execution = execute(node, cwd=cwd, env=env, timeout=timeout, kernel_name=kernel_name, progress=progress)
        if output:
            _write(node, path)
    runs = tuple(
        tracker.search_runs(f"tags.{RERUN_TAG} = '{original.id}' and start_time >= {started!r}", "start_time asc")
    )
    found, how = verify.match(original, runs, _cell_sources(tracker, (original, *runs)))
    checks = verify.checks(original, found, tolerance, _outputs(blobs, original, found)) if found is not None else ()
    result = RerunResult(
        original,
        found,
        how,
        checks,
        runs,
        execution,
        tolerance,
        "execution history" if as_executed else "snapshot",
        os.path.abspath(output) if output else None,
        _notes(original, as_executed),
    )
    _mark(tracker, result)
    return result


def execute(
    node,
    *,
    cwd: str,
    env: dict[str, str],
    timeout: int,
    kernel_name: str | None = None,
    progress: Progress | None = None,
) -> Execution:
    """Run the code cells of ``node`` in order in a new kernel, stopping at the first failure.

    The kernel is always shut down (nbclient's ``setup_kernel`` context), even on Ctrl-C.
    """
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    name = kernel_name or (node.metadata.get("kernelspec") or {}).get("name") or "python3"
    client = NotebookClient(node, timeout=timeout, kernel_name=name, resources={"metadata": {"path": cwd}})
    client.km = client.create_kernel_manager()
    cells = [(index, cell) for index, cell in enumerate(node.cells) if cell.cell_type == "code"]
    done = 0
    try:
        with tempfile.TemporaryDirectory(prefix="nbtrack-kernel-") as sockets:
            # ipc: no TCP ports and no "running over TCP" warning. The socket path must be absolute:
            # jupyter_client's default ("kernel-ipc") resolves against each process's own cwd.
            client.km.transport, client.km.ip = "ipc", os.path.join(sockets, "kernel")
            with client.setup_kernel(env=env):
                for number, (index, cell) in enumerate(cells, start=1):
                    if progress is not None:
                        progress(number, len(cells), _title(cell.source))
                    client.execute_cell(cell, index)
                    done = number
    except NoSuchKernel:
        raise UsageError(
            f"kernel {name!r} is not installed here; pass --kernel with one that is (jupyter kernelspec list)"
        ) from None
    except CellTimeoutError:
        return Execution(done, len(cells), f"cell {done + 1} timed out after {timeout} s (raise --timeout)")
    except CellExecutionError as exc:
        return Execution(done, len(cells), f"cell {done + 1} raised {exc.ename}: {exc.evalue}")
    except DeadKernelError:
        return Execution(done, len(cells), f"the kernel died in cell {done + 1}")
    return Execution(done, len(cells), None)


def add_rerun_options(parser) -> None:
    """The options ``%track rerun`` and ``nbtrack rerun`` share (one definition, so they cannot drift)."""
    parser.add_argument(
        "--rtol", type=float, default=Tolerance.rtol, help="relative tolerance for float values (default 1e-9)"
    )
    parser.add_argument(
        "--atol", type=float, default=Tolerance.atol, help="absolute tolerance for float values (default 0)"
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=DEFAULT_CELL_TIMEOUT,
        help=f"seconds allowed per cell (default {DEFAULT_CELL_TIMEOUT})",
    )
    parser.add_argument(
        "--kernel", default=None, help="kernel to run in (default: the notebook's kernelspec, else python3)"
    )
    parser.add_argument(
        "--as-executed",
        action="store_true",
        help="re-execute the cells in the order they ran instead of the notebook snapshot",
    )
    parser.add_argument("--output", "-o", default=None, help="keep the executed notebook in this new file")


def nested_rerun() -> str | None:
    """Why a rerun must not start here (this kernel is itself re-executing a run), else None.

    A restored snapshot contains its own ``%track rerun`` cells; they must not recurse.
    """
    original = os.environ.get(RERUN_ENV)
    return f"skipped: this kernel is itself re-executing run {original[:8]}" if original else None


def _kernel_env(tracker, original: Run, path: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NBTRACK_NOTEBOOK"}  # the override would outrank our path
    env.update(
        {"NBTRACK_STORE": str(tracker.store.location.directory), "JPY_SESSION_NAME": path, RERUN_ENV: original.id}
    )
    return env


def _cell_sources(tracker, runs) -> dict[str, str]:
    """Run id -> the cell bodies it recorded (joined), for matching a cell across kernels."""
    found = {}
    for run in runs:
        cells = tracker.runs.cells(tracker.runs.resolve(run.id))
        if cells:
            found[run.id] = "\n\x00".join(c.source for c in cells)
    return found


def _outputs(blobs, original: Run, match: Run) -> tuple[list, list] | None:
    """The (label, text) outputs of each run's own cells; None when the original stored no history."""
    before = run_outputs(blobs, original)
    return None if before is None else (before, run_outputs(blobs, match) or [])


def run_outputs(blobs, run: Run) -> list[tuple[str, str]] | None:
    """(label, output text) of the executions from the one ``run`` started in to the one it ended in.

    From the run's stored execution history (None when it has none); nbtrack's own lines and
    rich data other than ``text/plain`` are left out (see :func:`.outputs.output_text`).
    """
    sha = (run.provenance.get("snapshot") or {}).get("history_sha256")
    if not sha:
        return None
    rows = storage.load_history(blobs, sha)
    # "started" is stored rounded to the millisecond; the run starts inside its cell, after it
    first = max((i for i, row in enumerate(rows) if (row.get("started") or 0) <= run.start_time + 0.0005), default=0)
    found = []
    for row in rows[first:]:
        outputs = canonical.loads(blobs.get(row["outputs_sha256"])) if row.get("outputs_sha256") else []
        count = row.get("execution_count")
        found.append(
            (f"In [{count}]" if count is not None else f"execution {row['seq'] + 1}", output_text(outputs, rich=False))
        )
    return found


def _mark(tracker, result: RerunResult) -> None:
    row_id = tracker.runs.resolve(result.original.id)
    differs = ", ".join(result.differing) if result.match else "no matching run"
    if result.match is not None and not result.differing and not result.verifiable:
        differs = "no outcomes to compare"
    tags = {VERIFIED_BY_TAG: result.match.id if result.match else "", DIFFERS_TAG: differs}
    if result.verified or result.match is None or result.differing or result.match.status != result.original.status:
        tags[VERIFIED_TAG] = "true" if result.verified else "false"
    else:  # not verifiable: neither verified nor shown to differ
        tracker.runs.delete_tag([row_id], VERIFIED_TAG)
    tracker.runs.write_batch(row_id, tags=[(k, tag_value(v, k)) for k, v in tags.items()])


#: receipt problems saying the snapshot shows code other than what ran (see ``receipt``)
_SNAPSHOT_NOT_WHAT_RAN = ("edited_after_run", "not_in_notebook")


def _notes(original: Run, as_executed: bool) -> tuple[str, ...]:
    problems = (original.receipt or {}).get("problems") or []
    if not as_executed and any(p.get("kind") in _SNAPSHOT_NOT_WHAT_RAN for p in problems):
        return (
            "the run's receipt says the notebook snapshot is not exactly the code that ran (see %track receipt); "
            "--as-executed re-executes the cells as they ran",
        )
    return ()


def _file_name(run: Run) -> str:
    name = os.path.basename(run.provenance.get("notebook_path") or "")
    return name if name.endswith(".ipynb") else f"run-{run.short_id}.ipynb"


def _write(node, path: str) -> None:
    import nbformat

    try:
        with open(path, "w", encoding="utf-8") as handle:
            nbformat.write(node, handle)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _title(source: str) -> str:
    first = next((line for line in source.splitlines() if line.strip()), "")
    return first[:70]


__all__ = [
    "DIFFERS_TAG",
    "VERIFIED_BY_TAG",
    "VERIFIED_TAG",
    "Execution",
    "RerunResult",
    "add_rerun_options",
    "execute",
    "rerun",
]
