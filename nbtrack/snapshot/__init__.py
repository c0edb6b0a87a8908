"""Notebook snapshots as executed: execution history, notebook snapshot, hidden-state receipt.

Pure logic (no IPython at import); the kernel-facing half is :mod:`nbtrack.notebook_plugin`.

Storage format (version 1)
--------------------------
Every piece is a content-addressed blob (:class:`nbtrack.store.blobs.BlobStore`, sha256),
so identical content is stored once however many runs refer to it.

``runs.notebook_path`` / ``runs.path_method``
    The notebook file and how it was found (:data:`nbtrack.snapshot.path.METHODS`).

``runs.snapshot_sha256`` -> notebook blob
    The notebook as the run saw it, as canonical JSON (:func:`canonical.dumps`: sorted keys,
    no whitespace, UTF-8) of a plain nbformat-4 dict. Source: the live cells the JupyterLab
    extension pushed (with each cell's outputs from its latest execution in this kernel),
    else the ``.ipynb`` on disk. Cell outputs are bounded per cell by
    ``TrackMagics.max_output_bytes`` and removed when ``TrackMagics.snapshot_outputs`` is
    off. ``nbformat.from_dict`` + ``storage.writable`` turn it into a valid notebook.

``runs.provenance["snapshot"]``
    ``{"format": 1, "path_method", "history_sha256", "history_cells", "source": "lab extension"
    | "disk", "stale": bool (disk file saved before the last executed cell began),
    "outputs_truncated", "outputs_truncated_cells", "notebook_mtime", "skipped": reason
    (no notebook snapshot, e.g. missing/corrupt/huge file, or disabled), "papermill": {...}}``.

``history_sha256`` -> history blob
    Canonical JSON ``{"format": "nbtrack.history/2", "count": N, "chunks": [sha256, ...],
    "tail": [...]}``; each chunk blob is ``{"format": "nbtrack.history-chunk/1", "entries": [...]}``
    holding 64 consecutive entries, ``tail`` the remaining (< 64) entries. An entry is
    ``{"seq", "execution_count", "cell_id", "source_sha256", "outputs_sha256" (null: no outputs
    or outputs off), "outputs_truncated", "started", "duration", "finished"}``: every cell executed in this kernel session up to the run's end,
    in order. Chunks repeat from run to run and are stored once. ``source_sha256`` ->
    UTF-8 source blob; ``outputs_sha256`` -> canonical JSON list of nbformat-4 output dicts.
    Read with :func:`storage.load_history` (which also reads format 1: one inline list).

``runs.receipt``
    JSON from :func:`receipt.build`: ``{"clean", "checked", "problems": [{"kind", "message",
    "cell_id"?, "execution_count"?, "names"?}]}``.

Diffing and re-running (:mod:`nbtrack.repro`) read this format: compare the two notebook blobs cell by cell (ids are stable under
JupyterLab), or the two history lists by ``source_sha256``/``outputs_sha256`` without
loading any content. Re-running: ``storage.writable(storage.snapshot_notebook(...))`` (or
``history_notebook`` for the cells exactly as executed) is a valid notebook for nbclient.
"""

from __future__ import annotations

from .history import ExecutionHistory, HistoryEntry
from .live import LivePush

__all__ = ["ExecutionHistory", "HistoryEntry", "LivePush"]
