"""Writing snapshots and histories to the store, and reading them back as notebooks.

Everything is a content-addressed blob (see the package docstring for the format), so
logging the same notebook a hundred times stores it once, and a history that grew by one
cell adds one source blob, one outputs blob and one small history list.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from typing import Any

from ..errors import NotFoundError, UsageError
from . import canonical
from .history import HistoryEntry
from .outputs import bound, to_nbformat

HISTORY_FORMAT = "nbtrack.history/2"
#: format 1 kept every entry inline in one blob (still read)
HISTORY_FORMAT_INLINE = "nbtrack.history/1"
CHUNK_FORMAT = "nbtrack.history-chunk/1"
#: entries per chunk: full chunks are identical from run to run and stored once
CHUNK_SIZE = 64
DEFAULT_KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def put_notebook(blobs, notebook: dict) -> str:
    """Store a notebook dict as canonical JSON; returns its sha256 (the run's ``snapshot_sha256``)."""
    return blobs.put(canonical.dumps(notebook))


def put_history(
    blobs,
    entries: Sequence[HistoryEntry],
    keep_outputs: bool,
    max_output_bytes: int,
    chunks: dict[int, tuple] | None = None,
) -> tuple[str, int]:
    """Store each entry's source and outputs once, then the ordered list; returns (sha, truncated cells).

    Complete groups of ``CHUNK_SIZE`` entries are blobs of their own, the rest is inline
    (``tail``): a session's earlier chunks do not change between runs, so a run adds one
    small blob however long the session has been. ``chunks`` (one dict per session, kept by
    the caller) remembers the chunks already stored, so a run also *costs* the same however
    long the session: a chunk of finished entries never changes, and is stored again only
    after the store's cache token changed. Call it inside the transaction that writes the
    run: the cache token is checked there, out of reach of a concurrent purge.
    """
    token = blobs.cache_token()
    chunks = {} if chunks is None else chunks
    full = len(entries) - len(entries) % CHUNK_SIZE
    shas, truncated = [], 0
    for start in range(0, full, CHUNK_SIZE):
        known = chunks.get(start)
        if known is None or known[0] != token:
            group = entries[start : start + CHUNK_SIZE]
            rows, cut = _rows(blobs, group, keep_outputs, max_output_bytes, token)
            known = (token, blobs.put(canonical.dumps({"format": CHUNK_FORMAT, "entries": rows})), cut)
            if all(entry.finished for entry in group):
                chunks[start] = known
        shas.append(known[1])
        truncated += known[2]
    tail, cut = _rows(blobs, entries[full:], keep_outputs, max_output_bytes, token)
    history = {"format": HISTORY_FORMAT, "count": len(entries), "chunks": shas, "tail": tail}
    return blobs.put(canonical.dumps(history)), truncated + cut


def _rows(
    blobs, entries: Sequence[HistoryEntry], keep_outputs: bool, max_output_bytes: int, token
) -> tuple[list[dict], int]:
    rows, truncated = [], 0
    for entry in entries:
        if entry.stored is None or entry.stored_token != token:
            entry.stored, entry.stored_token = _put_entry(blobs, entry, keep_outputs, max_output_bytes), token
        source_sha, outputs_sha, cut = entry.stored
        truncated += cut
        rows.append(
            {
                "seq": entry.seq,
                "execution_count": entry.execution_count,
                "cell_id": entry.cell_id,
                "source_sha256": source_sha,
                "outputs_sha256": outputs_sha,
                "outputs_truncated": cut,
                "started": round(entry.started, 3),
                "duration": None if entry.duration is None else round(entry.duration, 4),
                "finished": entry.finished,
            }
        )
    return rows, truncated


def _put_entry(blobs, entry: HistoryEntry, keep_outputs: bool, limit: int) -> tuple[str, str | None, bool]:
    source_sha = blobs.put(entry.source.encode("utf-8", "surrogatepass"))
    if not keep_outputs:
        return source_sha, None, False
    outputs, cut = bound(to_nbformat(entry.raw_outputs, entry.execution_count, entry.error), limit)
    outputs_sha = blobs.put(canonical.dumps(outputs)) if outputs else None
    return source_sha, outputs_sha, cut


def load_history(blobs, sha: str) -> list[dict]:
    """Every entry of a stored history, in order (either format)."""
    data = canonical.loads(blobs.get(sha))
    form = data.get("format") if isinstance(data, dict) else None
    if form == HISTORY_FORMAT_INLINE:
        return data["entries"]
    if form != HISTORY_FORMAT:
        raise UsageError(f"history blob {sha[:12]} has an unknown format; upgrade nbtrack")
    return [entry for chunk in data["chunks"] for entry in canonical.loads(blobs.get(chunk))["entries"]] + data["tail"]


def snapshot_notebook(blobs, run) -> dict:
    """The run's notebook snapshot as a plain nbformat-4 dict."""
    sha = run.provenance.get("snapshot_sha256")
    if not sha:
        reason = (run.provenance.get("snapshot") or {}).get("skipped") or "no snapshot was taken"
        raise NotFoundError(f"run {run.short_id} has no notebook snapshot ({reason}); try --as-executed")
    return canonical.loads(blobs.get(sha))


def history_notebook(blobs, run) -> dict:
    """The run's execution history as a notebook: one code cell per execution, in order."""
    sha = (run.provenance.get("snapshot") or {}).get("history_sha256")
    if not sha:
        raise NotFoundError(f"run {run.short_id} has no execution history stored")
    cells = []
    for row in load_history(blobs, sha):
        outputs = canonical.loads(blobs.get(row["outputs_sha256"])) if row.get("outputs_sha256") else []
        cells.append(
            {
                "cell_type": "code",
                "id": f"exec-{row['seq'] + 1}",
                "execution_count": row.get("execution_count"),
                "metadata": {"nbtrack": {k: row.get(k) for k in ("cell_id", "started", "duration", "seq")}},
                "source": blobs.get(row["source_sha256"]).decode("utf-8", "surrogatepass"),
                "outputs": outputs,
            }
        )
    metadata = {"kernelspec": DEFAULT_KERNELSPEC, "nbtrack": {"run_id": run.id, "as_executed": True}}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells}


def writable(notebook: dict) -> Any:
    """A validated ``NotebookNode`` ready for ``nbformat.write``; repairs what old snapshots may lack."""
    import nbformat

    notebook = copy.deepcopy(notebook)
    notebook.setdefault("metadata", {}).setdefault("kernelspec", DEFAULT_KERNELSPEC)
    notebook["nbformat"], notebook["nbformat_minor"] = 4, max(5, int(notebook.get("nbformat_minor") or 0))
    node = nbformat.from_dict(notebook)
    seen: set[str] = set()
    for index, cell in enumerate(node.cells):
        if not cell.get("id") or cell["id"] in seen:
            cell["id"] = f"cell-{index + 1}"
        seen.add(cell["id"])
        if cell.cell_type == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    nbformat.validate(node)
    return node


def write_notebook(blobs, run, target: str, as_executed: bool, force: bool) -> str:
    """Write a validated notebook for ``run`` to ``target``; never overwrites without ``force``."""
    import nbformat

    if os.path.exists(target) and not force:
        raise UsageError(f"{target} exists; pass --force to overwrite it")
    data = history_notebook(blobs, run) if as_executed else snapshot_notebook(blobs, run)
    node = writable(data)
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(nbformat.writes(node))
        handle.write("\n")
    return os.path.abspath(target)
