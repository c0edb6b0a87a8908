"""Issue 12.1: a run records only what *its own execution* bound or read.

A failed cell's statements after the failing one never ran; a cell that does not compile
ran nothing; a branch that was not taken bound nothing. None of them may lend the run a
value left in the namespace by an earlier cell.
"""

from __future__ import annotations

import os

import nbformat
import pytest


FOREST = """\
%%track forest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
X, y = load_iris(return_X_y=True)
n_estimators = {n}
clf = RandomForestClassifier(n_estimators=n_estimators, max_depth={depth}, random_state=0).fit(X, y)
accuracy = accuracy_score(y, clf.predict(X))
f1_macro = f1_score(y, clf.predict(X), average="macro")
"""


def _runs(store):
    from nbtrack.tracking import Tracker

    tracker = Tracker.open(store)
    try:
        return sorted(tracker.search_runs(), key=lambda run: run.start_time)
    finally:
        tracker.close()


@pytest.mark.slow
def test_failed_and_unparsable_cells_inherit_nothing_in_a_real_kernel(tmp_path, store_path):
    """The issue's repro: succeed, edit so fit() raises before the metric line, then an IndentationError."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext nbtrack"),
        nbformat.v4.new_code_cell(FOREST.format(n=20, depth=None)),
    ]
    client = NotebookClient(
        nb, kernel_name="python3", timeout=120, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}
    )
    env = {**os.environ, "NBTRACK_STORE": str(store_path)}
    with client.setup_kernel(env=env):
        client.execute_cell(nb.cells[0], 0)
        client.execute_cell(nb.cells[1], 1)
        nb.cells[1].source = FOREST.format(n=20, depth=-1)  # the user edits the cell: fit() now raises
        client.execute_cell(nb.cells[1], 1)
        nb.cells[1].source = FOREST.format(n=50, depth=None).replace("X, y = load", "  X, y = load")  # IndentationError
        client.execute_cell(nb.cells[1], 1)
        nb.cells[1].source = FOREST.format(n=20, depth=None)  # back as it was: the same literals are captured again
        client.execute_cell(nb.cells[1], 1)
    ok, failed, unparsable, again = _runs(store_path)
    assert ok.status == "FINISHED" and ok.metrics["accuracy"].last == 1.0 and ok.params["n_estimators"] == 20
    assert ok.params["clf.n_estimators"] == 20

    assert failed.status == "FAILED" and "max_depth" in failed.error
    assert failed.metrics == {}  # accuracy and f1_macro were never computed by this execution
    # n_estimators ran before the failing line (the very same int object as before: still captured);
    # the old clf is not this run's estimator
    assert failed.params == {"n_estimators": 20}
    assert set(failed.inputs) == set()  # X, y were made by the cell, not read

    assert unparsable.status == "FAILED" and "IndentationError" in unparsable.error
    assert unparsable.params == {} and unparsable.metrics == {} and unparsable.inputs == {}

    assert again.status == "FINISHED" and again.params["n_estimators"] == 20 and again.metrics["accuracy"].last == 1.0


# -- the same rules in a real InteractiveShell ----------------------------------------------------------
def _last(shell):
    return shell.tracker.search_runs(max_results=1)[0]


def _setup(shell):
    shell.ok(
        "import numpy as np\nfrom sklearn.linear_model import LogisticRegression\nX = np.arange(20.0).reshape(10, 2)\ny = np.array([0, 1] * 5)"
    )


def test_a_branch_that_did_not_run_lends_nothing(shell):
    _setup(shell)
    cell = "%%track -q\nif big:\n    n_estimators = 500\n    accuracy = float(y.mean())\nsolver = 'lbfgs'"
    shell.ok("big = True")
    shell.ok(cell)
    assert _last(shell).params == {"n_estimators": 500, "solver": "lbfgs"}
    assert set(_last(shell).metrics) == {"accuracy"}
    shell.ok("big = False")
    shell.ok(cell)
    run = _last(shell)
    assert run.params == {"solver": "lbfgs"} and run.metrics == {}  # 500 and 0.5 are the first run's


def test_a_try_that_swallowed_the_error_lends_nothing(shell):
    _setup(shell)
    cell = """%%track -q
C = {C}
try:
    model = LogisticRegression(C=C).fit(X, y)
    accuracy = model.score(X, y)
except ValueError as exc:
    print("fit failed:", exc)
"""
    shell.ok(cell.format(C=0.5))
    first = _last(shell)
    assert first.params["model.C"] == 0.5 and "accuracy" in first.metrics
    shell.ok(cell.format(C=-1.0))  # C must be > 0: fit raises, the except swallows it
    run = _last(shell)
    assert run.status == "FINISHED"
    assert run.params == {"C": -1.0} and run.metrics == {}


def test_statements_after_the_failing_one_never_ran(shell):
    _setup(shell)
    shell.ok("%%track -q\nlr = 0.1\naccuracy = 0.75\nloss = 0.5")
    shell.run(
        "%%track -q --metrics loss\nlr = 0.2\nfor i in range(3):\n    if i == 2:\n        raise RuntimeError('boom')\naccuracy = 0.8"
    )
    run = _last(shell)
    assert run.status == "FAILED" and "boom" in run.error
    assert run.params == {"lr": 0.2} and run.metrics == {}  # loss: asked for, but not this execution's
    shell.run("%%track -q\ntol = 1e-4; accuracy = undefined_name")  # two statements on one line
    assert _last(shell).params == {"tol": 1e-4} and _last(shell).metrics == {}
    shell.ok("%%track -q\nn_folds = 5\nseed = None\naccuracy = 0.5")
    shell.run(
        "%%track -q\nn_folds = 5\nseed = None; accuracy = 1 / 0"
    )  # same objects as before, but bound by this execution
    assert _last(shell).params == {"n_folds": 5, "seed": None} and _last(shell).metrics == {}


def test_values_logged_before_the_exception_stay(shell):
    shell.run("%%track -q\nimport nbtrack\nnbtrack.log_metric('accuracy', 0.7)\nloss = 0.3\nraise ValueError('late')")
    run = _last(shell)
    assert run.status == "FAILED" and run.metrics["accuracy"].last == 0.7 and run.metrics["loss"].last == 0.3


def test_a_cell_that_does_not_compile_records_nothing_but_its_error(shell):
    shell.ok("%%track -q\naccuracy = 0.9\nn_estimators = 50")
    shell.run("%%track -q --params n_estimators\naccuracy = 1\nn_estimators = 50\nif :\n    pass")
    run = _last(shell)
    assert run.status == "FAILED" and "SyntaxError" in run.error
    assert run.params == {} and run.metrics == {}
    shell.run("%%track -q\naccuracy = 1\nreturn 5")  # parses, but does not compile
    run = _last(shell)
    assert run.status == "FAILED" and "SyntaxError" in run.error and run.metrics == {}


def test_an_estimator_fitted_in_place_is_this_executions(shell):
    _setup(shell)
    shell.ok("clf = LogisticRegression(C=0.25, random_state=0)")
    shell.ok("%%track -q\nclf.fit(X, y)\naccuracy = clf.score(X, y)")
    assert _last(shell).params == {"clf.estimator": "LogisticRegression", "clf.C": 0.25, "clf.random_state": 0}
    shell.ok("%%track -q\naccuracy = clf.score(X, y)")  # only used: its settings were chosen elsewhere
    assert _last(shell).params == {}


def test_only_data_read_before_the_failure_is_an_input(shell):
    _setup(shell)
    shell.ok("X_test = X[:4]\ny_test = y[:4]")
    shell.run("%%track -q\nmodel = LogisticRegression(C=-1.0).fit(X, y)\naccuracy = model.score(X_test, y_test)")
    run = _last(shell)
    assert run.status == "FAILED" and set(run.inputs) == {"X", "y"}  # X_test was never read


# -- which branch of an if ran -------------------------------------------------------------------------
BRANCHES = """%%track -q
if model_type == "rf":
    n_estimators = 200
    bootstrap = True
elif model_type in ("svm", "svc") and not linear:
    kernel = "rbf"
else:
    C = 1.0
"""


def test_a_simple_if_test_tells_which_branch_ran_even_on_a_rerun(shell):
    """Re-run unchanged, the branch's small ints, bools and short strings are the very objects the
    names already hold: the test, re-evaluated on unchanged plain values, proves the branch ran."""
    shell.ok("model_type = 'rf'\nlinear = False")
    for _ in range(2):
        shell.ok(BRANCHES)
        assert _last(shell).params == {"n_estimators": 200, "bootstrap": True}
    shell.ok("model_type = 'svm'")
    for _ in range(2):
        shell.ok(BRANCHES)
        assert _last(shell).params == {"kernel": "rbf"}  # n_estimators=200 is left over: not this run's
    shell.ok("%%track -q\nmode = 'fast'\nif mode == 'fast':\n    n_iter = 10")  # bound in the cell before the if
    shell.ok("%%track -q\nmode = 'fast'\nif mode == 'fast':\n    n_iter = 10")
    assert _last(shell).params == {"mode": "fast", "n_iter": 10}


def test_an_if_test_that_cannot_be_replayed_decides_nothing():
    from nbtrack.capture import Before, analyze_cell, extract

    n = 200
    # the cell rebinds the test's name after the if: its value now says nothing about the test
    names = analyze_cell("if flag:\n    n = 200\nflag = False")
    assert extract(names, {"flag": False, "n": n}, before=Before(ids={"n": id(n), "flag": id(True)})).params == {
        "flag": False
    }
    # a call in the test: never evaluated again
    names = analyze_cell("if len(items) > 1:\n    n = 200")
    assert extract(names, {"items": [1, 2], "n": n, "len": len}, before=Before(ids={"n": id(n)})).params == {}
    # the test's name was replaced during the cell (by code nbtrack cannot see): undecided
    names = analyze_cell("reset()\nif mode == 'a':\n    n = 200")
    assert extract(names, {"mode": "a", "n": n}, before=Before(ids={"n": id(n), "mode": id("b")})).params == {}
    # unchanged plain value: decided
    mode = "a"
    assert extract(names, {"mode": mode, "n": n}, before=Before(ids={"n": id(n), "mode": id(mode)})).params == {
        "n": 200
    }
