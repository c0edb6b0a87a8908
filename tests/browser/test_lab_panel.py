"""The runs side panel in a real JupyterLab: loaded, fed by run_ended, selection and diff, escaping."""

from __future__ import annotations

from labui import cell_errors, open_notebook, open_runs_panel, run_all, save_screenshot, write_notebook

HOSTILE = "<img src=x onerror=alert(1)>"


def test_panel_lists_the_notebooks_runs_as_they_end(page, lab):
    cells = [
        "%load_ext nbtrack\nimport numpy as np\nX = np.arange(6.0).reshape(3, 2)",
        "%%track baseline\nlr = 0.1\nmodel = 'rf'\nn_rows = len(X)\nf1 = round(0.5, 2)",
        "%%track tuned\nlr = 0.01\nmodel = 'rf'\nn_rows = len(X)\nf1 = round(0.75, 2)\nauc = round(0.9, 2)",
    ]
    write_notebook(lab.root, "panel/train.ipynb", cells)
    open_notebook(page, lab, "panel/train.ipynb")
    panel = open_runs_panel(page)
    assert panel.locator(".nbtrack-runs-notebook").inner_text() == "panel/train.ipynb"
    page.locator(".nbtrack-runs-status", has_text="No runs of this notebook yet").wait_for()

    # opened before running: the rows come from run_ended refreshes, not from a click
    run_all(page, len(cells))
    assert cell_errors(page) == []
    items = panel.locator(".nbtrack-runs-item")
    page.wait_for_function("() => document.querySelectorAll('#nbtrack-runs-panel .nbtrack-runs-item').length === 2")
    assert items.locator(".nbtrack-runs-name").all_inner_texts() == ["tuned", "baseline"]
    assert items.locator(".nbtrack-runs-state").all_inner_texts() == ["FINISHED", "FINISHED"]
    assert "f1 0.75" in items.first.locator(".nbtrack-runs-metrics").inner_text()
    assert items.first.locator(".nbtrack-runs-badge").inner_text() == "clean"

    items.first.click()
    detail = panel.locator(".nbtrack-runs-detail")
    detail.locator(".nbtrack-runs-detail-name", has_text="tuned").wait_for()
    changes = detail.locator(".nbtrack-runs-diff li").all_inner_texts()
    assert changes == ["lr: 0.1 → 0.01 (-0.09)", "auc: (new) 0.9", "f1: 0.5 → 0.75 (+0.25)"]
    assert "Changes since baseline" in detail.inner_text()
    params = dict(
        zip(
            detail.locator(".nbtrack-runs-kv").first.locator("th").all_inner_texts(),
            detail.locator(".nbtrack-runs-kv").first.locator("td").all_inner_texts(),
        )
    )
    assert params == {"lr": "0.01", "model": "rf"}
    inputs = detail.locator(".nbtrack-runs-section", has_text="Data inputs")
    assert inputs.locator("th").all_inner_texts() == ["X"] and inputs.locator("td").inner_text().startswith(
        "ndarray 3x2 float64 · "
    )
    save_screenshot(page, "side-panel")

    # Re-run executes the run's snapshot in a fresh kernel; a reproduced run gets the "verified" badge
    detail.locator(".nbtrack-runs-rerun").click()
    detail.locator(".nbtrack-runs-rerun-output", has_text="Reproduced in a fresh kernel").wait_for(timeout=180_000)
    # The rerun's own runs (they executed a copy of the notebook) are listed too, marked "rerun";
    # the original keeps its place and gains the "verified" badge.
    reruns = panel.locator(".nbtrack-runs-item").filter(has=page.locator(".nbtrack-runs-rerun-of"))
    page.wait_for_function("() => document.querySelectorAll('#nbtrack-runs-panel .nbtrack-runs-rerun-of').length === 2")
    assert sorted(reruns.locator(".nbtrack-runs-name").all_inner_texts()) == ["baseline", "tuned"]
    originals = panel.locator(".nbtrack-runs-item").filter(has_not=page.locator(".nbtrack-runs-rerun-of"))
    originals.filter(has_text="tuned").locator(".nbtrack-runs-badge", has_text="verified").wait_for()
    reruns.filter(has_text="tuned").click()
    detail.locator(".nbtrack-runs-detail-name", has_text="tuned").wait_for()
    detail.get_by_text("Changes against the original run tuned").wait_for()

    # the refresh button reloads: a run logged outside the kernel shows up
    from nbtrack.tracking import Tracker

    tracker = Tracker.open(lab.store)
    try:
        run = tracker.start_run("from-a-script")
        tracker.runs.update_run(run.row_id, {"notebook_path": str(lab.root / "panel" / "train.ipynb")})
        tracker.end_run(run=run)
    finally:
        tracker.close()
    panel.locator(".nbtrack-runs-refresh").click()
    panel.locator(".nbtrack-runs-name", has_text="from-a-script").wait_for()
    assert page.dialogs == []


def test_hostile_run_name_is_text_in_panel_and_dashboard(page, lab):
    register = (
        f"import nbtrack\nnbtrack.register_model(nbtrack.search_runs(max_results=1)[0], {{'w': 1}}, {HOSTILE!r})\n"
        f"nbtrack.transition_stage({HOSTILE!r}, 1, 'Production');"
    )
    cells = ["%load_ext nbtrack", f"%%track '{HOSTILE}'\nlr = 0.5\nf1 = round(0.6, 2)", register, "%track dashboard"]
    write_notebook(lab.root, "hostile.ipynb", cells)
    open_notebook(page, lab, "hostile.ipynb")
    run_all(page, len(cells))
    assert cell_errors(page) == []

    panel = open_runs_panel(page)
    name = panel.locator(".nbtrack-runs-name", has_text=HOSTILE)
    name.wait_for()
    name.click()
    panel.locator(".nbtrack-runs-detail-name", has_text=HOSTILE).wait_for()
    # the model registered from the run (its name is the same markup) is a badge with its stage
    panel.locator(".nbtrack-runs-refresh").click()
    badge = panel.locator(".nbtrack-runs-item .nbtrack-runs-model-production")
    badge.wait_for()
    assert badge.inner_text() == f"{HOSTILE} v1 · Production"
    panel.locator(".nbtrack-runs-section", has_text="Registered as").locator(
        ".nbtrack-runs-model", has_text=HOSTILE
    ).wait_for()

    row = page.locator(".nbtrack-run-row", has_text=HOSTILE)
    row.first.wait_for()
    # the markup reached the DOM only as text: no element was made from it anywhere
    assert page.locator("img[src='x']").count() == 0
    assert (
        page.evaluate("() => [...document.querySelectorAll('img')].filter(i => i.getAttribute('onerror')).length") == 0
    )
    assert page.dialogs == []
