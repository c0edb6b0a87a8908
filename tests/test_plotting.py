"""Comparison charts, checked through their Axes data and labels (never pixels)."""

from __future__ import annotations

import math

import matplotlib
import pytest

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from nbtrack.compare import compare_runs  # noqa: E402
from nbtrack.entities import MetricPoint  # noqa: E402
from nbtrack.plotting import metric_bars, metric_histories, parallel_coordinates, param_scatter, png_bytes  # noqa: E402
from nbtrack.plotting.charts import BASELINE, BEST, OTHER  # noqa: E402


@pytest.fixture
def comparison(tracker):
    runs = []
    for name, params, metrics in [
        ("a", {"lr": 0.1, "model": "rf", "seed": 1}, {"loss": 0.5, "f1": 0.7}),
        ("b", {"lr": 0.3, "model": "gbm", "seed": 1}, {"loss": 0.2, "f1": 0.9}),
        ("$x$_c", {"lr": 0.2, "model": "gbm", "seed": 1}, {"loss": math.nan, "f1": 0.8}),
    ]:
        with tracker.start_run(name, params=params) as active:
            tracker.log_metrics(metrics)
        runs.append(tracker.get_run(active.id))
    return compare_runs(runs)


def _color(patch) -> str:
    return matplotlib.colors.to_hex(patch.get_facecolor())


def test_bars_one_per_finite_value_best_in_green(comparison):
    fig = metric_bars(comparison, "loss")
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]  # the NaN run has no bar
    assert [p.get_height() for p in ax.patches] == [0.5, 0.2]
    assert [_color(p) for p in ax.patches] == [OTHER, BEST]
    assert ax.get_title() == "loss (lower is better)"


def test_bars_mark_the_baseline_grey(tracker, comparison):
    baseline = comparison.columns[0].run
    fig = metric_bars(compare_runs([c.run for c in comparison.columns[1:]], baseline=baseline), "f1")
    assert [_color(p) for p in fig.axes[0].patches] == [BASELINE, BEST, OTHER]


def test_user_text_is_literal_not_mathtext(comparison):
    labels = [t.get_text() for t in metric_bars(comparison, "f1").axes[0].get_xticklabels()]
    assert labels[2] == r"\$x\$_c"  # escaped dollars: drawn as typed
    png_bytes(metric_bars(comparison, "f1"))  # and it renders


def test_histories_overlaid_by_step(comparison):
    histories = {
        "a": [MetricPoint(0, 1.0, 0), MetricPoint(1, 0.5, 0)],
        "_b": [MetricPoint(0, 0.9, 0), MetricPoint(2, 0.2, 0)],
        "c": [],
    }
    ax = metric_histories(histories, "loss").axes[0]
    lines = ax.get_lines()
    assert [list(line.get_xdata()) for line in lines] == [[0, 1], [0, 2]]
    assert [list(line.get_ydata()) for line in lines] == [[1.0, 0.5], [0.9, 0.2]]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", " _b"]  # a leading _ would hide it
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step", "loss")


def test_parallel_coordinates_scale_each_axis(comparison):
    ax = parallel_coordinates(comparison, "f1").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["lr", "model", "f1"]  # seed does not differ
    ys = [list(line.get_ydata()) for line in ax.get_lines() if line.get_label() in ("a", "b", r"\$x\$_c")]
    assert ys[0] == pytest.approx([0.0, 1.0, 0.0])  # a: lowest lr, model rf (sorted after gbm), lowest f1
    assert ys[1] == pytest.approx([1.0, 0.0, 1.0])
    assert ys[2] == pytest.approx([0.5, 0.0, 0.5])


def test_scatter_skips_runs_without_the_metric_and_labels_points(comparison):
    ax = param_scatter(comparison, "lr", "loss").axes[0]
    offsets = ax.collections[0].get_offsets().tolist()
    assert offsets == [[0.1, 0.5], [0.3, 0.2]]
    assert [t.get_text() for t in ax.texts] == ["a", "b"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("lr", "loss")


def test_scatter_of_a_text_param_uses_categories(comparison):
    ax = param_scatter(comparison, "model", "f1").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["gbm", "rf"]
    assert ax.collections[0].get_offsets().tolist() == [[1, 0.7], [0, 0.9], [0, 0.8]]


def test_png_bytes_is_a_png(comparison):
    assert png_bytes(metric_bars(comparison, "f1")).startswith(b"\x89PNG")


def test_plot_history_displays_as_png_without_pyplot(store_path):
    """A bare Figure built without pyplot shows as "<Figure size ...>" in a notebook: the API wraps it."""
    import nbtrack
    from nbtrack import api

    tracker = nbtrack.set_store(store_path)
    try:
        for name, scale in (("a", 1.0), ("a", 2.0), ("b", 3.0)):
            with tracker.start_run(name):
                for step in range(4):
                    tracker.log_metric("loss", scale / (step + 1), step=step)
        chart = nbtrack.plot_history("loss", "name in ('a', 'b')", order_by="name")
        png = chart._repr_png_()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        lines = chart.figure.axes[0].get_lines()
        assert sorted(line.get_label() for line in lines)[-1] == "b" and len(lines) == 3  # two "a" runs kept apart
        assert all(list(line.get_xdata()) == [0, 1, 2, 3] for line in lines)
    finally:
        api.use(None)
        tracker.close()
