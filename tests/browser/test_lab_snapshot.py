"""An edit made in the browser and never saved is in the snapshot of the run that executed it."""

from __future__ import annotations

from labui import KERNEL_IDLE, cell_errors, open_notebook, run_all, wait_until, write_notebook
from nbtrack.snapshot.storage import snapshot_notebook
from nbtrack.tracking import Tracker

EDIT = "y = 2  # typed in the browser, not saved"


def _runs_named(lab, name: str):
    tracker = Tracker.open(lab.store)
    try:
        return [r for r in tracker.search_runs(f"name = '{name}'") if r.status == "FINISHED"]
    finally:
        tracker.close()


def _snapshot_sources(lab, run_id: str) -> list[str]:
    tracker = Tracker.open(lab.store)
    try:
        notebook = snapshot_notebook(tracker.store.blobs, tracker.get_run(run_id))
    finally:
        tracker.close()
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in notebook["cells"]]


def test_unsaved_edit_is_in_the_runs_snapshot(page, lab):
    cells = ["%load_ext nbtrack", "%%track edited-live\nx = 1"]
    path = write_notebook(lab.root, "snapshot/live.ipynb", cells)
    open_notebook(page, lab, "snapshot/live.ipynb")
    run_all(page, len(cells))
    assert cell_errors(page) == []
    assert len(_runs_named(lab, "edited-live")) == 1

    editor = page.locator(".jp-CodeCell").nth(1).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n" + EDIT)
    page.keyboard.press("Shift+Enter")
    page.locator(".jp-CodeCell").nth(1).locator(".jp-InputArea-prompt", has_text="[3]:").wait_for()
    page.wait_for_function(KERNEL_IDLE, polling=250)
    assert cell_errors(page) == []

    runs = wait_until(
        lambda: len(_runs_named(lab, "edited-live")) == 2 and _runs_named(lab, "edited-live"),
        what="the second run of the edited cell",
    )
    newest = max(runs, key=lambda r: r.start_time)
    assert EDIT not in path.read_text()  # the edit exists only in the browser
    sources = _snapshot_sources(lab, newest.id)
    assert any(EDIT in source for source in sources), sources
    assert newest.provenance.get("path_method") == "lab extension"


RESTART_EDIT = "z = 3  # typed after the last save, then Restart Kernel and Run All"


def test_restart_and_run_all_snapshots_the_unsaved_edit(page, lab):
    """After a restart every execute request of Run All is queued before ``%load_ext nbtrack`` runs:
    the tracked cell's snapshot must still hold the live (unsaved) code it ran, not the file on disk."""
    cells = ["%load_ext nbtrack", "%%track restart-live\nx = 1"]
    path = write_notebook(lab.root, "snapshot/restart.ipynb", cells)
    open_notebook(page, lab, "snapshot/restart.ipynb")
    run_all(page, len(cells))
    assert len(_runs_named(lab, "restart-live")) == 1

    editor = page.locator(".jp-CodeCell").nth(1).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n" + RESTART_EDIT)
    page.evaluate("() => { void window.jupyterapp.commands.execute('notebook:restart-run-all'); }")
    page.locator(".jp-Dialog .jp-mod-accept").click()

    runs = wait_until(
        lambda: len(_runs_named(lab, "restart-live")) == 2 and _runs_named(lab, "restart-live"),
        what="the run of the edited cell after the restart",
    )
    page.wait_for_function(KERNEL_IDLE, polling=250)
    assert cell_errors(page) == []
    newest = max(runs, key=lambda r: r.start_time)
    assert newest.params.get("z") == 3  # the edit ran ...
    assert RESTART_EDIT not in path.read_text()  # ... and exists only in the browser
    sources = _snapshot_sources(lab, newest.id)
    assert any(RESTART_EDIT in source for source in sources), sources  # ... and is what the snapshot holds
    assert newest.provenance.get("path_method") == "lab extension"
    assert newest.provenance["snapshot"]["source"] == "lab extension"
