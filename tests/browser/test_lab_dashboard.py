"""The ``%track dashboard`` widget in a real JupyterLab: run rows, and a stage change that reaches the store."""

from __future__ import annotations

import pytest

from labui import cell_errors, open_notebook, run_all, save_screenshot, wait_until, write_notebook
from nbtrack.registry import Registry
from nbtrack.store import Store
from nbtrack.tracking import Tracker

TRAIN = (
    "import nbtrack\n"
    "for epoch in range(8):\n"
    "    nbtrack.log_metric('loss', round(1.0 / (epoch + 1) + {floor}, 3), step=epoch)\n"
)
CELLS = [
    "%load_ext nbtrack",
    "%%track baseline\nlr = 0.1\ndepth = 3\n" + TRAIN.format(floor=0.3) + "f1 = round(0.71, 2)\nauc = round(0.80, 2)",
    "%%track tuned\nlr = 0.01\ndepth = 5\n" + TRAIN.format(floor=0.1) + "f1 = round(0.78, 2)\nauc = round(0.84, 2)",
    "%track dashboard",
]


def _stage(lab, name: str, version: int) -> str:
    store = Store.open(lab.store, create=False)
    try:
        return Registry(store).get_model_version(name, version).stage
    finally:
        store.close()


@pytest.fixture
def dashboard(page, lab):
    """dashboard.ipynb run to the end, with a model ``churn`` v1 registered beforehand (once per session)."""
    tracker = Tracker.open(lab.store)
    try:
        registry = Registry(tracker.store)
        if not registry.search_models("churn"):
            with tracker.start_run("trainer") as run:
                pass
            registry.register_model(run.id, {"weights": [1, 2]}, name="churn")
    finally:
        tracker.close()
    return _run_dashboard(page, lab, "dashboard.ipynb", CELLS)


def _run_dashboard(page, lab, name: str, cells: list[str]):
    """Write, open and Run All a notebook showing a dashboard; return the dashboard's locator."""
    write_notebook(lab.root, name, cells)
    open_notebook(page, lab, name)
    run_all(page, len(cells))
    assert cell_errors(page) == []
    app = page.locator(".nbtrack-dashboard")
    app.wait_for()
    return app


def test_dashboard_renders_run_rows(page, dashboard):
    rows = dashboard.locator(".nbtrack-run-row")
    rows.filter(has_text="tuned").first.wait_for()
    text = " ".join(rows.all_inner_texts())
    assert "baseline" in text and "tuned" in text
    assert "0.78" in text
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    dashboard.evaluate("node => node.scrollIntoView({block: 'start'})")
    save_screenshot(page, "dashboard")
    assert page.dialogs == []


def test_compare_tab_shows_the_selected_runs(page, dashboard):
    """Tick two runs, open Compare: differing params, best values highlighted, charts drawn."""
    for name in ("baseline", "tuned"):
        dashboard.locator(".nbtrack-run-row", has_text=name).first.locator(".nbtrack-run-select input").check()
    dashboard.locator(".lm-TabBar-tab", has_text="Compare").click()
    compare = dashboard.locator(".nbtrack-compare-tab")
    compare.locator("img.nbtrack-chart").first.wait_for()
    params = " ".join(compare.locator(".nbtrack-compare-params").all_inner_texts())
    assert "depth" in params and "lr" in params
    best = compare.locator(".nbtrack-best").all_inner_texts()
    assert "0.78" in best and "0.84" in best  # higher f1 and auc are better
    assert compare.locator("img.nbtrack-chart").count() >= 3  # bars per metric, history, parallel coordinates
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    dashboard.evaluate("node => node.scrollIntoView({block: 'start'})")
    save_screenshot(page, "compare")
    assert page.dialogs == []


def test_stage_change_in_dashboard_reaches_the_store(page, lab, dashboard):
    assert _stage(lab, "churn", 1) == "None"
    dashboard.locator(".lm-TabBar-tab", has_text="Registry").click()
    registry = dashboard.locator(".nbtrack-registry-tab")
    registry.wait_for()
    registry.locator(".nbtrack-versions-table", has_text="trainer").wait_for()
    registry.locator(".nbtrack-version-select select").select_option("v1")
    registry.locator(".nbtrack-stage-select select").select_option("Production")
    registry.locator(".nbtrack-stage-comment input").fill("browser test")
    registry.locator("button.nbtrack-stage-apply").click()

    confirm = registry.locator("button.nbtrack-stage-confirm")
    confirm.wait_for(state="visible")
    assert "Production" in registry.locator(".nbtrack-stage-confirm-text").inner_text()
    assert _stage(lab, "churn", 1) == "None"  # nothing changes before the confirmation

    confirm.click()
    wait_until(lambda: _stage(lab, "churn", 1) == "Production", what="churn v1 in Production in the store")
    registry.locator(".nbtrack-versions-table", has_text="Production").wait_for()
    assert page.dialogs == []


LATE_CELLS = [
    "%load_ext nbtrack",
    "%track dashboard",
    "import nbtrack\n"
    "with nbtrack.start_run('late-model') as run:\n"
    "    nbtrack.log_model({'weights': [3]}, 'clf')\n"
    "nbtrack.register_model(run.id, 'clf', name='late-registered')",
]


def test_registry_tab_shows_models_registered_after_the_dashboard_cell(page, lab):
    """Run All: the registration runs after the dashboard was drawn; showing the tab re-reads the store."""
    dashboard = _run_dashboard(page, lab, "late_registry.ipynb", LATE_CELLS)
    dashboard.locator(".lm-TabBar-tab", has_text="Registry").click()
    registry = dashboard.locator(".nbtrack-registry-tab")
    registry.locator(".nbtrack-model-select option", has_text="late-registered").wait_for(
        state="attached", timeout=15_000
    )
    registry.locator(".nbtrack-model-select select").select_option("late-registered")  # other tests may register others
    registry.locator(".nbtrack-versions-table", has_text="late-model").wait_for(timeout=15_000)
    assert "no models registered yet" not in registry.locator(".nbtrack-model-history").inner_text()
    dashboard.locator(".lm-TabBar-tab", has_text="Runs").click()
    dashboard.locator(".nbtrack-run-row", has_text="late-model").first.wait_for(timeout=15_000)
    assert page.dialogs == []
