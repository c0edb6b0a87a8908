"""Tagging, untagging and noting runs that have ended, by id (what the dashboard's Runs tab calls)."""

from __future__ import annotations

import pytest

from nbtrack.errors import NotFoundError, RunStateError, UsageError


@pytest.fixture
def ids(tracker):
    ids = []
    for name in ("a", "b", "c"):
        with tracker.start_run(name, tags={"team": "t"}) as run:
            pass
        ids.append(run.id)
    return ids


def tags(tracker, run_ids):
    return [tracker.get_run(run_id).tags for run_id in run_ids]


def test_tag_runs_tags_each_run_named(tracker, ids):
    assert tracker.tag_runs([ids[2], ids[0][:6]], {"stage": "prod", "n": 3}) == [ids[0], ids[2]]
    assert tags(tracker, ids) == [
        {"team": "t", "stage": "prod", "n": "3"},
        {"team": "t"},
        {"team": "t", "stage": "prod", "n": "3"},
    ]


@pytest.mark.parametrize(
    "bad, error",
    [
        ({"ok": "1", "": "x"}, UsageError),
        ({"ok": "1", "k": [1, 2]}, UsageError),
        ({"ok": "1", "k": "\ud800"}, UsageError),
    ],
)
def test_an_invalid_tag_writes_no_tag(tracker, ids, bad, error):
    with pytest.raises(error):
        tracker.tag_runs(ids, bad)
    assert tags(tracker, ids) == [{"team": "t"}] * 3


def test_a_deleted_or_unknown_run_writes_no_tag(tracker, ids):
    tracker.delete_run(ids[1])
    with pytest.raises(RunStateError, match=f"run {ids[1][:8]} is deleted; restore it before you tag it"):
        tracker.tag_runs(ids, {"stage": "prod"})
    with pytest.raises(NotFoundError):
        tracker.tag_runs([ids[0], "ffffffff"], {"stage": "prod"})
    assert tags(tracker, ids) == [{"team": "t"}] * 3


def test_untag_runs_counts_the_runs_that_had_the_tag(tracker, ids):
    tracker.tag_runs(ids[:1], {"stage": "prod"})
    assert tracker.untag_runs(ids, "stage") == 1
    assert tracker.untag_runs(ids, "stage") == 0
    assert tracker.untag_runs(ids[1:], "team") == 2
    assert tags(tracker, ids) == [{"team": "t"}, {}, {}]
    tracker.delete_run(ids[0])
    with pytest.raises(RunStateError, match="restore it before you untag it"):
        tracker.untag_runs(ids, "team")
    assert tracker.get_run(ids[0]).tags == {"team": "t"}


def test_note_run_replaces_the_note_of_an_ended_run(tracker, ids):
    tracker.note_run(ids[1], "first")
    tracker.note_run(ids[1], "second, with ünïcode")
    assert [tracker.get_run(run_id).note for run_id in ids] == [None, "second, with ünïcode", None]
    with pytest.raises(UsageError, match="lone surrogate"):
        tracker.note_run(ids[1], "\ud800")
    tracker.delete_run(ids[1])
    with pytest.raises(RunStateError, match="restore it before you write a note on it"):
        tracker.note_run(ids[1], "third")
    assert tracker.get_run(ids[1]).note == "second, with ünïcode"
