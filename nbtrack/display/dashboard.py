"""Run-table cells and the static (no-widget) view of the dashboard.

A column is named ``name``, ``status``, ``start``, ``duration``, ``tags`` (all user tags,
``k=v``), ``receipt`` (the clean/verified badges), or ``params.<key>``, ``metrics.<key>``,
``tags.<key>``. The widget table and this static view format cells with the same
functions, so a saved notebook shows on GitHub what the dashboard showed.
CSS classes: ``nbtrack-dashboard-static``, ``nbtrack-runs-table``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..entities import SYSTEM_TAG_PREFIX, Run
from . import format as fmt
from .html import STYLE, badge, esc, text_table
from .runs import receipt_badge
from .view import View

FIXED_COLUMNS = ("name", "status", "start", "duration", "tags", "receipt")
DASHBOARD_MIME = "application/vnd.nbtrack.dashboard.v1+json"


def cell_text(run: Run, column: str) -> str:
    """The plain text of one cell."""
    if column == "name":
        return run.label
    if column == "status":
        return run.status
    if column == "start":
        return fmt.timestamp(run.start_time)
    if column == "duration":
        return fmt.duration(run.duration)
    if column == "tags":
        return fmt.truncate(
            ", ".join(f"{k}={v}" for k, v in sorted(run.tags.items()) if not k.startswith(SYSTEM_TAG_PREFIX))
        )
    if column == "receipt":
        return receipt_badge(run)[0]
    kind, _, key = column.partition(".")
    if kind == "params":
        return fmt.truncate(fmt.value(run.params.get(key)))
    if kind == "metrics":
        return fmt.value(run.metrics[key].last) if key in run.metrics else ""
    if kind == "tags":
        return fmt.truncate(run.tags.get(key, ""))
    raise ValueError(f"unknown column {column!r}")


def cell_html(run: Run, column: str) -> str:
    """One cell as escaped HTML (status and receipt as badges)."""
    if column == "status":
        return badge(run.status, run.status)
    if column == "receipt":
        text, css = receipt_badge(run)
        return badge(text, css) if text else ""
    return esc(cell_text(run, column))


def runs_table_html(runs: Sequence[Run], columns: Sequence[str]) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join(
        '<tr class="nbtrack-run-row">'
        + "".join(f"<td{' class=num' if c.startswith('metrics.') else ''}>{cell_html(run, c)}</td>" for c in columns)
        + "</tr>"
        for run in runs
    )
    return (
        f'<table class="nbtrack-table nbtrack-runs-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


class DashboardView(View):
    """What the dashboard showed, as plain HTML: the current page of runs and the comparison.

    ``comparison`` is a :class:`~nbtrack.display.compare.ComparisonView` or None. ``deleted``
    says the runs are deleted ones, so a snapshot taken while browsing them is not read as live runs.
    """

    mime = DASHBOARD_MIME

    def __init__(
        self,
        runs: Sequence[Run],
        columns: Sequence[str],
        total: int,
        query: str = "",
        comparison: Any = None,
        deleted: bool = False,
    ):
        self.runs = list(runs)
        self.columns = list(columns)
        self.total = total
        self.query = query
        self.comparison = comparison
        self.deleted = deleted

    def _caption(self) -> str:
        shown = f"{len(self.runs)} of {self.total} {'deleted ' * self.deleted}runs"
        return f"{shown} matching {self.query}" if self.query else shown

    def _repr_html_(self) -> str:
        from .compare import COMPARE_STYLE

        parts = [
            STYLE,
            COMPARE_STYLE,
            '<div class="nbtrack-dashboard-static">',
            f"<p><b>nbtrack dashboard</b>: {esc(self._caption())}</p>",
        ]
        parts.append(runs_table_html(self.runs, self.columns) if self.runs else "<p>no runs</p>")
        if self.comparison is not None:
            parts.append(self.comparison.html_body())
        parts.append("</div>")
        return "".join(parts)

    def __str__(self) -> str:
        lines = [f"nbtrack dashboard: {self._caption()}"]
        if self.runs:
            lines.append(text_table(self.columns, [[cell_text(r, c) for c in self.columns] for r in self.runs]))
        if self.comparison is not None:
            lines += ["", str(self.comparison)]
        return "\n".join(lines)

    def record(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "columns": self.columns,
            "runs": [r.id for r in self.runs],
            "deleted": self.deleted,
        }
