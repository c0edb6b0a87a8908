"""Params and metrics captured from cells: the rules documented in nbtrack/capture/__init__.py."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from nbtrack.capture import DEFAULT_METRIC_PATTERNS, Captured, CellNames, analyze_cell, extract


def run(source: str, namespace: dict[str, Any] | None = None, **options: Any) -> Captured:
    """Analyse, execute and extract like the %%track magic does."""
    source = textwrap.dedent(source)
    names = analyze_cell(source)
    namespace = {} if namespace is None else namespace
    exec(source, namespace)
    namespace.pop("__builtins__", None)
    return extract(names, namespace, **options)


@pytest.mark.parametrize(
    ("source", "params"),
    [
        ("a = 1", {"a": 1}),
        ("a = -1e-3", {"a": -1e-3}),
        ("a = +2", {"a": 2}),
        ("a: float = 0.1", {"a": 0.1}),
        ("a = b = 'x'", {"a": "x", "b": "x"}),
        ("a, b = 1, 2", {"a": 1, "b": 2}),
        ("[a, b] = [True, None]", {"a": True, "b": None}),
        ("a = [1, (2.5, 'x'), {'k': [None, -3]}]", {"a": [1, (2.5, "x"), {"k": [None, -3]}]}),
        ("a = ()", {"a": ()}),
    ],
)
def test_literal_assignments_are_params(source, params):
    assert run(source) == Captured(params=params, metrics={}, skipped=[])


@pytest.mark.parametrize(
    "source",
    [
        "def f(): return 1\na = f()",
        "a = y",
        "a = 2 * 3",
        "a = {1, 2}",
        "a = b'x'",
        "a = 1j",
        "a = f'{1}'",
        "a = ...",
        "a = -True",
        "a = {**{'k': 1}}",
        "a = [*[1, 2]]",
        "a += 1",
        "a, b = [1, 2][::-1]",
        "a, *b = 1, 2, 3",
    ],
)
def test_non_literal_assignments_are_not_params(source):
    names = analyze_cell(source)
    assert names.literals == ()
    assert dict(names.conditional) == {}


def test_subscript_and_attribute_targets_bind_no_name():
    assert analyze_cell("d['k'] = 1\no.x = 1\nz: int") == CellNames(read=("d", "o", "int"))  # read, not bound


def test_the_value_after_the_cell_ran_is_recorded():
    assert run("lr = 0.1\nlr = lr * 2\nn = 0\nn += 1").params == {"lr": 0.2, "n": 1}


@pytest.mark.parametrize(
    "source",
    [
        "for i in range(2):\n    a = 1",
        "while False:\n    a = 1",
        "def f():\n    a = 1",
        "class C:\n    a = 1",
        "b = [a for a in range(3)]",
    ],
)
def test_loops_functions_classes_and_comprehensions_are_ignored(source):
    names = analyze_cell(source)
    assert "a" not in names.literals and "a" not in names.conditional and "a" not in names.bound


def test_conditional_assignment_is_recorded_when_its_branch_ran():
    source = """
        if use_adam:
            opt = "adam"
        else:
            opt = "sgd"
    """
    assert run(source, {"use_adam": True}).params == {"opt": "adam"}
    assert run(source, {"use_adam": False}).params == {"opt": "sgd"}


def test_conditional_assignment_that_did_not_run_does_not_leak_an_older_value():
    source = """
        if flag:
            opt = "adam"
            dropout = True
    """
    assert run(source, {"flag": False, "opt": "rmsprop", "dropout": 1}).params == {}


def test_conditional_match_compares_type_too():
    # a stale 1 (int) must not pass for the literal True
    assert run("if flag:\n    a = True", {"flag": False, "a": 1}).params == {}


@pytest.mark.parametrize(
    "source",
    [
        "with open(__file__) if False else nullcontext():\n    a = 1",
        "try:\n    a = 1\nexcept Exception:\n    pass",
        "try:\n    pass\nexcept Exception:\n    pass\nelse:\n    a = 1",
        "try:\n    pass\nfinally:\n    a = 1",
        "match 3:\n    case 3:\n        a = 1",
        "if True:\n    with nullcontext():\n        if True:\n            a = 1",
    ],
)
def test_with_try_match_and_nested_blocks_are_conditional(source):
    names = analyze_cell(source)
    assert names.conditional == {"a": (1,)}
    assert run("from contextlib import nullcontext\n" + source).params == {"a": 1}


def test_an_unconditional_literal_wins_over_conditional_ones():
    names = analyze_cell("a = 1\nif x:\n    a = 2")
    assert names.literals == ("a",) and "a" not in names.conditional


def test_unstorable_and_deleted_params_are_skipped_with_a_reason():
    big = "x" * (65 * 1024)
    out = run(f"a = {{1: 'int key'}}\nb = {big!r}\nc = 1\ndel c\nd = 2")
    assert out.params == {"d": 2}
    reasons = dict(out.skipped)
    assert set(reasons) == {"a", "b", "c"}
    assert "JSON" in reasons["a"]
    assert "limit" in reasons["b"]
    assert reasons["c"] == "not defined after the cell ran"


def test_metrics_match_default_patterns_and_are_floats():
    np = pytest.importorskip("numpy")
    source = """
        accuracy = 0.91
        val_loss = 0.25
        F1 = 1
        roc_auc = np.float32(0.5)
        loss = 0.0
        loss += 1.5
        if True:
            test_acc = 0.8
    """
    out = run(source, {"np": np})
    expected = {"accuracy": 0.91, "val_loss": 0.25, "F1": 1.0, "roc_auc": 0.5, "loss": 1.5, "test_acc": 0.8}
    assert out.metrics == expected
    assert all(type(value) is float for value in out.metrics.values())
    assert out.params == {}


def test_names_matching_patterns_with_non_numeric_values_can_be_params():
    out = run("loss_fn = 'mse'\nacc = True\naccumulate_steps = 4")
    assert out.metrics == {}
    assert out.params == {"loss_fn": "mse", "acc": True, "accumulate_steps": 4}


def test_for_targets_are_not_metrics_but_walrus_targets_are():
    source = """
        for loss in [0.3, 0.2]:
            pass
        if (auc := 0.7) > 0.5:
            pass
        ys = [(f1 := v) for v in [0.1]]
    """
    assert run(source).metrics == {"auc": 0.7}


def test_metric_patterns_are_configurable_and_case_insensitive():
    out = run("Score = 3.0\nacc = 0.5", metric_patterns=["score"])
    assert out.metrics == {"Score": 3.0}
    assert out.params == {"acc": 0.5}
    assert run("acc = 0.5", metric_patterns=[]).params == {"acc": 0.5}


def test_explicit_names_are_taken_whatever_their_right_side():
    source = """
        def fit():
            return {"depth": 3}, 0.75
        config, f1 = fit()
    """
    out = run(source, extra_params=["config", "missing"], extra_metrics=["f1", "config"])
    assert out.params == {"config": {"depth": 3}}
    assert out.metrics == {"f1": 0.75}
    reasons = dict(out.skipped)
    assert reasons.keys() == {"missing", "config"}
    assert reasons["missing"] == "not defined after the cell ran"
    assert "must be a real number" in reasons["config"]  # requested as a metric too


def test_explicit_param_overrides_a_metric_pattern():
    out = run("loss_weight = 0.5\nval_loss = 0.1", extra_params=["loss_weight"])
    assert out.params == {"loss_weight": 0.5}
    assert out.metrics == {"val_loss": 0.1}


def test_private_names_are_never_captured():
    out = run("_lr = 0.1\n_acc = 0.5\n__x = 1", extra_params=["_lr"])
    assert out.params == {} and out.metrics == {}
    assert out.skipped == [("_lr", "names starting with '_' are never captured")]


def test_syntax_errors_give_no_candidates():
    assert analyze_cell("a = 1\nif :") == CellNames()
    assert analyze_cell("a = 1\0") == CellNames()


def test_analysis_is_cached_and_immutable():
    names = analyze_cell("if x:\n    a = 1")
    assert analyze_cell("if x:\n    a = 1") is names
    with pytest.raises(TypeError):
        names.conditional["b"] = (2,)  # type: ignore[index]


def test_ipython_transformed_cells_are_plain_python():
    inputtransformer2 = pytest.importorskip("IPython.core.inputtransformer2")
    cell = "%matplotlib inline\n!echo hi\nfiles = !ls\n%time acc = 0.5\nlr = 0.01\n"
    source = inputtransformer2.TransformerManager().transform_cell(cell)
    names = analyze_cell(source)
    assert names.literals == ("lr",)
    assert "acc" not in names.bound  # hidden inside the %time string argument
    assert "files" in names.bound


def test_default_patterns_cover_common_metric_names():
    metric_names = ["acc", "val_accuracy", "f1_macro", "test_rmse", "r2", "cv_score", "precision_at_5"]
    names = analyze_cell("\n".join(f"{name} = 0.5" for name in metric_names))
    out = extract(names, dict.fromkeys(names.bound, 0.5), DEFAULT_METRIC_PATTERNS)
    assert set(out.metrics) == set(names.bound)


# -- estimators ---------------------------------------------------------------------------------------
def test_sklearn_estimators_record_class_and_non_default_hyperparameters():
    import numpy as np
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    namespace = {
        "model": GradientBoostingClassifier(max_depth=4, n_estimators=100, random_state=np.int64(7)),
        "pipe": make_pipeline(StandardScaler(with_mean=False), LogisticRegression(C=0.5, class_weight={0: 1, 1: 3})),
        "cls": GradientBoostingClassifier,  # a class, not an estimator
        "max_depth": 9,
    }
    names = analyze_cell("model = fit()\npipe = build()\ncls = pick()\nmax_depth = 9")
    captured = extract(names, namespace)
    assert captured.params == {
        "max_depth": 9,
        # n_estimators=100 is the default: left out, as sklearn's repr leaves it out
        "model.estimator": "GradientBoostingClassifier",
        "model.max_depth": 4,
        "model.random_state": 7,
        # the label names the steps once; their settings follow under their deep names
        "pipe.estimator": "Pipeline[StandardScaler, LogisticRegression]",
        "pipe.logisticregression__C": 0.5,
        "pipe.standardscaler__with_mean": False,
    }  # class_weight (a dict with int keys) cannot be a param: left out silently
    assert captured.skipped == []
    assert captured.unseeded == ["pipe.logisticregression"]  # model has random_state=7
    assert extract(names, namespace, estimators=False).params == {"max_depth": 9}


class _Odd:
    """Estimator-shaped user classes: one whose get_params breaks, one with odd values."""

    def __init__(self, fail: bool = False, fn=len, grid=(1, 2.5, "x"), nested=None):
        self.fail, self.fn, self.grid, self.nested = fail, fn, grid, nested

    def get_params(self, deep=True):
        if self.fail:
            raise RuntimeError("broken get_params")
        return {"fail": self.fail, "fn": self.fn, "grid": self.grid, "nested": self.nested, "choices": {1, 2}}


def test_odd_estimators_never_break_the_capture():
    namespace = {"ok": _Odd(grid=(1, 2.5, "x", None), nested=_Odd()), "bad": _Odd(fail=True), "lr": 0.1}
    captured = extract(analyze_cell("ok = a()\nbad = b()\nlr = 0.1"), namespace)
    # fn (a function) and choices (a set) are left out; grid differs from its default (a tuple of 4)
    assert captured.params == {"lr": 0.1, "ok.estimator": "_Odd", "ok.grid": [1, 2.5, "x", None], "ok.nested": "_Odd"}
    assert captured.skipped == [("bad", "hyperparameters not recorded: RuntimeError: broken get_params")]


def test_tracked_cell_records_an_inline_estimator(shell):
    shell.ok(
        "%%track -q gbm\nfrom sklearn.tree import DecisionTreeClassifier\nmodel = DecisionTreeClassifier(max_depth=2).fit([[0], [1]], [0, 1])\nacc = 1.0"
    )
    run = shell.tracker.search_runs(max_results=1)[0]
    assert run.params == {"model.estimator": "DecisionTreeClassifier", "model.max_depth": 2}
    shell.ok("%config TrackMagics.capture_estimators = False")
    shell.ok("%%track -q plain\nmodel = DecisionTreeClassifier(max_depth=3)")
    assert shell.tracker.search_runs(max_results=1)[0].params == {}


def test_run_tables_lead_with_the_users_own_params(tracker):
    """Estimator hyperparameters repeat the user's names (alpha, model.mlp__alpha): they get columns last."""
    from nbtrack.display import RunList

    for alpha in (0.1, 0.2):
        params = {"alpha": alpha, "model.estimator": "Pipeline[MLP]", **{f"model.mlp__p{i}": i for i in range(10)}}
        with tracker.start_run(params=params):
            tracker.log_metric("f1", alpha)
    header = str(RunList(tracker.search_runs())).splitlines()[0].split()
    params = [h for h in header if h.startswith("params.")]
    assert params[:2] == ["params.alpha", "params.model.estimator"] and len(params) == 8
