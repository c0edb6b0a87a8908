"""The renderer-neutral comparison and its static HTML view."""

from __future__ import annotations

import math

import pytest

from nbtrack.compare import HIGHER, LOWER, compare_runs, metric_direction
from nbtrack.display.compare import ComparisonView, metrics_html, params_html

XSS = "<img src=x onerror=alert(1)>"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("loss", LOWER),
        ("val_loss", LOWER),
        ("train/rmse", LOWER),
        ("MAE", LOWER),
        ("mean_absolute_error", LOWER),
        ("logloss", LOWER),
        ("error_rate", LOWER),
        ("latency_ms", LOWER),
        ("f1", HIGHER),
        ("auc", HIGHER),
        ("accuracy", HIGHER),
        ("precision@5", HIGHER),
        ("glossary_size", HIGHER),
    ],
)
def test_metric_direction_guesses_from_name_words(name, expected):
    assert metric_direction(name) == expected


def test_metric_direction_override_wins_and_is_checked():
    assert metric_direction("neg_mean_squared_error", {"neg_mean_squared_error": "higher"}) == HIGHER
    with pytest.raises(ValueError, match="lower"):
        metric_direction("f1", {"f1": "up"})


def _runs(tracker, specs):
    runs = []
    for name, params, metrics in specs:
        with tracker.start_run(name, params=params) as active:
            tracker.log_metrics(metrics)
        runs.append(tracker.get_run(active.id))
    return runs


def test_only_differing_params_unless_show_all(tracker):
    runs = _runs(
        tracker, [("a", {"lr": 0.1, "depth": 3, "seed": 1}, {}), ("b", {"lr": 0.2, "depth": 3, "seed": 1.0}, {})]
    )
    comparison = compare_runs(runs)
    assert [r.key for r in comparison.param_rows()] == ["lr"]
    assert [r.key for r in comparison.param_rows(show_all=True)] == ["depth", "lr", "seed"]


def test_a_param_missing_from_one_run_differs(tracker):
    runs = _runs(tracker, [("a", {"lr": 0.1, "extra": None}, {}), ("b", {"lr": 0.1}, {})])
    row = compare_runs(runs).params[0]
    assert (row.key, row.present, row.differs) == ("extra", (True, False), True)


def test_best_value_per_metric_follows_direction_and_skips_nan(tracker):
    runs = _runs(
        tracker,
        [
            ("a", {}, {"loss": 0.5, "f1": 0.7}),
            ("b", {}, {"loss": 0.3, "f1": math.nan}),
            ("c", {}, {"loss": 0.3, "f1": 0.6}),
        ],
    )
    comparison = compare_runs(runs)
    assert comparison.metric("loss").best == frozenset({1, 2})  # ties are all best
    assert comparison.metric("f1").best == frozenset({0})
    assert compare_runs(runs[:1]).metric("loss").best == frozenset()  # nothing to beat


def test_baseline_comes_first_with_deltas_and_verdicts(tracker):
    a, b = _runs(tracker, [("v1.0", {}, {"loss": 0.5, "f1": 0.7}), ("v1.1", {}, {"loss": 0.4, "f1": 0.6})])
    comparison = compare_runs([b], baseline=a, baseline_label="fraud v1 (Production)")
    assert comparison.labels == ["fraud v1 (Production)", "v1.1"]
    assert comparison.baseline_index == 0
    loss, f1 = comparison.metric("loss"), comparison.metric("f1")
    assert loss.deltas[0] == 0 and loss.deltas[1] == pytest.approx(-0.1)
    assert loss.improved(1) is True and f1.improved(1) is False and loss.improved(0) is None


def test_runs_sharing_a_name_get_their_short_id(tracker):
    runs = _runs(tracker, [("same", {}, {}), ("same", {}, {})])
    assert compare_runs(runs).labels == [f"same ({r.short_id})" for r in runs]


def test_static_view_escapes_every_user_text(tracker):
    runs = _runs(tracker, [(XSS, {XSS: XSS, "lr": 1}, {XSS: 1.0}), ("b", {XSS: "x", "lr": 2}, {XSS: 2.0})])
    comparison = compare_runs(runs)
    bundle = ComparisonView(comparison, histories={XSS: {XSS: []}})._repr_mimebundle_()
    for html in (bundle["text/html"], params_html(comparison), metrics_html(comparison)):
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert XSS in bundle["text/plain"]


def test_static_view_highlights_best_and_embeds_png_charts(tracker):
    runs = _runs(tracker, [("a", {"lr": 1}, {"loss": 0.5}), ("b", {"lr": 2}, {"loss": 0.2})])
    html = ComparisonView(compare_runs(runs))._repr_html_()
    assert '<td class="num nbtrack-best">0.2</td>' in html
    assert '<td class="num">0.5</td>' in html
    assert html.count('src="data:image/png;base64,') == 1  # one bar chart for the one metric


def test_params_list_the_users_own_names_before_estimator_settings(tracker):
    params = {"n_estimators": 100, "model.estimator": "GBC", "model.max_depth": 4, "alpha": 1}
    runs = _runs(tracker, [("a", params, {}), ("b", {**params, "alpha": 2}, {})])
    keys = [r.key for r in compare_runs(runs).param_rows(show_all=True)]
    assert keys == ["alpha", "n_estimators", "model.estimator", "model.max_depth"]


def test_diff_compare_and_version_comparison_agree_on_what_changed(tracker):
    """Issue 15.4: one comparison model. The three views used to disagree: the registry's said
    True == 1 is unchanged and NaN != NaN changed; the diff and the Compare tab said the opposite."""
    from nbtrack.registry import Registry
    from nbtrack.repro.diff import diff_runs

    registry = Registry(tracker.store, runs=tracker.runs, who="alice@lab")
    runs = []
    for params, f1 in (
        ({"flag": True, "score": math.nan, "lr": 1, "gone": "x"}, 0.8),
        ({"flag": 1, "score": math.nan, "lr": 1.0, "new": "y"}, 0.8),
    ):
        with tracker.start_run() as run:
            tracker.log_params(params)
            tracker.log_metric("f1", f1)
            tracker.log_model({"w": f1}, "clf")
        registry.register_model(run, "clf", "fraud")
        runs.append(tracker.get_run(run.id))
    expected = ["flag", "gone", "new"]
    assert [row.key for row in compare_runs(runs).param_rows()] == expected
    assert [(c.key, c.kind) for c in diff_runs(tracker, *runs).params] == [
        ("flag", "changed"),
        ("gone", "removed"),
        ("new", "added"),
    ]
    versions = registry.compare_versions("fraud", 1, 2)
    assert [p.key for p in versions.changed_params] == expected
    assert versions.runs is not None and versions.runs.labels == [r.label for r in runs]
    assert diff_runs(tracker, *runs).metrics == () and versions.metric("f1").delta == 0
