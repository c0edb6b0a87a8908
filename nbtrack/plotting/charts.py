"""The comparison charts: one bar chart per metric, histories by step, parallel coordinates, scatter.

Run names, params and metric keys are user text: :func:`_text` keeps matplotlib from
reading ``$...$`` as mathtext (a crash or a misleading label) and from hiding labels
that start with ``_`` in legends.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from ..compare import Comparison
from ..entities import MetricPoint

BEST, BASELINE, OTHER = "#2e7d32", "#9e9e9e", "#1f77b4"
SIZE = (6.0, 3.2)


def metric_bars(comparison: Comparison, key: str) -> Figure:
    """One bar per run that has a finite ``key``; the best run's bar is green, the baseline's grey."""
    row = comparison.metric(key)
    shown = [i for i, v in enumerate(row.values) if _finite(v)]
    fig = Figure(figsize=SIZE, layout="constrained")
    ax = fig.add_subplot()
    colors = [BEST if i in row.best else BASELINE if comparison.columns[i].is_baseline else OTHER for i in shown]
    ax.bar(range(len(shown)), [row.values[i] for i in shown], color=colors)
    ax.set_xticks(range(len(shown)), [_text(comparison.columns[i].label) for i in shown], rotation=30, ha="right")
    ax.set_title(_text(f"{key} ({row.direction} is better)"))
    ax.set_ylabel(_text(key))
    return fig


def metric_histories(histories: Mapping[str, Sequence[MetricPoint]], key: str) -> Figure:
    """Each run's history of ``key`` overlaid by step (``histories`` maps run label to points)."""
    fig = Figure(figsize=SIZE, layout="constrained")
    ax = fig.add_subplot()
    for label, points in histories.items():
        if points:
            ax.plot(
                [p.step for p in points],
                [p.value for p in points],
                marker="o" if len(points) < 30 else None,
                label=_text(label),
            )
    ax.set_xlabel("step")
    ax.set_ylabel(_text(key))
    ax.set_title(_text(f"{key} by step"))
    if any(histories.values()):
        ax.legend(fontsize="small")
    return fig


def parallel_coordinates(comparison: Comparison, metric: str, params: Sequence[str] | None = None) -> Figure:
    """One line per run across the params (default: those that differ) and ``metric``.

    Each axis is scaled to 0..1 between its smallest and largest value (text params are
    placed in sorted order); the extremes are written at the axis ends.
    """
    keys = (
        list(params)
        if params is not None
        else [r.key for r in comparison.param_rows()] or [r.key for r in comparison.params]
    )
    axes_values = [_param_values(comparison, k) for k in keys] + [list(comparison.metric(metric).values)]
    names = [*keys, metric]
    scaled = [_scale(values) for values in axes_values]
    fig = Figure(figsize=(max(4.0, 1.2 * len(names)), 3.4), layout="constrained")
    ax = fig.add_subplot()
    for i, column in enumerate(comparison.columns):
        ax.plot(range(len(names)), [axis[0][i] for axis in scaled], marker="o", label=_text(column.label))
    for x, (_, ends) in enumerate(scaled):
        ax.axvline(x, color="#cccccc", linewidth=1, zorder=0)
        ax.annotate(
            _text(ends[0]), (x, 0), xytext=(0, -12), textcoords="offset points", ha="center", fontsize="x-small"
        )
        ax.annotate(_text(ends[1]), (x, 1), xytext=(0, 4), textcoords="offset points", ha="center", fontsize="x-small")
    ax.set_xticks(range(len(names)), [_text(n) for n in names], rotation=20)
    ax.set_yticks([])
    ax.set_ylim(-0.15, 1.15)
    ax.set_title(_text(f"params and {metric}"))
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def param_scatter(comparison: Comparison, param: str, metric: str) -> Figure:
    """``metric`` against ``param`` for every run that has both, each point labelled with its run."""
    xs_raw = _param_values(comparison, param)
    ys = comparison.metric(metric).values
    keep = [i for i in range(len(comparison.columns)) if xs_raw[i] is not None and _finite(ys[i])]
    numeric = all(_number(xs_raw[i]) for i in keep)
    categories = sorted({str(xs_raw[i]) for i in keep}) if not numeric else []
    xs = [xs_raw[i] if numeric else categories.index(str(xs_raw[i])) for i in keep]
    fig = Figure(figsize=SIZE, layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(xs, [ys[i] for i in keep])
    for x, i in zip(xs, keep):
        ax.annotate(
            _text(comparison.columns[i].label),
            (x, ys[i]),
            xytext=(3, 3),
            textcoords="offset points",
            fontsize="x-small",
        )
    if categories:
        ax.set_xticks(range(len(categories)), [_text(c) for c in categories])
    ax.set_xlabel(_text(param))
    ax.set_ylabel(_text(metric))
    ax.set_title(_text(f"{metric} vs {param}"))
    return fig


def png_bytes(fig: Figure, dpi: int = 80) -> bytes:
    """The figure as PNG (Agg), for ``<img>`` tags and the static fallback."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _param_values(comparison: Comparison, key: str) -> list[Any]:
    for row in comparison.params:
        if row.key == key:
            return [v if p else None for v, p in zip(row.values, row.present)]
    return [None] * len(comparison.columns)


def _scale(values: Sequence[Any]) -> tuple[list[float], tuple[str, str]]:
    """Values placed on 0..1 (NaN where missing) and the texts of the two ends."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if present and all(_number(v) for v in present):
        lo, hi = min(present), max(present)
        span = hi - lo
        placed = [math.nan if v not in present else (0.5 if span == 0 else (v - lo) / span) for v in values]
        return placed, (_short(lo), _short(hi))
    categories = sorted({str(v) for v in present})
    step = 1 / (len(categories) - 1) if len(categories) > 1 else 0
    placed = [math.nan if v not in present else (0.5 if step == 0 else categories.index(str(v)) * step) for v in values]
    return placed, ((categories[0], categories[-1]) if categories else ("", ""))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return _number(value) and math.isfinite(value)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _text(value: Any) -> str:
    """User text made literal for matplotlib: no mathtext, no legend-hiding leading underscore."""
    text = str(value).replace("$", r"\$")
    return " " + text if text.startswith("_") else text
