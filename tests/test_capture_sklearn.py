"""Issue 16.2-16.3: metrics and estimators as real notebooks write them (searches, pipelines, cross_val_score)."""

from __future__ import annotations

import pytest
from IPython.utils.capture import capture_output

from nbtrack.capture import DEFAULT_METRIC_PATTERNS, analyze_cell, extract

pytest.importorskip("sklearn")

SETUP = """\
import numpy as np
from scipy.stats import loguniform
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
"""


def _last(shell):
    return shell.tracker.search_runs(max_results=1)[0]


@pytest.fixture
def sk(shell):
    shell.ok(SETUP)
    return shell


# -- metric names ---------------------------------------------------------------------------------------
METRICS = ["score", "acc0", "score_iris", "cv_score", "test_acc", "val_accuracy", "balanced_accuracy", "train_loss",
           "logloss", "test_error", "mean_squared_error", "n_errors", "pvalue", "p_value", "pvalue_perm", "f1_macro",
           "roc_auc", "r2", "rmse_val", "precision_at_5"]  # fmt: skip
NOT_METRICS = ["scorer", "accumulate", "accumulate_steps", "error_score", "loss_fn", "score_func", "accuracy_scorer",
               "account_id", "loss_weight", "scoring", "n_estimators", "alpha"]  # fmt: skip


def test_default_patterns_catch_metric_names_and_leave_lookalikes():
    names = analyze_cell("\n".join(f"{name} = v()" for name in METRICS + NOT_METRICS))
    out = extract(names, dict.fromkeys(METRICS + NOT_METRICS, 3), DEFAULT_METRIC_PATTERNS)
    assert set(out.metrics) == set(METRICS)


def test_a_sequence_of_scores_records_mean_std_and_length(sk):
    sk.ok(
        "%%track -q cv\nscores = cross_val_score(LogisticRegression(max_iter=500), X, y, cv=5)\nfold_acc = [0.5, 1.0]\nlosses = np.array([[1.0]])"
    )
    run = _last(sk)
    scores = sk.ns["scores"]
    assert run.metrics["scores.mean"].last == pytest.approx(scores.mean()) and run.metrics[
        "scores.std"
    ].last == pytest.approx(scores.std())
    assert run.params["scores.n"] == 5
    assert (
        run.metrics["fold_acc.mean"].last == 0.75
        and run.metrics["fold_acc.std"].last == 0.25
        and run.params["fold_acc.n"] == 2
    )
    assert not any(key.startswith("losses") for key in (*run.metrics, *run.params))  # 2-D: not a list of scores


def test_scores_collected_in_a_loop_are_summarised_not_a_param(sk):
    sk.ok(
        "%%track -q loop\nscores = []\nfor C in [0.1, 1.0]:\n    fold = cross_val_score(SVC(C=C), X, y, cv=3)\n    scores.append(fold.mean())"
    )
    run = _last(sk)
    assert set(run.metrics) == {"scores.mean", "scores.std"} and run.params == {"scores.n": 2}
    assert set(run.inputs) == {"X", "y"}  # read in the loop; C and fold are the loop's own


def test_a_fitted_search_records_its_best_score_params_space_and_wrapped_model(sk):
    sk.ok(
        "%%track -q grid\nsearch = GridSearchCV(SVC(kernel='linear'), {'C': [0.1, 1, 10]}, cv=3).fit(X, y)\nprint(search.best_score_)"
    )
    run = _last(sk)
    search = sk.ns["search"]
    assert set(run.metrics) == {"search.best_score"} and run.metrics["search.best_score"].last == pytest.approx(
        search.best_score_
    )
    assert run.params == {
        "search.estimator": "GridSearchCV[SVC]",
        "search.cv": 3,
        "search.estimator__kernel": "linear",
        "search.param_grid": {"C": [0.1, 1, 10]},
        "search.best_params.C": search.best_params_["C"],
    }  # error_score=nan is the default (NaN-aware); SVC's C=1.0 default is not repeated
    assert run.tags["nbtrack.unseeded"] == "search.estimator"  # SVC(random_state=None)


def test_randomized_search_space_is_json_with_distributions_described(sk):
    sk.ok(
        "%%track -q rand\nrs = RandomizedSearchCV(LogisticRegression(max_iter=300), {'C': loguniform(1e-2, 1e2), 'fit_intercept': [True, False]}, n_iter=3, cv=3, random_state=0).fit(X, y)"
    )
    run = _last(sk)
    assert run.params["rs.param_distributions"] == {"C": "loguniform(0.01, 100.0)", "fit_intercept": [True, False]}
    assert run.params["rs.random_state"] == 0 and run.params["rs.estimator"] == "RandomizedSearchCV[LogisticRegression]"
    assert "rs.best_score" in run.metrics and "rs.best_params.C" in run.params


def test_halving_search_is_a_search_too(sk):
    sk.ok(
        "from sklearn.experimental import enable_halving_search_cv\nfrom sklearn.model_selection import HalvingGridSearchCV"
    )
    sk.ok(
        "%%track -q halving\nhs = HalvingGridSearchCV(LogisticRegression(max_iter=300), {'C': [0.1, 1.0]}, cv=3, random_state=0).fit(X, y)"
    )
    run = _last(sk)
    assert "hs.best_score" in run.metrics and run.params["hs.best_params.C"] in (0.1, 1.0)
    assert run.params["hs.param_grid"] == {"C": [0.1, 1.0]}


def test_each_setting_is_recorded_once_at_its_most_specific_name(sk):
    cell = """%%track -q pipe
pipe = make_pipeline(StandardScaler(), SVC(C=10, random_state=0))
search = GridSearchCV(pipe, {"svc__gamma": [0.01, 0.1]}, cv=3)
search.fit(X, y)
"""
    sk.ok(cell)
    params = _last(sk).params
    assert params["search.estimator"] == "GridSearchCV[Pipeline[StandardScaler, SVC]]"
    assert params["search.estimator__svc__C"] == 10
    settings = [key for key in params if key.endswith("__C") or key.endswith(".C")]
    assert settings == ["search.estimator__svc__C"]  # not also pipe.svc__C, nor the step's class as a key
    assert not any(key.startswith("pipe.") for key in params)
    assert "nbtrack.unseeded" not in _last(sk).tags


def test_capture_runs_no_fit_predict_or_score():
    """Reading a search costs attribute reads only: no hidden fits, predictions or scoring."""
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.model_selection import GridSearchCV

    calls = []

    class Counting(ClassifierMixin, BaseEstimator):
        def __init__(self, k=1):
            self.k = k

        def fit(self, X, y):
            calls.append("fit")
            self.classes_ = sorted(set(y))
            return self

        def predict(self, X):
            calls.append("predict")
            return [self.classes_[0]] * len(X)

        def score(self, X, y, sample_weight=None):
            calls.append("score")
            return 0.5

    search = GridSearchCV(Counting(), {"k": [1, 2]}, cv=2).fit([[0], [1], [2], [3]], [0, 1, 0, 1])
    before = len(calls)
    out = extract(analyze_cell("search = s()\nclf = c()"), {"search": search, "clf": search.best_estimator_})
    assert len(calls) == before
    assert out.metrics == {"search.best_score": 0.5} and out.params["search.best_params.k"] == 1


def test_search_error_score_default_is_nan_aware():
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    out = extract(
        analyze_cell("a = s()\nb = s()"),
        {"a": GridSearchCV(SVC(), {"C": [1]}), "b": GridSearchCV(SVC(), {"C": [1]}, error_score="raise")},
    )
    assert "a.error_score" not in out.params  # nan == its default nan
    assert out.params["b.error_score"] == "raise"


# -- summary -------------------------------------------------------------------------------------------
def test_summary_says_when_no_metric_was_captured_and_names_unseeded_estimators(sk):
    with capture_output() as captured:
        sk.ok("%%track fit\nclf = LogisticRegression(max_iter=300).fit(X, y)\nprint('done')")
    line = captured.stdout.strip().splitlines()[-1]
    assert "no metrics captured" in line and "--metrics" in line and "unseeded clf" in line
    with capture_output() as captured:
        sk.ok("%%track fit\nclf = LogisticRegression(max_iter=300, random_state=1).fit(X, y)\nacc = clf.score(X, y)")
    line = captured.stdout.strip().splitlines()[-1]
    assert "no metrics captured" not in line and "unseeded" not in line and "acc=" in line


def test_readme_lists_the_default_metric_patterns_exactly():
    import pathlib
    import re

    readme = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    bullet = " ".join(readme[readme.index("- **Metrics**") : readme.index("- **Estimators**")].split())
    include = bullet[bullet.index("The default patterns:") : bullet.index("A pattern starting with `!`")]
    exclude = bullet[bullet.index("not results:") : bullet.index("Counts of errors")]
    listed = re.findall(r"`([^`]+)`", include) + ["!" + p for p in re.findall(r"`([^`]+)`", exclude)]
    assert listed == list(DEFAULT_METRIC_PATTERNS)
