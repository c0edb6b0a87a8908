"""What the runs API answers, without any HTTP: scope a notebook path, list runs, one run, rerun.

Kept apart from :mod:`.handlers` so the logic is testable with a plain store and the
handlers stay a mapping from routes to these functions. Every function opens the store,
reads, and closes it again: the server is long-lived and the kernel writes the same file.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..display.runs import receipt_badge, run_record
from ..entities import Run
from ..fingerprint import describe as describe_input
from ..errors import UsageError
from ..registry import Registry
from ..tracking import StoreLocation, Tracker, resolve_store
from ..tracking.tracker import RERUN_TAG

DEFAULT_LIMIT = 200
MAX_LIMIT = 2000


@dataclass(frozen=True)
class NotebookScope:
    """A notebook as the browser names it (server-relative) and as the kernel recorded it (absolute)."""

    relative: str
    absolute: Path
    store: StoreLocation

    def spellings(self) -> list[str]:
        """The kernel records ``root_dir/path``; a symlinked root may have been resolved on either side."""
        plain = os.path.normpath(str(self.absolute))
        return sorted({plain, os.path.realpath(plain)})


def scope(root_dir: str, relative: str) -> NotebookScope:
    """The notebook at ``relative`` under the server root and the store its kernel would use.

    The store is found from the notebook's folder exactly as a kernel started there finds
    it (``NBTRACK_STORE``, nearest ``.nbtrack/``, git root). Paths leaving the root are refused.
    """
    root = Path(root_dir).resolve()
    relative = (relative or "").strip("/")
    absolute = Path(os.path.normpath(root / relative))
    if absolute != root and root not in absolute.parents:
        raise UsageError(f"notebook path {relative!r} is outside the server root")
    folder = absolute.parent if absolute.suffix else absolute
    return NotebookScope(relative, absolute, resolve_store(cwd=folder))


@contextmanager
def _tracker(where: NotebookScope) -> Iterator[Tracker | None]:
    """A tracker on the scope's store, or None when no store exists yet (never creates one)."""
    if not where.store.db_path.exists():
        yield None
        return
    tracker = Tracker.open(where.store.db_path, create=False)
    try:
        yield tracker
    finally:
        tracker.close()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _notebook_filter(where: NotebookScope) -> str:
    return "notebook in (" + ", ".join(_quote(p) for p in where.spellings()) + ")"


def record(run: Run, versions: Sequence[tuple[str, int, str]] = ()) -> dict[str, Any]:
    """:func:`~nbtrack.display.runs.run_record` plus what the panel shows beside it, including
    the model versions registered from the run (``versions``: (model, version, stage))."""
    badge, kind = receipt_badge(run)
    # inputs decode the provenance document: here (at most a few hundred runs), not in run_record,
    # which also serves 10,000-run listings
    inputs = {k: describe_input(v) for k, v in run.inputs.items()}
    models = [{"name": name, "version": version, "stage": stage} for name, version, stage in versions]
    return {
        **run_record(run),
        "short_id": run.short_id,
        "badge_kind": kind,
        "error": run.error,
        "inputs": inputs,
        "models": models,
    }


def _records(tracker: Tracker, runs: Sequence[Run]) -> list[dict[str, Any]]:
    versions = Registry.of(tracker).versions_from_runs(r.id for r in runs)
    return [record(r, versions.get(r.id, ())) for r in runs]


def list_runs(where: NotebookScope, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The notebook's runs, newest first, at most ``limit`` (capped at :data:`MAX_LIMIT`)."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    with _tracker(where) as tracker:
        records = [] if tracker is None else _records(tracker, _runs_with_reruns(tracker, where, limit))
    return {**_header(where), "runs": records}


def _runs_with_reruns(tracker: Tracker, where: NotebookScope, limit: int) -> list[Run]:
    """The notebook's runs plus their reruns, newest first.

    A rerun executes a copy of the snapshot in a fresh kernel, so its notebook path is that
    copy's; it belongs with the notebook it reproduces, found through its ``rerun_of`` tag
    (transitively: a rerun of a rerun).
    """
    found = {r.id: r for r in tracker.search_runs(_notebook_filter(where), max_results=limit)}
    frontier = list(found)
    while frontier:
        reruns = tracker.search_runs(f"tags.`{RERUN_TAG}` in ({', '.join(map(_quote, frontier))})", max_results=limit)
        frontier = [r.id for r in reruns if r.id not in found]
        found.update((r.id, r) for r in reruns)
    return sorted(found.values(), key=lambda r: r.start_time, reverse=True)[:limit]


def run_detail(where: NotebookScope, run_id: str) -> dict[str, Any]:
    """One run and the run to compare it with: for a rerun the run it reproduces, otherwise
    the notebook's run started just before it (None for the first)."""
    with _tracker(where) as tracker:
        if tracker is None:
            raise UsageError(f"no nbtrack store at {where.store.directory}")
        run = tracker.get_run(run_id)
        original = run.tags.get(RERUN_TAG)
        if original:
            previous = tracker.search_runs(f"id = {_quote(str(original))}", max_results=1)
        else:
            earlier = f"{_notebook_filter(where)} and start_time < {run.start_time!r}"
            previous = tracker.search_runs(earlier, max_results=1)
        current, *before = _records(tracker, [run, *previous])
    return {**_header(where), "run": current, "previous": before[0] if before else None}


def _header(where: NotebookScope) -> dict[str, Any]:
    return {"notebook": where.relative, "store": str(where.store.directory), "rerun": rerun_available()}


@functools.cache
def rerun_available() -> bool:
    """Whether this nbtrack has the snapshot package's ``nbtrack rerun RUN`` command."""
    from ..cli import build_parser

    actions = getattr(build_parser(), "_subparsers", None)
    choices = {
        name for action in getattr(actions, "_group_actions", []) for name in (getattr(action, "choices", None) or {})
    }
    return "rerun" in choices


def rerun_command(where: NotebookScope, run_id: str) -> list[str]:
    """The CLI call that re-runs ``run_id`` against the scope's store, printing the JSON record."""
    return [sys.executable, "-m", "nbtrack", "--store", str(where.store.db_path), "rerun", run_id, "--json"]
