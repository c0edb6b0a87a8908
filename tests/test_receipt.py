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
