"""Listing at scale: nothing unbounded by accident, listings read only what they show, keyset pages.

Stores of a few thousand runs are written with raw ``executemany`` (as tests/test_dashboard_scale.py
does); what is asserted is the shape of the work (rows returned, statements run, query plans,
memory that does not grow with the store), never a timing.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
import tracemalloc
import uuid

import pytest

import nbtrack.api
from nbtrack.cli import main
from nbtrack.display import RunList
from nbtrack.query import compile_order_by
from nbtrack.store.runs import DEFAULT_ORDER, OLDEST
from nbtrack.tracking import DEFAULT_MAX_RESULTS


def generate(tracker, runs: int, same_start_every: int = 3) -> list[int]:
    """``runs`` finished runs; groups of ``same_start_every`` share a start time (ties break by row id)."""
    repo, store = tracker.runs, tracker.store
    experiment = repo.experiment_id("scale")
    start = time.time() - runs
    with store.atomic() as conn:
        first = conn.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()[0]
        conn.executemany(
            "INSERT INTO runs(uuid, experiment_id, name, status, start_time, end_time) VALUES (?, ?, ?, 'FINISHED', ?, ?)",
            [(uuid.uuid4().hex, experiment, f"run-{i}", start + i // same_start_every, start + i) for i in range(runs)],
        )
        ids = [row[0] for row in conn.execute("SELECT id FROM runs WHERE id > ? ORDER BY id", (first,))]
        conn.executemany(
            "INSERT INTO params(run_id, key, type, value) VALUES (?, 'model', 'str', ?)",
            [(run_id, ("gbm", "rf")[i % 2]) for i, run_id in enumerate(ids)],
        )
    repo.write_batch(metrics=[(run_id, "f1", 0, (i % 97) / 97, start) for i, run_id in enumerate(ids)])
    return ids


def _names(runs) -> list[str]:
    return [run.name for run in runs]


def test_search_runs_has_a_default_limit_and_says_how_to_get_all(tracker):
    generate(tracker, DEFAULT_MAX_RESULTS + 5)
    nbtrack.api.use(tracker)
    runs = nbtrack.search_runs()
    assert len(runs) == DEFAULT_MAX_RESULTS and runs.truncated
    assert "max_results=None" in str(runs) and "max_results=None" in runs._repr_html_()
    every = nbtrack.search_runs(max_results=None)
    assert len(every) == DEFAULT_MAX_RESULTS + 5 and not every.truncated
    exact = nbtrack.search_runs(max_results=DEFAULT_MAX_RESULTS + 5)
    assert len(exact) == DEFAULT_MAX_RESULTS + 5 and not exact.truncated  # exactly all: nothing more matches
    assert len(tracker.search_runs()) == DEFAULT_MAX_RESULTS  # the Tracker's own default


def test_a_displayed_run_list_shows_a_bounded_table_with_n_more(tracker):
    generate(tracker, 120)
    nbtrack.api.use(tracker)
    runs = nbtrack.search_runs()
    bundle = runs._repr_mimebundle_()
    text = bundle["text/plain"]
    assert len(runs) == 120 and not runs.truncated
    assert len(text.splitlines()) == 2 + RunList.shown + 1  # header, rule, the shown rows, the footer
    assert "70 more runs in this list of 120" in text and "70 more runs in this list of 120" in bundle["text/html"]
    assert bundle["text/html"].count("<tr>") <= RunList.shown + 1
    data = bundle["application/vnd.nbtrack.runs.v1+json"]
    assert len(data["runs"]) == RunList.shown and data["listed"] == 120 and data["truncated"] is False
    assert [r["name"] for r in data["runs"]] == _names(runs[: RunList.shown])
    small = nbtrack.search_runs(max_results=3)
    assert (
        "more" not in str(small).splitlines()[-1] or small.truncated
    )  # a whole small list has no footer but the truncation note
    assert small.truncated and len(str(small).splitlines()) == 2 + 3 + 1


def test_listing_reads_no_provenance_or_receipt_until_asked(tracker):
    with tracker.start_run("documented") as active:
        tracker.log_param("lr", 0.1)
    receipt = {"clean": False, "checked": True, "problems": [{"kind": "out_of_order", "message": "x" * 5000}]}
    tracker.runs.update_run(active.row_id, {"receipt": json.dumps(receipt)})
    statements: list[str] = []
    tracker.store.conn.set_trace_callback(statements.append)
    try:
        [run] = tracker.search_runs()
        from nbtrack.display.runs import receipt_badge

        assert receipt_badge(run) == ("1 warning", "warn")  # the badge comes from the outline column
        listed = list(statements)
        assert run.receipt == receipt and run.provenance["python"]  # read when asked, once
        asked = statements[len(listed) :]
    finally:
        tracker.store.conn.set_trace_callback(None)
    assert not any("run_documents" in s or "provenance" in s for s in listed), listed
    assert len([s for s in asked if "run_documents" in s]) == 1
    assert tracker.get_run(run.id).receipt == receipt


def test_default_order_pages_come_from_the_index_without_a_sort(tracker):
    generate(tracker, 30)
    plan = tracker.store.conn.execute(
        f"EXPLAIN QUERY PLAN SELECT r.start_time, r.id FROM runs r WHERE r.deleted_time IS NULL ORDER BY {DEFAULT_ORDER} LIMIT 10"
    ).fetchall()
    details = " ".join(row[-1] for row in plan)
    assert "runs_live_newest" in details and "TEMP B-TREE" not in details, details
    keyset = tracker.store.conn.execute(
        f"EXPLAIN QUERY PLAN SELECT r.start_time, r.id FROM runs r WHERE r.deleted_time IS NULL AND (r.start_time, r.id) < (?, ?) "
        f"ORDER BY {DEFAULT_ORDER} LIMIT 10",
        (1e12, 1),
    ).fetchall()
    details = " ".join(row[-1] for row in keyset)
    assert "runs_live_newest" in details and "TEMP B-TREE" not in details, details
    assert compile_order_by("start_time desc") == (DEFAULT_ORDER, [])  # the dashboard's default sort is served too


def test_keyset_pages_equal_offset_pages_with_ties(tracker):
    generate(tracker, 47, same_start_every=4)
    repo = tracker.runs
    every = repo.page()
    assert len(every) == 47
    forward, cursor = [], None
    while True:
        rows = repo.page(limit=10, after=cursor)
        if not rows:
            break
        assert rows == repo.page(limit=10, offset=len(forward))
        forward += rows
        cursor = rows[-1]
    assert forward == every
    backward, cursor = [], OLDEST
    while True:
        rows = repo.page(limit=10, before=cursor)
        if not rows:
            break
        backward = rows + backward
        cursor = rows[0]
    assert backward == every
    assert repo.page(limit=7, before=OLDEST) == every[-7:]
    assert _names(repo.search(limit=10, after=every[9])) == _names(repo.search(limit=10, offset=10))


def test_cli_runs_ls_has_a_default_limit_and_all(tracker, store_path, capsys):
    generate(tracker, 60)
    tracker.flush()
    assert main(["--store", str(store_path), "runs", "ls"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 2 + 50 + 1 and "--all lists every one" in out.splitlines()[-1]
    assert main(["--store", str(store_path), "runs", "ls", "--all"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 2 + 60 and "more" not in out.splitlines()[-1]


def _export(store_path, capsys, *args) -> str:
    assert main(["--store", str(store_path), "runs", "export", *args]) == 0
    return capsys.readouterr().out


def test_export_streams_every_run_in_order(tracker, store_path, capsys):
    ids = generate(tracker, 2500)
    tracker.flush()
    rows = list(csv.reader(io.StringIO(_export(store_path, capsys, "--format", "csv"))))
    assert rows[0] == [
        "id",
        "name",
        "experiment",
        "status",
        "start_time",
        "end_time",
        "duration",
        "params.model",
        "metrics.f1",
    ]
    assert [r[1] for r in rows[1:]] == _names(tracker.search_runs(max_results=None))
    assert len(rows) == 1 + len(ids)
    ordered = json.loads(
        _export(
            store_path,
            capsys,
            "--format",
            "json",
            "--order-by",
            "metrics.f1 desc",
            "params.model = 'gbm'",
            "--limit",
            "1100",
        )
    )
    expected = tracker.search_runs("params.model = 'gbm'", "metrics.f1 desc", 1100)
    assert [r["id"] for r in ordered] == [r.id for r in expected] and len(ordered) == 1100
    assert _export(store_path, capsys, "--format", "json", "name = 'nothing'") == "[]\n"
    assert _export(store_path, capsys, "--format", "csv", "name = 'nothing'").splitlines() == [
        "id,name,experiment,status,start_time,end_time,duration"
    ]


def _export_peak(tracker, store_path, sink) -> int:
    tracker.flush()
    tracemalloc.start()
    try:
        assert main(["--store", str(store_path), "runs", "export", "--format", "csv"]) == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_export_memory_does_not_grow_with_the_store(tracker, store_path, tmp_path, monkeypatch):
    sink = open(tmp_path / "export.csv", "w")  # a file, not an in-memory capture
    monkeypatch.setattr(sys, "stdout", sink)
    try:
        generate(tracker, 1500)
        small = _export_peak(tracker, store_path, sink)
        generate(tracker, 6000)
        large = _export_peak(tracker, store_path, sink)
    finally:
        sink.close()
    assert large < small * 1.5, (small, large)


def test_listed_runs_equal_runs_read_one_by_one(tracker):
    """Listings build runs from tuples by position: every field matches the one-run read (documents included)."""
    with tracker.start_run(
        "parent",
        params={
            "lr": 0.1,
            "big": 2**70,
            "inf": float("inf"),
            "deep": True,
            "grid": [1, "x"],
            "none": None,
            "model": "gbm",
        },
        tags={"team": "churn"},
    ):
        with tracker.start_run("child"):
            tracker.log_metric("loss", float("nan"), step=0)
            tracker.log_metric("loss", 0.5, step=1)
            tracker.log_text("hi", "notes.txt")
            tracker.set_note("a note")
    tracker.git.join()  # git's answer lands after the run's end (the tests run inside a git checkout)
    for listed in tracker.search_runs():
        single = tracker.get_run(listed.id)
        assert listed == single
        for name in (
            "provenance",
            "receipt",
            "receipt_outline",
            "notebook_path",
            "inputs",
            "artifacts",
            "note",
            "parent_id",
        ):
            assert getattr(listed, name) == getattr(single, name), name
    child = tracker.search_runs("name = 'child'")[0]
    assert child.parent_id == tracker.search_runs("name = 'parent'")[0].id
    assert child.metrics["loss"].last == 0.5 and child.metrics["loss"].count == 2 and child.note == "a note"


def test_filtered_search_walks_the_order_index_and_stops_at_the_limit(tracker):
    from nbtrack.query import compile_filter

    generate(tracker, 20)
    where, args = compile_filter("params.model = 'gbm' and metrics.f1 > 0.5")
    plan = tracker.store.conn.execute(
        f"EXPLAIN QUERY PLAN SELECT r.start_time, r.id FROM runs r WHERE ({where}) AND r.deleted_time IS NULL ORDER BY {DEFAULT_ORDER} LIMIT 5",
        args,
    ).fetchall()
    details = " ".join(row[-1] for row in plan)
    assert "SCAN r USING INDEX runs_live_newest" in details and "TEMP B-TREE" not in details, details
    assert "params_key_type_value" in details and "latest_metrics_key_value" in details, details


def test_csv_export_equals_the_run_records_it_replaced(tracker, store_path, capsys):
    """The CSV rows come straight from the store now: cell for cell what run_record gave before."""
    from nbtrack.display import run_record

    with tracker.start_run(
        "typed",
        params={
            "lr": 0.1,
            "big": 2**70,
            "inf": float("inf"),
            "nan": float("nan"),
            "deep": True,
            "grid": [1, "x"],
            "none": None,
            "model": "gbm",
            "n": 3,
        },
        tags={"team": "churn"},
    ):
        tracker.log_metric("loss", float("nan"))
        tracker.log_metric("acc", float("-inf"))
    with tracker.start_run(None, params={"lr": 0.2}):  # no name, other keys missing
        pass
    generate(tracker, 5)
    tracker.flush()
    records = [run_record(r) for r in tracker.search_runs(max_results=None)]
    params = sorted({k for r in records for k in r["params"]})
    metrics = sorted({k for r in records for k in r["metrics"]})
    tags = sorted({k for r in records for k in r["tags"]})
    base = ["id", "name", "experiment", "status", "start_time", "end_time", "duration"]
    expected = io.StringIO()
    writer = csv.writer(expected)
    writer.writerow(
        base + [f"params.{k}" for k in params] + [f"metrics.{k}" for k in metrics] + [f"tags.{k}" for k in tags]
    )
    for r in records:
        writer.writerow(
            [r[k] for k in base]
            + [r["params"].get(k, "") for k in params]
            + [r["metrics"].get(k, "") for k in metrics]
            + [r["tags"].get(k, "") for k in tags]
        )
    assert _export(store_path, capsys, "--format", "csv") == expected.getvalue()


def test_a_metric_key_written_by_another_tracker_is_named_in_listings(tracker, store_path):
    from nbtrack.tracking import Tracker

    with tracker.start_run("first"):
        tracker.log_metric("loss", 0.5)
    assert set(tracker.search_runs()[0].metrics) == {"loss"}  # names cached by id
    other = Tracker.open(store_path)
    try:
        with other.start_run("second"):
            other.log_metric("f1", 0.9)
    finally:
        other.close()
    listed = {run.name: set(run.metrics) for run in tracker.search_runs()}
    assert listed == {"first": {"loss"}, "second": {"f1"}}


def test_a_listed_run_reads_its_documents_after_the_tracker_closed(store_path):
    """Listings read provenance and receipts lazily; a run handed out stays usable after close."""
    from nbtrack.tracking import Tracker

    tracker = Tracker.open(store_path)
    with tracker.start_run("kept") as run:
        tracker.log_input(__import__("numpy").arange(3), "X", run=run)
    [listed] = tracker.search_runs()
    tracker.close()
    assert listed.provenance["python"] and set(listed.inputs) == {"X"}
