"""What changed between two runs: params, metrics, data inputs, notebook cells, packages and git commit.

Renderer-neutral: :func:`diff_runs` returns a :class:`RunDiff` of plain values that
:mod:`nbtrack.display.diff` shows as text, HTML or JSON. Cells are aligned by cell id
(stable under JupyterLab and nbformat >= 4.5); the cells left over (old notebooks without
ids, a cell cut and pasted) are paired by content similarity, so an edited cell reads as
"changed" rather than "removed + added". Cell outputs are compared only on request
(``outputs=True``): they differ on many runs (timings, addresses) and would bury the
edits. They come from the execution histories, which hold what each cell printed when it
ran (a saved notebook's outputs may be older than the run); nbtrack's own lines (``nbtrack: run
...`` summaries and notices) are left out, so only the cells' real changes show.

>>> diff = diff_runs(tracker, "3f2a", "9bc1")   # doctest: +SKIP
>>> [c.kind for c in diff.cells], [p.key for p in diff.params]
(['changed'], ['lr'])
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from ..compare import ADDED, CHANGED, REMOVED, ValueChange, compare_runs, same
from ..entities import Run
from ..errors import NbtrackError
from ..snapshot import storage
from ..snapshot.notebook import cell_source
from ..snapshot.outputs import output_text

#: cells without a common id pair up when difflib's ratio of their sources reaches this
SIMILARITY = 0.6
#: unified diff context lines
CONTEXT = 3


@dataclass(frozen=True)
class CellChange:
    """A notebook cell added, removed or edited. Indexes are 0-based positions in each notebook."""

    kind: str
    cell_type: str
    index_a: int | None
    index_b: int | None
    cell_id: str | None
    matched_by: str | None  # "id" | "similarity" | None (added/removed)
    diff: tuple[str, ...]  # unified diff lines, no line ends


@dataclass(frozen=True)
class OutputChange:
    """An execution whose outputs differ between the runs' histories (0-based execution indexes)."""

    index_a: int
    index_b: int
    execution_count: int | None  # in run b
    source_head: str  # the first line of the cell in run b, to say which cell
    diff: tuple[str, ...]  # unified diff of the outputs as text


@dataclass(frozen=True)
class PackageChange:
    name: str
    kind: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class GitChange:
    """Commit, branch and dirty flag of each run, when any of them differs."""

    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True)
class RunDiff:
    a: Run
    b: Run
    params: tuple[ValueChange, ...]
    metrics: tuple[ValueChange, ...]
    cells: tuple[CellChange, ...]
    packages: tuple[PackageChange, ...]
    git: GitChange | None
    #: what could not be compared, and why (no snapshot, no environment recorded)
    notes: tuple[str, ...] = ()
    #: only with ``diff_runs(..., outputs=True)``
    outputs: tuple[OutputChange, ...] = ()
    #: data inputs whose content digest differs; before/after are one-line descriptions
    inputs: tuple[ValueChange, ...] = ()

    @property
    def identical(self) -> bool:
        return not (
            self.params or self.metrics or self.cells or self.packages or self.git or self.outputs or self.inputs
        )


def diff_runs(tracker, a: str | Run, b: str | Run, outputs: bool = False) -> RunDiff:
    """Compare run ``a`` (before) with run ``b`` (after); refs are ids, unique prefixes or names.

    ``outputs=True`` also compares what each executed cell printed, displayed or raised.
    """
    run_a = a if isinstance(a, Run) else tracker.get_run(a)
    run_b = b if isinstance(b, Run) else tracker.get_run(b)
    blobs = tracker.store.blobs
    notes: list[str] = []
    cells = _cell_changes(blobs, run_a, run_b, notes)
    values = compare_runs([run_a, run_b])  # the one comparison model (nbtrack.compare)
    return RunDiff(
        run_a,
        run_b,
        params=values.changes("params"),
        metrics=values.changes("metrics"),
        cells=cells,
        packages=_package_changes(blobs, run_a, run_b, notes),
        git=_git_change(run_a, run_b),
        notes=tuple(notes),
        outputs=_output_changes(blobs, run_a, run_b, notes) if outputs else (),
        inputs=values.changes("inputs"),
    )


def value_changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[ValueChange, ...]:
    """Keys added, removed or changed (:func:`nbtrack.compare.same`) between two mappings (packages)."""
    changes = []
    for key in sorted(set(before) | set(after)):
        if key not in after:
            changes.append(ValueChange(key, REMOVED, before[key], None))
        elif key not in before:
            changes.append(ValueChange(key, ADDED, None, after[key]))
        elif not same(before[key], after[key]):
            changes.append(ValueChange(key, CHANGED, before[key], after[key]))
    return tuple(changes)


# -- cells -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Cell:
    id: str | None
    type: str
    source: str


def _cell_changes(blobs, run_a: Run, run_b: Run, notes: list[str]) -> tuple[CellChange, ...]:
    pair = _notebooks(blobs, run_a, run_b, notes)
    if pair is None:
        return ()
    return diff_cells(*pair, labels=(run_a.label, run_b.label))


def _notebooks(blobs, run_a: Run, run_b: Run, notes: list[str]):
    """Both snapshots, else both execution histories (comparing one with the other would mislead)."""
    reasons = []
    for load, ids in ((storage.snapshot_notebook, True), (storage.history_notebook, False)):
        try:
            notebooks = [load(blobs, run_a), load(blobs, run_b)]
        except NbtrackError as exc:  # NotFoundError: not stored; UsageError: unknown format
            reasons.append(str(exc).split("; try --as-executed")[0])  # that hint is for restore, not diff
            continue
        if not ids:
            notes.append(f"cells compared as executed (execution histories): {reasons[0]}")
        return [_cells(nb, ids) for nb in notebooks]
    notes.append(f"cells not compared: {reasons[-1]}")
    return None


def _cells(notebook: dict, use_ids: bool) -> list[_Cell]:
    # History cells carry positional ids (exec-1, exec-2, ...): aligning by them would pair
    # unrelated cells, so histories align by content only.
    return [
        _Cell(cell.get("id") if use_ids else None, cell.get("cell_type") or "code", cell_source(cell))
        for cell in notebook.get("cells", [])
        if isinstance(cell, dict)
    ]


def diff_cells(cells_a: list, cells_b: list, labels: tuple[str, str] = ("a", "b")) -> tuple[CellChange, ...]:
    """Changes from ``cells_a`` to ``cells_b`` in the order of ``b``, removed cells where they were."""
    pairs = align(cells_a, cells_b)
    matched_a = {i: (j, how) for i, j, how in pairs}
    matched_b = {j for _, j, _ in pairs}
    keyed: list[tuple[tuple[float, int], CellChange]] = []
    for i, (j, how) in matched_a.items():
        a, b = cells_a[i], cells_b[j]
        if a.source != b.source or a.type != b.type:
            lines = _unified(a.source, b.source, f"{labels[0]} cell {i + 1}", f"{labels[1]} cell {j + 1}")
            keyed.append(((j, 0), CellChange(CHANGED, b.type, i, j, b.id or a.id, how, lines)))
    for j, b in enumerate(cells_b):
        if j not in matched_b:
            keyed.append(
                (
                    (j, 0),
                    CellChange(
                        ADDED,
                        b.type,
                        None,
                        j,
                        b.id,
                        None,
                        _unified("", b.source, "/dev/null", f"{labels[1]} cell {j + 1}"),
                    ),
                )
            )
    for i, a in enumerate(cells_a):
        if i not in matched_a:
            before = [matched_a[k][0] for k in range(i) if k in matched_a]
            anchor = (max(before) if before else -1) + 0.5
            keyed.append(
                (
                    (anchor, i),
                    CellChange(
                        REMOVED,
                        a.type,
                        i,
                        None,
                        a.id,
                        None,
                        _unified(a.source, "", f"{labels[0]} cell {i + 1}", "/dev/null"),
                    ),
                )
            )
    return tuple(change for _, change in sorted(keyed, key=lambda item: item[0]))


def align(cells_a: list, cells_b: list) -> list[tuple[int, int, str]]:
    """(index in a, index in b, "id" | "similarity") for every pair of corresponding cells."""
    first_b: dict[str, int] = {}
    for j, cell in enumerate(cells_b):
        if cell.id:
            first_b.setdefault(cell.id, j)
    pairs, used_b = [], set()
    for i, cell in enumerate(cells_a):
        j = first_b.get(cell.id) if cell.id else None
        if j is not None and j not in used_b:
            pairs.append((i, j, "id"))
            used_b.add(j)
    used_a = {i for i, _, _ in pairs}
    rest_a = [i for i in range(len(cells_a)) if i not in used_a]
    rest_b = [j for j in range(len(cells_b)) if j not in used_b]
    for i, j in _similar_pairs(cells_a, cells_b, rest_a, rest_b):
        pairs.append((i, j, "similarity"))
    return sorted(pairs)


def _similar_pairs(cells_a: list, cells_b: list, rest_a: list[int], rest_b: list[int]) -> list[tuple[int, int]]:
    """Greedy best-first pairing: the most similar pair first, nearer positions breaking ties."""
    scored = []
    for i in rest_a:
        for j in rest_b:
            if cells_a[i].type != cells_b[j].type:
                continue
            matcher = difflib.SequenceMatcher(None, cells_a[i].source, cells_b[j].source, autojunk=False)
            if matcher.real_quick_ratio() < SIMILARITY or matcher.quick_ratio() < SIMILARITY:
                continue
            ratio = matcher.ratio()
            if ratio >= SIMILARITY:
                scored.append((-ratio, abs(i - j), i, j))
    taken_a, taken_b, pairs = set(), set(), []
    for _, _, i, j in sorted(scored):
        if i not in taken_a and j not in taken_b:
            taken_a.add(i)
            taken_b.add(j)
            pairs.append((i, j))
    return pairs


def _unified(before: str, after: str, from_label: str, to_label: str) -> tuple[str, ...]:
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), from_label, to_label, n=CONTEXT, lineterm="")
    return tuple(lines)


# -- outputs ----------------------------------------------------------------------------------------
def _output_changes(blobs, run_a: Run, run_b: Run, notes: list[str]) -> tuple[OutputChange, ...]:
    """Executions paired by source (as in :func:`align`), then their outputs compared as text."""
    try:
        histories = [storage.history_notebook(blobs, run)["cells"] for run in (run_a, run_b)]
    except NbtrackError as exc:
        notes.append(f"outputs not compared: {exc}")
        return ()
    cells = [[_Cell(None, "code", cell_source(c)) for c in history] for history in histories]
    changes = []
    for i, j, _ in align(*cells):
        before, after = (output_text(histories[0][i].get("outputs")), output_text(histories[1][j].get("outputs")))
        if before != after:
            lines = _unified(
                before, after, f"{run_a.label} execution {i + 1} outputs", f"{run_b.label} execution {j + 1} outputs"
            )
            head = cells[1][j].source.splitlines()[0] if cells[1][j].source else ""
            changes.append(OutputChange(i, j, histories[1][j].get("execution_count"), head, lines))
    return tuple(sorted(changes, key=lambda change: change.index_b))


# -- environment and git -----------------------------------------------------------------------------
def _package_changes(blobs, run_a: Run, run_b: Run, notes: list[str]) -> tuple[PackageChange, ...]:
    envs = []
    for run in (run_a, run_b):
        sha = run.provenance.get("env_sha256")
        if not sha:
            notes.append(f"packages not compared: run {run.short_id} has no environment recorded")
            return ()
        try:
            envs.append(json.loads(blobs.get(sha)))
        except (NbtrackError, ValueError) as exc:
            notes.append(f"packages not compared: environment of run {run.short_id} is unreadable ({exc})")
            return ()
    before, after = envs
    return tuple(PackageChange(c.key, c.kind, c.before, c.after) for c in value_changes(before, after))


def _git_change(run_a: Run, run_b: Run) -> GitChange | None:
    states = [_git_state(run) for run in (run_a, run_b)]
    if states[0] == states[1]:
        return None
    return GitChange(*states)


def _git_state(run: Run) -> dict[str, Any]:
    git = run.provenance.get("git") or {}
    return {
        "commit": git.get("commit") or run.provenance.get("git_commit"),
        "branch": git.get("branch"),
        "dirty": git.get("dirty"),
    }
