"""Wiring: set widget values and click buttons, then check the store and the status line.

``Button.click`` swallows handler exceptions into the ``traitlets`` logger as "Exception in
callback"; every test here fails if such a record appears (see ``test_the_callback_check_can_fail``).
"""

from __future__ import annotations

import logging

import ipywidgets as w
import pytest

from nbtrack.registry import Registry
from nbtrack.widgets import Dashboard

XSS = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture(autouse=True)
def no_lost_callbacks(caplog):
    caplog.set_level(logging.WARNING)
    yield caplog
    lost = [r.getMessage() for r in caplog.records if "Exception in callback" in r.getMessage()]
    assert not lost, lost


def seed(tracker, names=("r0", "r1", "r2", "r3", "r4")):
    ids = []
    for i, name in enumerate(names):
        with tracker.start_run(name, params={"lr": i / 10, "model": "gbm" if i % 2 else "rf"}) as run:
            tracker.log_metrics({"f1": i / 10, "loss": 1 - i / 10})
            tracker.log_model({"weights": i}, "clf")
        ids.append(run.id)
    return ids


def find(widget, css):
    """Every widget under ``widget`` carrying the CSS class ``css``, depth first."""
    found = [widget] if css in getattr(widget, "_dom_classes", ()) else []
    for child in getattr(widget, "children", ()):
        found += find(child, css)
    return found


def one(dashboard, css):
    (widget,) = find(dashboard.widget, css)
    return widget


def htmls(widget):
    values = [widget.value] if isinstance(widget, w.HTML) else []
    for child in getattr(widget, "children", ()):
        values += htmls(child)
    return values


def first_row_text(dashboard):
    return dashboard.runs_view.cells[0].value


@pytest.fixture
def ids(tracker):
    return seed(tracker)


@pytest.fixture
def dash(tracker, ids):
    return Dashboard(tracker, page_size=2)


def test_the_callback_check_can_fail(no_lost_callbacks):
    broken = w.Button()
    broken.on_click(lambda _: 1 / 0)
    broken.click()
    assert "Exception in callback" in no_lost_callbacks.text
    no_lost_callbacks.clear()


def test_structure_has_the_documented_classes(dash):
    for css in (
        "nbtrack-dashboard",
        "nbtrack-refresh",
        "nbtrack-status",
        "nbtrack-tabs",
        "nbtrack-filter",
        "nbtrack-filter-error",
        "nbtrack-column-chooser",
        "nbtrack-show-deleted",
        "nbtrack-delete-selected",
        "nbtrack-restore-selected",
        "nbtrack-delete-confirm-box",
        "nbtrack-delete-confirm",
        "nbtrack-delete-cancel",
        "nbtrack-runs-table",
        "nbtrack-select-page",
        "nbtrack-page-prev",
        "nbtrack-page-next",
        "nbtrack-annotate",
        "nbtrack-tag-text",
        "nbtrack-tag-apply",
        "nbtrack-tag-remove",
        "nbtrack-note",
        "nbtrack-note-save",
        "nbtrack-baseline",
        "nbtrack-show-all-params",
        "nbtrack-compare-params",
        "nbtrack-metric-bars",
        "nbtrack-stage-apply",
        "nbtrack-stage-confirm",
        "nbtrack-alias-set",
        "nbtrack-register-run",
        "nbtrack-model-history",
    ):
        assert find(dash.widget, css), css
    assert len(find(dash.widget, "nbtrack-run-row")) == 2
    assert [t for t in dash.tabs.titles] == ["Runs", "Compare", "Registry"]


def test_filter_box_filters_and_shows_parse_errors_inline(dash):
    one(dash, "nbtrack-filter").value = "params.model = 'gbm'"
    assert dash.controller.total == 2 and "r3" in first_row_text(dash)
    assert "2 runs match" in dash.status.value
    one(dash, "nbtrack-filter").value = "params.lr >"
    error = one(dash, "nbtrack-filter-error").value
    assert "expected a value after &#x27;&gt;&#x27;" in error and "\n" + " " * 11 + "^" in error
    assert "nbtrack-status-error" in dash.status._dom_classes
    assert dash.controller.total == 2  # the old filter stays
    one(dash, "nbtrack-filter").value = ""
    one(dash, "nbtrack-filter-apply").click()
    assert one(dash, "nbtrack-filter-error").value == "" and dash.controller.total == 5


def test_sort_buttons_sort_and_flip(dash):
    sort = next(b for b in find(dash.widget, "nbtrack-sort-button") if b.tooltip.startswith("metrics.f1:"))
    sort.click()
    assert "r0" in first_row_text(dash) and sort.description == "f1 ▲"
    sort.click()
    assert "r4" in first_row_text(dash) and sort.description == "f1 ▼"
    receipt = next(b for b in find(dash.widget, "nbtrack-sort-button") if b.description == "receipt")
    assert receipt.disabled


def test_checkboxes_select_across_pages(dash, ids):
    checks = find(dash.widget, "nbtrack-run-select")
    checks[0].value = True
    one(dash, "nbtrack-page-next").click()
    assert [c.value for c in checks] == [False, False]
    one(dash, "nbtrack-select-page").value = True
    assert dash.controller.selected_ids == [ids[4], ids[2], ids[1]]
    assert one(dash, "nbtrack-selection").value == "3 selected"
    one(dash, "nbtrack-page-prev").click()
    assert [c.value for c in checks] == [True, False]
    one(dash, "nbtrack-clear-selection").click()
    assert dash.controller.selected_ids == [] and [c.value for c in checks] == [False, False]


def test_last_page_hides_unused_rows(dash):
    one(dash, "nbtrack-page-next").click()
    one(dash, "nbtrack-page-next").click()
    rows = find(dash.widget, "nbtrack-run-row")
    assert [r.layout.display for r in rows] == [None, "none"]
    assert one(dash, "nbtrack-page-label").value == "5-5 of 5 (page 3/3)"


def test_column_chooser(dash):
    one(dash, "nbtrack-column-chooser").value = ("name", "params.lr")
    assert [b.tooltip.split(":")[0] for b in find(dash.widget, "nbtrack-sort-button")] == ["name", "params.lr"]
    assert first_row_text(dash).count('class="nbtrack-cell"') == 2


def test_compare_tab_renders_tables_and_charts(dash, ids):
    dash.controller.toggle(ids[1], True)
    dash.controller.toggle(ids[4], True)
    dash.select_tab(1)
    assert "nbtrack-best" in one(dash, "nbtrack-compare-metrics").value
    assert "<td>lr</td>" in one(dash, "nbtrack-compare-params").value
    assert one(dash, "nbtrack-metric-bars").value.count("data:image/png;base64,") == 2
    for css in ("nbtrack-history-chart", "nbtrack-parallel-chart", "nbtrack-scatter-chart"):
        assert "data:image/png;base64," in one(dash, css).value
    one(dash, "nbtrack-show-all-params").value = True
    assert dash.controller.show_all_params
    one(dash, "nbtrack-baseline").value = ids[4]
    assert dash.controller.baseline == ids[4]
    assert "nbtrack-delta" in one(dash, "nbtrack-compare-metrics").value
    one(dash, "nbtrack-history-metric").value = "loss"
    assert dash.controller.chart["history"] == "loss"


def test_compare_tab_without_selection_says_so(dash):
    dash.select_tab(1)
    assert "Select runs" in one(dash, "nbtrack-compare-message").value


def _registry(tracker):
    return Registry(tracker.store, runs=tracker.runs)


def test_register_stage_with_confirmation_and_aliases(tracker, dash, ids):
    find(dash.widget, "nbtrack-run-select")[0].value = True  # r4
    one(dash, "nbtrack-register-name").value = "fraud"
    one(dash, "nbtrack-register-run").click()
    assert _registry(tracker).get_model_version("fraud", 1).run_id == ids[4]
    assert "registered fraud version 1" in dash.status.value

    one(dash, "nbtrack-stage-select").value = "Production"
    one(dash, "nbtrack-stage-comment").value = "ship it"
    one(dash, "nbtrack-stage-apply").click()
    assert one(dash, "nbtrack-stage-confirm-box").layout.display is None
    assert _registry(tracker).get_model_version("fraud", 1).stage == "None"  # not before confirming
    one(dash, "nbtrack-stage-confirm").click()
    assert _registry(tracker).get_model_version("fraud", 1).stage == "Production"
    assert _registry(tracker).history("fraud")[-1].comment == "ship it"
    assert one(dash, "nbtrack-stage-confirm-box").layout.display == "none"
    assert "Production" in one(dash, "nbtrack-versions-table").value
    assert "ship it" in one(dash, "nbtrack-model-history").value

    assert one(dash, "nbtrack-stage-comment").value == ""  # recorded once, then the box is empty

    one(dash, "nbtrack-alias-name").value = "champion"
    one(dash, "nbtrack-alias-set").click()
    assert _registry(tracker).get_model("fraud").aliases == {"champion": 1}
    one(dash, "nbtrack-alias-delete").click()
    assert _registry(tracker).get_model("fraud").aliases == {}
    # "ship it" was meant for the promotion only
    assert [(e.action, e.comment) for e in _registry(tracker).history("fraud")[-2:]] == [
        ("set_alias", None),
        ("delete_alias", None),
    ]


def test_registry_errors_reach_the_status_line(tracker, dash):
    one(dash, "nbtrack-register-name").value = "fraud"
    one(dash, "nbtrack-register-run").click()
    assert "select exactly one run" in dash.status.value
    assert "nbtrack-status-error" in dash.status._dom_classes
    one(dash, "nbtrack-stage-apply").click()  # no model yet
    assert "choose a model version first" in dash.status.value
    assert _registry(tracker).search_models() == []


def test_stage_cancel(tracker, dash, ids):
    registry = _registry(tracker)
    registry.register_model(ids[0], None, "m")
    dash.controller.refresh()
    one(dash, "nbtrack-stage-select").value = "Production"
    one(dash, "nbtrack-stage-apply").click()
    one(dash, "nbtrack-stage-cancel").click()
    assert registry.get_model_version("m", 1).stage == "None"
    assert one(dash, "nbtrack-stage-confirm-box").layout.display == "none"


def test_delete_version_with_confirmation(tracker, dash, ids):
    registry = _registry(tracker)
    for run in (ids[0], ids[1]):
        registry.register_model(run, None, "m")
    dash.controller.refresh()
    one(dash, "nbtrack-version-select").value = 1
    one(dash, "nbtrack-stage-comment").value = "wrong features"
    one(dash, "nbtrack-version-delete").click()
    assert one(dash, "nbtrack-stage-confirm-box").layout.display is None
    assert "Delete m version 1" in one(dash, "nbtrack-stage-confirm-text").value
    assert [v.version for v in registry.get_model("m").versions] == [1, 2]
    one(dash, "nbtrack-stage-confirm").click()
    assert [v.version for v in registry.get_model("m").versions] == [2]
    assert registry.history("m")[-1].comment == "wrong features"
    assert one(dash, "nbtrack-version-select").options == (("v2", 2),)
    assert "m version 1 deleted" in dash.status.value


def test_compare_with_production_switches_tab(tracker, dash, ids):
    registry = _registry(tracker)
    registry.register_model(ids[1], None, "m")
    registry.register_model(ids[3], None, "m")
    registry.transition_stage("m", 1, "Production")
    dash.controller.refresh()
    one(dash, "nbtrack-version-select").value = 2
    one(dash, "nbtrack-compare-production").click()
    assert dash.tabs.selected_index == 1
    assert "m v1 (Production)" in one(dash, "nbtrack-compare-metrics").value


def shown(widget):
    return widget.layout.display != "none"


def test_delete_is_enabled_by_a_selection_and_asks_before_deleting(tracker, dash, ids):
    delete, confirm_box = one(dash, "nbtrack-delete-selected"), one(dash, "nbtrack-delete-confirm-box")
    restore = one(dash, "nbtrack-restore-selected")
    assert (delete.disabled, delete.button_style, shown(confirm_box), shown(restore)) == (True, "danger", False, False)
    find(dash.widget, "nbtrack-run-select")[0].value = True  # r4
    assert not delete.disabled
    delete.click()
    assert shown(confirm_box) and one(dash, "nbtrack-delete-confirm-text").value == "Delete 1 run?"
    assert len(tracker.search_runs()) == 5  # not before confirming
    one(dash, "nbtrack-delete-confirm").click()
    assert [run.name for run in tracker.search_runs()] == ["r3", "r2", "r1", "r0"]
    assert not shown(confirm_box) and delete.disabled and "r3" in first_row_text(dash)
    assert "deleted 1 run" in dash.status.value and "0 selected" in one(dash, "nbtrack-selection").value


def test_delete_cancel_and_a_refusal_leave_the_runs(tracker, dash, ids):
    _registry(tracker).register_model(ids[4], None, "m")
    find(dash.widget, "nbtrack-run-select")[1].value = True  # r3
    one(dash, "nbtrack-delete-selected").click()
    one(dash, "nbtrack-delete-cancel").click()
    assert not shown(one(dash, "nbtrack-delete-confirm-box")) and len(tracker.search_runs()) == 5
    find(dash.widget, "nbtrack-run-select")[0].value = True  # r4, a registered model's source
    one(dash, "nbtrack-delete-selected").click()
    assert one(dash, "nbtrack-delete-confirm-text").value == "Delete 2 runs?"
    one(dash, "nbtrack-delete-confirm").click()
    assert "nbtrack-status-error" in dash.status._dom_classes and "is the source of model" in dash.status.value
    assert len(tracker.search_runs()) == 5 and not shown(one(dash, "nbtrack-delete-confirm-box"))


def test_show_deleted_lists_deleted_runs_to_restore(tracker, dash, ids):
    tracker.delete_run(ids[0])
    with tracker.start_run(XSS, params={"binned": 1}) as bad:
        pass
    tracker.delete_run(bad.id)
    one(dash, "nbtrack-show-deleted").value = True
    assert "params.binned" in one(dash, "nbtrack-column-chooser").options  # the deleted runs' keys
    delete, restore = one(dash, "nbtrack-delete-selected"), one(dash, "nbtrack-restore-selected")
    assert (shown(delete), shown(restore), restore.disabled) == (False, True, True)
    assert ESCAPED in first_row_text(dash) and not [v for v in htmls(dash.widget) if "<img src=x" in v]
    assert "r0" in dash.runs_view.cells[1].value and "2 deleted runs" in dash.status.value
    find(dash.widget, "nbtrack-run-select")[1].value = True
    assert not restore.disabled
    restore.click()
    assert "restored 1 run" in dash.status.value and tracker.get_run(ids[0]).deleted_time is None
    one(dash, "nbtrack-show-deleted").value = False
    assert (shown(delete), shown(restore), dash.controller.total) == (True, False, 5)
    assert "params.binned" not in one(dash, "nbtrack-column-chooser").options


def annotate_controls(dash):
    return [one(dash, css) for css in ("nbtrack-tag-apply", "nbtrack-tag-remove", "nbtrack-note", "nbtrack-note-save")]


def test_tag_buttons_need_a_selection_and_the_note_exactly_one_run(tracker, dash, ids):
    tracker.note_run(ids[4], "r4's note")
    checks, note = find(dash.widget, "nbtrack-run-select"), one(dash, "nbtrack-note")
    assert [c.disabled for c in annotate_controls(dash)] == [True, True, True, True] and note.value == ""
    checks[0].value = True  # r4
    assert [c.disabled for c in annotate_controls(dash)] == [False, False, False, False] and note.value == "r4's note"
    checks[1].value = True
    assert [c.disabled for c in annotate_controls(dash)] == [False, False, True, True] and note.value == ""
    checks[0].value = False  # r3 alone
    assert [c.disabled for c in annotate_controls(dash)] == [False, False, False, False] and note.value == ""
    one(dash, "nbtrack-clear-selection").click()
    assert [c.disabled for c in annotate_controls(dash)] == [True, True, True, True]
    tracker.delete_run(ids[0])
    one(dash, "nbtrack-show-deleted").value = True
    checks[0].value = True
    assert [c.disabled for c in annotate_controls(dash)] == [True, True, True, True]


def test_tag_and_remove_tag_buttons(tracker, dash, ids):
    find(dash.widget, "nbtrack-select-page")[0].value = True  # r4, r3
    one(dash, "nbtrack-tag-text").value = "stage = 'prod ready'"
    one(dash, "nbtrack-tag-apply").click()
    assert "tagged 2 runs stage=prod ready" in dash.status.value
    assert "stage=prod ready" in first_row_text(dash) and "stage=prod ready" in dash.runs_view.cells[1].value
    assert "tags.stage" in one(dash, "nbtrack-column-chooser").options
    one(dash, "nbtrack-tag-remove").click()  # key=value is not a key
    assert "nbtrack-status-error" in dash.status._dom_classes and "type its key only (e.g. stage)" in dash.status.value
    one(dash, "nbtrack-tag-text").value = "stage"
    one(dash, "nbtrack-tag-remove").click()
    assert "removed tag stage from 2 runs" in dash.status.value and "stage=" not in first_row_text(dash)
    assert [run.tags for run in tracker.search_runs()] == [{}] * 5


def test_tag_errors_reach_the_status_line_and_write_nothing(tracker, dash, ids):
    find(dash.widget, "nbtrack-run-select")[0].value = True
    for text, message in (
        ("no equals sign", "expected key=value"),
        ("nbtrack.verified=true", "written by nbtrack itself"),
    ):
        one(dash, "nbtrack-tag-text").value = text
        one(dash, "nbtrack-tag-apply").click()
        assert "nbtrack-status-error" in dash.status._dom_classes and message in dash.status.value
    one(dash, "nbtrack-tag-remove").click()
    assert "written by nbtrack itself" in dash.status.value
    assert [run.tags for run in tracker.search_runs()] == [{}] * 5


def test_hostile_tags_and_notes_stay_escaped(tracker, dash, ids):
    find(dash.widget, "nbtrack-run-select")[0].value = True
    one(dash, "nbtrack-tag-text").value = f"<i>k</i>={XSS}"  # the first = ends the key
    one(dash, "nbtrack-tag-apply").click()
    one(dash, "nbtrack-note").value = XSS
    one(dash, "nbtrack-note-save").click()
    assert tracker.get_run(ids[4]).tags == {"<i>k</i>": XSS} and tracker.get_run(ids[4]).note == XSS
    assert f"&lt;i&gt;k&lt;/i&gt;={ESCAPED}" in first_row_text(dash)
    one(dash, "nbtrack-tag-text").value = f"{XSS}=x"  # key '<img src', and the status line echoes it all
    one(dash, "nbtrack-tag-apply").click()
    assert f"tagged 1 run {ESCAPED}=x" in dash.status.value
    assert not [v for v in htmls(dash.widget) if "<img src=x" in v]
    html = dash._repr_mimebundle_()["text/html"]
    assert "<img src=x" not in html and ESCAPED in html


def test_note_box_saves_and_keeps_typed_text_while_paging(tracker, dash, ids):
    checks, note = find(dash.widget, "nbtrack-run-select"), one(dash, "nbtrack-note")
    checks[1].value = True  # r3
    note.value = "half typed"
    one(dash, "nbtrack-page-next").click()
    one(dash, "nbtrack-page-prev").click()
    assert note.value == "half typed"
    note.value = "learning rate too low"
    one(dash, "nbtrack-note-save").click()
    assert tracker.get_run(ids[3]).note == "learning rate too low" and "saved the note of run r3" in dash.status.value
    checks[1].value = False
    checks[0].value = True  # r4 has no note: the box empties
    assert note.value == ""
    checks[0].value = False
    checks[1].value = True
    assert note.value == "learning rate too low"


def test_refresh_keeps_the_widget_tree(tracker, dash):
    rows, root = find(dash.widget, "nbtrack-run-row"), dash.widget.children
    with tracker.start_run("late"):
        tracker.log_metric("f1", 1.0)
    one(dash, "nbtrack-refresh").click()
    assert find(dash.widget, "nbtrack-run-row") == rows and dash.widget.children == root
    assert "late" in first_row_text(dash)
    assert "nbtrack-new-run" in rows[0]._dom_classes and "nbtrack-new-run" not in rows[1]._dom_classes
    assert "1 run logged since the dashboard opened" in dash.status.value


def test_refresh_drops_a_column_whose_runs_were_all_deleted(tracker, dash, ids):
    with tracker.start_run("odd", params={"only_odd": 1}) as odd:
        pass
    one(dash, "nbtrack-refresh").click()
    dash.controller.set_columns(["name", "params.only_odd"])
    tracker.delete_run(odd.id)
    one(dash, "nbtrack-refresh").click()
    assert dash.controller.columns == ["name"] and one(dash, "nbtrack-column-chooser").value == ("name",)
    assert "nbtrack-status-error" not in dash.status._dom_classes


def test_mimebundle_has_widget_view_and_static_fallback(dash, ids):
    dash.controller.toggle(ids[0], True)
    dash.controller.toggle(ids[1], True)
    bundle = dash._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == dash.widget.model_id
    html = bundle["text/html"]
    assert "nbtrack-runs-table" in html and "nbtrack-compare-metrics" in html and "data:image/png;base64," in html
    assert "nbtrack dashboard: 2 of 5 runs" in bundle["text/plain"]
    snapshot = dash.snapshot(charts=False)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" not in snapshot
    assert "nbtrack-compare-metrics" in snapshot["text/html"] and "data:image/png" not in snapshot["text/html"]


def test_user_text_is_escaped_in_every_view(tracker):
    with tracker.start_run(XSS, params={XSS: XSS, "lr": 1}, tags={XSS: XSS}) as bad:
        tracker.log_metric(XSS, 1.0)
        tracker.log_model({"w": 1}, "clf")
    with tracker.start_run("ok", params={XSS: "x", "lr": 2}):
        tracker.log_metric(XSS, 2.0)
    registry = _registry(tracker)
    registry.register_model(bad.id, None, XSS)
    registry.transition_stage(XSS, 1, "Staging", comment=XSS)
    registry.set_alias(XSS, "champion", 1, comment=XSS)
    dash = Dashboard(tracker)
    dash.controller.set_columns(dash.controller.available_columns())
    dash.controller.select_page(True)
    dash.select_tab(1)
    one(dash, "nbtrack-filter").value = f"name = {XSS}"  # not a valid query: the error quotes it
    assert ESCAPED in one(dash, "nbtrack-filter-error").value
    assert "<img" not in dash.status.value
    assert not [v for v in htmls(dash.widget) if "<img src=x" in v]
    one(dash, "nbtrack-filter").value = ""
    assert not [v for v in htmls(dash.widget) if "<img src=x" in v]
    for where in (
        "nbtrack-runs-table",
        "nbtrack-compare-params",
        "nbtrack-compare-metrics",
        "nbtrack-versions-table",
        "nbtrack-model-history",
    ):
        assert ESCAPED in "".join(htmls(one(dash, where))), where
    bundle = dash._repr_mimebundle_()
    assert "<img src=x" not in bundle["text/html"] and ESCAPED in bundle["text/html"]


def test_magic_opens_the_dashboard(shell):
    seed(shell.tracker)
    dash = shell.ip.run_line_magic("track", "dashboard params.model = 'gbm' -n 1")
    assert isinstance(dash, Dashboard)
    assert (dash.controller.query, dash.controller.total, len(dash.controller.runs)) == ("params.model = 'gbm'", 2, 1)


def test_magic_reports_a_bad_query_in_one_line(shell, capsys):
    assert shell.ip.run_line_magic("track", "dashboard metrics.f1 >") is None
    assert "QueryError: expected a value" in capsys.readouterr().err


def test_plain_api(store_path):
    import nbtrack
    from nbtrack import api

    tracker = api.set_store(store_path)
    try:
        seed(tracker, ("a", "b"))
        dash = nbtrack.dashboard("name = 'a'")
        assert isinstance(dash, Dashboard) and dash.controller.total == 1
    finally:
        api.use(None)


def test_a_failing_gate_shows_in_the_status_line_and_changes_nothing(tracker, dash, ids):
    registry = _registry(tracker)
    registry.register_model(ids[0], None, "m")
    dash.controller.refresh()
    one(dash, "nbtrack-stage-select").value = "Staging"
    one(dash, "nbtrack-stage-require").value = "metrics.f1 > 5"
    one(dash, "nbtrack-stage-apply").click()
    assert registry.get_model_version("m", 1).stage == "None"
    assert "nbtrack-status-error" in dash.status._dom_classes and "gate failed" in dash.status.value
    assert "metrics.f1 &gt; 5" in dash.status.value  # the failing requirement, escaped
    one(dash, "nbtrack-stage-require").value = "metrics.f1 >= 0"
    one(dash, "nbtrack-stage-apply").click()
    assert registry.get_model_version("m", 1).stage == "Staging" and "gate passed" in dash.status.value


def test_a_refused_change_keeps_the_comment_for_the_retry(tracker, dash, ids):
    registry = _registry(tracker)
    registry.register_model(ids[0], None, "m")
    dash.controller.refresh()
    one(dash, "nbtrack-stage-comment").value = "ready for QA"
    one(dash, "nbtrack-alias-name").value = "production"  # reserved: refused
    one(dash, "nbtrack-alias-set").click()
    assert "nbtrack-status-error" in dash.status._dom_classes
    assert one(dash, "nbtrack-stage-comment").value == "ready for QA"
    one(dash, "nbtrack-stage-apply").click()  # Staging applies at once
    assert registry.history("m")[-1].comment == "ready for QA"
    assert one(dash, "nbtrack-stage-comment").value == ""


def test_tabs_shown_again_reload_what_later_cells_wrote(tracker, dash, ids):
    dash.select_tab(2)
    assert "no models registered yet" in one(dash, "nbtrack-model-history").value
    dash.select_tab(0)
    # cells run after the dashboard's: a registration and a new run, through the same store connection
    _registry(tracker).register_model(ids[0], None, "late")
    with tracker.start_run("late-run"):
        tracker.log_metric("f1", 1.0)
    dash.select_tab(2)
    assert one(dash, "nbtrack-model-select").options == ("late",)
    assert "no models registered yet" not in one(dash, "nbtrack-model-history").value
    dash.select_tab(0)
    assert "late-run" in first_row_text(dash)
