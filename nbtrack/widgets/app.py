"""The dashboard app: a refresh control, the Runs / Compare / Registry tabs and a status line.

CSS classes (``_dom_classes``) for browser tests and styling; every one is stable:

====================================  ===========================================================
``nbtrack-dashboard``                 the whole app (VBox)
``nbtrack-refresh``                   Refresh button (re-reads the store, keeps the widget tree)
``nbtrack-status``                    the status line; plus ``nbtrack-status-error`` on errors
``nbtrack-tabs``                      the Tab widget (Runs, Compare, Registry)
``nbtrack-runs-tab``                  Runs tab
``nbtrack-filter``                    filter Text box (core query grammar); ``nbtrack-filter-apply`` button
``nbtrack-filter-error``              inline parse error with a ``^`` under the position
``nbtrack-column-chooser``            SelectMultiple of columns
``nbtrack-show-deleted``              checkbox: list deleted runs instead of live ones
``nbtrack-delete-selected``           Delete button (live runs; asks first); ``nbtrack-restore-selected`` (deleted runs)
``nbtrack-delete-confirm-box``        "Delete 3 runs?" (hidden unless asked): ``nbtrack-delete-confirm-text``,
                                      ``nbtrack-delete-confirm`` and ``nbtrack-delete-cancel`` buttons
``nbtrack-annotate``                  tag and note boxes: ``nbtrack-tag-text`` (key=value), ``nbtrack-tag-apply`` and
                                      ``nbtrack-tag-remove`` buttons (need a selection); ``nbtrack-note`` Textarea and
                                      ``nbtrack-note-save`` button (need exactly one selected run)
``nbtrack-runs-table``                the table (header + rows)
``nbtrack-runs-header``               header row; ``nbtrack-sort-button`` per column (click: sort / flip)
``nbtrack-select-page``               header checkbox selecting every run on the page
``nbtrack-run-row``                   one run row; plus ``nbtrack-new-run`` if logged after opening
``nbtrack-run-select``                a row's checkbox
``nbtrack-page-prev`` / ``-next``     pager buttons; ``nbtrack-page-label`` "1-25 of 10000 (page 1/400)"
``nbtrack-selection``                 "N selected"; ``nbtrack-clear-selection`` button
``nbtrack-compare-tab``               Compare tab
``nbtrack-baseline``                  baseline Dropdown (a selected run or a model's Production)
``nbtrack-show-all-params``           checkbox: all params, not only the differing ones
``nbtrack-compare-params``            params table; ``nbtrack-compare-metrics`` metrics table
                                      (``nbtrack-best`` cells, ``nbtrack-better``/``-worse`` deltas)
``nbtrack-metric-bars``               one bar chart per metric (``img.nbtrack-chart``)
``nbtrack-history-metric`` / chart    Dropdown + ``nbtrack-history-chart``
``nbtrack-parallel-metric`` / chart   Dropdown + ``nbtrack-parallel-chart``
``nbtrack-scatter-param``/``-metric`` Dropdowns + ``nbtrack-scatter-chart``
``nbtrack-registry-tab``              Registry tab (see :mod:`nbtrack.widgets.registry_view`)
====================================  ===========================================================
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..display.html import esc
from ..registry import Registry
from ..tracking import Tracker
from .common import button, classed
from .compare_view import CompareView
from .controller import DashboardController
from .registry_view import RegistryView
from .runs_view import RunsView

RUNS_TAB, COMPARE_TAB, REGISTRY_TAB = 0, 1, 2
_TABS = ("runs", "compare", "registry")


class Dashboard:
    """The inline dashboard. Display it (last expression of a cell) to show the app.

    Its MIME bundle holds the widget view *and* a static ``text/html`` copy of the page and
    the comparison, so a saved notebook still shows them where widgets do not render.

    >>> Dashboard(tracker, "metrics.f1 > 0.8")   # doctest: +SKIP
    """

    def __init__(
        self, tracker: Tracker, query: str | None = None, *, page_size: int = 25, registry: Registry | None = None
    ):
        self.controller = c = DashboardController(tracker, query, page_size=page_size, registry=registry)
        self.runs_view = RunsView(c)
        self.compare_view = CompareView(c)
        self.registry_view = RegistryView(c, show_compare=lambda: self.select_tab(COMPARE_TAB))
        views = [
            ("Runs", self.runs_view.widget),
            ("Compare", self.compare_view.widget),
            ("Registry", self.registry_view.widget),
        ]
        self.tabs = classed(w.Tab(children=[v for _, v in views], titles=[t for t, _ in views]), "nbtrack-tabs")
        self.tabs.observe(
            lambda change: self.compare_view.activate(change["new"] == COMPARE_TAB), names="selected_index"
        )
        # a tab shown again re-reads the store if a later cell (or another process) changed it
        self.tabs.observe(
            lambda change: c.attempt(c.show_tab, _TABS[change["new"]]) if change["new"] is not None else None,
            names="selected_index",
        )
        self.status = classed(w.HTML(), "nbtrack-status")
        self.refresh = button(
            "Refresh", "nbtrack-refresh", c.refresh, c, tooltip="show runs logged since the dashboard opened"
        )
        title = w.HTML("<b>nbtrack</b>")
        self.widget = classed(w.VBox([w.HBox([title, self.refresh]), self.tabs, self.status]), "nbtrack-dashboard")
        c.subscribe(self._update)
        self._render_status()

    def _update(self, topics: set[str]) -> None:
        if "status" in topics:
            self._render_status()

    def _render_status(self) -> None:
        status = self.controller.status
        self.status.value = f'<span class="nbtrack-status-text">{esc(status.text)}</span>'
        self.status._dom_classes = (
            ("nbtrack-status", "nbtrack-status-error") if status.kind == "error" else ("nbtrack-status",)
        )

    def select_tab(self, index: int) -> None:
        self.tabs.selected_index = index

    def snapshot(self, charts: bool = True):
        """The current page and comparison as static HTML: display it to keep them in a saved notebook."""
        return self.controller.static_view(charts)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_() or {})
        static = self.controller.attempt(self.controller.static_view)
        if static is not None:
            bundle["text/plain"] = str(static)
            bundle["text/html"] = static._repr_html_()
        return bundle

    def __repr__(self) -> str:
        c = self.controller
        return f"<nbtrack Dashboard: {c.total} {'deleted ' * c.show_deleted}runs, {len(c.selected_ids)} selected>"
