"""Reading runs: one run, searches (a page, or every match batch by batch), the keys and metric
histories of runs, experiments."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ..entities import MetricHistory, Run, RunCell
from ..store.location import StoreLocation
from ..store.runs import DEFAULT_ORDER, OLDEST, TABLE_COLUMNS, Cursor  # noqa: F401  (TABLE_COLUMNS: the CLI export header)
from ..values import check_key
from .active import ActiveRun
from .parts import TrackerPart

#: runs ``search_runs`` returns unless told otherwise (``max_results=None``: all): a store of a
#: year of runs is not loaded whole by accident
DEFAULT_MAX_RESULTS = 1000


class RunPage(NamedTuple):
    """One page of a listing, and where the next (``after=last``) or previous (``before=first``) page continues."""

    runs: list[Run]
    first: Cursor | None
    last: Cursor | None


@dataclass(frozen=True)
class StoreSummary:
    """Where the store is and what it holds (``%track store``, ``nbtrack store info``)."""

    location: StoreLocation
    path: Path
    schema_version: int
    #: experiments, runs (live), deleted_runs, metric_points, blobs, blob_bytes, in that order
    counts: dict[str, int]


class Reading(TrackerPart):
    """Queries over the store (each flushes buffered points first, so a run reads as logged).

    The faces (magics, widgets, CLI, server, API) read through these methods only: no face
    imports :mod:`nbtrack.store` or :mod:`nbtrack.query` (an import-linter contract says so).
    """

    @property
    def location(self) -> StoreLocation:
        """Where the store is and how it was found."""
        return self.store.location

    def store_summary(self) -> StoreSummary:
        return StoreSummary(self.store.location, self.store.path, self.store.schema_version, self.runs.totals())

    def experiment_summaries(self) -> list[tuple[str, int, float | None]]:
        """(name, number of live runs, start of the latest) per experiment, most recently used first."""
        return self.runs.experiment_summaries()

    def cells(self, run_ref: str | Run | ActiveRun) -> list[RunCell]:
        """The cells recorded with a run, in the order they ran."""
        return self.runs.cells(self._row_id(run_ref))

    def cell_runs(self, cell_key: str) -> list[tuple[str, str | None, str, float]]:
        """(id, name, status, start) of every live run of one cell, oldest first."""
        return self.runs.cell_runs(cell_key)

    def key_usage(self, deleted: bool = False) -> dict[str, tuple[str, ...]]:
        """Param, metric and tag keys of the live (or deleted) runs, most used first (the column chooser)."""
        return self.runs.key_usage(deleted)

    @staticmethod
    def check_filter(filter: str | None) -> None:
        """Raise :class:`~nbtrack.errors.QueryError` (positions in ``filter`` as typed) if the query is invalid."""
        _compiled(filter, None, None)

    def count_runs(self, filter: str | None = None, deleted: bool = False, started_after: float | None = None) -> int:
        """How many runs match (live ones, or with ``deleted`` the deleted ones), started after
        ``started_after`` when given. Reads what is committed: call :meth:`flush` first if needed."""
        where, args, _, _ = _compiled(filter, None, None)
        if started_after is not None:
            since, since_args, _, _ = _compiled(f"start_time > {float(started_after)!r}", None, None)
            where, args = (f"({where}) AND {since}" if where else since), [*args, *since_args]
        return self.runs.count(where, args, deleted=deleted)

    @staticmethod
    def pages_by_keyset(order_by: str | None) -> bool:
        """Whether pages in this order can continue from a neighbour page (``after``/``before``)."""
        return _compiled(None, order_by, None)[2] == DEFAULT_ORDER

    def runs_page(
        self,
        filter: str | None,
        order_by: str | None,
        limit: int,
        offset: int = 0,
        deleted: bool = False,
        after: Cursor | None = None,
        before: Cursor | None = None,
        from_oldest: bool = False,
    ) -> RunPage:
        """One page of the matching runs: ``limit`` runs after ``offset``, or (keyset paging, in
        the default order only, see :meth:`pages_by_keyset`) those after or before a neighbour
        page's edge; ``from_oldest`` reads the oldest runs (the last page)."""
        where, args, order_sql, order_args = _compiled(filter, order_by, None)
        keyset: dict[str, Any] = (
            {"before": OLDEST}
            if from_oldest
            else {"after": after}
            if after is not None
            else {"before": before}
            if before is not None
            else {}
        )
        rows = self.runs.page(where, args, order_sql, order_args, limit=limit, offset=offset, deleted=deleted, **keyset)
        return RunPage(
            self.runs.by_ids([row_id for _, row_id in rows]), rows[0] if rows else None, rows[-1] if rows else None
        )

    def experiments(self):
        """Every experiment (id, name, creation time), oldest first."""
        return self.runs.experiments()

    def experiment_id(self, name: str) -> int:
        """The id of experiment ``name``, created when it does not exist yet (the current one stays)."""
        return self.runs.experiment_id(check_key(name, "experiment name"))

    def get_run(self, run_ref: str | Run | ActiveRun) -> Run:
        """Any run, deleted ones too (their ``deleted_time`` says so)."""
        self.flush()
        return self.runs.get(self._row_id(run_ref))

    def stored_run(self, run_ref: str | Run | ActiveRun) -> Run:
        """The run as stored now, without flushing buffered points first: for run-end listeners,
        which run inside the end's transaction while the buffer's last rows wait to be written with it."""
        return self.runs.get(self._row_id(run_ref))

    def run_provenance(self, run_ref: str | Run | ActiveRun) -> dict[str, Any]:
        """The run's stored provenance document."""
        return self.runs.provenance(self._row_id(run_ref))

    def search_runs(
        self,
        filter: str | None = None,
        order_by: str | list[str] | None = None,
        max_results: int | None = DEFAULT_MAX_RESULTS,
        experiment: str | None = None,
        deleted: bool | None = False,
        *,
        experiments: Iterable[str] | None = None,
        dialect: str = "nbtrack",
    ) -> list[Run]:
        """Runs matching the query grammar of :mod:`nbtrack.query`, newest first by default.

        At most ``max_results`` (1,000 by default; ``None`` for every match). Deleted runs are
        left out; ``deleted=True`` lists only them, ``deleted=None`` both. ``experiments`` names
        several experiments; ``dialect="mlflow"`` reads MLflow's filters.
        """
        self.flush()
        self.mark_dead_runs()
        where, args, order_sql, order_args = _compiled(filter, order_by, experiment, experiments, dialect)
        return self.runs.search(where, args, order_sql, order_args, max_results, deleted=deleted)

    def iter_runs(
        self,
        filter: str | None = None,
        order_by: str | None = None,
        max_results: int | None = None,
        experiment: str | None = None,
        deleted: bool = False,
        batch: int = 1000,
    ) -> Iterator[Run]:
        """Every matching run (or the first ``max_results``), read ``batch`` runs at a time: memory
        stays flat however many match (``nbtrack runs export --format json``)."""
        for ids in self._id_batches(filter, order_by, max_results, experiment, deleted, batch):
            yield from self.runs.by_ids(ids)

    def iter_table(
        self,
        columns: Mapping[str, Sequence[str]],
        filter: str | None = None,
        order_by: str | None = None,
        max_results: int | None = None,
        experiment: str | None = None,
        deleted: bool = False,
        batch: int = 1000,
    ) -> Iterator[list]:
        """The matching runs as table rows (see :meth:`RunRepository.table_rows`), ``batch`` at a time,
        without building Run objects: ``nbtrack runs export --format csv`` at >= 50,000 runs/s."""
        for ids in self._id_batches(filter, order_by, max_results, experiment, deleted, batch):
            yield from self.runs.table_rows(ids, columns)

    def _id_batches(
        self,
        filter: str | None,
        order_by: str | None,
        max_results: int | None,
        experiment: str | None,
        deleted: bool,
        batch: int,
    ) -> Iterator[list[int]]:
        """Row ids of the matching runs in order, ``batch`` at a time.

        In the default order each batch continues after the last run of the one before (keyset);
        another order reads the matching row ids once, then hands them out batch by batch.
        """
        self.flush()
        self.mark_dead_runs()
        where, args, order_sql, order_args = _compiled(filter, order_by, experiment)
        if order_by is not None and order_by.strip():
            ids = [
                row_id for _, row_id in self.runs.page(where, args, order_sql, order_args, max_results, deleted=deleted)
            ]
            for first in range(0, len(ids), batch):
                yield ids[first : first + batch]
            return
        cursor, left = None, max_results
        while left is None or left > 0:
            rows = self.runs.page(
                where, args, limit=batch if left is None else min(batch, left), deleted=deleted, after=cursor
            )
            if not rows:
                return
            yield [row_id for _, row_id in rows]
            cursor, left = rows[-1], None if left is None else left - len(rows)

    def run_keys(
        self, filter: str | None = None, experiment: str | None = None, deleted: bool = False
    ) -> dict[str, list[str]]:
        """The param, metric and tag keys of the matching runs, each sorted: an export's columns, known before its rows."""
        self.flush()
        where, args, _, _ = _compiled(filter, None, experiment)
        return self.runs.keys_of(where, args, deleted=deleted)

    def metric_history(self, run_ref: str | Run | ActiveRun, key: str) -> MetricHistory:
        self.flush()
        return self.runs.metric_history(self._row_id(run_ref), key)


def _compiled(
    filter: str | None,
    order_by: str | list[str] | None,
    experiment: str | None,
    experiments: Iterable[str] | None = None,
    dialect: str = "nbtrack",
) -> tuple[str, list, str, list]:
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
