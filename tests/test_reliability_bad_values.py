"""One bad value never poisons the buffer (issue 12, point 2).

A step or timestamp the store would refuse is refused at the call with a UsageError naming the
argument; a buffered row the database still refuses is dropped alone (one line naming run, key
and step), the rest is written, the flusher keeps running, and the run carries
``nbtrack.lost_points``. Checked in-process, in a script (the background flush thread, in a
subprocess) and in a real IPython shell.
"""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from nbtrack.entities import FINISHED
from nbtrack.errors import UsageError
from nbtrack.tracking import Tracker
from nbtrack.tracking.lost import LOST_POINTS_TAG

BAD_TIMESTAMPS = [
    float("nan"),
    float("inf"),
    -float("inf"),
    -1.0,
    1_700_000_000_000.0,
    1e300,
    "3",
    True,
    b"1",
    [1.0],
    complex(1, 0),
]
BAD_STEPS = [float("nan"), float("inf"), True, 2.5, "3", 2**63, -(2**63) - 1, 10**30, [1], None.__class__]


@pytest.mark.parametrize(
    "argument, bad", [*(("timestamp", t) for t in BAD_TIMESTAMPS), *(("step", s) for s in BAD_STEPS)], ids=repr
)
@pytest.mark.parametrize("call", ["log_metric", "log_metrics"])
def test_bad_step_or_timestamp_refused_at_the_call(tracker, call, argument, bad):
    run = tracker.start_run("r")
    with pytest.raises(UsageError, match=argument):
        _log(tracker, call, "loss", 1.0, **{argument: bad})
    assert len(tracker.buffer) == 0 and run.steps == {}  # nothing of the call was logged
    tracker.log_metric("loss", 2.0)
    ended = tracker.end_run()
    assert ended.status == FINISHED and LOST_POINTS_TAG not in ended.tags
    assert [(p.step, p.value) for p in tracker.metric_history(run.id, "loss")] == [(0, 2.0)]


def test_edge_values_that_the_store_keeps_are_accepted(tracker):
    run = tracker.start_run("r")
    tracker.log_metric("a", 1.0, step=2**63 - 1, timestamp=0)
    tracker.log_metric("a", 2.0, step=-(2**63), timestamp=9_999_999_999.5)
    tracker.log_metrics({"b": 3.0}, step=4.0, timestamp=1_700_000_000)
    tracker.end_run()
    assert [(p.step, p.value, p.timestamp) for p in tracker.metric_history(run.id, "a")] == [
        (-(2**63), 2.0, 9_999_999_999.5),
        (2**63 - 1, 1.0, 0.0),
    ]
    assert [(p.step, p.timestamp) for p in tracker.metric_history(run.id, "b")] == [(4, 1_700_000_000.0)]


def test_millisecond_timestamps_get_a_hint(tracker):
    tracker.start_run("r")
    with pytest.raises(UsageError, match="looks like epoch milliseconds"):
        tracker.log_metric("loss", 1.0, timestamp=1_700_000_000_000)
    tracker.end_run()


@pytest.mark.parametrize(
    "call, args, word",
    [
        ("log_metric", ([1], 1.0), "metric name"),
        ("log_metric", (("a",), 1.0), "metric name"),
        ("log_metrics", ([("a", 1.0)],), "metrics"),
        ("log_params", ([("a", 1)],), "params"),
        ("set_tags", ("a=b",), "tags"),
        ("log_metrics", ({"a": 1.0, 3: 2.0},), "metric name"),
        ("log_metrics", ({"a": 1.0, "b": "x"},), "metric 'b'"),
    ],
)
def test_malformed_calls_are_refused_whole_and_start_no_run(tracker, call, args, word):
    with pytest.raises(UsageError, match=word):
        getattr(tracker, call)(*args)
    assert tracker.active_run() is None and len(tracker.buffer) == 0


def test_a_row_the_database_refuses_is_dropped_alone(tracker):
    """The checks are the first line; if a row gets past them, the flush still writes the rest."""
    said: list[str] = []
    tracker.report = said.append
    run = tracker.start_run("r")
    tracker.log_metric("loss", 0.5)
    for step in range(1, 100):
        tracker.log_metric("loss", 1.0 / step)
        if step == 37:  # what the database refuses: NaN timestamp (NULL in a NOT NULL column)
            tracker.buffer.append((run.row_id, "loss", 1000, 1.0, float("nan")))
    tracker.log_params({"depth": 3})
    assert tracker.flush() == 101
    assert [p.step for p in tracker.metric_history(run.id, "loss")] == list(range(100))
    assert tracker.get_run(run.id).params == {"depth": 3}
    assert said == [
        f"metric 'loss' step 1000 of run {run.short_id} was not recorded: the store refused it "
        "(IntegrityError: NOT NULL constraint failed: metrics.timestamp)"
    ]
    # the buffer keeps working, and the run says it lost data
    tracker.log_metric("loss", 9.0)
    ended = tracker.end_run()
    assert ended.status == FINISHED and ended.tags[LOST_POINTS_TAG] == "1"
    assert ended.metrics["loss"].count == 101
    assert (
        said[-1] == f"run {run.short_id} ended FINISHED, but 1 logged values were not recorded (tag {LOST_POINTS_TAG})"
    )


def test_refused_rows_in_the_run_end_do_not_stop_the_end(tracker):
    said: list[str] = []
    tracker.report = said.append
    run = tracker.start_run("r")
    tracker.log_metric("loss", 0.5)
    tracker.buffer.append((run.row_id, "loss", 7, 1.0, float("nan")))
    tracker.buffer.append((run.row_id, "acc", 8, 1.0, float("nan")))
    ended = tracker.end_run()  # the last points are written by the end's own transaction
    assert ended.status == FINISHED and ended.tags[LOST_POINTS_TAG] == "2"
    assert [p.step for p in tracker.metric_history(run.id, "loss")] == [0]
    assert len([line for line in said if "was not recorded: the store refused it" in line]) == 2
    # later runs are untouched
    with tracker.start_run("next") as later:
        tracker.log_metric("loss", 1.0)
    assert tracker.get_run(later.id).tags == {} and tracker.metric_history(later.id, "loss")[0].value == 1.0


def test_points_given_up_on_are_counted_on_the_run(tracker, monkeypatch):
    """After MAX_FAILED_FLUSHES refusals of the whole store the buffer drops the points: the count
    reaches the run's tag with the run's end, once the store takes writes again."""
    from nbtrack.errors import StoreError
    from nbtrack.tracking import buffer

    said: list[str] = []
    tracker.report = said.append
    tracker.start_run("r")
    tracker.log_metric("loss", 0.5)
    tracker.log_metric("loss", 0.25)
    real = tracker.runs.write_buffered

    def locked(rows):
        raise StoreError("the store is locked by another process")

    monkeypatch.setattr(tracker.runs, "write_buffered", locked)
    for _ in range(buffer.MAX_FAILED_FLUSHES):
        tracker.flush()
    assert len(tracker.buffer) == 0 and said == [
        "2 logged values were not recorded: the store is locked by another process"
    ]
    monkeypatch.setattr(tracker.runs, "write_buffered", real)
    ended = tracker.end_run()
    assert ended.tags[LOST_POINTS_TAG] == "2"


SCRIPT = textwrap.dedent(
    """
    import json, sys, time, threading, warnings
    warnings.simplefilter("always")
    import nbtrack
    from nbtrack import api
    nbtrack.set_store(sys.argv[1])
    tracker = api.tracker()
    with nbtrack.start_run("script") as run:
        nbtrack.log_metric("loss", 0.0)
        try:
            nbtrack.log_metric("loss", 1.0, timestamp=float("nan"))   # the issue's call
        except ValueError as exc:  # nbtrack.errors.UsageError
            print(json.dumps(["refused", str(exc)]), flush=True)
        tracker.buffer.append((run.row_id, "loss", 500, 1.0, float("nan")))  # one that gets past the checks
        for step in range(1, 50):
            nbtrack.log_metric("loss", float(step))
        # no explicit flush: wait for the background thread to write the buffer
        deadline = time.monotonic() + 60
        while len(tracker.buffer) and time.monotonic() < deadline:
            time.sleep(0.01)
        flusher = [t for t in threading.enumerate() if t.name == "nbtrack-flusher"]
        print(json.dumps(["flushed", len(tracker.buffer), [t.is_alive() for t in flusher]]), flush=True)
        for step in range(50, 60):
            nbtrack.log_metric("loss", float(step))
        deadline = time.monotonic() + 60
        while len(tracker.buffer) and time.monotonic() < deadline:
            time.sleep(0.01)
        print(json.dumps(["flushed", len(tracker.buffer), [t.is_alive() for t in flusher]]), flush=True)
    print(json.dumps(["run", run.id]), flush=True)
    """
)


@pytest.mark.slow
def test_script_background_flusher_survives_a_bad_value(store_path, python, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    done = subprocess.run([python, str(script), str(store_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0][0] == "refused" and "timestamp" in events[0][1]
    assert events[1] == ["flushed", 0, [True]] and events[2] == ["flushed", 0, [True]]
    run_id = events[3][1]
    assert f"metric 'loss' step 500 of run {run_id[:8]} was not recorded" in done.stderr
    assert f"run {run_id[:8]} ended FINISHED, but 1 logged values were not recorded" in done.stderr
    reader = Tracker.open(store_path)
    try:
        got = reader.get_run(run_id)
        assert got.status == FINISHED and got.tags[LOST_POINTS_TAG] == "1"
        assert [p.step for p in reader.metric_history(run_id, "loss")] == list(range(60))
    finally:
        reader.close()


def test_notebook_keeps_recording_after_a_bad_value(shell, capsys):
    shell.ok("import nbtrack")
    result = shell.run('%%track first\nnbtrack.log_metric("loss", 1.0, timestamp=float("nan"))')
    assert isinstance(result.error_in_exec, UsageError)  # the user's own call is refused, in the cell
    shell.ok(
        "%%track second\nrun = nbtrack.active_run()\n"
        'nbtrack.api.tracker().buffer.append((run.row_id, "loss", 99, 1.0, float("nan")))\n'
        'nbtrack.log_metric("loss", 2.0)'
    )
    out, err = capsys.readouterr()
    assert "metric 'loss' step 99" in err and "internal error" not in err
    assert "'second' FINISHED" in out and "1 logged values NOT recorded" in out  # the cell's summary line
    for i in range(3):
        shell.ok(f"%%track later{i}\nnbtrack.log_metric('acc', {i}.5)\nx = {i}")
    err = capsys.readouterr().err
    assert "internal error" not in err and "not recorded" not in err
    runs = {r.name: r for r in shell.tracker.search_runs()}
    assert runs["second"].metrics["loss"].last == 2.0 and runs["second"].tags[LOST_POINTS_TAG] == "1"
    assert [runs[f"later{i}"].metrics["acc"].last for i in range(3)] == [0.5, 1.5, 2.5]
    assert all(LOST_POINTS_TAG not in runs[f"later{i}"].tags for i in range(3))


def _log(tracker, call, key, value, **kwargs):
    if call == "log_metric":
        tracker.log_metric(key, value, **kwargs)
    else:
        tracker.log_metrics({key: value}, **kwargs)
