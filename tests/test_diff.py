"""Run diffs: a real notebook executed twice names exactly what was edited; alignment rules; views."""

from __future__ import annotations

import json
import os

import nbformat
import pytest

from nbtrack.display.diff import DIFF_MIME, RunDiffView, diff_record
from nbtrack.snapshot import storage
from nbtrack.repro.diff import ADDED, CHANGED, REMOVED, _Cell, diff_cells, diff_runs, value_changes

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
TRAIN = "%%track train\nlr = {lr}\nepochs = 3\nacc = round(1 - lr / epochs, 6)"


def _execute(nb, path, store, extra_env=None):
    """Save ``nb`` to ``path`` and execute it the way JupyterLab would (path known, cwd = its folder)."""
    from nbclient import NotebookClient

    nbformat.write(nb, path)
    env = {**os.environ, "NBTRACK_STORE": str(store), "JPY_SESSION_NAME": str(path), **(extra_env or {})}
    NotebookClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(path.parent)}}).execute(
        env=env
    )


def _executed_twice(folder, cells, edit=lambda nb: None, envs=(None, None)):
    """A notebook of ``cells`` executed twice in fresh kernels, ``edit(nb)`` in between;
    yields (tracker, first run, second run, notebook)."""
    from nbtrack.tracking import Tracker

    store, path = folder / "store", folder / "train.ipynb"
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC}, cells=cells)
    _execute(nb, path, store, envs[0])
    edit(nb)
    _execute(nb, path, store, envs[1])
    tracker = Tracker.open(store)
    first, second = sorted(tracker.search_runs(), key=lambda r: r.start_time)
    yield tracker, first, second, nb
    tracker.close()


@pytest.fixture(scope="module")
def edited_notebook(tmp_path_factory):
    """One notebook run twice: the second time with the train cell's ``lr`` edited."""
    cells = [
        nbformat.v4.new_markdown_cell("# Train"),
        nbformat.v4.new_code_cell("%load_ext nbtrack"),
        nbformat.v4.new_code_cell("def halve(x):\n    return x / 2"),
        nbformat.v4.new_code_cell(TRAIN.format(lr=0.1)),
    ]
    yield from _executed_twice(
        tmp_path_factory.mktemp("diffnb"), cells, edit=lambda nb: setattr(nb.cells[3], "source", TRAIN.format(lr=0.2))
    )


@pytest.mark.slow
def test_real_notebook_diff_names_exactly_the_edited_cell_and_param(edited_notebook):
    tracker, first, second, nb = edited_notebook
    diff = diff_runs(tracker, first.id, second.id)
    assert [(p.key, p.kind, p.before, p.after) for p in diff.params] == [("lr", CHANGED, 0.1, 0.2)]
    assert [(m.key, m.before, m.after) for m in diff.metrics] == [
        ("acc", pytest.approx(1 - 0.1 / 3), pytest.approx(1 - 0.2 / 3))
    ]
    assert [(c.kind, c.cell_id, c.index_a, c.index_b, c.matched_by) for c in diff.cells] == [
        (CHANGED, nb.cells[3].id, 3, 3, "id")
    ]
    assert [line for line in diff.cells[0].diff if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        "-lr = 0.1",
        "+lr = 0.2",
    ]
    assert diff.packages == () and diff.git is None and diff.notes == ()


@pytest.mark.slow
def test_same_run_is_identical(edited_notebook):
    tracker, first, _, _ = edited_notebook
    diff = diff_runs(tracker, first.id, first.id)
    assert diff.identical and "no differences" in str(RunDiffView(diff))


@pytest.mark.slow
def test_cli_diff_json(edited_notebook, capsys):
    from nbtrack.cli import main

    tracker, first, second, _ = edited_notebook
    assert main(["--store", str(tracker.store.location.directory), "diff", first.id[:8], second.id[:8], "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert [p["key"] for p in record["params"]] == ["lr"]
    assert [(c["kind"], c["cell_type"]) for c in record["cells"]] == [("changed", "code")]
    assert (record["a"]["id"], record["b"]["id"]) == (first.id, second.id)


# -- alignment ---------------------------------------------------------------------------------------
def _cells(*specs):
    """("id", "source") or plain "source" (no id) -> cells; markdown when the source starts with '#'."""
    out = []
    for spec in specs:
        cell_id, source = spec if isinstance(spec, tuple) else (None, spec)
        out.append(_Cell(cell_id, "markdown" if source.startswith("#") else "code", source))
    return out


def test_cells_without_ids_align_by_similarity():
    a = _cells("import math", "lr = 0.1\nacc = 1 - lr\nprint(acc)", "# Notes", "print('done')")
    b = _cells("import math", "lr = 0.2\nacc = 1 - lr\nprint(acc)", "model.fit(x, y)", "print('done')")
    changes = diff_cells(a, b)
    assert [(c.kind, c.index_a, c.index_b, c.matched_by) for c in changes] == [
        (CHANGED, 1, 1, "similarity"),
        (REMOVED, 2, None, None),
        (ADDED, None, 2, None),
    ]
    assert changes[1].cell_type == "markdown" and changes[2].diff[-1] == "+model.fit(x, y)"


def test_ids_win_over_content_and_moves_are_not_edits():
    a = _cells(("x", "a = 1"), ("y", "b = 2"), ("z", "c = 3"))
    b = _cells(("z", "c = 3"), ("x", "a = 1"), ("y", "totally different"))
    changes = diff_cells(a, b)
    assert [(c.kind, c.cell_id, c.matched_by) for c in changes] == [(CHANGED, "y", "id")]


def test_unmatched_ids_fall_back_to_similarity_and_type_matters():
    a = _cells(("old-id", "for i in range(10):\n    total += i"), ("m", "# heading"))
    b = _cells(("new-id", "for i in range(10):\n    total += i * 2"), ("m2", "heading"))
    changes = diff_cells(a, b)
    assert [(c.kind, c.matched_by) for c in changes][0] == (CHANGED, "similarity")
    assert sorted(c.kind for c in changes[1:]) == [ADDED, REMOVED]  # markdown never pairs with code


def test_value_changes_treat_nan_as_equal_and_report_added_and_removed():
    changes = value_changes({"a": float("nan"), "b": 1, "c": "x"}, {"a": float("nan"), "b": 1.5, "d": True})
    assert [(c.key, c.kind) for c in changes] == [("b", CHANGED), ("c", REMOVED), ("d", ADDED)]


# -- packages, git, fallbacks (in-process runs, no kernel) ---------------------------------------------
def _run_with(tracker, name, notebook=None, env=None, git=None, **params):
    with tracker.start_run(name) as active:
        tracker.log_params(params)
    fields = {}
    if notebook is not None:
        fields["snapshot_sha256"] = storage.put_notebook(tracker.store.blobs, notebook)
    if env is not None:
        fields["env_sha256"] = tracker.store.blobs.put(json.dumps(env).encode())
    if git is not None:
        provenance = tracker.get_run(active.id).provenance
        fields["provenance"] = json.dumps({**{k: v for k, v in provenance.items() if k != "env_sha256"}, "git": git})
    if fields:
        tracker.runs.update_run(active.row_id, fields)
    return tracker.get_run(active.id)


def _nb(*sources):
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {"id": f"c{i}", "cell_type": "code", "source": s, "metadata": {}, "outputs": [], "execution_count": None}
            for i, s in enumerate(sources)
        ],
    }


def test_package_and_git_changes(tracker, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not a git checkout: no late git probe result overwrites the provenance set here
    a = _run_with(
        tracker,
        "a",
        env={"numpy": "1.26.4", "pandas": "2.2.0", "old": "1"},
        git={"commit": "abc", "branch": "main", "dirty": False},
    )
    b = _run_with(
        tracker,
        "b",
        env={"numpy": "2.0.0", "pandas": "2.2.0", "new": "3"},
        git={"commit": "def", "branch": "main", "dirty": True},
    )
    diff = diff_runs(tracker, a.id, b.id)
    assert [(p.name, p.kind, p.before, p.after) for p in diff.packages] == [
        ("new", ADDED, None, "3"),
        ("numpy", CHANGED, "1.26.4", "2.0.0"),
        ("old", REMOVED, "1", None),
    ]
    assert (diff.git.before["commit"], diff.git.after["commit"], diff.git.after["dirty"]) == ("abc", "def", True)
    text = str(RunDiffView(diff))
    assert "numpy" in text and "1.26.4" in text and "def" in text


def test_runs_without_snapshots_say_why(tracker):
    a, b = _run_with(tracker, "a", lr=1), _run_with(tracker, "b", lr=2)
    diff = diff_runs(tracker, a.id, b.id)
    assert diff.cells == () and any(n.startswith("cells not compared") for n in diff.notes)
    assert "note: cells not compared" in str(RunDiffView(diff))


def test_magic_diff_defaults_to_the_last_run_and_compares_histories(shell):
    shell.ok("%%track -q first\nlr = 0.1")
    first = shell.ip._nbtrack_extension.hooks.last_run.id
    shell.ok("%%track -q second\nlr = 0.3")
    view = shell.ok(f"%track diff {first}").result
    assert isinstance(view, RunDiffView)
    assert [p.key for p in view.diff.params] == ["lr"]
    assert any(n.startswith("cells compared as executed") for n in view.diff.notes)
    assert DIFF_MIME in view._repr_mimebundle_()
    # --outputs: the first cell's output is in both histories, unchanged; the flag reaches diff_runs
    shell.ok("print('only in the second history')")
    view = shell.ok(f"%track diff {first} --outputs").result
    assert view.diff.outputs == () and not any(n.startswith("outputs not compared") for n in view.diff.notes)


# -- escaping --------------------------------------------------------------------------------------------
HOSTILE = "<script>alert('x')</script>"


def test_html_escapes_hostile_names_sources_and_values(tracker):
    a = _run_with(tracker, HOSTILE, notebook=_nb("x = 1", "</pre><img src=x onerror=alert(1)>"), mode="<b>a</b>")
    b = _run_with(
        tracker, "plain", notebook=_nb("x = 1", "</pre><img src=x onerror=alert(2)>", "<!-- -->"), mode="<i>b</i>"
    )
    html = RunDiffView(diff_runs(tracker, a.id, b.id))._repr_mimebundle_()["text/html"]
    for raw in (HOSTILE, "<img", "<b>a</b>", "<i>b</i>", "<!--"):
        assert raw not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert '<span class="nbtrack-del">-&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;</span>' in html
    assert '<span class="nbtrack-add">+&lt;/pre&gt;&lt;img src=x onerror=alert(2)&gt;</span>' in html
    assert html.count("<pre") == html.count("</pre>")


def test_json_record_is_serialisable_with_nan(tracker):
    with tracker.start_run("n1"):
        tracker.log_metric("loss", float("nan"))
    with tracker.start_run("n2"):
        tracker.log_metric("loss", 1.0)
    record = diff_record(diff_runs(tracker, "n1", "n2"))
    assert json.loads(json.dumps(record))["metrics"] == [
        {"key": "loss", "kind": CHANGED, "before": "nan", "after": 1.0}
    ]


# -- outputs (opt-in) --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def printed_notebook(tmp_path_factory):
    """One notebook run twice in fresh kernels; only the value the train cell prints and returns changes."""
    cells = [
        nbformat.v4.new_code_cell("%load_ext nbtrack"),
        nbformat.v4.new_code_cell("import os\nprint('<b>same</b>')"),
        nbformat.v4.new_code_cell("%%track train\nlr = float(os.environ['LR'])\nprint('lr is', lr)\nround(1 - lr, 3)"),
    ]
    for tracker, first, second, _ in _executed_twice(
        tmp_path_factory.mktemp("outputsnb"), cells, envs=({"LR": "0.1"}, {"LR": "0.2"})
    ):
        yield tracker, first, second


@pytest.mark.slow
def test_outputs_are_compared_only_on_request_and_name_the_changed_execution(printed_notebook):
    tracker, first, second = printed_notebook
    plain = diff_runs(tracker, first.id, second.id)
    assert plain.outputs == () and plain.cells == () and [p.key for p in plain.params] == []
    diff = diff_runs(tracker, first.id, second.id, outputs=True)
    assert [(o.index_a, o.index_b, o.source_head) for o in diff.outputs] == [(2, 2, "%%track train")]
    changed = [line for line in diff.outputs[0].diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == ["-lr is 0.1", "-0.9", "+lr is 0.2", "+0.8"]
    assert not diff.identical and diff_runs(tracker, first.id, first.id, outputs=True).identical
    text = str(RunDiffView(diff))
    assert "Outputs:" in text and "execution 3 -> 3" in text and "+lr is 0.2" in text


@pytest.mark.slow
def test_output_diff_views_escape_and_serialise(printed_notebook, capsys):
    from nbtrack.cli import main

    tracker, first, second = printed_notebook
    html = RunDiffView(diff_runs(tracker, second.id, first.id, outputs=True))._repr_html_()
    assert '<span class="nbtrack-add">+lr is 0.1</span>' in html and "<b>same</b>" not in html
    assert (
        main(
            [
                "--store",
                str(tracker.store.location.directory),
                "diff",
                first.id[:8],
                second.id[:8],
                "--outputs",
                "--json",
            ]
        )
        == 0
    )
    record = json.loads(capsys.readouterr().out)
    assert [(o["index_b"], o["source_head"]) for o in record["outputs"]] == [(2, "%%track train")]


def test_output_text_reads_streams_results_errors_and_hashes_rich_data():
    from nbtrack.repro.diff import output_text

    png = {
        "output_type": "display_data",
        "data": {"image/png": "iVBORw0KGgo=", "text/plain": ["<Figure>"]},
        "metadata": {},
    }
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": ["a\n", "b\n"]},
        {"output_type": "execute_result", "execution_count": 3, "data": {"text/plain": "42"}, "metadata": {}},
        png,
        {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": ["..."]},
    ]
    text = output_text(outputs)
    assert text.startswith("a\nb\n42\n<Figure>\n[image/png ") and text.endswith("]\nValueError: bad\n")
    other = {**png, "data": {**png["data"], "image/png": "iVBORw0KGgp="}}
    assert output_text([other]) != output_text([png]) and output_text([]) == output_text(None) == ""


@pytest.mark.slow
def test_output_diff_leaves_out_nbtracks_own_summary_lines(tmp_path):
    """Two unchanged runs of a notebook with two tracked cells: the first cell's summary line
    (its run id, its duration) differs in the second run's history, but it is not the cell's output."""
    cells = [
        nbformat.v4.new_code_cell("%load_ext nbtrack"),
        nbformat.v4.new_code_cell("%%track prepare\nrows = 3\nprint('rows', rows)"),
        nbformat.v4.new_code_cell("%%track train\nprint('trained on', rows)"),
    ]
    from nbtrack.tracking import Tracker

    store, path = tmp_path / "store", tmp_path / "train.ipynb"
    for _ in range(2):
        _execute(nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC}, cells=cells), path, store)
    tracker = Tracker.open(store)
    first, second = sorted(tracker.search_runs("name = 'train'"), key=lambda r: r.start_time)
    history = storage.history_notebook(tracker.store.blobs, second)["cells"]
    assert "nbtrack: run" in history[1]["outputs"][0]["text"]  # it is there, and it changed
    diff = diff_runs(tracker, first.id, second.id, outputs=True)
    assert diff.outputs == () and diff.identical
    tracker.close()


def test_output_text_drops_only_nbtracks_own_lines():
    from nbtrack.snapshot.outputs import output_text

    text = "rows 3\nnbtrack: run 3f2a9c1e 'prepare' FINISHED in 0.01 s · params rows=3\nsee nbtrack: docs\n"
    assert output_text([{"output_type": "stream", "name": "stdout", "text": text}]) == "rows 3\nsee nbtrack: docs\n"
