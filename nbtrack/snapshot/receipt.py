"""The hidden-state receipt: would this run's results come out the same from a clean top-to-bottom run?

Compares the kernel's execution history with the notebook's code cells and names what
differs (stored as ``runs.receipt``)::

    {"clean": false, "checked": true, "problems": [
        {"kind": "out_of_order", "message": "...", "cell_id": "a1", "execution_count": 7},
        {"kind": "stale_dependency", "message": "...", "names": ["x"], "execution_count": 3}]}

Kinds: ``out_of_order`` (a cell ran after a cell below it), ``edited_after_run`` (the
notebook shows code different from what last ran in that cell), ``not_in_notebook``
(executed code matching no cell: deleted, or an older version of an id-less cell),
``stale_dependency`` (a run cell read names last defined by code that is no longer in the
notebook or has since been edited), ``defined_below`` (a run cell read names defined by a
cell below it: a top-to-bottom run would not have them yet), ``notebook_stale`` (the
notebook compared against is a file saved before the last execution), ``notebook_unknown``.

History entries are matched to cells by cell id when both sides have one (JupyterLab). An
entry without one (nbclient, papermill, nbval and plain IPython send no cell ids) is matched by
its code, and among cells with that same code by execution order: the first such cell below
the cell that ran before it, else the first such cell. So two identical cells run top to bottom
are two cells, not one cell run twice (saved execution counts are not used: a notebook saved in
an earlier kernel session has counts that mean nothing in this one). Name analysis is best effort, by ``ast``: a name counts as read when its first use
in the cell is a read.

The receipt is incremental (:class:`Receipts`, one per kernel session): each history entry is
analysed once, and while the notebook's code cells stay the same, a run folds only the entries
executed since the previous run; a changed notebook refolds the (already analysed) history once.
"""

from __future__ import annotations

import ast
import bisect
import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

MAX_PROBLEMS = 50
_STALE = (
    "compared with the saved notebook, which is older than the last executed cell: save the notebook for an exact "
    "check (no live copy from the nbtrack JupyterLab extension was used for this run)"
)
_BUILTINS = frozenset(dir(builtins)) | {"get_ipython", "display", "In", "Out", "exit", "quit"}


@dataclass(frozen=True)
class Executed:
    """What the receipt needs of one history entry (a :class:`~nbtrack.snapshot.history.HistoryEntry`
    has these attributes too, and is passed as is)."""

    seq: int
    execution_count: int | None
    cell_id: str | None
    source: str


@dataclass(frozen=True)
class Cell:
    """What the receipt needs of one notebook code cell."""

    index: int
    cell_id: str | None
    source: str


def build(
    history: Sequence[Executed],
    cells: Sequence[Cell] | None,
    run_from_seq: int,
    *,
    stale: bool = False,
    transform: Callable[[str], str] = lambda s: s,
) -> dict[str, Any]:
    """The receipt for a run whose cells are the history entries with ``seq >= run_from_seq``."""
    return Receipts(transform).build(history, cells, run_from_seq, stale=stale)


class Receipts:
    """Receipts of one kernel session, computed incrementally (see the module docstring).

    The history must be append-only with ``seq`` equal to the position (as
    :class:`~nbtrack.snapshot.history.ExecutionHistory` keeps it).
    """

    def __init__(self, transform: Callable[[str], str] = lambda s: s):
        self._transform = transform
        self._analysed: list[
            tuple[str, frozenset[str], frozenset[str]]
        ] = []  # by seq: (normalised source, loads, stores)
        self._fold: _Fold | None = None

    def cell_of_last(self) -> Cell | None:
        """The notebook cell the last entry of the last :meth:`build` ran from, when it was located."""
        return self._fold.last_cell if self._fold is not None else None

    def build(
        self, history: Sequence[Executed], cells: Sequence[Cell] | None, run_from_seq: int, *, stale: bool = False
    ) -> dict[str, Any]:
        if cells is None:
            self._fold = None
            problem = _problem(
                "notebook_unknown", "the notebook is unknown, so the execution history could not be checked against it"
            )
            return {"clean": False, "checked": False, "problems": [problem]}
        key = tuple((c.cell_id, _norm(c.source)) for c in cells)
        if self._fold is None or self._fold.key != key or self._fold.folded > len(history):
            self._fold = _Fold(key, cells)
        fold = self._fold
        for entry in history[fold.folded :]:
            fold.add(entry, self._analysis(entry))
        problems = fold.problems(run_from_seq)
        if stale and problems:
            problems.append(_problem("notebook_stale", _STALE))
        if len(problems) > MAX_PROBLEMS:
            extra = len(problems) - MAX_PROBLEMS
            problems = problems[:MAX_PROBLEMS] + [_problem("truncated", f"{extra} more problems not listed")]
        return {"clean": not problems, "checked": True, "problems": problems}

    def _analysis(self, entry: Executed) -> tuple[str, frozenset[str], frozenset[str]]:
        while len(self._analysed) <= entry.seq:
            self._analysed.append(None)  # type: ignore[arg-type]
        done = self._analysed[entry.seq]
        if done is None:
            done = self._analysed[entry.seq] = (_norm(entry.source), *names(_safe(self._transform, entry.source)))
        return done


class _Fold:
    """The receipt's state after the first ``folded`` history entries, for one set of cells."""

    def __init__(self, key: tuple, cells: Sequence[Cell]):
        self.key, self.folded = key, 0
        self.by_id = {c.cell_id: c for c in cells if c.cell_id}
        self.by_source: dict[str, list[Cell]] = {}
        for cell, (_, norm) in zip(cells, key):
            self.by_source.setdefault(norm, []).append(cell)
        self.previous: Cell | None = None  # the cell the last located entry ran from
        self.last_cell: Cell | None = None  # the cell the last folded entry ran from (None: not located)
        self.furthest: Cell | None = None
        self.order: list[dict] = []
        self.reported_order: set[int] = set()
        self.last: dict[int, tuple] = {}  # cell index -> (entry, cell, edited) of its last execution
        self.missing: list[dict] = []
        self.seen_missing: set[str] = set()
        self.definer: dict[str, tuple] = {}  # name -> (entry, cell, edited) that last bound it
        self.readers: list[int] = []  # seqs with dependency findings, ascending
        self.findings: list[tuple[Executed, list[tuple[str, Executed, str]]]] = []  # (reader, [(kind, definer, name)])

    def add(self, entry: Executed, analysis: tuple[str, frozenset[str], frozenset[str]]) -> None:
        self.folded += 1
        norm, loads, stores = analysis
        self.last_cell = None
        if not norm:
            return
        cell, edited = self._locate(entry, norm)
        self.last_cell = cell
        item = (entry, cell, edited)
        if cell is not None:
            self._order(item)
            self.last[cell.index] = item
            self.previous = cell
        elif (key := entry.cell_id or norm) not in self.seen_missing:
            self.seen_missing.add(key)
            first = norm.split("\n", 1)[0][:60]
            self.missing.append(
                _problem(
                    "not_in_notebook",
                    f"{_label(entry)} ran code that is no longer in the notebook: {first!r}",
                    entry,
                    cell_id=entry.cell_id,
                )
            )
        found = []
        for name in loads:
            source = self.definer.get(name)
            if source is not None and source[0] is not entry:
                kind = _dependency_kind(source, cell)
                if kind:
                    found.append((kind, source[0], name))
        if found:
            self.readers.append(entry.seq)
            self.findings.append((entry, found))
        for name in stores:
            self.definer[name] = item

    def _locate(self, entry: Executed, norm: str) -> tuple[Cell | None, bool]:
        """(cell, edited): the cell this entry ran from, and whether that cell's code changed since."""
        cell = self.by_id.get(entry.cell_id) if entry.cell_id else None
        if cell is not None:
            return cell, _norm(cell.source) != norm
        same = self.by_source.get(norm)
        if not same:
            return None, False
        below = (c for c in same if self.previous is not None and c.index > self.previous.index)
        return next(below, same[0]), False

    def _order(self, item: tuple) -> None:
        entry, cell, _ = item
        furthest = self.furthest
        if furthest is not None and cell.index < furthest.index and cell.index not in self.reported_order:
            self.reported_order.add(cell.index)
            self.order.append(
                _problem(
                    "out_of_order",
                    f"{_label(entry)} (cell {cell.index + 1}) ran after cell {furthest.index + 1}, which is below it",
                    entry,
                    cell_id=cell.cell_id,
                )
            )
        if furthest is None or cell.index > furthest.index:
            self.furthest = cell

    def problems(self, run_from_seq: int) -> list[dict]:
        edits = [
            _problem(
                "edited_after_run",
                f"cell {cell.index + 1} was edited after it last ran ({_label(entry)}): the notebook shows code that did not run",
                entry,
                cell_id=cell.cell_id,
            )
            for entry, cell, edited in self.last.values()
            if edited
        ]
        return [*self.order, *edits, *self.missing, *self._dependencies(run_from_seq)]

    def _dependencies(self, run_from_seq: int) -> list[dict]:
        grouped: dict[tuple, list[str]] = {}
        for reader, findings in self.findings[bisect.bisect_left(self.readers, run_from_seq) :]:
            for kind, source, name in findings:
                grouped.setdefault((kind, source, reader), []).append(name)
        problems = []
        for (kind, source_entry, reader), found in grouped.items():
            listed = ", ".join(sorted(found))
            reason = {
                "stale_dependency": f"{listed} came from {_label(source_entry)}, whose code is no longer in the notebook as it ran (deleted or edited)",
                "defined_below": f"{listed} came from {_label(source_entry)}, a cell below the one reading it: a top-to-bottom run would not have it yet",
            }[kind]
            problems.append(_problem(kind, f"{_label(reader)} read {reason}", reader, names=sorted(found)))
        return problems


def _dependency_kind(source: tuple, reader_cell: Cell | None) -> str | None:
    _, cell, edited = source
    if cell is None or edited:
        return "stale_dependency"
    if reader_cell is not None and cell.index > reader_cell.index:
        return "defined_below"
    return None


def names(source: str) -> tuple[frozenset[str], frozenset[str]]:
    """(names read before being bound in the cell, names bound) - best effort, by ast."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset(), frozenset()
    events: list[tuple[int, int, int, str]] = []  # (line, col, 0 store / 1 load, name)
    for node in ast.walk(tree):
        at = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
        if isinstance(node, ast.Name):
            events.append((*at, 1 if isinstance(node.ctx, ast.Load) else 0, node.id))
        elif isinstance(node, ast.arg):
            events.append((*at, 0, node.arg))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            events.append((*at, 0, node.name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            events += [(*at, 0, (a.asname or a.name).split(".")[0]) for a in node.names]
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            events += [(*at, 0, n.id) for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)]
    first: dict[str, int] = {}
    for *_, kind, name in sorted(events):
        first.setdefault(name, kind)
    loads = frozenset(n for n, k in first.items() if k == 1 and n not in _BUILTINS and not n.startswith("_"))
    stores = frozenset(e[3] for e in events if e[2] == 0)
    return loads, stores


def _safe(transform, source: str) -> str:
    try:
        return transform(source)
    except Exception:  # an odd cell IPython cannot transform: analyse it raw
        return source


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _label(entry: Executed) -> str:
    return f"In [{entry.execution_count}]" if entry.execution_count is not None else f"execution #{entry.seq + 1}"


def _problem(kind: str, message: str, entry: Executed | None = None, **extra: Any) -> dict[str, Any]:
    problem: dict[str, Any] = {"kind": kind, "message": message}
    if entry is not None:
        problem["execution_count"] = entry.execution_count
    problem.update({k: v for k, v in extra.items() if v is not None})
    return problem
