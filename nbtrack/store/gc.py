"""Purging deleted runs for good, and collecting the blobs nothing references any more.

A blob is kept when a remaining row names it (a column of :data:`BLOB_COLUMNS`), when a JSON
document of a remaining row contains its sha256 (:data:`DOCUMENT_COLUMNS`: the execution
history is named inside a run's provenance), or when the content of a kept blob contains it
(a history blob lists its chunk blobs, a chunk its source and output blobs). Following every
sha256-shaped string rather than parsing each format keeps this layer ignorant of the
snapshot formats, and a future format that names blobs is covered without a change here; a
blob whose hash merely appears in some content is kept too, which is the safe mistake.
User payloads (artifacts, registered models) are kept but never scanned: they are opaque
bytes, possibly large, and never name other blobs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from ..entities import PurgeReport
from .connection import Store
from .runs import RunRepository

#: (table, column) holding one blob's sha256; every ``*sha256`` column of the schema is here (tested)
BLOB_COLUMNS = (
    ("runs", "env_sha256"),
    ("runs", "snapshot_sha256"),
    ("artifacts", "sha256"),
    ("run_cells", "source_sha256"),
    ("run_cells", "outputs_sha256"),
    ("model_versions", "sha256"),
)
#: blobs of these columns are user bytes: kept, never scanned for references
OPAQUE_COLUMNS = {("artifacts", "sha256"), ("model_versions", "sha256")}
#: (table, column) holding JSON text that may name blobs anywhere inside
DOCUMENT_COLUMNS = (("run_documents", "provenance"), ("run_documents", "receipt"), ("registry_events", "details"))

_SHA_TEXT = re.compile(r"(?=([0-9a-f]{64}))")  # overlapping: no hash hides inside a longer hex run
_SHA_BYTES = re.compile(rb"(?=([0-9a-f]{64}))")


class _DryRun(Exception):
    """Rolls the purge's transaction back, carrying what it would have removed."""

    def __init__(self, report: PurgeReport):
        super().__init__("dry run")
        self.report = report


class _Garbage(NamedTuple):
    shas: list[str]  # unreferenced blob rows
    files: list[Path]  # their files, and stray files (no row at all)
    strays: int
    bytes: int


def purge(store: Store, runs: RunRepository, select: Callable[[], Iterable[int]], dry_run: bool = False) -> PurgeReport:
    """Remove the runs ``select()`` names (row ids of deleted runs) with their nested runs and every
    row of theirs, then every unreferenced blob: one transaction, recorded in ``purges``.

    ``select`` runs inside the transaction, so a run restored meanwhile is not purged. A dry
    run is the same purge rolled back: what it reports is exactly what a real one would do.
    """
    moved: list[tuple[Path, Path]] = []
    try:
        with store.atomic() as conn:
            ids = [node.id for node in runs.nodes(select(), nested=True)]
            purged = runs.delete(ids)
            garbage = _garbage(store)
            report = PurgeReport(tuple(purged), len(garbage.shas) + garbage.strays, garbage.bytes, dry_run)
            if dry_run:
                raise _DryRun(report)
            moved = store.blobs.remove(garbage.shas, garbage.files)
            if report.runs or report.blobs:
                conn.execute(
                    "INSERT INTO purges(time, runs, blobs, bytes, last_run_id) VALUES (?, ?, ?, ?, ?)",
                    (time.time(), len(report.runs), report.blobs, report.bytes, max(ids, default=None)),
                )
    except _DryRun as rolled_back:
        return rolled_back.report
    except BaseException:
        store.blobs.put_back(moved)
        raise
    store.blobs.discard(moved)
    return report


def _garbage(store: Store) -> _Garbage:
    rows = {r[0]: (r[1], r[2]) for r in store.query("SELECT sha256, encoding, coalesce(length(data), size) FROM blobs")}
    dead = sorted(set(rows) - referenced(store, set(rows)))
    strays = store.blobs.stray_files({sha for sha, (encoding, _) in rows.items() if encoding == "file"})
    files = [store.blobs.path_for(sha) for sha in dead if rows[sha][0] == "file"]
    size = sum(rows[sha][1] for sha in dead) + sum(path.stat().st_size for path in strays)
    return _Garbage(dead, files + strays, len(strays), size)


def referenced(store: Store, known: set[str]) -> set[str]:
    """The blobs of ``known`` that a row names, directly or through the content of another kept blob."""
    kept: set[str] = set()
    pending: set[str] = set()
    for table, column in BLOB_COLUMNS:  # identifiers from the constants above, never user text
        found = {
            row[0] for row in store.query(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL")
        } & known
        kept |= found
        if (table, column) not in OPAQUE_COLUMNS:
            pending |= found
    for table, column in DOCUMENT_COLUMNS:
        for row in store.query(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"):
            pending |= set(_SHA_TEXT.findall(row[0])) & known
    scanned: set[str] = set()
    while pending:
        sha = pending.pop()
        scanned.add(sha)
        named = {match.decode() for match in _SHA_BYTES.findall(store.blobs.raw(sha))}
        pending |= (named & known) - scanned
    return kept | scanned
