"""The service boundary (issue 15, point 2): faces talk to Tracker and Registry methods only.

import-linter forbids faces to import nbtrack.store and nbtrack.query (pyproject); these tests
catch what an import contract cannot see: reaching through a tracker's ``runs``/``store``
attributes, and the paged listing the dashboard now reads through the tracker.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nbtrack.errors import QueryError

PACKAGE = Path(__file__).resolve().parent.parent / "nbtrack"
FACES = ["magics", "widgets", "cli", "server", "mlflow", "api.py", "hooks.py", "notebook_plugin.py", "extension.py"]
REACH_THROUGH = re.compile(
    r"\b(?:tracker|current|_tracker\(\))\.(?:runs|store)\b|\.store\.(?:blobs|atomic|query|conn)\b"
)


def _face_files():
    for face in FACES:
        path = PACKAGE / face
        yield from (sorted(path.rglob("*.py")) if path.is_dir() else [path])


def test_no_face_reaches_through_the_tracker_to_its_repository_or_store():
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in _face_files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if REACH_THROUGH.search(line)
    ]
    assert found == []


def test_the_layer_contract_is_exhaustive_and_the_faces_contract_exists():
    text = (PACKAGE.parent / "pyproject.toml").read_text()
    assert 'containers = ["nbtrack"]' in text and "exhaustive = true" in text
    assert 'forbidden_modules = ["nbtrack.store", "nbtrack.query"]' in text


@pytest.fixture
def listed(tracker):
    ids = []
    for i in range(7):
        with tracker.start_run(f"r{i}") as run:
            tracker.log_metric("f1", i / 10)
        ids.append(run.id)
    return ids


def test_paged_listing_through_the_tracker_matches_search(tracker, listed):
    order = "start_time desc"
    assert tracker.pages_by_keyset(order) and not tracker.pages_by_keyset("metrics.f1 desc")
    first = tracker.runs_page(None, order, limit=3)
    second = tracker.runs_page(None, order, limit=3, after=first.last)
    back = tracker.runs_page(None, order, limit=3, before=second.first)
    last = tracker.runs_page(None, order, limit=1, from_oldest=True)
    newest_first = [r.id for r in tracker.search_runs(order_by=order)]
    assert [r.id for r in first.runs + second.runs] == newest_first[:6]
    assert [r.id for r in back.runs] == newest_first[:3] and [r.id for r in last.runs] == newest_first[-1:]
    assert tracker.count_runs("metrics.f1 >= 0.3") == 4
    since = tracker.get_run(listed[4]).start_time
    assert tracker.count_runs(started_after=since) == sum(r.start_time > since for r in tracker.search_runs()) >= 1
    with pytest.raises(QueryError):
        tracker.check_filter("metrics.f1 >>> 1")


def test_deletion_of_names_what_delete_run_would_delete_and_changes_nothing(tracker):
    with tracker.start_run("parent") as parent:
        with tracker.start_run("child") as child:
            pass
    assert sorted(tracker.deletion_of(parent.id)) == sorted([parent.id, child.id])
    assert tracker.count_runs(deleted=True) == 0
    assert sorted(tracker.delete_run(parent.id)) == sorted([parent.id, child.id])


def test_store_summary_counts_what_the_store_holds(tracker, listed):
    tracker.delete_run(listed[0])
    summary = tracker.store_summary()
    assert summary.counts["runs"] == 6 and summary.counts["deleted_runs"] == 1 and summary.counts["metric_points"] == 7
    assert summary.location.db_path == summary.path
