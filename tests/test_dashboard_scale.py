"""The dashboard over 10,000 runs x 20 params x 5 metrics: it loads one page, never every run.

The build time is printed (run with ``-s``), not asserted: timings on a shared machine are
not a test. What is asserted is the reason it is fast: children (params, metrics, tags)
are loaded for one page of runs only, and the page comes from SQL LIMIT (keyset or OFFSET).
"""

from __future__ import annotations

import time
import uuid

import pytest

from nbtrack.widgets import Dashboard

RUNS, PARAMS, METRICS, STEPS = 10_000, 20, 5, 2


def generate(tracker) -> None:
    """Write the store with raw executemany (runs, params) and the one batch primitive (metrics)."""
    repo, store = tracker.runs, tracker.store
    experiment = repo.experiment_id("scale")
    start = time.time() - RUNS
    with store.atomic() as conn:
        conn.executemany(
            "INSERT INTO runs(uuid, experiment_id, name, status, start_time, end_time) VALUES (?, ?, ?, 'FINISHED', ?, ?)",
            [(uuid.uuid4().hex, experiment, f"run-{i}", start + i, start + i + 0.5) for i in range(RUNS)],
        )
        ids = [row[0] for row in conn.execute("SELECT id FROM runs ORDER BY id")]
        conn.executemany(
            "INSERT INTO params(run_id, key, type, value) VALUES (?, ?, 'float', ?)",
            [(run_id, f"p{k:02d}", (i * 7 + k) % 13 / 10) for i, run_id in enumerate(ids) for k in range(PARAMS)],
        )
    points = [
        (run_id, f"m{k}", step, (i % 97) / 97 + k + step, start)
        for i, run_id in enumerate(ids)
        for k in range(METRICS)
        for step in range(STEPS)
    ]
    repo.write_batch(metrics=points)


@pytest.mark.slow
def test_build_over_ten_thousand_runs_loads_one_page(tracker):
    generate(tracker)
    statements: list[str] = []
    tracker.store.conn.set_trace_callback(statements.append)
    began = time.perf_counter()
    dash = Dashboard(tracker)
    built = time.perf_counter() - began
    dash.controller.sort_by("metrics.m3")
    dash.controller.set_page(200)
    sorted_and_paged = time.perf_counter() - began - built
    tracker.store.conn.set_trace_callback(None)
    print(
        f"\ndashboard over {RUNS} runs x {PARAMS} params x {METRICS} metrics: built in {built * 1000:.0f} ms; "
        f"sort by a metric + jump to page 201 in {sorted_and_paged * 1000:.0f} ms"
    )

    c = dash.controller
    assert (c.total, c.page_count, len(c.runs)) == (RUNS, 400, 25)
    assert [r.name for r in c.runs][:2] == sorted(
        (r.name for r in c.runs), key=lambda n: (int(n[4:]) % 97, -int(n[4:]))
    )[:2]
    assert len(c.keys.params) == PARAMS and len(c.keys.metrics) == METRICS
    wanted = [s for s in statements if "INTO temp._wanted" in s]
    assert 0 < len(wanted) <= 3 * 25, len(wanted)  # three page loads, children of 25 runs each
    page_queries = [s for s in statements if s.startswith("SELECT r.start_time, r.id")]
    assert page_queries and all("LIMIT" in s for s in page_queries)
    # whole rows are read for the page's ids only
    assert all("json_each" in s for s in statements if s.startswith("SELECT r.id, r.uuid"))


def test_page_changes_in_the_default_order_use_keyset_not_offset(tracker):
    """Next, previous and last page continue from the loaded page's edge (keyset); the pages are
    exactly the OFFSET pages, ties in start time included."""
    repo, store = tracker.runs, tracker.store
    experiment = repo.experiment_id("keyset")
    start = time.time() - 1000
    with store.atomic() as conn:
        conn.executemany(
            "INSERT INTO runs(uuid, experiment_id, name, status, start_time) VALUES (?, ?, ?, 'FINISHED', ?)",
            [(uuid.uuid4().hex, experiment, f"run-{i}", start + i // 3) for i in range(130)],
        )
    dash = Dashboard(tracker)
    c = dash.controller
    assert (c.total, c.page_count) == (130, 6)
    expected = [[r.name for r in repo.search(limit=25, offset=25 * page)] for page in range(6)]
    statements: list[str] = []
    tracker.store.conn.set_trace_callback(statements.append)
    try:
        seen = [[r.name for r in c.runs]]
        for _ in range(5):
            c.next_page()
            seen.append([r.name for r in c.runs])
        backwards = []
        for _ in range(5):
            c.previous_page()
            backwards.append([r.name for r in c.runs])
        c.set_page(5)  # the last page reads from the oldest end
        last = [r.name for r in c.runs]
    finally:
        tracker.store.conn.set_trace_callback(None)
    assert seen == expected and backwards == expected[4::-1] and last == expected[5]
    pages = [s for s in statements if s.startswith("SELECT r.start_time, r.id")]
    assert len(pages) == 11 and all("OFFSET 0" in s for s in pages), pages  # never skipping runs by OFFSET
    assert sum("(r.start_time, r.id)" in s for s in pages) == 10  # every page but the first continues from an edge
