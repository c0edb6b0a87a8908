"""The execution history of one kernel session: every executed cell, in the order it ran.

This is the part of a snapshot that cannot be stale: it is what actually ran, not what
the notebook file says. The kernel-facing plugin appends one :class:`HistoryEntry` per
executed cell (``begin`` before it runs, ``finish`` after); entries keep references to
the outputs IPython recorded anyway, and are converted and stored only when a run ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class HistoryEntry:
    seq: int
    execution_count: int | None
    cell_id: str | None
    source: str
    started: float
    duration: float | None = None
    #: IPython HistoryOutput objects (or anything :func:`outputs.to_nbformat` reads)
    raw_outputs: list[Any] = field(default_factory=list, repr=False)
    error: dict[str, Any] | None = None
    finished: bool = False
    #: execution count -> where IPython's output record for it stood when the cell began
    marks: dict[int, tuple[int, int]] | None = field(default=None, repr=False)
    #: (source_sha256, outputs_sha256, truncated) once stored; an entry is written to the store once
    stored: tuple[str, str | None, bool] | None = field(default=None, repr=False)
    #: the store's :meth:`~nbtrack.store.BlobStore.cache_token` when ``stored`` was written: a
    #: different token (a purge since, another store) means the blobs must be stored again
    stored_token: Any = field(default=None, repr=False)


class ExecutionHistory:
    """Append-only list of :class:`HistoryEntry`; ``current`` is the cell running right now."""

    def __init__(self) -> None:
        self.entries: list[HistoryEntry] = []
        self.current: HistoryEntry | None = None

    def begin(self, execution_count: int | None, cell_id: str | None, source: str, started: float) -> HistoryEntry:
        entry = HistoryEntry(len(self.entries), execution_count, cell_id, source, started)
        self.entries.append(entry)
        self.current = entry
        return entry

    def finish(self, ended: float, outputs: Callable[[HistoryEntry], list[Any]], error: dict | None) -> None:
        entry, self.current = self.current, None
        if entry is None:
            return
        entry.raw_outputs = outputs(entry)
        entry.error = error
        entry.duration = max(0.0, ended - entry.started)
        entry.finished = True
        entry.stored = None  # outputs may have grown since a run ended inside this cell
