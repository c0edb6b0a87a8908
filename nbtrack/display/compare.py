"""The comparison as escaped HTML tables plus PNG charts: the static view of the Compare tab.

The same HTML fragments fill the dashboard's Compare tab, so what a saved notebook shows
on GitHub or nbviewer (where widgets do not render) matches what the widget showed.
CSS classes: ``nbtrack-compare``, ``nbtrack-compare-params``, ``nbtrack-compare-metrics``,
``nbtrack-compare-inputs`` (rows ``nbtrack-same`` / ``nbtrack-differs``),
``nbtrack-best`` (the best value of a metric), ``nbtrack-better`` / ``nbtrack-worse``
(a delta against the baseline), ``nbtrack-chart`` (an ``<img>`` with a PNG data URI).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from ..compare import Comparison
from ..entities import MetricPoint
from . import format as fmt
from .html import STYLE, esc, text_table
from .view import View

COMPARE_MIME = "application/vnd.nbtrack.compare.v1+json"
#: at most this many per-metric bar charts in a static view
MAX_CHARTS = 12
COMPARE_STYLE = (
    "<style>.nbtrack-better{color:#137333}.nbtrack-worse{color:#a50e0e}.nbtrack-chart{max-width:100%}</style>"
)


def params_html(comparison: Comparison, show_all: bool = False) -> str:
    rows = comparison.param_rows(show_all)
    if not rows:
        return (
            '<p class="nbtrack-compare-params">no params differ</p>'
            if comparison.params
            else '<p class="nbtrack-compare-params">no params</p>'
        )
    head = "<th>param</th>" + "".join(f"<th>{esc(label)}</th>" for label in comparison.labels)
    body = "".join(
        f"<tr><td>{esc(row.key)}</td>"
        + "".join(f"<td>{esc(fmt.value(v)) if p else ''}</td>" for v, p in zip(row.values, row.present))
        + "</tr>"
        for row in rows
    )
    return f'<table class="nbtrack-table nbtrack-compare-params"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def inputs_html(comparison: Comparison) -> str:
    """Every data input with a verdict column: the same content in every run, or not."""
    if not comparison.inputs:
        return ""
    head = "<th>input</th>" + "".join(f"<th>{esc(label)}</th>" for label in comparison.labels) + "<th></th>"
    body = "".join(
        f'<tr class="{"nbtrack-differs" if row.differs else "nbtrack-same"}"><td>{esc(row.key)}</td>'
        + "".join(f"<td>{esc(v) if p else '—'}</td>" for v, p in zip(row.values, row.present))
        + f"<td>{'differs' if row.differs else 'same data'}</td></tr>"
        for row in comparison.inputs
    )
    return f'<b>Data inputs</b><table class="nbtrack-table nbtrack-compare-inputs"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def metrics_html(comparison: Comparison) -> str:
    if not comparison.metrics:
        return '<p class="nbtrack-compare-metrics">no metrics</p>'
    head = "<th>metric</th><th>better</th>" + "".join(f"<th>{esc(label)}</th>" for label in comparison.labels)
    body = []
    for row in comparison.metrics:
        cells = []
        for i, value in enumerate(row.values):
            css = ["num"] + (["nbtrack-best"] if i in row.best else [])
            text = esc(fmt.value(value))
            if row.deltas[i] is not None and not comparison.columns[i].is_baseline:
                verdict = row.improved(i)
                mood = "" if verdict is None else (" nbtrack-better" if verdict else " nbtrack-worse")
                text += f' <span class="nbtrack-delta{mood}">({esc(_signed(row.deltas[i]))})</span>'
            cells.append(f'<td class="{" ".join(css)}">{text}</td>')
        body.append(f"<tr><td>{esc(row.key)}</td><td>{esc(row.direction)}</td>{''.join(cells)}</tr>")
    return f'<table class="nbtrack-table nbtrack-compare-metrics"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def image_html(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="nbtrack-chart" src="data:image/png;base64,{data}" alt="{esc(alt)}"/>'


def comparison_text(comparison: Comparison, show_all: bool = False) -> str:
    params = comparison.param_rows(show_all)
    parts = [f"Comparing {len(comparison.columns)} runs: " + ", ".join(comparison.labels)]
    if params:
        parts.append(
            text_table(
                ["param", *comparison.labels],
                [[r.key, *[fmt.value(v) if p else "" for v, p in zip(r.values, r.present)]] for r in params],
            )
        )
    if comparison.metrics:
        rows = [
            [r.key, *[fmt.value(v) + (" *" if i in r.best else "") for i, v in enumerate(r.values)]]
            for r in comparison.metrics
        ]
        parts.append(text_table(["metric", *comparison.labels], rows) + "\n(* best)")
    if comparison.inputs:
        rows = [
            [r.key, *[v if p else "—" for v, p in zip(r.values, r.present)], "differs" if r.differs else "same data"]
            for r in comparison.inputs
        ]
        parts.append(text_table(["input", *comparison.labels, ""], rows))
    return "\n\n".join(parts)


class ComparisonView(View):
    """Params (differing only, unless ``show_all``), metrics with the best highlighted, and charts.

    >>> ComparisonView(compare_runs(runs), histories={"loss": {...}})   # doctest: +SKIP
    """

    mime = COMPARE_MIME

    def __init__(
        self,
        comparison: Comparison,
        histories: Mapping[str, Mapping[str, Sequence[MetricPoint]]] | None = None,
        show_all: bool = False,
        charts: bool = True,
    ):
        self.comparison = comparison
        self.histories = histories or {}
        self.show_all = show_all
        self.charts = charts

    def _charts_html(self) -> str:
        from ..plotting import metric_bars, metric_histories, png_bytes  # matplotlib only when drawing

        parts = []
        for row in self.comparison.metrics[:MAX_CHARTS]:
            parts.append(image_html(png_bytes(metric_bars(self.comparison, row.key)), f"{row.key} per run"))
        for key, history in self.histories.items():
            parts.append(image_html(png_bytes(metric_histories(history, key)), f"{key} by step"))
        return "".join(parts)

    def html_body(self) -> str:
        charts = self._charts_html() if self.charts and len(self.comparison.columns) else ""
        return (
            '<div class="nbtrack-compare">'
            f"<b>Params{'' if self.show_all else ' that differ'}</b>{params_html(self.comparison, self.show_all)}"
            f"<b>Metrics</b>{metrics_html(self.comparison)}{inputs_html(self.comparison)}{charts}</div>"
        )

    def _repr_html_(self) -> str:
        return STYLE + COMPARE_STYLE + self.html_body()

    def __str__(self) -> str:
        return comparison_text(self.comparison, self.show_all)

    def record(self) -> dict[str, Any]:
        return comparison_record(self.comparison)


def comparison_record(comparison: Comparison) -> dict[str, Any]:
    from .runs import _json_safe

    return {
        "runs": [{"id": c.run.id, "label": c.label, "baseline": c.is_baseline} for c in comparison.columns],
        "params": {
            r.key: [_json_safe(v) if p else None for v, p in zip(r.values, r.present)] for r in comparison.params
        },
        "metrics": {
            r.key: {"direction": r.direction, "values": [_json_safe(v) for v in r.values], "best": sorted(r.best)}
            for r in comparison.metrics
        },
        "inputs": {r.key: {"values": list(r.values), "differs": r.differs} for r in comparison.inputs},
    }


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + fmt.value(value)
