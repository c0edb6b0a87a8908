"""Reading the notebook a run came from, without ever failing the run.

Two sources, in order of trust: the live cells the JupyterLab extension pushed (what the
user sees, saved or not), else the ``.ipynb`` on disk. Every way a file can be bad
(missing, not JSON, nbformat v3, huge, rewritten while we read it) becomes a
:class:`NotebookRead` with ``notebook=None`` and a one-line ``reason``; callers store the
reason and carry on.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .outputs import bound

#: a notebook file larger than this is not read (its outputs would dominate the store)
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class NotebookRead:
    notebook: dict | None
    source: str  # "lab extension" | "disk" | "none"
    reason: str | None = None
    stale: bool = False
    mtime: float | None = None
    truncated: bool = False


#: pauses before reading again a file caught mid-save (only then: a good read costs nothing extra)
RETRY_PAUSES = (0.01, 0.05)
#: a file that fails to parse and was modified this recently may be half-written: read it again
RECENT_WRITE = 2.0


def read_disk(path: str | None, last_executed: float | None, max_bytes: int = MAX_NOTEBOOK_BYTES) -> NotebookRead:
    """The notebook file as a plain nbformat-4 dict; ``stale`` when saved before the last executed cell began.

    Jupyter saves atomically (write a temporary file, then rename), but other editors and
    sync tools rewrite in place: a read that overlaps such a save is retried twice before
    the run records why it has no snapshot.
    """
    for pause in (*RETRY_PAUSES, None):
        read, transient = _read_once(path, last_executed, max_bytes)
        if not transient or pause is None:
            return read
        time.sleep(pause)
    raise AssertionError("unreachable")


def _read_once(path: str | None, last_executed: float | None, max_bytes: int) -> tuple[NotebookRead, bool]:
    """(the read, whether a failure may be a save in progress)."""
    if not path:
        return NotebookRead(None, "none", "notebook path unknown"), False
    try:
        before = os.stat(path)
        if before.st_size > max_bytes:
            return NotebookRead(
                None, "disk", f"notebook file is {before.st_size} bytes, over the {max_bytes}-byte limit"
            ), False
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
        after = os.stat(path)
    except OSError as exc:
        return NotebookRead(None, "disk", f"cannot read {path}: {exc.strerror or exc}"), False
    if (before.st_mtime_ns, before.st_size) != (after.st_mtime_ns, after.st_size) or len(data) != after.st_size:
        return NotebookRead(None, "disk", f"{path} changed while it was being read (probably being saved)"), True
    notebook, reason = parse(data)
    if notebook is None:
        recent = time.time() - after.st_mtime < RECENT_WRITE
        return NotebookRead(None, "disk", f"{os.path.basename(path)}: {reason}", mtime=after.st_mtime), recent
    stale = last_executed is not None and after.st_mtime < last_executed
    return NotebookRead(notebook, "disk", None, stale, after.st_mtime), False


def parse(data: bytes) -> tuple[dict | None, str | None]:
    """(nbformat-4 dict, None) or (None, reason). Upgrades v3; does not insist on a valid schema.

    A v4 file is taken as plain JSON (nbformat's schema validation would cost ~7 ms per run on
    a 100-cell notebook); older formats go through ``nbformat.reads`` to be upgraded.
    """
    try:
        plain = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        plain = None
    if isinstance(plain, dict) and plain.get("nbformat") == 4 and isinstance(plain.get("cells"), list):
        for cell in plain["cells"]:
            if isinstance(cell, dict) and isinstance(cell.get("source"), list):
                cell["source"] = _text(cell["source"])
        return plain, None
    import nbformat  # imported on first snapshot, not with nbtrack

    try:
        node = nbformat.reads(data.decode("utf-8"), as_version=4, capture_validation_error={})
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    except Exception as exc:  # nbformat raises many types on bad input (NotJSONError, KeyError, ...)
        return None, f"not a readable notebook ({type(exc).__name__}: {str(exc)[:120]})"
    if not isinstance(node, Mapping) or not isinstance(node.get("cells"), list):
        return None, "not a notebook (no cell list)"
    return _plain(node), None


def code_cells(notebook: dict | None) -> list[dict]:
    return [c for c in (notebook or {}).get("cells", []) if c.get("cell_type") == "code"]


def cell_source(cell: Mapping[str, Any]) -> str:
    return _text(cell.get("source"))


def limit_outputs(notebook: dict, keep_outputs: bool, max_output_bytes: int) -> tuple[dict, bool]:
    """A copy with each code cell's outputs bounded (or removed); True when anything was cut."""
    truncated = False
    cells = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            outputs = cell.get("outputs") or []
            if not keep_outputs:
                outputs = []
            else:
                outputs, cut = bound(list(outputs), max_output_bytes)
                truncated = truncated or cut
            cell = {**cell, "outputs": outputs}
        cells.append(cell)
    return {**notebook, "cells": cells}, truncated


def _text(source: Any) -> str:
    if isinstance(source, list):
        return "".join(str(s) for s in source)
    return "" if source is None else str(source)


def _plain(value: Any) -> Any:
    """NotebookNode -> dict/list, multi-line strings joined (one spelling for canonical JSON)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
