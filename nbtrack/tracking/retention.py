"""Retention: deleting runs (hidden, restorable), restoring them, purging them for good."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import timedelta

from ..entities import RUNNING, PurgeReport, Run
from ..errors import RunStateError, UsageError
from ..store import gc
from ..store.models import ModelRepository
from ..store.runs import RunNode
from .active import ActiveRun
from .parts import TrackerPart, short


class Retention(TrackerPart):
    """Delete, restore and purge runs with the runs nested under them, each in one transaction."""

    def delete_run(self, *run_refs: str | Run | ActiveRun) -> list[str]:
        """Hide runs, and the runs nested under them, from every listing; returns the ids deleted.

        Nothing is removed yet: :meth:`restore_run` brings them back, :meth:`purge` removes them
        for good. Refused, changing nothing, while a run is RUNNING or when it is the source of
        a registered model version. All of them in one transaction.

        >>> tracker.delete_run("3f2a")   # doctest: +SKIP
        """
        self.flush()
        self.mark_dead_runs()
        with self.store.atomic():
            roots = [self._row_id(ref) for ref in run_refs]
            tree = self.runs.nodes(roots, nested=True)
            _check_deletable(roots, tree, ModelRepository(self.store).registered_from(n.id for n in tree))
            live = [n for n in tree if n.deleted_time is None]
            self.runs.set_deleted((n.id for n in live), time.time())
        return [n.uuid for n in live]

    def deletion_of(self, *run_refs: str | Run | ActiveRun) -> list[str]:
        """The ids :meth:`delete_run` would delete now (the runs named and the live runs nested
        under them), changing nothing: what a confirmation names."""
        tree = self.runs.nodes((self._row_id(ref) for ref in run_refs), nested=True)
        return [n.uuid for n in tree if n.deleted_time is None]

    def restore_run(self, *run_refs: str | Run) -> list[str]:
        """Bring deleted runs back, with the nested runs deleted together with them; returns their ids."""
        with self.store.atomic():
            roots = self.runs.nodes(self._row_id(ref) for ref in run_refs)
            # a run and one nested under it may both be named: each comes back (and is listed) once
            back = list({n.id: n for root in roots for n in self._deleted_with(root)}.values())
            ids = {n.id for n in back}
            parents = self.runs.nodes(r.parent_id for r in roots if r.parent_id is not None and r.parent_id not in ids)
            hidden = next((p for p in parents if p.deleted_time is not None), None)
            if hidden is not None:
                child = next(r for r in roots if r.parent_id == hidden.id)
                raise RunStateError(
                    f"run {short(child)} is nested under run {short(hidden)}, which is deleted too; "
                    f"restore {short(hidden)} (the runs deleted with it come back too)"
                )
            self.runs.set_deleted(ids, None)
        return [n.uuid for n in sorted(back, key=lambda n: n.id)]

    def purge(
        self, older_than: float | timedelta | None = None, runs: Iterable[str | Run] = (), dry_run: bool = False
    ) -> PurgeReport:
        """Remove deleted runs for good, with every row of theirs, then every blob nothing references.

        Which runs: those in ``runs`` (they must be deleted), else every deleted run, or those
        deleted at least ``older_than`` ago (seconds or a timedelta). Runs nested under them go
        too. One transaction; ``dry_run`` reports what would go and changes nothing.

        >>> tracker.purge(older_than=timedelta(days=30)).bytes   # doctest: +SKIP
        """
        refs = list(runs)
        if refs and older_than is not None:
            raise UsageError("purge either the runs named or the runs deleted long enough ago, not both")
        cutoff = None if older_than is None else time.time() - _seconds(older_than)
        self.flush()
        select = (
            (lambda: [self._deleted_row(ref) for ref in refs]) if refs else (lambda: self.runs.deleted_before(cutoff))
        )
        return gc.purge(self.store, self.runs, select, dry_run)

    def _deleted_with(self, root: RunNode) -> list[RunNode]:
        if root.deleted_time is None:
            raise RunStateError(f"run {short(root)} is not deleted")
        return [n for n in self.runs.nodes([root.id], nested=True) if n.deleted_time == root.deleted_time]

    def _deleted_row(self, run_ref: str | Run) -> int:
        node = self.runs.nodes([self._row_id(run_ref)])[0]
        if node.deleted_time is None:
            raise RunStateError(f"run {short(node)} is not deleted; delete it first (only deleted runs are purged)")
        return node.id


def _check_deletable(roots: list[int], tree: list[RunNode], registered: list[tuple[str, int, str]]) -> None:
    """Refuse (before anything changes) to delete a deleted, RUNNING or registered run."""
    for node in tree:
        if node.id in roots and node.deleted_time is not None:
            raise RunStateError(
                f"run {short(node)} is already deleted; restore it first (restore_run, %track undelete or nbtrack runs restore)"
            )
        if node.status == RUNNING:
            nested = "" if node.id in roots else " (nested under a run being deleted)"
            raise RunStateError(f"run {short(node)} is RUNNING{nested}; end it before deleting it")
    if registered:
        model, version, run = registered[0]
        raise RunStateError(
            f"run {run[:8]} is the source of model {model!r} version {version}; "
            "the registry's audit trail keeps it, so it cannot be deleted"
        )


def _seconds(span: float | timedelta) -> float:
    seconds = span.total_seconds() if isinstance(span, timedelta) else float(span)
    if not seconds >= 0:
        raise UsageError(f"older_than must be a duration of zero or more, got {span!r}")
    return seconds
