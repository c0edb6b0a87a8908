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

History entries are matched to cells by cell id when both sides have one (JupyterLab),
else by identical source (nbclient, papermill, nbval send no cell ids). Name analysis is
best effort, by ``ast``: a name counts as read when its first use in the cell is a read.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_PROBLEMS = 50
#: states what happened; never tells the user to install an extension that may well be active
_STALE = ("compared with the saved notebook, which is older than the last executed cell: save the notebook for an exact "
          "check (no live copy from the nbtrack JupyterLab extension was used for this run)")
_BUILTINS = frozenset(dir(builtins)) | {"get_ipython", "display", "In", "Out", "exit", "quit"}


@dataclass(frozen=True)
class Executed:
    """What the receipt needs of one history entry."""

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
    if cells is None:
        problem = _problem("notebook_unknown", "the notebook is unknown, so the execution history could not be checked against it")
        return {"clean": False, "checked": False, "problems": [problem]}
    match = _Matcher(cells)
    located = [(entry, *match.locate(entry)) for entry in history if entry.source.strip()]
    problems = _order(located) + _edits(located) + _missing(located)
    problems += _dependencies(located, run_from_seq, transform)
    if stale and problems:
        problems.append(_problem("notebook_stale", _STALE))
    if len(problems) > MAX_PROBLEMS:
        extra = len(problems) - MAX_PROBLEMS
        problems = problems[:MAX_PROBLEMS] + [_problem("truncated", f"{extra} more problems not listed")]
    return {"clean": not problems, "checked": True, "problems": problems}


class _Matcher:
    def __init__(self, cells: Sequence[Cell]):
        self.by_id = {c.cell_id: c for c in cells if c.cell_id}
        self.by_source: dict[str, list[Cell]] = {}
        for cell in cells:
            self.by_source.setdefault(_norm(cell.source), []).append(cell)

    def locate(self, entry: Executed) -> tuple[Cell | None, bool]:
        """(cell, edited): the cell this entry ran from, and whether that cell's code changed since."""
        cell = self.by_id.get(entry.cell_id) if entry.cell_id else None
        if cell is not None:
            return cell, _norm(cell.source) != _norm(entry.source)
        same = self.by_source.get(_norm(entry.source))
        return (same[0], False) if same else (None, False)


def _order(located) -> list[dict]:
    problems, lowest_reported, furthest = [], set(), None
    for entry, cell, _ in located:
        if cell is None:
            continue
        if furthest is not None and cell.index < furthest.index and cell.index not in lowest_reported:
            lowest_reported.add(cell.index)
            problems.append(_problem(
                "out_of_order", f"{_label(entry)} (cell {cell.index + 1}) ran after cell {furthest.index + 1}, which is below it",
                entry, cell_id=cell.cell_id,
            ))
        if furthest is None or cell.index > furthest.index:
            furthest = cell
    return problems


def _edits(located) -> list[dict]:
    last: dict[int, tuple] = {}
    for item in located:
        if item[1] is not None:
            last[item[1].index] = item
    return [
        _problem("edited_after_run", f"cell {cell.index + 1} was edited after it last ran ({_label(entry)}): the notebook shows code that did not run", entry, cell_id=cell.cell_id)
        for entry, cell, edited in last.values() if edited
    ]


def _missing(located) -> list[dict]:
    seen, problems = set(), []
    for entry, cell, _ in located:
        key = entry.cell_id or _norm(entry.source)
        if cell is None and key not in seen:
            seen.add(key)
            first = _norm(entry.source).split("\n", 1)[0][:60]
            problems.append(_problem("not_in_notebook", f"{_label(entry)} ran code that is no longer in the notebook: {first!r}", entry, cell_id=entry.cell_id))
    return problems


def _dependencies(located, run_from_seq: int, transform) -> list[dict]:
    definer: dict[str, tuple] = {}
    grouped: dict[tuple, list[str]] = {}
    for item in located:
        entry, cell, _ = item
        loads, stores = names(_safe(transform, entry.source))
        if entry.seq >= run_from_seq:
            for name in loads:
                source = definer.get(name)
                if source is None or source[0] is entry:
                    continue
                kind = _dependency_kind(source, cell)
                if kind:
                    grouped.setdefault((kind, source[0].seq, entry.seq), []).append(name)
        for name in stores:
            definer[name] = item
    by_seq = {item[0].seq: item for item in located}
    problems = []
    for (kind, defined_seq, read_seq), found in grouped.items():
        source_entry, reader = by_seq[defined_seq][0], by_seq[read_seq][0]
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


@lru_cache(maxsize=512)
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
