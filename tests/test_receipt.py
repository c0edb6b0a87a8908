"""The hidden-state receipt, through a real InteractiveShell and a notebook file on disk."""

from __future__ import annotations

import json

import nbformat
import pytest

from nbtrack.snapshot import receipt as rcpt


def _write(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source, id=cell_id) for cell_id, source in cells]
    nbformat.write(nb, path)


CELLS = [("a", "x = 1"), ("b", "y = x + 1"), ("c", "%%track -q\nz = y * 2")]
#: the shell fixture already ran the first cell (without a cell id: matched by source)
LOAD = ("load", "%load_ext nbtrack")


@pytest.fixture
def notebook(tmp_path, monkeypatch):
    path = tmp_path / "nb.ipynb"
    _write(path, [LOAD, *CELLS])
    monkeypatch.setenv("NBTRACK_NOTEBOOK", str(path))
    return path


def _run(shell, cell_id, source):
    return shell.ip.run_cell(source, store_history=True, cell_id=cell_id)


def _receipt(shell):
    run = shell.tracker.get_run(shell.ip._nbtrack_extension.hooks.last_run.id)
    return run.receipt


def test_clean_top_to_bottom(shell, notebook):
    for cell_id, source in CELLS:
        _run(shell, cell_id, source)
    assert _receipt(shell) == {"clean": True, "checked": True, "problems": []}


def test_out_of_order_names_the_cell(shell, notebook):
    _run(shell, "a", "x = 1")
    _run(shell, "b", "y = x + 1")
    _run(shell, "a", "x = 1")  # re-run above the last cell
    _run(shell, "c", CELLS[2][1])
    problems = _receipt(shell)["problems"]
    assert [p["kind"] for p in problems if p["kind"] == "out_of_order"] == ["out_of_order"]
    bad = next(p for p in problems if p["kind"] == "out_of_order")
    assert bad["cell_id"] == "a" and bad["execution_count"] == 4  # In [1] is %load_ext
    assert "(cell 2) ran after cell 3" in bad["message"]


def test_edit_after_run_is_reported(shell, notebook):
    for cell_id, source in CELLS[:2]:
        _run(shell, cell_id, source)
    _write(notebook, [LOAD, ("a", "x = 100"), CELLS[1], CELLS[2]])  # edited, not re-run
    _run(shell, "c", CELLS[2][1])
    problems = _receipt(shell)["problems"]
    edited = [p for p in problems if p["kind"] == "edited_after_run"]
    assert [p["cell_id"] for p in edited] == ["a"]


def test_deleted_defining_cell_names_the_variable(shell, notebook):
    _run(shell, "a", "x = 1")
    _run(shell, "b", "y = x + 1")
    _write(notebook, [LOAD, *CELLS[1:]])  # cell a deleted
    _run(shell, "c", "%%track -q\nz = y * 2 + x")
    problems = _receipt(shell)["problems"]
    kinds = {p["kind"] for p in problems}
    assert {"not_in_notebook", "stale_dependency"} <= kinds
    stale = next(p for p in problems if p["kind"] == "stale_dependency")
    assert stale["names"] == ["x"]
    assert "In [2]" in stale["message"]  # where x = 1 ran


def test_unknown_notebook_is_not_called_clean(shell):
    shell.ok("%%track -q\nq = 1")
    assert _receipt(shell)["clean"] is False
    assert _receipt(shell)["problems"][0]["kind"] == "notebook_unknown"


def test_defined_below_and_name_analysis():
    history = [rcpt.Executed(0, 1, None, "b = 2"), rcpt.Executed(1, 2, None, "a = b + 1")]
    cells = [rcpt.Cell(0, None, "a = b + 1"), rcpt.Cell(1, None, "b = 2")]
    problems = rcpt.build(history, cells, run_from_seq=1)["problems"]
    below = [p for p in problems if p["kind"] == "defined_below"]
    assert below and below[0]["names"] == ["b"]
    loads, stores = rcpt.names("import os\ndef f(u):\n    return u + g\nv = [i for i in range(3)]\nprint(w)")
    assert loads == {"g", "w"} and {"os", "f", "u", "v", "i"} <= stores


def test_receipt_is_json_in_the_run_row(shell, notebook):
    for cell_id, source in CELLS:
        _run(shell, cell_id, source)
    row = shell.tracker.store.query("SELECT receipt FROM run_documents ORDER BY run_id DESC LIMIT 1")[0]
    assert json.loads(row["receipt"])["clean"] is True


def test_badge_says_unchecked_when_there_is_no_notebook_to_check(shell):
    """A terminal session has no notebook: the badge says so instead of counting a warning."""
    from nbtrack.display import receipt_badge

    shell.ok("%%track --quiet\nacc = 0.5")
    run = shell.tracker.search_runs(max_results=1)[0]
    assert run.receipt["checked"] is False
    assert receipt_badge(run) == ("unchecked", "warn")


def test_stale_notebook_advice_never_asks_to_install_the_extension(shell, notebook):
    """The receipt cannot know whether the lab extension is active (its pushes may have been lost
    to a restart), so it states what happened instead of telling the user to install it."""
    import os

    _run(shell, "a", "x = 1")
    _run(shell, "b", "y = x + 1")
    _run(shell, "a", "x = 1")  # out of order: a problem to report
    os.utime(notebook, (1_000_000_000, 1_000_000_000))  # saved long before these executions
    _run(shell, "c", CELLS[2][1])
    stale = [p for p in _receipt(shell)["problems"] if p["kind"] == "notebook_stale"]
    assert len(stale) == 1
    message = stale[0]["message"]
    assert "save the notebook" in message
    assert "use the nbtrack JupyterLab extension" not in message and "install" not in message


@pytest.mark.slow
def test_identical_cells_run_top_to_bottom_are_two_cells(shell, tmp_path, monkeypatch):
    """nbclient and plain IPython send no cell ids: identical code is told apart by execution order."""
    cells = [LOAD, ("a", "x = 1"), ("b", "print(x)"), ("c", "x = 2"), ("d", "print(x)"), ("e", "%%track -q\nz = x")]
    path = tmp_path / "same.ipynb"
    _write(path, cells)
    monkeypatch.setenv("NBTRACK_NOTEBOOK", str(path))
    for _, source in cells[1:]:
        _run(shell, None, source)
    assert _receipt(shell) == {"clean": True, "checked": True, "problems": []}
    _run(shell, None, "print(x)")  # a re-run of b or d: above e either way
    _run(shell, None, cells[-1][1])
    assert [p["kind"] for p in _receipt(shell)["problems"] if p["kind"] != "notebook_stale"] == ["out_of_order"]


@pytest.mark.slow
def test_receipts_analyse_each_entry_once_and_fold_only_new_entries():
    analysed = []

    def transform(source):
        analysed.append(source)
        return source

    cells = [rcpt.Cell(i, None, f"v{i} = {i}") for i in range(3)] + [rcpt.Cell(3, None, "w = v0 + v2")]
    history = [rcpt.Executed(i, i + 1, None, f"v{i} = {i}") for i in range(3)]
    receipts = rcpt.Receipts(transform)
    for round_ in range(300):  # a long session: the same cells edited and re-run
        history.append(rcpt.Executed(len(history), len(history) + 1, None, f"v{round_ % 3} = {round_ % 3}"))
        incremental = receipts.build(history, cells, len(history) - 1)
        assert incremental == rcpt.build(history, cells, len(history) - 1)
    assert len(analysed) == len(history)  # each entry once, however many receipts
    history.append(rcpt.Executed(len(history), None, None, "w = v0 + v2"))
    edited = [
        *cells[:2],
        rcpt.Cell(2, None, "v2 = 'edited'"),
        cells[3],
    ]  # the notebook changed: refold, analysis reused
    assert receipts.build(history, edited, len(history) - 1) == rcpt.build(history, edited, len(history) - 1)
    assert {p["kind"] for p in receipts.build(history, edited, len(history) - 1)["problems"]} >= {
        "out_of_order",
        "stale_dependency",
    }
    assert len(analysed) == len(history)


@pytest.mark.slow
def test_identical_cells_under_nbclient_are_distinct_cells(tmp_path):
    """nbclient sends no cell ids: two identical plt.show() cells and two identical tracked cells,
    run top to bottom, give clean receipts and two runs of two cells (not "run 2 of this cell")."""
    import os

    from nbclient import NotebookClient

    from nbtrack.tracking import Tracker

    tracked = "%%track fit\nC = 1\nprint('fitted', C)"
    sources = [
        "%load_ext nbtrack",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])",
        "plt.show()",
        "plt.plot([2, 1])",
        "plt.show()",
        tracked,
        tracked,
    ]
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    path, store = tmp_path / "same.ipynb", tmp_path / "store"
    nbformat.write(nb, path)
    env = {**os.environ, "NBTRACK_STORE": str(store), "JPY_SESSION_NAME": str(path)}
    NotebookClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute(
        env=env
    )
    tracker = Tracker.open(store)
    runs = sorted(tracker.search_runs(), key=lambda r: r.start_time)
    assert [r.cell_key for r in runs] == [nb.cells[5].id, nb.cells[6].id]
    assert [r.receipt for r in runs] == [{"clean": True, "checked": True, "problems": []}] * 2
    summary = "".join(o.get("text", "") for o in nb.cells[6].outputs)
    assert "nbtrack: run" in summary and "of this cell" not in summary
    tracker.close()
