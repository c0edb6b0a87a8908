"""Re-execute and verify: real kernels for reproduced, differing, timed-out and in-notebook reruns."""

from __future__ import annotations

import json
import math
import os

import nbformat
import pytest

import nbtrack
from nbtrack.display.rerun import RERUN_MIME, RerunReport
from nbtrack.entities import FINISHED, MetricSummary, Run
from nbtrack.errors import NotFoundError, UsageError
from nbtrack.repro import verify
from nbtrack.repro.rerun import DIFFERS_TAG, VERIFIED_BY_TAG, VERIFIED_TAG, Execution, RerunResult, rerun
from nbtrack.repro.tolerance import EXACT, Tolerance
from nbtrack.tracking.tracker import RERUN_ENV, RERUN_TAG

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _notebook(folder, *sources, name="exp.ipynb"):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC})
    nb.cells = [nbformat.v4.new_code_cell(s) for s in ("%load_ext nbtrack", *sources)]
    path = folder / name
    nbformat.write(nb, path)
    return path, nb


def _execute(nb, path, store):
    from nbclient import NotebookClient

    env = {**os.environ, "NBTRACK_STORE": str(store), "JPY_SESSION_NAME": str(path)}
    NotebookClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(path.parent)}}).execute(
        env=env
    )
    return nb


def _only_run(tracker):
    (run,) = tracker.search_runs()
    return run


@pytest.mark.slow
def test_deterministic_notebook_reproduces_and_is_marked_verified(tmp_path, store_path, tracker, capsys):
    from nbtrack.cli import main

    path, nb = _notebook(
        tmp_path, "%%track train\nseed = 7\nlr = 0.05\nacc = round(1 - lr * seed / 10, 6)\nloss = 1 / 3\nn = 12"
    )
    _execute(nb, path, store_path)
    original = _only_run(tracker)
    kept = tmp_path / "kept.ipynb"
    assert main(["--store", str(store_path), "rerun", original.id[:8], "--output", str(kept)]) == 0
    out = capsys.readouterr().out
    assert "nbtrack: run" in nbformat.read(kept, as_version=4).cells[1].outputs[0]["text"]  # executed, outputs kept
    assert "note:" not in out  # a clean receipt: the snapshot is what ran
    assert "[1/2] %load_ext nbtrack" in out and "[2/2] %%track train" in out  # progress, cell by cell
    assert "verified: every value reproduced" in out
    tagged = tracker.get_run(original.id)
    assert tagged.tags[VERIFIED_TAG] == "true" and tagged.tags[DIFFERS_TAG] == ""
    again = tracker.get_run(tagged.tags[VERIFIED_BY_TAG])
    assert again.tags[RERUN_TAG] == original.id and again.id != original.id
    assert again.cell_key == original.cell_key and again.provenance["notebook_path"] == str(kept)
    rows = [line.split() for line in out.splitlines() if line.startswith(("metric ", "param "))]
    assert sorted((kind, key, verdict) for kind, key, *_, verdict in rows) == [
        ("metric", "acc", "reproduced"),
        ("metric", "loss", "reproduced"),
        ("param", "lr", "reproduced"),
        ("param", "n", "reproduced"),
        ("param", "seed", "reproduced"),
    ]


@pytest.mark.slow
def test_unseeded_randomness_names_the_differing_metric(tmp_path, store_path, tracker):
    path, nb = _notebook(tmp_path, "%%track noisy\nimport random\nepochs = 2\nacc = random.random()\nloss = epochs / 8")
    _execute(nb, path, store_path)
    original = _only_run(tracker)
    seen = []
    report = nbtrack.rerun(original.id, progress=lambda n, total, title: seen.append((n, total)))
    result = report.result
    assert seen == [(1, 2), (2, 2)]
    assert not result.verified and result.differing == ["metrics.acc"] and result.matched_by == "cell"
    assert {c.key: c.status for c in result.checks} == {
        "acc": verify.DIFFERS,
        "loss": verify.REPRODUCED,
        "epochs": verify.REPRODUCED,
    }
    tags = tracker.get_run(original.id).tags
    assert (tags[VERIFIED_TAG], tags[DIFFERS_TAG]) == ("false", "metrics.acc")
    bundle = report._repr_mimebundle_()
    assert bundle[RERUN_MIME]["differing"] == ["metrics.acc"] and "NOT verified" in bundle["text/plain"]
    loose = nbtrack.rerun(original.id, atol=1.0).result  # random() is in [0, 1): any two draws are within 1
    assert loose.verified and tracker.get_run(original.id).tags[VERIFIED_TAG] == "true"


@pytest.mark.slow
def test_a_cell_over_its_timeout_stops_the_rerun(tmp_path, store_path, tracker, monkeypatch):
    nap = "import os, time\ntime.sleep(float(os.environ.get('NBTRACK_TEST_NAP', '0')))"
    path, nb = _notebook(tmp_path, nap, "%%track after-nap\nacc = 0.5")
    _execute(nb, path, store_path)
    original = _only_run(tracker)
    monkeypatch.setenv("NBTRACK_TEST_NAP", "60")  # the rerun kernel inherits the environment
    result = rerun(tracker, original.id, timeout=2)
    assert result.execution == Execution(1, 3, "cell 2 timed out after 2 s (raise --timeout)")
    assert (
        not result.verified
        and result.match is None
        and result.reasons == [f"no runs recorded, so none matches run {original.short_id} by cell or name"]
    )
    tags = tracker.get_run(original.id).tags
    assert (tags[VERIFIED_TAG], tags[DIFFERS_TAG], tags[VERIFIED_BY_TAG]) == ("false", "no matching run", "")


@pytest.mark.slow
def test_rerun_from_inside_a_notebook(tmp_path, store_path, tracker):
    """``%track rerun`` in a kernel starts a second kernel; the snapshot's own rerun cell is skipped there."""
    path, nb = _notebook(tmp_path, "%%track inner\nk = 3\nscore = k * 2\nprint('score', score)", "%track rerun inner")
    _execute(nb, path, store_path)
    text = "".join(o.get("text", "") + json.dumps(o.get("data", {})) for o in nb.cells[2].outputs)
    assert "[3/3] %track rerun inner" in text and "verified: every value reproduced" in text
    original, copy = sorted(tracker.search_runs(), key=lambda r: r.start_time)
    assert original.tags[VERIFIED_TAG] == "true" and copy.tags[RERUN_TAG] == original.id


@pytest.mark.slow
def test_a_snapshot_that_is_not_what_ran_is_noted_and_nothing_recorded_is_not_verified(tracker):
    from nbtrack.snapshot.storage import put_notebook

    with tracker.start_run("edited") as active:
        tracker.log_metric("acc", 0.5)
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": KERNELSPEC},
        "cells": [
            {
                "id": "c1",
                "cell_type": "code",
                "source": "acc = 0.5",
                "metadata": {},
                "outputs": [],
                "execution_count": None,
            }
        ],
    }
    receipt = {
        "clean": False,
        "checked": True,
        "problems": [{"kind": "edited_after_run", "message": "cell 1 was edited"}],
    }
    tracker.runs.update_run(
        active.row_id, {"snapshot_sha256": put_notebook(tracker.store.blobs, notebook), "receipt": json.dumps(receipt)}
    )
    report = rerun(tracker, active.id)
    assert report.execution == Execution(1, 1, None) and report.runs == () and not report.verified
    assert "see %track receipt" in report.notes[0] and "note: the run's receipt" in str(RerunReport(report))


@pytest.mark.slow
def test_refusals(tracker, monkeypatch, tmp_path):
    with tracker.start_run("no-notebook") as run:
        pass
    with pytest.raises(NotFoundError, match="no notebook snapshot"):
        rerun(tracker, run.id)
    with pytest.raises(NotFoundError, match="no execution history"):
        rerun(tracker, run.id, as_executed=True)
    active = tracker.start_run("still-going")
    with pytest.raises(UsageError, match="still running"):
        rerun(tracker, active.id)
    tracker.end_run()
    (tmp_path / "taken.ipynb").write_text("{}")
    with pytest.raises(UsageError, match="exists"):
        rerun(tracker, run.id, output=str(tmp_path / "taken.ipynb"))
    monkeypatch.setenv(RERUN_ENV, run.id)
    with pytest.raises(UsageError, match="itself re-executing run"):
        rerun(tracker, run.id)


def test_tracker_tags_runs_started_under_a_rerun(tracker, monkeypatch):
    with tracker.start_run("plain") as plain:
        pass
    monkeypatch.setenv(RERUN_ENV, "abc123")
    with tracker.start_run("copy", tags={"team": "x"}) as copy:
        pass
    assert RERUN_TAG not in tracker.get_run(plain.id).tags
    assert tracker.get_run(copy.id).tags == {"team": "x", RERUN_TAG: "abc123"}


# -- tolerance and matching (plain data) -------------------------------------------------------------
@pytest.mark.parametrize(
    "x, y, same",
    [
        (0.1 + 0.2, 0.3, True),
        (1.0, 1.0 + 1e-12, True),
        (1.0, 1.0 + 1e-6, False),
        (3, 3, True),
        (3, 4, False),
        (True, 1, False),
        ("a", "a", True),
        ("1", 1, False),
        (math.nan, math.nan, True),
        (math.inf, math.inf, True),
        (math.inf, -math.inf, False),
        (None, None, True),
        (None, 0, False),
        ([1, 2], [1, 2], True),
    ],
)
def test_default_tolerance(x, y, same):
    assert Tolerance().same(x, y) is same


def test_tolerances_apply_to_floats_only():
    assert Tolerance(atol=0.5).same(1.0, 1.4) and not Tolerance(atol=0.5).same(1, 2)
    assert Tolerance(rtol=0.1).same(100.0, 109) and not EXACT.same(0.1 + 0.2, 0.3)
    with pytest.raises(UsageError, match="rtol"):
        Tolerance(rtol=-1)


def _run(run_id, name=None, cell_key=None, start=0.0, metrics=None, params=None, status=FINISHED):
    summaries = {k: MetricSummary(k, v, 0, 0.0, v, v, 1) for k, v in (metrics or {}).items()}
    return Run(
        run_id,
        name,
        "Default",
        status,
        start,
        start + 1,
        None,
        None,
        cell_key,
        None,
        None,
        None,
        None,
        None,
        params=params or {},
        metrics=summaries,
    )


def test_matching_rules_in_order():
    original = _run("o", "train", "cell-a")
    by_key, by_name, other = _run("k", "renamed", "cell-a", 2), _run("n", "train", "src:1", 1), _run("x", None, None, 0)
    assert verify.match(original, [other, by_name, by_key], {}) == (by_key, "cell")
    sources = {"o": "lr = 1", "n": "lr = 1", "x": "lr = 2"}
    lab = _run("o", None, "lab-cell-id")
    assert verify.match(lab, [other, by_name], sources) == (by_name, "cell source")
    assert verify.match(original, [other, by_name], {}) == (by_name, "name")
    assert verify.match(_run("o"), [other], {}) == (None, None)


def test_checks_report_missing_and_new_values():
    original = _run("o", metrics={"acc": 0.9, "loss": 0.1}, params={"lr": 0.1})
    again = _run("r", metrics={"acc": 0.9, "f1": 0.5}, params={"lr": 0.1})
    found = {(c.kind, c.key): c.status for c in verify.checks(original, again, Tolerance())}
    assert found == {
        ("metric", "acc"): verify.REPRODUCED,
        ("metric", "loss"): verify.MISSING,
        ("metric", "f1"): verify.NEW,
        ("param", "lr"): verify.REPRODUCED,
    }


HOSTILE = "<script>alert('x')</script>"


def test_report_html_escapes_a_hostile_run_name():
    original = _run("0123456789abcdef", HOSTILE, "c", metrics={HOSTILE: 1.0}, params={"p": "<b>x</b>"})
    again = _run("fedcba9876543210", HOSTILE, "c", 1, metrics={HOSTILE: 2.0}, params={"p": "<b>x</b>"})
    result = RerunResult(
        original,
        again,
        "cell",
        verify.checks(original, again, Tolerance()),
        (again,),
        Execution(2, 3, "cell 3 raised ValueError: <img src=x>"),
        Tolerance(),
        "snapshot",
        None,
    )
    html = RerunReport(result)._repr_html_()
    for raw in (HOSTILE, "<b>x</b>", "<img"):
        assert raw not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html and "differs" in html
    assert json.loads(json.dumps(RerunReport(result)._repr_mimebundle_()[RERUN_MIME]))["differing"] == [
        f"metrics.{HOSTILE}"
    ]


# -- verified means an outcome was compared and matched -------------------------------------------------
#: a search whose refit is chosen by measured time (here: an unseeded draw), that logs no metric
REFIT = (
    "%%track search\nimport random\ngrid = {'C': [1, 10, 100]}\ntimings = {c: random.random() for c in grid['C']}\n"
    "best = min(timings, key=timings.get)\nprint('best params:', {'C': best}, 'refit in', timings[best])"
)


@pytest.mark.slow
def test_a_nondeterministic_refit_without_metrics_is_not_verified(tmp_path, store_path, tracker, capsys):
    from nbtrack.cli import main

    path, nb = _notebook(tmp_path, REFIT)
    _execute(nb, path, store_path)
    original = _only_run(tracker)
    assert original.metrics == {}
    assert main(["--store", str(store_path), "rerun", original.id[:8]]) == 1
    out = capsys.readouterr().out
    assert "NOT verified: differs: outputs.In [2]" in out
    row = next(line for line in out.splitlines() if line.startswith("output "))
    assert row.split()[-1] == "differs" and "best params:" in row
    tags = tracker.get_run(original.id).tags
    assert (tags[VERIFIED_TAG], tags[DIFFERS_TAG]) == ("false", "outputs.In [2]")


@pytest.mark.slow
def test_a_deterministic_run_without_metrics_is_verified_by_its_printed_outputs(tmp_path, store_path, tracker):
    cell = "%%track fit\nC = 100\nprint('best params:', {'C': C}, 'score', C / 400)\nC * 2"
    path, nb = _notebook(tmp_path, cell)
    _execute(nb, path, store_path)
    original = _only_run(tracker)
    result = rerun(tracker, original.id)
    outputs = [c for c in result.checks if c.kind == verify.OUTPUT]
    assert result.verified and [(c.key, c.status) for c in outputs] == [("In [2]", verify.REPRODUCED)]
    assert outputs[0].original == "best params: {'C': 100} score 0.25"  # the summary line is not part of it
    assert tracker.get_run(original.id).tags[VERIFIED_TAG] == "true"


#: a real grid search on seeded data: the same best params every time
SEARCH = (
    "%%track search\nfrom sklearn.datasets import make_classification\nfrom sklearn.model_selection import GridSearchCV\n"
    "from sklearn.svm import SVC\nX, y = make_classification(n_samples=120, random_state=0)\n"
    "search = GridSearchCV(SVC(), {'C': [0.01, 1, 100]}, cv=3).fit(X, y)\nprint(search.best_params_)"
)


@pytest.mark.slow
def test_a_seeded_grid_search_is_verified_by_what_it_printed(tmp_path, store_path, tracker):
    path, nb = _notebook(tmp_path, SEARCH)
    _execute(nb, path, store_path)
    original = _only_run(tracker)
    result = rerun(tracker, original.id)
    (printed,) = [c for c in result.checks if c.kind == verify.OUTPUT]
    assert printed.original.startswith("{'C': ") and printed.status == verify.REPRODUCED
    assert result.verified and tracker.get_run(original.id).tags[VERIFIED_TAG] == "true"


@pytest.mark.slow
def test_nothing_to_compare_is_not_verifiable_and_untagged(tmp_path, store_path, tracker, capsys):
    from nbtrack.cli import main

    path, nb = _notebook(tmp_path, "%%track quiet\nC = 100\nfitted = C * 2")
    _execute(nb, path, store_path)
    original = _only_run(tracker)
    tracker.runs.write_batch(tracker.runs.resolve(original.id), tags=[(VERIFIED_TAG, "true")])  # an older verdict
    assert main(["--store", str(store_path), "rerun", original.id[:8]]) == 1
    out = capsys.readouterr().out
    assert "not verifiable: no outcomes to compare" in out and "verified: every value" not in out
    tags = tracker.get_run(original.id).tags
    assert VERIFIED_TAG not in tags and tags[DIFFERS_TAG] == "no outcomes to compare"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("best params: {'C': 100}", "best params: {'C': 1}", False),
        ("score 0.30000000000000004", "score 0.3", True),
        ("score 0.25", "score 0.2500001", False),
        ("1e-3 ok", "0.001 ok", True),
        ("C=1 x", "C=1 y", False),
        ("fold 1: 0.5", "fold 1: 0.5 extra 2", False),
        ("[<matplotlib.lines.Line2D at 0x7f3a2c1d9e50>]", "[<matplotlib.lines.Line2D at 0x7f0011aa2b10>]", True),
    ],
)
def test_output_lines_compare_numbers_within_the_tolerance(a, b, same):
    assert verify.same_line(a, b, Tolerance()) is same
