"""Data inputs: fingerprints of the arrays and frames a run read, in runs, diffs and rerun checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbtrack import fingerprint as fp
from nbtrack.capture import MAX_INPUTS, analyze_cell, data_inputs
from nbtrack.errors import UsageError
from nbtrack.repro import verify
from nbtrack.repro.diff import diff_runs


def digest(value):
    return fp.fingerprint(value)["digest"]


# -- fingerprints ------------------------------------------------------------------------------------
def test_array_digest_follows_content_dtype_and_shape():
    a = np.arange(24, dtype="float64").reshape(6, 4)
    assert digest(a) == digest(a.copy())
    changed = a.copy()
    changed[3, 2] += 1e-12
    assert digest(changed) != digest(a)
    assert digest(a.astype("float32")) != digest(a)
    assert digest(a.reshape(4, 6)) != digest(a)
    column = np.asfortranarray(a)[:, 1]  # not contiguous: hashed by value
    assert digest(column) == digest(np.ascontiguousarray(column))
    print_ = fp.fingerprint(a)
    assert print_ == {
        "kind": "ndarray",
        "shape": [6, 4],
        "dtype": "float64",
        "digest": print_["digest"],
        "algorithm": "blake2b-128",
        "sampled": False,
    }
    objects = np.array(["a", None, 3], dtype=object)
    assert digest(objects) != digest(np.array(["a", None, 4], dtype=object))


def test_frame_series_and_index_digests():
    df = pd.DataFrame({"tenure": [1, 5, 9], "plan": ["a", "b", "a"], "churned": [0, 1, 0]})
    assert digest(df) == digest(df.copy())
    assert digest(df.rename(columns={"plan": "tier"})) != digest(df)
    assert digest(df.iloc[::-1]) != digest(df)  # row order is content
    edited = df.copy()
    edited.loc[1, "plan"] = "c"
    assert digest(edited) != digest(df)
    print_ = fp.fingerprint(df)
    assert (print_["kind"], print_["shape"], print_["columns"], print_["dtypes"]) == (
        "DataFrame",
        [3, 3],
        ["tenure", "plan", "churned"],
        sorted({str(t) for t in df.dtypes}),
    )
    assert fp.fingerprint(df["tenure"])["kind"] == "Series" and digest(df["tenure"]) != digest(df["churned"])
    assert fp.fingerprint(df.columns)["kind"] == "Index"


def test_big_data_is_sampled_and_says_so(monkeypatch):
    monkeypatch.setattr(fp, "MAX_HASHED_BYTES", 8 * 100)  # 100 float64 rows
    monkeypatch.setattr(fp, "MAX_HASHED_ROWS", 100)
    big = np.arange(10_000, dtype="float64").reshape(-1, 1)
    print_ = fp.fingerprint(big)
    assert print_["sampled"] is True and print_["shape"] == [10_000, 1]
    last_row = big.copy()
    last_row[-1] = -1.0  # first and last rows are always in the sample
    assert digest(last_row) != print_["digest"]
    frame = pd.DataFrame({"x": range(10_000)})
    assert fp.fingerprint(frame)["sampled"] is True and digest(frame) != digest(frame.iloc[::-1])
    assert "(sampled)" in fp.describe(print_)


@pytest.mark.parametrize(
    "make",
    [
        lambda v: np.zeros((0, 3)) + v,
        lambda v: np.array(["2020-01-01", "2021-01-01"], dtype="datetime64[D]") + np.timedelta64(int(v), "D"),
        lambda v: np.array([(1, v)], dtype=[("a", "i4"), ("b", "f8")]),
        lambda v: pd.DataFrame({"cells": [[1, 2], {"x": v}]}),  # unhashable cells: hashed by repr
        lambda v: pd.Series([[v], [2]]),
        lambda v: pd.DataFrame({"c": pd.Categorical(["a", "b"])}).assign(v=v),
        lambda v: pd.MultiIndex.from_tuples([(1, "a"), (v, "b")]),
    ],
    ids=["empty", "datetime", "structured", "frame-of-lists", "series-of-lists", "categorical", "multiindex"],
)
def test_odd_data_is_fingerprinted_and_changes_are_seen(make):
    first, same, other = fp.fingerprint(make(1.0)), fp.fingerprint(make(1.0)), fp.fingerprint(make(2.0))
    assert first["digest"] == same["digest"]
    if first["shape"] != [0, 3]:  # an empty array has no values to differ
        assert first["digest"] != other["digest"]


@pytest.mark.parametrize("value", [1.0, np.float64(2.0), np.array(3.0), [1, 2], {"a": 1}, "text", None, np.int64(3)])
def test_scalars_and_plain_python_are_not_data(value):
    assert not fp.is_data(value)


# -- capture -----------------------------------------------------------------------------------------
def test_the_data_a_cell_reads_is_fingerprinted():
    names = analyze_cell(
        "model.fit(X_train, y_train)\nweights = model.coef_\nscore = evaluate(model, X_test, weights)\nunused = 1"
    )
    namespace = {
        "X_train": np.ones((4, 2)),
        "y_train": pd.Series([0, 1, 0, 1]),
        "X_test": np.zeros((2, 2)),
        "model": object(),
        "evaluate": len,
        "unused": 1,
        "other": np.ones(3),
        "weights": np.ones(2),
    }
    found, skipped = data_inputs(names, namespace)
    assert list(found) == ["X_train", "y_train", "X_test"] and skipped == []  # weights: made in the cell
    many = {f"a{i}": np.ones(i + 1) for i in range(MAX_INPUTS + 2)}
    found, skipped = data_inputs(analyze_cell("f(" + ", ".join(many) + ")"), many)
    assert len(found) == MAX_INPUTS and [name for name, _ in skipped] == [f"a{MAX_INPUTS}", f"a{MAX_INPUTS + 1}"]


def test_tracked_cells_record_inputs_beside_the_snapshot(shell):
    shell.ok("import numpy as np\nX = np.arange(12.0).reshape(6, 2)\ny = np.array([0, 1] * 3)")
    shell.ok("%%track -q fit\nacc = float((X[:, 0] > 3).mean() + y.mean())")
    run = shell.tracker.search_runs(max_results=1)[0]
    assert set(run.inputs) == {"X", "y"} and run.inputs["X"]["shape"] == [6, 2]
    assert "snapshot" in run.provenance  # the inputs were merged into the provenance, not over it
    shown = str(shell.ok("%track show fit").result)
    assert "Inputs:" in shown and "X: ndarray 6x2 float64 · " + run.inputs["X"]["digest"][:12] in shown
    shell.ok("%config TrackMagics.capture_inputs = False")
    shell.ok("%%track -q blind\nacc = float(X.sum())")
    assert shell.tracker.search_runs(max_results=1)[0].inputs == {}


def test_log_input_from_the_api(tracker):
    with tracker.start_run("manual") as run:
        tracker.log_input(pd.DataFrame({"a": [1, 2]}), "train")
        with pytest.raises(UsageError, match="log_input takes a NumPy array or a pandas"):
            tracker.log_input([1, 2], "list")
    assert tracker.get_run(run.id).inputs["train"]["kind"] == "DataFrame"


# -- diff and rerun checks -------------------------------------------------------------------------
def _run(tracker, name, **inputs):
    with tracker.start_run(name) as run:
        for key, value in inputs.items():
            tracker.log_input(value, key)
        tracker.log_metric("acc", 0.9)
    return tracker.get_run(run.id)


def test_diff_and_rerun_checks_compare_inputs_by_digest(tracker):
    data = np.arange(10.0)
    same = _run(tracker, "a", X=data, y=np.ones(3))
    again = _run(tracker, "b", X=data.copy(), y=np.ones(3))
    shifted = _run(tracker, "c", X=data + 1, z=np.ones(3))
    assert diff_runs(tracker, same, again).inputs == ()
    changes = {
        c.key: (c.kind, c.before is not None, c.after is not None) for c in diff_runs(tracker, same, shifted).inputs
    }
    assert changes == {"X": ("changed", True, True), "y": ("removed", True, False), "z": ("added", False, True)}

    from nbtrack.repro.tolerance import Tolerance

    statuses = {(c.kind, c.key): c.status for c in verify.checks(same, again, Tolerance())}
    assert statuses[("input", "X")] == statuses[("input", "y")] == "reproduced"
    statuses = {(c.kind, c.key): c.status for c in verify.checks(same, shifted, Tolerance())}
    assert statuses[("input", "X")] == "differs" and statuses[("metric", "acc")] == "reproduced"
    assert [c.field for c in verify.checks(same, shifted, Tolerance()) if not c.ok] == [
        "inputs.X",
        "inputs.y",
        "inputs.z",
    ]


# -- comparisons ---------------------------------------------------------------------------------------
def test_run_and_version_comparisons_say_whether_the_data_was_the_same(tracker):
    from nbtrack.compare import compare_runs
    from nbtrack.display.compare import ComparisonView
    from nbtrack.display.models import VersionComparisonView
    from nbtrack.registry import Registry

    data = np.arange(10.0)
    champion = _run(tracker, "champion", X=data, y=np.ones(3))
    challenger = _run(tracker, "<b>challenger</b>", X=data + 1, y=np.ones(3))
    comparison = compare_runs([champion, challenger], baseline=champion)
    assert [(row.key, row.differs) for row in comparison.inputs] == [("X", True), ("y", False)]
    view = ComparisonView(comparison, charts=False)
    html, text = view._repr_html_(), str(view)
    assert 'class="nbtrack-differs"><td>X</td>' in html and "same data" in html and "<b>challenger</b>" not in html
    assert "differs" in text and "same data" in text

    registry = Registry(tracker.store, runs=tracker.runs)
    for run in (champion, challenger):
        registry.register_model(run.id, {"w": run.name}, "Churn Predictor")
    versions = VersionComparisonView(registry.compare_versions("Churn Predictor", 1, 2))
    assert [(i.key, i.same) for i in versions.comparison.inputs] == [("X", False), ("y", True)]
    assert "Data inputs" in str(versions) and versions.record()["inputs"][1]["same"] is True


def test_wide_frames_are_sampled_by_bytes_not_only_rows(monkeypatch):
    monkeypatch.setattr(fp, "MAX_HASHED_BYTES", 64 * 1024)  # 64 KiB: 4 rows of 2,000 float64 columns
    wide = pd.DataFrame(np.zeros((1_000, 2_000)))
    print_ = fp.fingerprint(wide)
    assert (
        print_["sampled"] is True
        and print_["shape"] == [1_000, 2_000]
        and len(print_["columns"]) == fp.MAX_COLUMNS_LISTED
    )
    changed = wide.copy()
    changed.iloc[-1, 5] = 1.0  # the last row is always in the sample
    assert fp.fingerprint(changed)["digest"] != print_["digest"]
    assert fp.fingerprint(pd.DataFrame(np.zeros((10, 3))))["sampled"] is False


# -- what counts as an input (issue 16.4) -------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "read"),
    [
        ("for img in images:\n    total = img.sum()", ("images",)),
        ("scores = []\nfor C in Cs:\n    fold = evaluate(C)\n    scores.append(fold.mean())", ("Cs", "evaluate")),
        ("means = [row.mean() for row in X]", ("X",)),
        ("d = {k: v for k, v in pairs}\ng = sum(x for x in X if x > t)", ("pairs", "sum", "X", "t")),
        ("X = X * 2\ny = X", ("X",)),
        ("total += X.sum()", ("total", "X")),
        ("with open(p) as fh:\n    text = fh.read()", ("open", "p")),
        ("try:\n    f(a)\nexcept ValueError as err:\n    print(err)", ("f", "a", "ValueError", "print")),
        ("import numpy as np\nfrom os import path\nnp.ones(3)\npath.join(a)", ("a",)),
        (
            "def f(x, *rest, k=K):\n    z = x + W\n    return z\ng = lambda v: v + U\nclass C:\n    w = V",
            ("K", "W", "U", "V"),
        ),
        ("if (n := len(X)) > 2:\n    m = n", ("len", "X")),
        ("match point:\n    case (a, *others):\n        q = a\n    case {'k': b, **more}:\n        q = b", ("point",)),
        ("print(later)\nlater = 1", ("print", "later")),
    ],
)
def test_an_input_is_a_name_read_before_the_cell_binds_it(source, read):
    assert analyze_cell(source).read == read


def test_loop_variables_and_values_made_in_loops_are_not_inputs(shell):
    shell.ok("import numpy as np\nimages = np.arange(24.0).reshape(3, 2, 4)\nCs = [0.1, 1.0]")
    shell.ok(
        "%%track -q plots\nfor img in images:\n    total = img.sum()\nscores = []\nfor C in Cs:\n    fold = np.array([C, C])\n    scores.append(fold.mean())"
    )
    assert set(shell.tracker.search_runs(max_results=1)[0].inputs) == {"images"}


def test_an_input_the_cell_rebinds_is_fingerprinted_as_it_was_read(shell):
    shell.ok("import numpy as np\nX = np.arange(6.0)")
    original = fp.fingerprint(shell.ns["X"])
    shell.ok("%%track -q scale\nX = (X - X.mean()) / X.std()\nacc = float(X[0])")
    assert shell.tracker.search_runs(max_results=1)[0].inputs == {"X": original}
