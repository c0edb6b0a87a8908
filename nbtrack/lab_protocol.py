"""Wire format of the ``nbtrack.notebook`` comm between the JupyterLab extension and the kernel.

Pure Python (stdlib only; no IPython, no nbformat import) so it can be imported and
tested anywhere. The TypeScript side lives in ``labextension/src/protocol.ts`` and
``labextension/src/push.ts``; keep them in sync.

Channel
    The FRONTEND opens a comm with target :data:`COMM_TARGET`. The kernel registers
    the target (``comm_manager.register_target``) while nbtrack is loaded. The data of
    ``comm_open`` is itself a message (the push that triggered the open), so the open
    is never "empty". A kernel without the target closes the comm; the frontend
    silently retries on the next execution. Optionally the kernel may open a comm to
    the frontend with the same target name (e.g. right after ``%load_ext nbtrack``): the
    frontend adopts it and answers with a ``connect`` push. That answer queues behind every
    execute request already sent (Run All after a restart sends them all at once), so while
    its open is unconfirmed the frontend also sends the cell scheduled right after a cell
    that mentions ``nbtrack`` as a ``notebook`` push on a NEW comm: the shell channel is
    handled in order, so the kernel accepts it after the loading cell and before the next.
    A kernel may thus hold several comms of one frontend; it answers on the latest it
    accepted and the frontend listens on all of them.

Frontend -> kernel
    ``{"type": "notebook", ...}``   the live notebook (cells without outputs), sent with
    reason ``"connect"`` when a kernel becomes ready for a notebook (also after a restart
    or kernel change), and with reason ``"execute"`` on ``executionScheduled``, before
    the execute request of that cell. See :func:`parse_push`.

    ``{"type": "scheduled", ...}``  more cells scheduled in the SAME synchronous batch
    (e.g. Run All) as the preceding ``notebook`` push on this comm: the notebook content
    is the one of that push, only ``scheduled_cell_ids`` are new. See
    :func:`parse_scheduled`.

Kernel -> frontend
    ``{"type": "run_ended", "run_id": ..., "status": ...}`` (see :func:`run_ended`);
    extra keys are allowed and passed through.

Compatibility rules: additive changes (new optional keys, new message types) keep
``PROTOCOL = 1``; receivers ignore unknown keys and unknown ``type`` values. Only a
breaking change bumps :data:`PROTOCOL`.
"""

from __future__ import annotations

import copy
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "COMM_TARGET",
    "PROTOCOL",
    "NBFORMAT",
    "NBFORMAT_MINOR",
    "REASONS",
    "CELL_TYPES",
    "NotebookPush",
    "ScheduledCells",
    "parse_push",
    "parse_scheduled",
    "parse_message",
    "to_notebook_node_dict",
    "run_ended",
]

COMM_TARGET = "nbtrack.notebook"
PROTOCOL = 1
NBFORMAT = 4
NBFORMAT_MINOR = 5
REASONS = ("connect", "execute")
CELL_TYPES = ("code", "markdown", "raw")

MSG_NOTEBOOK = "notebook"
MSG_SCHEDULED = "scheduled"
MSG_RUN_ENDED = "run_ended"

# nbformat 4.5 cell id: 1-64 characters of [a-zA-Z0-9-_]
_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass(frozen=True)
class NotebookPush:
    """A validated ``{"type": "notebook"}`` message.

    ``cells`` are nbformat-v4-like dicts: ``id``, ``cell_type``, ``source`` (str),
    ``metadata`` and, for code cells only, ``execution_count``; never outputs.
    ``sent_at_ms`` is the frontend clock (epoch milliseconds); ``received_at`` is the
    kernel clock (epoch seconds, ``time.time()``).
    """

    path: str
    reason: str
    cells: tuple[dict[str, Any], ...]
    metadata: dict[str, Any]
    scheduled_cell_ids: tuple[str, ...]
    sent_at_ms: float
    received_at: float
    nbformat_minor: int = NBFORMAT_MINOR
    protocol: int = PROTOCOL

    @property
    def cell_ids(self) -> tuple[str, ...]:
        return tuple(c["id"] for c in self.cells)

    def cell(self, cell_id: str) -> dict[str, Any] | None:
        """The cell with this id, or None."""
        for c in self.cells:
            if c["id"] == cell_id:
                return c
        return None


@dataclass(frozen=True)
class ScheduledCells:
    """A validated ``{"type": "scheduled"}`` message (same notebook as the last push)."""

    path: str
    scheduled_cell_ids: tuple[str, ...]
    sent_at_ms: float
    received_at: float
    protocol: int = PROTOCOL


def _fail(where: str, expected: str, got: Any) -> ValueError:
    shown = repr(got)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return ValueError(f"nbtrack lab push: {where}: expected {expected}, got {shown}")


def _require_mapping(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _fail(where, "a JSON object", data)
    return data


def _check_header(data: Mapping[str, Any], expected_type: str) -> None:
    msg_type = data.get("type")
    if msg_type != expected_type:
        raise _fail("type", repr(expected_type), msg_type)
    protocol = data.get("protocol")
    if isinstance(protocol, bool) or not isinstance(protocol, int):
        raise _fail("protocol", "an integer", protocol)
    if protocol != PROTOCOL:
        raise ValueError(
            f"nbtrack lab push: protocol {protocol} is not supported (this nbtrack speaks "
            f"protocol {PROTOCOL}); upgrade nbtrack in the kernel or the lab extension"
        )


def _path(data: Mapping[str, Any]) -> str:
    path = data.get("path")
    if not isinstance(path, str) or not path.strip():
        raise _fail("path", "a non-empty server-relative path string", path)
    return path


def _sent_at(data: Mapping[str, Any]) -> float:
    sent_at = data.get("sent_at")
    if isinstance(sent_at, bool) or not isinstance(sent_at, (int, float)) or not math.isfinite(sent_at):
        raise _fail("sent_at", "epoch milliseconds (a finite number)", sent_at)
    return sent_at


def _ids(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise _fail(where, "a list of cell ids", value)
    for i, cell_id in enumerate(value):
        if not isinstance(cell_id, str) or not cell_id:
            raise _fail(f"{where}[{i}]", "a non-empty string", cell_id)
    return tuple(value)


def _cell(raw: Any, i: int) -> dict[str, Any]:
    where = f"cells[{i}]"
    raw = _require_mapping(raw, where)
    cell_id = raw.get("id")
    if not isinstance(cell_id, str) or not _CELL_ID.match(cell_id):
        raise _fail(f"{where}.id", "1-64 characters of [a-zA-Z0-9-_] (nbformat 4.5 cell id)", cell_id)
    cell_type = raw.get("cell_type")
    if cell_type not in CELL_TYPES:
        raise _fail(f"{where}.cell_type", " | ".join(CELL_TYPES), cell_type)
    source = raw.get("source")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise _fail(f"{where}.source", "a string", source)
    metadata = raw.get("metadata", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, Mapping):
        raise _fail(f"{where}.metadata", "a JSON object", metadata)
    cell: dict[str, Any] = {
        "id": cell_id,
        "cell_type": cell_type,
        "source": source,
        "metadata": copy.deepcopy(dict(metadata)),
    }
    if cell_type == "code":
        count = raw.get("execution_count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
            raise _fail(f"{where}.execution_count", "a non-negative integer or null", count)
        cell["execution_count"] = count
    return cell


def parse_push(data: Any, *, received_at: float | None = None) -> NotebookPush:
    """Validate a ``{"type": "notebook"}`` message; raise ValueError saying what is wrong."""
    data = _require_mapping(data, "message")
    _check_header(data, MSG_NOTEBOOK)
    reason = data.get("reason")
    if reason not in REASONS:
        raise _fail("reason", " | ".join(repr(r) for r in REASONS), reason)
    path = _path(data)
    if data.get("nbformat") != NBFORMAT:
        raise _fail("nbformat", str(NBFORMAT), data.get("nbformat"))
    minor = data.get("nbformat_minor")
    if isinstance(minor, bool) or not isinstance(minor, int) or minor < NBFORMAT_MINOR:
        raise _fail("nbformat_minor", f"an integer >= {NBFORMAT_MINOR} (cells carry ids)", minor)
    metadata = data.get("metadata")
    if not isinstance(metadata, Mapping):
        raise _fail("metadata", "a JSON object (notebook metadata)", metadata)
    raw_cells = data.get("cells")
    if not isinstance(raw_cells, (list, tuple)):
        raise _fail("cells", "a list of cells", raw_cells)
    cells = tuple(_cell(raw, i) for i, raw in enumerate(raw_cells))
    seen: set[str] = set()
    for i, cell in enumerate(cells):
        if cell["id"] in seen:
            raise _fail(f"cells[{i}].id", "ids unique within the notebook", cell["id"])
        seen.add(cell["id"])
    if "scheduled_cell_ids" in data:
        scheduled = _ids(data["scheduled_cell_ids"], "scheduled_cell_ids")
    elif reason == "execute":
        raise ValueError("nbtrack lab push: scheduled_cell_ids: required when reason is 'execute'")
    else:
        scheduled = ()
    return NotebookPush(
        path=path,
        reason=reason,
        cells=cells,
        metadata=copy.deepcopy(dict(metadata)),
        scheduled_cell_ids=scheduled,
        sent_at_ms=_sent_at(data),
        received_at=time.time() if received_at is None else received_at,
        nbformat_minor=minor,
    )


def parse_scheduled(data: Any, *, received_at: float | None = None) -> ScheduledCells:
    """Validate a ``{"type": "scheduled"}`` message."""
    data = _require_mapping(data, "message")
    _check_header(data, MSG_SCHEDULED)
    return ScheduledCells(
        path=_path(data),
        scheduled_cell_ids=_ids(data.get("scheduled_cell_ids"), "scheduled_cell_ids"),
        sent_at_ms=_sent_at(data),
        received_at=time.time() if received_at is None else received_at,
    )


def parse_message(data: Any, *, received_at: float | None = None) -> NotebookPush | ScheduledCells | None:
    """Dispatch on ``type``: a push, a scheduled follow-up, or None for an unknown type.

    Malformed messages of a known type raise ValueError.
    """
    data = _require_mapping(data, "message")
    msg_type = data.get("type")
    if msg_type == MSG_NOTEBOOK:
        return parse_push(data, received_at=received_at)
    if msg_type == MSG_SCHEDULED:
        return parse_scheduled(data, received_at=received_at)
    return None


def to_notebook_node_dict(push: NotebookPush) -> dict[str, Any]:
    """A valid nbformat v4 notebook dict (code cells get empty outputs).

    Pass it to ``nbformat.from_dict`` for a NotebookNode.
    """
    cells = []
    for cell in push.cells:
        out: dict[str, Any] = {
            "id": cell["id"],
            "cell_type": cell["cell_type"],
            "metadata": copy.deepcopy(cell["metadata"]),
            "source": cell["source"],
        }
        if cell["cell_type"] == "code":
            out["execution_count"] = cell.get("execution_count")
            out["outputs"] = []
        cells.append(out)
    return {
        "nbformat": NBFORMAT,
        "nbformat_minor": NBFORMAT_MINOR,  # the shape built here is 4.5
        "metadata": copy.deepcopy(push.metadata),
        "cells": cells,
    }


def run_ended(run_id: str | int, status: str, **extra: Any) -> dict[str, Any]:
    """The kernel -> frontend message announcing that a run ended."""
    if isinstance(run_id, bool) or not isinstance(run_id, (str, int)):
        raise _fail("run_id", "a string or integer", run_id)
    if not isinstance(status, str) or not status:
        raise _fail("status", "a non-empty string", status)
    return {**extra, "type": MSG_RUN_ENDED, "run_id": run_id, "status": status}
