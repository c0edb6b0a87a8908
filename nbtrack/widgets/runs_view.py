"""The Runs tab: filter box, column chooser, delete/restore actions, tag and note boxes, sortable
header, one page of rows with checkboxes, pager.

Row widgets are created once (``page_size`` of them) and refilled on every change, so
paging, sorting and refreshing never rebuild the tree. Cells are escaped HTML from
:mod:`nbtrack.display.dashboard`.
"""

from __future__ import annotations

import ipywidgets as w

from ..display.dashboard import cell_html
from ..display.html import esc
from .common import button, classed, confirm_row, on_value
from .controller import UNSORTABLE, DashboardController

_WIDTHS = {"name": 160, "status": 90, "start": 140, "duration": 80, "tags": 170, "receipt": 90}
_DEFAULT_WIDTH = 95
_ROW_STYLE = (
    "<style>.nbtrack-cells{display:flex;font-size:12px;font-family:var(--jp-ui-font-family,sans-serif)}"
    ".nbtrack-cell{flex:none;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;padding:0 4px}"
    ".nbtrack-new-run .nbtrack-cells{background:#e8f0fe}</style>"
)


def width(column: str) -> int:
    return _WIDTHS.get(column, _DEFAULT_WIDTH)


def label(column: str) -> str:
    """Header text: ``metrics.f1`` shows as ``f1`` (the tooltip keeps the full name) so narrow
    columns stay readable."""
    return column.split(".", 1)[1] if column.startswith(("metrics.", "params.", "tags.")) else column


class RunsView:
    def __init__(self, controller: DashboardController):
        self.controller = controller
        self._writing = False
        c = controller
        self.filter = classed(
            w.Text(
                value=c.query,
                placeholder="filter, e.g. metrics.f1 > 0.8 and params.model = 'gbm'",
                continuous_update=False,
                layout=w.Layout(width="60%"),
            ),
            "nbtrack-filter",
        )
        self.filter_apply = button("Apply", "nbtrack-filter-apply", lambda: c.set_filter(self.filter.value), c)
        on_value(self.filter, c.set_filter, c, lambda: self._writing)
        self.filter_error = classed(w.HTML(), "nbtrack-filter-error")
        self.columns = classed(w.SelectMultiple(description="columns", rows=6), "nbtrack-column-chooser")
        on_value(self.columns, c.set_columns, c, lambda: self._writing)
        self.show_deleted = classed(
            w.Checkbox(value=False, indent=False, description="show deleted runs"), "nbtrack-show-deleted"
        )
        on_value(self.show_deleted, c.set_show_deleted, c, lambda: self._writing)
        self.delete = button(
            "Delete selected", "nbtrack-delete-selected", c.request_delete, c, button_style="danger", disabled=True
        )
        self.restore = button("Restore selected", "nbtrack-restore-selected", c.restore_selected, c, disabled=True)
        self.delete_confirm, self.delete_text = confirm_row("nbtrack-delete", c.confirm_delete, c.cancel_delete, c)
        self.tag_text = classed(
            w.Text(placeholder="tag the selected runs: key=value", layout=w.Layout(width="40%")), "nbtrack-tag-text"
        )
        self.tag = button(
            "Tag",
            "nbtrack-tag-apply",
            lambda: c.tag_selected(self.tag_text.value),
            c,
            disabled=True,
            tooltip="set key=value on every selected run",
        )
        self.untag = button(
            "Remove tag",
            "nbtrack-tag-remove",
            lambda: c.untag_selected(self.tag_text.value),
            c,
            disabled=True,
            tooltip="type a tag's key, then click to remove it from the selected runs",
        )
        self.note = classed(
            w.Textarea(placeholder="Note (select one run)", rows=2, disabled=True, layout=w.Layout(width="60%")),
            "nbtrack-note",
        )
        self.save_note = button(
            "Save note", "nbtrack-note-save", lambda: c.set_note(self._note_for, self.note.value), c, disabled=True
        )
        self._note_for: str | None = None
        annotate = classed(
            w.VBox([w.HBox([self.tag_text, self.tag, self.untag]), w.HBox([self.note, self.save_note])]),
            "nbtrack-annotate",
        )
        self.select_page = classed(
            w.Checkbox(value=False, indent=False, description="", layout=w.Layout(width="28px")), "nbtrack-select-page"
        )
        on_value(self.select_page, c.select_page, c, lambda: self._writing)
        # wide tables scroll sideways instead of squeezing the header out of line with the rows
        self.header = classed(w.HBox(layout=w.Layout(width="max-content")), "nbtrack-runs-header")
        self.checks = [
            classed(w.Checkbox(value=False, indent=False, layout=w.Layout(width="28px")), "nbtrack-run-select")
            for _ in range(c.page_size)
        ]
        self.cells = [w.HTML() for _ in range(c.page_size)]
        self.rows = [
            classed(w.HBox([check, cells], layout=w.Layout(width="max-content")), "nbtrack-run-row")
            for check, cells in zip(self.checks, self.cells)
        ]
        for index, check in enumerate(self.checks):
            on_value(check, lambda value, i=index: self._toggle(i, value), c, lambda: self._writing)
        self.table = classed(
            w.VBox([w.HTML(_ROW_STYLE), self.header, *self.rows], layout=w.Layout(overflow="auto")),
            "nbtrack-runs-table",
        )
        self.page_label = classed(w.HTML(), "nbtrack-page-label")
        self.selection = classed(w.HTML(), "nbtrack-selection")
        pager = w.HBox(
            [
                button("◀ Prev", "nbtrack-page-prev", c.previous_page, c),
                self.page_label,
                button("Next ▶", "nbtrack-page-next", c.next_page, c),
                self.selection,
                button("Clear selection", "nbtrack-clear-selection", c.clear_selection, c),
            ]
        )
        actions = w.HBox([self.show_deleted, self.delete, self.restore])
        self.widget = classed(
            w.VBox(
                [
                    w.HBox([self.filter, self.filter_apply]),
                    self.filter_error,
                    self.columns,
                    actions,
                    self.delete_confirm,
                    annotate,
                    self.table,
                    pager,
                ]
            ),
            "nbtrack-runs-tab",
        )
        controller.subscribe(self.update)
        self.render_columns()
        self.render_rows()
        self.render_actions()
        self.render_note()

    def _toggle(self, index: int, value: bool) -> None:
        self.controller.toggle(self.controller.runs[index].id, value)

    def update(self, topics: set[str]) -> None:
        if "columns" in topics:
            self.render_columns()
        if topics & {"runs", "selection", "columns"}:
            self.render_rows()
        if "filter" in topics or "runs" in topics:
            self.render_filter()
        if topics & {"runs", "selection", "delete"}:
            self.render_actions()
        if topics & {"selection", "refresh"}:
            self.render_note(reload="refresh" in topics)

    def render_actions(self) -> None:
        """Delete in the live listing, Restore in the deleted one; each needs a selection."""
        c = self.controller
        self._writing = True
        try:
            self.show_deleted.value = c.show_deleted
        finally:
            self._writing = False
        self.delete.layout.display = "none" if c.show_deleted else None
        self.restore.layout.display = None if c.show_deleted else "none"
        self.delete.disabled = self.restore.disabled = not c.selected_ids
        self.tag.disabled = self.untag.disabled = c.show_deleted or not c.selected_ids
        pending = c.pending_delete
        self.delete_text.value = esc(pending.describe()) if pending else ""
        self.delete_confirm.layout.display = None if pending else "none"

    def render_note(self, reload: bool = False) -> None:
        """The Note box edits the one selected run; it is refilled only when that run changes (or on
        Refresh), so paging or sorting never throws away a note being typed."""
        run_id = self.controller.note_run_id
        self.note.disabled = self.save_note.disabled = run_id is None
        if run_id != self._note_for or reload:
            self._note_for = run_id
            self.note.value = self.controller.note_of(run_id) if run_id else ""

    def render_filter(self) -> None:
        error = self.controller.filter_error
        if error is None:
            self.filter_error.value = ""
            return
        pointer = " " * (error.position or 0) + "^"
        self.filter_error.value = (
            f'<pre style="color:#a50e0e;margin:0">{esc(error.reason)}\n{esc(error.query)}\n{pointer}</pre>'
            if error.position is not None
            else f'<span style="color:#a50e0e">{esc(error.reason)}</span>'
        )

    def render_columns(self) -> None:
        c = self.controller
        self._writing = True
        try:
            self.columns.options = c.available_columns()
            self.columns.value = tuple(c.columns)
        finally:
            self._writing = False
        buttons = [self.select_page]
        for column in c.columns:
            arrow = (" ▼" if c.descending else " ▲") if column == c.sort_column else ""
            sort = button(
                label(column) + arrow,
                "nbtrack-sort-button",
                lambda col=column: c.sort_by(col),
                c,
                disabled=column in UNSORTABLE,
                tooltip=f"{column}: click to sort",
                layout=w.Layout(width=f"{width(column)}px", flex="none"),
            )
            buttons.append(sort)
        self.header.children = buttons

    def render_rows(self) -> None:
        c = self.controller
        selected = set(c.selected_ids)
        self._writing = True
        try:
            for index, (row, check, cells) in enumerate(zip(self.rows, self.checks, self.cells)):
                if index >= len(c.runs):
                    row.layout.display = "none"
                    continue
                run = c.runs[index]
                row.layout.display = None
                check.value = run.id in selected
                cells.value = (
                    '<div class="nbtrack-cells">'
                    + "".join(
                        f'<span class="nbtrack-cell" style="width:{width(col)}px">{cell_html(run, col)}</span>'
                        for col in c.columns
                    )
                    + "</div>"
                )
                row._dom_classes = ("nbtrack-run-row", "nbtrack-new-run") if c.is_new(run) else ("nbtrack-run-row",)
            self.select_page.value = bool(c.runs) and all(run.id in selected for run in c.runs)
        finally:
            self._writing = False
        # header arrows follow the sort column
        for sort, column in zip(self.header.children[1:], c.columns):
            sort.description = label(column) + ((" ▼" if c.descending else " ▲") if column == c.sort_column else "")
        first = c.page_index * c.page_size + (1 if c.runs else 0)
        self.page_label.value = (
            f"{first}-{c.page_index * c.page_size + len(c.runs)} of {c.total} (page {c.page_index + 1}/{c.page_count})"
        )
        self.selection.value = f"{len(selected)} selected"
