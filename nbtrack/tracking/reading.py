"""Reading runs: one run, searches (a page, or every match batch by batch), the keys and metric
histories of runs, experiments."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from ..entities import MetricHistory, Run
from ..values import check_key
from .active import ActiveRun
from .parts import TrackerPart

#: runs ``search_runs`` returns unless told otherwise (``max_results=None``: all): a store of a
#: year of runs is not loaded whole by accident
DEFAULT_MAX_RESULTS = 1000


class Reading(TrackerPart):
    """Queries over the store (each flushes buffered points first, so a run reads as logged)."""

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
