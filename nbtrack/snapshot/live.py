"""The latest notebook the JupyterLab extension pushed to this kernel.

The wire format is :mod:`nbtrack.lab_protocol` (the frontend pushes the live cells on
kernel connect, before every execution and, after a restart, right after the cell that loads
nbtrack: a running cell cannot receive a comm reply, so the kernel never asks). The comm plumbing lives in :mod:`nbtrack.notebook_plugin`; this
class only keeps state, so tests can feed it message dicts directly::

    live = LivePush()
    live.receive({"type": "notebook", "protocol": 1, "reason": "connect", "path": "a.ipynb", ...})
    live.latest.path        # 'a.ipynb' (server-relative, as the frontend knows it)
    live.notebook()         # nbformat-4 dict of the live cells, no outputs

Malformed or unknown messages are counted in ``ignored`` and never raise: a frontend of a
different version must not break tracking.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..lab_protocol import NotebookPush, ScheduledCells, parse_message, to_notebook_node_dict


class LivePush:
    """Latest push of this kernel (one instance per kernel)."""

    def __init__(self) -> None:
        self.latest: NotebookPush | None = None
        self.ignored = 0
        self.last_error: str | None = None

    def receive(self, data: Any) -> NotebookPush | None:
        """Remember a push; a ``scheduled`` follow-up updates the scheduled ids of the latest push."""
        try:
            message = parse_message(data)
        except ValueError as exc:
            self.ignored += 1
            self.last_error = str(exc)
            return None
        if isinstance(message, NotebookPush):
            self.latest = message
        elif isinstance(message, ScheduledCells) and self.latest is not None and message.path == self.latest.path:
            self.latest = dataclasses.replace(
                self.latest, scheduled_cell_ids=message.scheduled_cell_ids, received_at=message.received_at
            )
        else:
            self.ignored += 1
            return None
        return self.latest

    @property
    def path(self) -> str | None:
        return self.latest.path if self.latest else None

    def notebook(self) -> dict | None:
        return to_notebook_node_dict(self.latest) if self.latest else None
