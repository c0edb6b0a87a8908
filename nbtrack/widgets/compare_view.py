"""The Compare tab: param and metric tables (shared with the static view) and the charts.

Charts are PNG ``<img>`` tags inside HTML widgets (``img[src^='data:image/png']``), drawn
from the controller's Figures. Drawing costs matplotlib time, so the tab redraws only
while it is visible (the app calls :meth:`CompareView.activate`).
"""

from __future__ import annotations

import ipywidgets as w

from ..display.compare import COMPARE_STYLE, image_html, inputs_html, metrics_html, params_html
from ..display.html import STYLE, esc
from .common import classed, on_value
from .controller import DashboardController


class CompareView:
    def __init__(self, controller: DashboardController):
        self.controller = controller
        self.active = False
        self._writing = False
        c = controller
        guard = lambda: self._writing  # noqa: E731
        self.show_all = classed(
            w.Checkbox(value=False, description="show all params", indent=False), "nbtrack-show-all-params"
        )
        on_value(self.show_all, c.set_show_all_params, c, guard)
        # the widget uses "" for "no baseline": a Dropdown value of None means "nothing chosen"
        self.baseline = classed(w.Dropdown(description="baseline", options=[("no baseline", "")]), "nbtrack-baseline")
        on_value(self.baseline, lambda value: c.set_baseline(value or None), c, guard)
        self.message = classed(w.HTML(), "nbtrack-compare-message")
        self.params = classed(w.HTML(), "nbtrack-compare-params")
        self.metrics = classed(w.HTML(), "nbtrack-compare-metrics")
        self.bars = classed(w.HTML(), "nbtrack-metric-bars")
        self.history_metric = classed(w.Dropdown(description="history"), "nbtrack-history-metric")
        self.parallel_metric = classed(w.Dropdown(description="parallel"), "nbtrack-parallel-metric")
        self.scatter_param = classed(w.Dropdown(description="x param"), "nbtrack-scatter-param")
        self.scatter_metric = classed(w.Dropdown(description="y metric"), "nbtrack-scatter-metric")
        self.choosers = {
            "history": self.history_metric,
            "parallel": self.parallel_metric,
            "scatter_param": self.scatter_param,
            "scatter_metric": self.scatter_metric,
        }
        for name, chooser in self.choosers.items():
            on_value(chooser, lambda value, n=name: c.set_chart(n, value), c, guard)
        self.history = classed(w.HTML(), "nbtrack-history-chart")
        self.parallel = classed(w.HTML(), "nbtrack-parallel-chart")
        self.scatter = classed(w.HTML(), "nbtrack-scatter-chart")
        self.widget = classed(
            w.VBox(
                [
                    w.HBox([self.baseline, self.show_all]),
                    self.message,
                    w.HTML(STYLE + COMPARE_STYLE),
                    self.params,
                    self.metrics,
                    self.bars,
                    self.history_metric,
                    self.history,
                    self.parallel_metric,
                    self.parallel,
                    w.HBox([self.scatter_param, self.scatter_metric]),
                    self.scatter,
                ]
            ),
            "nbtrack-compare-tab",
        )
        controller.subscribe(self.update)

    def activate(self, active: bool) -> None:
        self.active = active
        if active:
            self.controller.attempt(self.render)

    def update(self, topics: set[str]) -> None:
        if self.active and topics & {"selection", "compare", "refresh"}:
            self.controller.attempt(self.render)

    def render(self) -> None:
        c = self.controller
        self._set(self.baseline, "options", [(label, value or "") for label, value in c.baseline_options()])
        self._set(self.baseline, "value", c.baseline or "")
        self._set(self.show_all, "value", c.show_all_params)
        if not c.selected_ids and c.baseline is None:
            self.message.value = "<p>Select runs in the Runs tab to compare them.</p>"
            for html in (self.params, self.metrics, self.bars, self.history, self.parallel, self.scatter):
                html.value = ""
            return
        comparison = c.comparison()
        self.message.value = f"<p>Comparing {len(comparison.columns)} runs: {esc(', '.join(comparison.labels))}</p>"
        self.params.value = params_html(comparison, c.show_all_params)
        self.metrics.value = metrics_html(comparison) + inputs_html(comparison)
        metric_keys = [row.key for row in comparison.metrics]
        param_keys = [row.key for row in comparison.params]
        for name, chooser in self.choosers.items():
            self._set(chooser, "options", param_keys if name == "scatter_param" else metric_keys)
            self._set(chooser, "value", c.chart_choice(comparison, name))
        from ..plotting import png_bytes

        figures = c.figures(comparison)
        self.bars.value = "".join(
            image_html(png_bytes(fig), key.split(":", 1)[1]) for key, fig in figures.items() if key.startswith("bars:")
        )
        for name, html in (("history", self.history), ("parallel", self.parallel), ("scatter", self.scatter)):
            html.value = image_html(png_bytes(figures[name]), name) if name in figures else ""

    def _set(self, widget: w.Widget, trait: str, value) -> None:
        """Write a widget value without echoing it back to the controller as a user change."""
        self._writing = True
        try:
            setattr(widget, trait, value)
        finally:
            self._writing = False
