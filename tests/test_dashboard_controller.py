"""The dashboard controller driven directly: filter, sort, paging, selection, compare, refresh, registry.

Actions raise; ``attempt`` turns an exception into the status line.
"""

from __future__ import annotations

import pytest

from nbtrack.errors import NotFoundError, QueryError, RegistryError, UsageError
from nbtrack.registry import Registry
from nbtrack.widgets.controller import DashboardController, Status


def seed(tracker, count=7):
    """Runs r0..r{count-1}: lr = i/10, model gbm for odd i, f1 = i/10, loss = 1 - i/10, a logged model."""
    ids = []
    for i in range(count):
        with tracker.start_run(
            f"r{i}", params={"lr": i / 10, "model": "gbm" if i % 2 else "rf"}, tags={"team": "t"}
        ) as run:
            for step in range(3):
                tracker.log_metrics({"f1": i / 10 + step, "loss": 1 - i / 10}, step=step)
            tracker.log_model({"weights": i}, "clf")
        ids.append(run.id)
    return ids


@pytest.fixture
def ids(tracker):
    seeded = seed(tracker)
    tracker.git.join()  # git's answer lands after a run's end (tests run inside a checkout): a write of its own
    return seeded


@pytest.fixture
def controller(tracker, ids):
    return DashboardController(tracker, page_size=3)


def names(controller):
    return [run.name for run in controller.runs]


# -- filter ----------------------------------------------------------------------------------------
def test_opens_on_the_newest_page(controller):
    assert (controller.total, controller.page_count, names(controller)) == (7, 3, ["r6", "r5", "r4"])


def test_filter_uses_the_query_grammar(controller):
    controller.set_filter("params.model = 'gbm' and metrics.f1 > 2.2")
    assert (controller.total, names(controller)) == (2, ["r5", "r3"])
    assert controller.status.text == "2 runs match"


def test_initial_query(tracker, ids):
    assert DashboardController(tracker, "params.lr >= 0.5").total == 2


def test_bad_filter_raises_with_position_and_keeps_the_old_filter(controller):
    controller.set_filter("params.model = 'rf'")
    with pytest.raises(QueryError) as info:
        controller.set_filter("  params.model = ")
    assert info.value.position == 17  # the end of the text as typed, leading spaces included
    assert controller.filter_error is info.value
    assert (controller.query, controller.total) == ("params.model = 'rf'", 4)
    controller.set_filter("")
    assert controller.filter_error is None and controller.total == 7


def test_attempt_turns_errors_into_the_status_line(controller):
    assert controller.attempt(controller.set_filter, "metrics.f1 >") is None
    assert controller.status.kind == "error"
    assert controller.status.text == "filter: expected a value after '>', found the end of the query (at position 12)"
    controller.attempt(controller.sort_by, "tags")
    assert controller.status.kind == "error" and "cannot be sorted" in controller.status.text
    assert "UsageError" in controller.last_traceback


# -- sort and paging -----------------------------------------------------------------------------------
def test_sort_by_metric_then_flip(controller):
    controller.sort_by("metrics.f1")
    assert (controller.descending, names(controller)) == (False, ["r0", "r1", "r2"])
    controller.sort_by("metrics.f1")
    assert (controller.descending, names(controller)) == (True, ["r6", "r5", "r4"])


@pytest.mark.parametrize(
    "column, expected",
    [
        ("params.lr", ["r0", "r1", "r2"]),
        ("metrics.loss", ["r6", "r5", "r4"]),
        ("name", ["r0", "r1", "r2"]),
        ("params.model", ["r5", "r3", "r1"]),  # gbm < rf, ties newest first
    ],
)
def test_sort_by_any_sortable_column(controller, column, expected):
    controller.sort_by(column, descending=False)
    assert names(controller) == expected


def test_sort_refuses_combined_and_unknown_columns(controller):
    with pytest.raises(UsageError):
        controller.sort_by("receipt")
    with pytest.raises(UsageError):
        controller.sort_by("bogus")
    assert controller.sort_column == "start"


def test_sort_key_with_backquote_and_dots_is_quoted(tracker):
    with tracker.start_run("odd", params={"a`b.min": 2}):
        pass
    with tracker.start_run("odd2", params={"a`b.min": 1}):
        pass
    controller = DashboardController(tracker)
    controller.sort_by("params.a`b.min", descending=False)
    assert names(controller) == ["odd2", "odd"]


def test_paging_in_sql(controller):
    controller.next_page()
    assert names(controller) == ["r3", "r2", "r1"]
    controller.set_page(99)
    assert (controller.page_index, names(controller)) == (2, ["r0"])
    controller.previous_page()
    assert controller.page_index == 1


# -- columns -----------------------------------------------------------------------------------------
def test_columns_come_from_the_store(controller):
    available = controller.available_columns()
    assert {"params.lr", "params.model", "metrics.f1", "metrics.loss", "tags.team"} <= set(available)
    assert not any(c.startswith("tags.nbtrack.") for c in available)
    controller.set_columns(["name", "metrics.f1"])
    assert controller.columns == ["name", "metrics.f1"]
    with pytest.raises(UsageError, match="params.nope"):
        controller.set_columns(["params.nope"])


# -- selection and compare ---------------------------------------------------------------------------------
def test_selection_survives_paging_and_filtering(controller, ids):
    controller.toggle(controller.runs[0].id, True)
    controller.next_page()
    controller.select_page(True)
    controller.set_filter("name = 'r0'")
    assert controller.selected_ids == [ids[6], ids[3], ids[2], ids[1]]
    controller.toggle(ids[3], False)
    assert controller.selected_ids == [ids[6], ids[2], ids[1]]
    controller.clear_selection()
    assert controller.selected_ids == []


def test_selection_is_capped(controller, ids):
    controller.max_compare = 2
    controller.toggle(ids[0], True)
    controller.toggle(ids[1], True)
    with pytest.raises(UsageError, match="at most 2"):
        controller.toggle(ids[2], True)


def test_toggle_unknown_run_raises(controller):
    with pytest.raises(NotFoundError):
        controller.toggle("ffffffffffffffffffffffffffffffff", True)


def test_compare_needs_a_selection(controller):
    with pytest.raises(UsageError, match="select runs"):
        controller.comparison()


def test_compare_selected_runs_with_a_baseline(controller, ids):
    for run_id in (ids[2], ids[5], ids[4]):
        controller.toggle(run_id, True)
    comparison = controller.comparison()
    assert comparison.labels == ["r2", "r5", "r4"]
    assert [r.key for r in comparison.param_rows()] == ["lr", "model"]
    assert comparison.metric("f1").best == frozenset({1})
    controller.set_baseline(ids[4])
    comparison = controller.comparison()
    assert comparison.labels == ["r4", "r2", "r5"]
    assert comparison.metric("loss").deltas == pytest.approx((0.0, 0.2, -0.1))
    with pytest.raises(UsageError):
        controller.set_baseline(ids[0])  # not selected
    controller.toggle(ids[4], False)
    assert controller.baseline is None


def test_histories_and_figures(controller, ids):
    controller.toggle(ids[1], True)
    controller.toggle(ids[2], True)
    comparison = controller.comparison()
    assert [p.value for p in controller.histories(comparison, "f1")["r1"]] == pytest.approx([0.1, 1.1, 2.1])
    controller.set_chart("history", "loss")
    figures = controller.figures(comparison)
    assert sorted(figures) == ["bars:f1", "bars:loss", "history", "parallel", "scatter"]
    assert figures["history"].axes[0].get_ylabel() == "loss"
    with pytest.raises(UsageError):
        controller.set_chart("pie", "f1")


# -- refresh ---------------------------------------------------------------------------------------------
def test_refresh_shows_runs_logged_since_opening(tracker, controller):
    assert controller.new_since_open == 0
    with tracker.start_run("late", params={"brand_new": 1}):
        tracker.log_metric("f1", 9.0)
    assert names(controller) == ["r6", "r5", "r4"]  # nothing changes until refresh
    controller.refresh()
    assert names(controller)[0] == "late" and controller.is_new(controller.runs[0])
    assert (controller.total, controller.new_since_open) == (8, 1)
    assert controller.status.text == "1 run logged since the dashboard opened; 8 runs match"
    assert "params.brand_new" in controller.available_columns()


# -- deleting and restoring ---------------------------------------------------------------------------------
def live_names(tracker):
    return sorted(run.name for run in tracker.search_runs())


def nested_tree(tracker):
    with (
        tracker.start_run("parent") as parent,
        tracker.start_run("child") as child,
        tracker.start_run("grandchild") as grandchild,
    ):
        pass
    return parent.id, child.id, grandchild.id


def test_delete_asks_first_and_deletes_only_on_confirm(tracker, controller, ids):
    controller.toggle(ids[6], True)
    controller.toggle(ids[5], True)
    assert controller.request_delete().describe() == "Delete 2 runs?"
    assert len(tracker.search_runs()) == 7  # asking changes nothing
    assert sorted(controller.confirm_delete()) == sorted([ids[6], ids[5]])
    assert live_names(tracker) == ["r0", "r1", "r2", "r3", "r4"]
    assert (controller.total, names(controller), controller.pending_delete) == (5, ["r4", "r3", "r2"], None)
    assert controller.status.text == (
        "deleted 2 runs (0 nested under the selected ones); "
        "to undo, tick 'show deleted runs', select them and click Restore selected"
    )
    with pytest.raises(UsageError, match="nothing to confirm"):
        controller.confirm_delete()


def test_cancel_deletes_nothing(tracker, controller, ids):
    controller.toggle(ids[6], True)
    controller.request_delete()
    controller.cancel_delete()
    assert (controller.pending_delete, controller.selected_ids, controller.status.text) == (
        None,
        [ids[6]],
        "nothing deleted",
    )
    assert len(tracker.search_runs()) == 7
    with pytest.raises(UsageError, match="nothing to confirm"):
        controller.confirm_delete()


def test_changing_the_selection_drops_the_question(tracker, controller, ids):
    controller.toggle(ids[6], True)
    controller.request_delete()
    controller.toggle(ids[5], True)  # "Delete 1 run?" no longer describes the selection
    assert controller.pending_delete is None
    with pytest.raises(UsageError, match="nothing to confirm"):
        controller.confirm_delete()
    controller.request_delete()
    controller.clear_selection()
    assert controller.pending_delete is None and len(tracker.search_runs()) == 7


def test_nested_runs_go_with_their_parent_and_come_back_with_it(tracker):
    parent, child, grandchild = nested_tree(tracker)
    controller = DashboardController(tracker)
    controller.toggle(parent, True)
    assert controller.request_delete().describe() == "Delete 1 run and 2 runs nested under them?"
    assert controller.confirm_delete() == [parent, child, grandchild]
    assert controller.total == 0 and controller.status.text.startswith(
        "deleted 3 runs (2 nested under the selected ones)"
    )
    controller.set_show_deleted(True)
    controller.select_page(True)  # the parent and its nested runs, all selected
    assert sorted(controller.restore_selected()) == sorted([parent, child, grandchild])
    assert controller.status.text == "restored 3 runs (0 nested under the selected ones)"
    assert (controller.total, len(tracker.search_runs())) == (0, 3)


def test_a_parent_selected_with_its_nested_runs_is_deleted_once(tracker):
    parent, child, grandchild = nested_tree(tracker)
    controller = DashboardController(tracker)
    controller.select_page(True)
    assert controller.request_delete().describe() == "Delete 3 runs?"
    assert sorted(controller.confirm_delete()) == sorted([parent, child, grandchild])
    assert controller.status.text.startswith("deleted 3 runs (0 nested")


def test_a_refusal_deletes_nothing_and_shows_in_the_status_line(tracker, controller, ids):
    active = tracker.start_run("active")
    controller.refresh()
    for run_id in (ids[6], active.id):
        controller.toggle(run_id, True)
    controller.request_delete()
    assert controller.attempt(controller.confirm_delete) is None
    assert controller.status == Status(f"run {active.id[:8]} is RUNNING; end it before deleting it", "error")
    assert len(tracker.search_runs()) == 8 and tracker.get_run(ids[6]).deleted_time is None  # all or nothing
    assert (controller.selected_ids, controller.pending_delete, controller.total) == ([ids[6], active.id], None, 8)
    tracker.end_run(run=active)

    Registry(tracker.store, runs=tracker.runs).register_model(ids[5], "clf", name="churn")
    controller.clear_selection()
    controller.toggle(ids[4], True)
    controller.toggle(ids[5], True)
    controller.request_delete()
    controller.attempt(controller.confirm_delete)
    assert controller.status.kind == "error" and "is the source of model 'churn' version 1" in controller.status.text
    assert tracker.get_run(ids[4]).deleted_time is None and len(tracker.search_runs()) == 8


def test_delete_clears_the_selection_and_the_comparison(controller, ids):
    for run_id in (ids[6], ids[2]):
        controller.toggle(run_id, True)
    controller.set_baseline(ids[2])
    controller.request_delete()
    controller.confirm_delete()
    assert (controller.selected_ids, controller.baseline) == ([], None)
    with pytest.raises(UsageError, match="select runs"):
        controller.comparison()
    assert ids[2] not in {run_id for _, run_id in controller.baseline_options()}


def test_deleted_runs_listing_filters_sorts_pages_and_restores(tracker, controller, ids):
    controller.select_page(True)
    controller.next_page()
    controller.select_page(True)
    controller.request_delete()
    controller.confirm_delete()  # r6..r1
    controller.set_show_deleted(True)
    assert (controller.total, controller.page_count, names(controller)) == (6, 2, ["r6", "r5", "r4"])
    assert controller.status.text == "6 deleted runs"
    controller.next_page()
    assert names(controller) == ["r3", "r2", "r1"]
    controller.set_filter("params.model = 'gbm'")
    assert (controller.total, names(controller), controller.status.text) == (
        3,
        ["r5", "r3", "r1"],
        "3 deleted runs match",
    )
    controller.sort_by("name", descending=False)
    assert names(controller) == ["r1", "r3", "r5"]

    controller.toggle(ids[3], True)
    assert controller.restore_selected() == [ids[3]]
    assert (controller.total, names(controller), controller.selected_ids) == (2, ["r1", "r5"], [])
    assert controller.status.text == "restored 1 run (0 nested under the selected ones)"
    controller.set_show_deleted(False)
    assert names(controller) == ["r3"]  # the filter and sort carry over: r0 is no gbm
    assert live_names(tracker) == ["r0", "r3"]


def test_each_listing_keeps_its_own_selection(tracker, controller, ids):
    controller.toggle(ids[0], True)
    controller.request_delete()
    controller.confirm_delete()
    controller.toggle(ids[5], True)
    controller.set_baseline(ids[5])
    controller.set_show_deleted(True)
    assert (controller.selected_ids, controller.baseline) == ([], None)  # the live runs chosen for comparison wait
    controller.toggle(ids[0], True)
    assert controller.comparison().labels == ["r0"]
    controller.set_show_deleted(False)
    assert (controller.selected_ids, controller.baseline) == ([ids[5]], ids[5])
    controller.set_show_deleted(True)
    assert controller.selected_ids == [ids[0]]


def test_actions_belong_to_their_listing(controller, ids):
    with pytest.raises(UsageError, match="select runs to delete first"):
        controller.request_delete()
    controller.toggle(ids[6], True)
    with pytest.raises(UsageError, match="tick 'show deleted runs' to restore runs"):
        controller.restore_selected()
    controller.request_delete()
    controller.set_show_deleted(True)
    assert controller.pending_delete is None  # switching listings drops the question
    controller.select_page(True)  # nothing deleted yet: an empty page
    with pytest.raises(UsageError, match="untick 'show deleted runs' to delete runs"):
        controller.request_delete()
    with pytest.raises(UsageError, match="select runs to restore first"):
        controller.restore_selected()


def test_refresh_counts_new_live_runs_in_both_listings(tracker, controller, ids):
    controller.toggle(ids[6], True)
    controller.request_delete()
    controller.confirm_delete()
    controller.set_show_deleted(True)
    with tracker.start_run("late"):
        pass
    controller.refresh()
    assert (names(controller), controller.new_since_open) == (["r6"], 1)  # the table still lists deleted runs
    assert controller.status.text == "1 run logged since the dashboard opened; 1 deleted run matches"
    controller.set_show_deleted(False)
    assert names(controller)[0] == "late" and controller.is_new(controller.runs[0])
    controller.toggle(controller.runs[0].id, True)
    controller.request_delete()
    controller.confirm_delete()
    controller.refresh()
    assert controller.new_since_open == 0 and controller.status.text.startswith("0 runs logged since")


def test_static_view_shows_deleted_runs_only_as_deleted(tracker, controller, ids):
    controller.toggle(ids[6], True)
    controller.request_delete()
    controller.confirm_delete()
    static = controller.static_view(charts=False)
    assert "r6" not in {run.name for run in static.runs} and "3 of 6 runs" in str(static)
    controller.set_show_deleted(True)
    static = controller.static_view(charts=False)
    assert [run.name for run in static.runs] == ["r6"] and "1 of 1 deleted runs" in str(static)
    assert static._repr_mimebundle_()["application/vnd.nbtrack.dashboard.v1+json"]["deleted"] is True


# -- tags and notes ----------------------------------------------------------------------------------------
def every_run(tracker):
    return [*tracker.search_runs(), *tracker.search_runs(deleted=True)]


def all_tags(tracker):
    return {run.name: run.tags for run in every_run(tracker)}


def all_notes(tracker):
    return {run.name: run.note for run in every_run(tracker)}


def test_tag_several_runs_in_one_go(tracker, controller, ids):
    for run_id in ids[4:]:
        controller.toggle(run_id, True)
    assert sorted(controller.tag_selected(" stage = prod ")) == sorted(ids[4:])
    assert controller.status == Status("tagged 3 runs stage=prod")
    assert {name: tags.get("stage") for name, tags in all_tags(tracker).items()} == {
        "r0": None,
        "r1": None,
        "r2": None,
        "r3": None,
        "r4": "prod",
        "r5": "prod",
        "r6": "prod",
    }
    assert [run.tags["stage"] for run in controller.runs] == ["prod"] * 3  # the page shows the new tags
    assert "tags.stage" in controller.available_columns()
    controller.tag_selected("stage=dev")  # tagging again replaces the value
    assert {tags.get("stage") for tags in all_tags(tracker).values()} == {None, "dev"}


@pytest.mark.parametrize(
    "text, key, value",
    [
        ("owner = Ana María", "owner", "Ana María"),
        ("""msg = "it's \\"quoted\\"" """, "msg", 'it\'s "quoted"'),
        ("msg='single quoted'", "msg", "single quoted"),
        ("ship=🚀 fast", "ship", "🚀 fast"),
        ("n=3", "n", "3"),
        ("expr=a=b", "expr", "a=b"),
        ("clé d'été=oui", "clé d'été", "oui"),
    ],
)
def test_tag_values_are_parsed_like_the_magic(tracker, controller, ids, text, key, value):
    controller.toggle(ids[6], True)
    controller.tag_selected(text)
    assert tracker.get_run(ids[6]).tags[key] == value
    assert controller.status.text == f"tagged 1 run {key}={value}"


@pytest.mark.parametrize(
    "text, message",
    [
        ("stage", "expected key=value, got 'stage'"),
        ("=prod", "key must not be empty"),
        ("k=[1, 2]", "tag 'k' must be a string, got list"),
        ("a\tb=1", "contains a control character"),
        ("nbtrack.verified=true", "tags starting with 'nbtrack.' are written by nbtrack itself"),
        (" nbtrack.rerun_of = abc", "cannot be set or removed from the dashboard"),
    ],
)
def test_bad_tag_text_is_refused_and_writes_nothing(tracker, controller, ids, text, message):
    controller.select_page(True)
    before = all_tags(tracker)
    assert controller.attempt(controller.tag_selected, text) is None
    assert controller.status.kind == "error" and message in controller.status.text
    assert all_tags(tracker) == before


def test_tagging_needs_a_live_selection(tracker, controller, ids):
    before = all_tags(tracker)
    controller.attempt(controller.tag_selected, "stage=prod")
    assert controller.status == Status("select runs to tag first", "error")
    tracker.delete_run(ids[0])
    controller.set_show_deleted(True)
    controller.select_page(True)
    controller.attempt(controller.tag_selected, "stage=prod")
    assert controller.status == Status("untick 'show deleted runs' to tag runs", "error")
    controller.attempt(controller.untag_selected, "team")
    assert controller.status == Status("untick 'show deleted runs' to untag runs", "error")
    assert all_tags(tracker) == before


def test_untag_removes_a_tag_from_the_selected_runs(tracker, controller, ids):
    controller.toggle(ids[6], True)
    controller.tag_selected("stage=prod")
    controller.toggle(ids[5], True)
    assert controller.untag_selected(" stage ") == 1
    assert controller.status == Status("removed tag stage from 1 run; 1 of the selected had no such tag")
    assert controller.untag_selected("team") == 2 and controller.status == Status("removed tag team from 2 runs")
    assert [tags for tags in all_tags(tracker).values()].count({}) == 2
    assert "stage" not in tracker.get_run(ids[6]).tags and tracker.get_run(ids[4]).tags == {"team": "t"}
    assert "tags.team" in controller.available_columns()  # other runs still carry it


def test_untag_drops_the_column_of_a_tag_no_run_has_any_more(controller, ids):
    controller.toggle(ids[6], True)
    controller.tag_selected("stage=prod")
    controller.set_columns(["name", "tags.stage"])
    controller.untag_selected("stage")
    assert controller.columns == ["name"] and "tags.stage" not in controller.available_columns()


@pytest.mark.parametrize(
    "text, message",
    [
        ("stage=prod", "to remove a tag type its key only (e.g. stage), not key=value"),
        ("", "tag name must not be empty"),
        ("nbtrack.verified", "cannot be set or removed from the dashboard"),
    ],
)
def test_bad_untag_is_refused_and_removes_nothing(tracker, controller, ids, text, message):
    with tracker.start_run("verified", tags={"nbtrack.verified": "true", "stage": "prod"}) as run:
        pass
    controller.refresh()
    controller.toggle(run.id, True)
    assert controller.attempt(controller.untag_selected, text) is None
    assert controller.status.kind == "error" and message in controller.status.text
    assert tracker.get_run(run.id).tags == {"nbtrack.verified": "true", "stage": "prod"}


def test_note_on_exactly_one_run(tracker, controller, ids):
    assert controller.note_run_id is None
    controller.toggle(ids[6], True)
    assert (controller.note_run_id, controller.note_of(ids[6])) == (ids[6], "")
    controller.set_note(ids[6], "baseline <b>model</b>, 🚀")
    assert tracker.get_run(ids[6]).note == "baseline <b>model</b>, 🚀"
    assert (
        controller.status == Status("saved the note of run r6")
        and controller.note_of(ids[6]) == "baseline <b>model</b>, 🚀"
    )
    controller.set_note(ids[6], "  ")
    assert controller.status == Status("cleared the note of run r6")


def test_note_is_refused_unless_exactly_that_one_run_is_selected(tracker, controller, ids):
    before = all_notes(tracker)
    controller.attempt(controller.set_note, ids[6], "text")
    assert controller.status == Status("select exactly one run to write its note (0 runs selected)", "error")
    controller.toggle(ids[6], True)
    controller.toggle(ids[5], True)
    assert controller.note_run_id is None
    controller.attempt(controller.set_note, ids[6], "text")
    assert controller.status == Status("select exactly one run to write its note (2 runs selected)", "error")
    controller.toggle(ids[6], False)
    controller.attempt(controller.set_note, ids[6], "text")  # typed for r6, but r5 is selected now
    assert controller.status.kind == "error" and "typed for another run" in controller.status.text
    tracker.delete_run(ids[0])
    controller.set_show_deleted(True)
    controller.toggle(ids[0], True)
    assert controller.note_run_id is None
    controller.attempt(controller.set_note, ids[0], "text")
    assert controller.status == Status("untick 'show deleted runs' to write notes on runs", "error")
    assert all_notes(tracker) == before


# -- registry ----------------------------------------------------------------------------------------------
@pytest.fixture
def registered(controller, ids):
    """fraud v1 (r1, Production) and v2 (r2, None)."""
    registry = controller.registry
    for run_id in (ids[1], ids[2]):
        controller.clear_selection()
        controller.toggle(run_id, True)
        registry.register_selected("fraud")
    registry.request_stage(1, "Production")
    registry.confirm()
    return registry


def test_register_selected_run(controller, ids):
    controller.toggle(ids[3], True)
    assert controller.registry.register_selected("churn") == 1
    version = controller.registry.version_rows()[0]
    assert (version.version.run_id, version.run.name, version.version.stage) == (ids[3], "r3", "None")
    assert controller.registry.key_metrics(version.run) == [("f1", pytest.approx(2.3)), ("loss", pytest.approx(0.7))]
    assert controller.status.text == "registered churn version 1"


def test_register_needs_exactly_one_run_and_a_valid_name(controller, ids):
    with pytest.raises(UsageError, match="exactly one"):
        controller.registry.register_selected("churn")
    controller.toggle(ids[3], True)
    with pytest.raises(UsageError, match="must not contain"):
        controller.registry.register_selected("a/b")
    with pytest.raises(NotFoundError):
        controller.registry.register_selected("churn", "models/none.pkl")
    assert controller.registry.models == []


def test_production_needs_confirmation(registered):
    pending = registered.request_stage(2, "production", "better recall")
    assert pending.archives == (1,)
    assert registered.current().in_stage("Production")[0].version == 1  # nothing changed yet
    assert "version 1 will be archived" in registered.dashboard.status.text
    registered.confirm()
    stages = {v.version: v.stage for v in registered.current().versions}
    assert stages == {1: "Archived", 2: "Production"}
    last = registered.history()[-1]
    assert (last.action, last.version, last.to_value, last.comment) == ("transition", 2, "Production", "better recall")
    with pytest.raises(UsageError, match="nothing to confirm"):
        registered.confirm()


def test_cancel_drops_the_pending_change(registered):
    registered.request_stage(2, "Production")
    registered.cancel()
    assert registered.pending is None
    assert {v.version: v.stage for v in registered.current().versions} == {1: "Production", 2: "None"}


def test_deleting_a_version_asks_first_then_hides_it_and_its_aliases(registered):
    registered.registry.set_alias("fraud", "challenger", 2)
    pending = registered.request_delete(2, " leaky ")
    assert pending.aliases == ("challenger",) and "alias challenger will be removed" in registered.dashboard.status.text
    assert [v.version for v in registered.current().versions] == [1, 2]  # nothing changed yet
    registered.confirm()
    assert [v.version for v in registered.current().versions] == [1] and registered.current().aliases == {}
    assert (registered.history()[-1].action, registered.history()[-1].comment) == ("delete_version", "leaky")
    assert "restore it with nbtrack models restore fraud 2" in registered.dashboard.status.text
    with pytest.raises(UsageError, match="is in Production; move it to Archived"):
        registered.request_delete(1)
    assert registered.pending is None


def test_cancelling_a_deletion_keeps_the_version(registered):
    registered.request_delete(2)
    registered.cancel()
    assert registered.dashboard.status.text == "deletion cancelled"
    assert [v.version for v in registered.current().versions] == [1, 2]


def test_other_stages_apply_at_once_and_errors_propagate(registered):
    assert registered.request_stage(2, "Staging", "  ") is None
    assert registered.current().versions[1].stage == "Staging"
    assert registered.history()[-1].comment is None
    with pytest.raises(RegistryError, match="already in Staging"):
        registered.request_stage(2, "Staging")
    with pytest.raises(UsageError, match="unknown stage"):
        registered.request_stage(2, "Prod")
    with pytest.raises(NotFoundError):
        registered.request_stage(9, "Archived")


def test_aliases(registered):
    registered.set_alias(" champion ", 2, "A/B winner")
    assert registered.current().aliases == {"champion": 2}
    assert registered.version_rows()[1].version.aliases == ("champion",)
    registered.delete_alias("champion")
    assert registered.current().aliases == {}
    with pytest.raises(NotFoundError):
        registered.delete_alias("champion")
    with pytest.raises(UsageError, match="reserved"):
        registered.set_alias("production", 1)
    assert [e.action for e in registered.history()][-2:] == ["set_alias", "delete_alias"]


def test_select_model(registered, controller, ids):
    controller.clear_selection()
    controller.toggle(ids[3], True)
    registered.register_selected("churn")
    assert registered.model == "churn"
    registered.select_model("fraud")
    assert [r.version.version for r in registered.version_rows()] == [1, 2]
    with pytest.raises(UsageError):
        registered.select_model("nope")


def test_compare_against_production(registered, controller, ids):
    registered.compare_with_production(2)
    assert controller.selected_ids == [ids[2]]
    comparison = controller.comparison()
    assert comparison.labels == ["fraud v1 (Production)", "r2"]
    assert comparison.metric("f1").deltas == pytest.approx((0.0, 0.1))
    assert ("fraud Production", "production:fraud") in controller.baseline_options()


def test_registry_can_be_passed_in(tracker, ids):
    registry = Registry(tracker.store, runs=tracker.runs, who="tester")
    controller = DashboardController(tracker, registry=registry)
    controller.toggle(ids[0], True)
    controller.registry.register_selected("m")
    assert controller.registry.history()[-1].who == "tester"


def test_stage_change_with_a_promotion_gate(registered):
    """A gate typed next to the stage control is checked when the change is applied."""
    from nbtrack.errors import GateFailedError

    registered.request_stage(2, "Production", require="metrics.loss > production.metrics.loss")
    with pytest.raises(GateFailedError):
        registered.confirm()
    assert registered.current().in_stage("Production")[0].version == 1  # a failed gate changes nothing
    pending = registered.request_stage(
        2, "Production", "gated", require="metrics.f1 >= production.metrics.f1; metrics.loss < 1"
    )
    assert "if metrics.f1 >= production.metrics.f1 and metrics.loss < 1" in pending.describe()
    registered.confirm()
    assert registered.current().in_stage("Production")[0].version == 2
    assert "gate passed" in registered.dashboard.status.text
    promotion = [e for e in registered.history() if e.action == "transition" and e.version == 2][-1]
    assert [g["requirement"] for g in promotion.details["gate"]] == [
        "metrics.f1 >= production.metrics.f1",
        "metrics.loss < 1",
    ]


def test_a_mistyped_gate_is_refused_before_any_confirmation(registered):
    with pytest.raises(UsageError):
        registered.request_stage(2, "Production", require="metrics.f1 >=")
    assert registered.pending is None


def test_default_columns_lead_with_the_users_own_params(tracker):
    """Estimator hyperparameters (model.x__y) repeat what the user set: the user's names get the columns."""
    from nbtrack.widgets.controller import DEFAULT_PARAM_COLUMNS, DashboardController

    for i in range(3):
        params = {"lr": 0.1 * i, **{f"model.step__p{j}": j for j in range(6)}, "model.estimator": "Pipeline[A, B]"}
        if i:
            params["depth"] = i  # used by fewer runs than the estimator's params, still first
        with tracker.start_run(f"r{i}", params=params):
            tracker.log_metric("f1", 0.5)
    shown = [c for c in DashboardController(tracker).columns if c.startswith("params.")]
    assert shown[:3] == ["params.lr", "params.depth", "params.model.estimator"] and len(shown) == DEFAULT_PARAM_COLUMNS


def test_the_deleted_listing_offers_the_columns_of_deleted_runs_and_each_listing_keeps_its_own(
    tracker, controller, ids
):
    with tracker.start_run("old-idea", params={"only_in_the_bin": 3}) as old:
        tracker.log_metric("bin_score", 0.5)
    tracker.delete_run(old.id)
    controller.refresh()
    assert "params.only_in_the_bin" not in controller.available_columns()
    controller.set_columns(["name", "metrics.f1"])
    controller.set_show_deleted(True)
    assert {"params.only_in_the_bin", "metrics.bin_score"} <= set(controller.available_columns())
    assert "params.model" not in controller.available_columns()  # no deleted run has it
    assert {"params.only_in_the_bin", "metrics.bin_score"} <= set(controller.columns)  # the deleted listing's defaults
    controller.set_columns(["name", "params.only_in_the_bin"])
    controller.set_show_deleted(False)
    assert controller.columns == ["name", "metrics.f1"]
    controller.set_show_deleted(True)
    assert controller.columns == ["name", "params.only_in_the_bin"]


# -- the comment box and stale tabs (issue 12, point 6) ----------------------------------------------------
def test_a_comment_is_recorded_by_one_change_only(registered):
    """The box's draft goes into the next event and is cleared once the store accepted it."""
    registered.set_comment("  promote for the Q3 review ")
    assert registered.request_stage(2, "Staging") is None
    assert registered.history()[-1].comment == "promote for the Q3 review"
    assert registered.comment == ""
    registered.set_alias("champion", 2)
    registered.delete_alias("champion")
    registered.request_stage(2, "Archived")
    assert [(e.action, e.comment) for e in registered.history()[-3:]] == [
        ("set_alias", None),
        ("delete_alias", None),
        ("transition", None),
    ]


def test_the_comment_waits_for_a_confirmation_and_survives_a_refusal(registered):
    registered.set_comment("better recall")
    registered.request_stage(2, "Production")
    assert registered.comment == "better recall"  # not recorded yet
    registered.cancel()
    assert registered.comment == "better recall"  # a cancelled change keeps what the user typed
    with pytest.raises(NotFoundError):
        registered.set_alias("champion", 9)  # refused: nothing recorded, the comment stays for the retry
    assert registered.comment == "better recall"
    registered.request_stage(2, "Production")
    registered.confirm()
    assert (registered.history()[-1].to_value, registered.history()[-1].comment) == ("Production", "better recall")
    assert registered.comment == ""
    registered.set_comment("wrong features")
    registered.request_delete(1)
    registered.confirm()
    assert (registered.history()[-1].action, registered.history()[-1].comment) == ("delete_version", "wrong features")
    registered.set_alias("champion", 2)
    assert registered.history()[-1].comment is None


def test_registry_tab_reloads_when_shown_after_a_later_cell_registered(tracker, ids):
    """Same connection (a later cell of the same kernel): data_version does not move, our counter does."""
    controller = DashboardController(tracker)
    assert controller.registry.models == [] and controller.show_tab("registry") is False
    Registry(tracker.store, runs=tracker.runs).register_model(ids[0], "clf", name="churn")
    assert controller.registry.models == []  # drawn before the registration
    assert controller.show_tab("registry") is True
    assert [m.name for m in controller.registry.models] == ["churn"] and controller.registry.model == "churn"
    assert controller.show_tab("registry") is False  # nothing changed since: no reload


def test_registry_and_runs_tabs_reload_after_another_process_wrote(tracker, store_path, ids):
    """Another connection (another process, a CLI): its commits move the store's data_version."""
    from nbtrack.tracking import Tracker

    controller = DashboardController(tracker, page_size=3)
    total = controller.total
    other = Tracker.open(store_path)
    try:
        with other.start_run("elsewhere"):
            other.log_metric("f1", 0.5)
        Registry(other.store, runs=other.runs).register_model(ids[1], "clf", name="fraud")
    finally:
        other.close()
    assert controller.total == total
    assert controller.show_tab("runs") is True
    assert controller.total == total + 1 and controller.runs[0].name == "elsewhere"
    assert controller.show_tab("runs") is False
    assert controller.show_tab("registry") is True and controller.registry.model == "fraud"
    assert controller.show_tab("compare") is False


def test_runs_tab_reloads_when_shown_after_a_run_in_the_same_kernel(tracker, ids):
    controller = DashboardController(tracker, page_size=3)
    total = controller.total
    with tracker.start_run("later-cell"):
        tracker.log_metric("f1", 0.9)
    tracker.git.join()
    assert controller.total == total
    assert controller.show_tab("runs") is True
    assert controller.total == total + 1 and controller.runs[0].name == "later-cell"
