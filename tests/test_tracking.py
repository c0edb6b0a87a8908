"""The tracker: run lifecycle, nesting, logging, artifacts, dead-run detection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from nbtrack.entities import FAILED, FINISHED, KILLED, RUNNING
from nbtrack.errors import AmbiguousIdError, NotFoundError, RunStateError, UsageError


def test_run_lifecycle_and_provenance(tracker):
    with tracker.start_run("baseline", tags={"team": "churn"}, params={"lr": 0.1}) as run:
        assert len(run.id) == 32 and tracker.active_run() is run
        assert tracker.get_run(run.id).status == RUNNING
    done = tracker.get_run(run.id)
    assert done.status == FINISHED and done.name == "baseline"
    assert done.tags == {"team": "churn"} and done.params == {"lr": 0.1}
    assert done.end_time >= done.start_time and done.duration >= 0
    assert done.pid == os.getpid() and done.host and done.experiment == "Default"
    assert done.provenance["python"]["version"].startswith(f"{sys.version_info[0]}.{sys.version_info[1]}")
    assert tracker.active_run() is None


def test_exception_fails_run_with_traceback(tracker):
    with pytest.raises(ZeroDivisionError):
        with tracker.start_run("boom") as run:
            1 / 0
    failed = tracker.get_run(run.id)
    assert failed.status == FAILED and "ZeroDivisionError" in failed.error


def test_keyboard_interrupt_kills_run(tracker):
    with pytest.raises(KeyboardInterrupt):
        with tracker.start_run() as run:
            raise KeyboardInterrupt
    assert tracker.get_run(run.id).status == KILLED


def test_nested_runs_get_parent_and_end_with_it(tracker):
    outer = tracker.start_run("outer")
    inner = tracker.start_run("inner")
    tracker.end_run(run=outer)
    assert tracker.get_run(inner.id).parent_id == outer.id
    assert tracker.get_run(inner.id).status == FINISHED
    assert tracker.active_run() is None


def test_new_run_while_active_never_errors(tracker):
    first = tracker.start_run("a")
    second = tracker.start_run("a")  # same name: a new run, never "already active"
    assert first.id != second.id
    tracker.end_run(run=first)


def test_metrics_steps_and_flush(tracker):
    with tracker.start_run() as run:
        for i in range(5):
            tracker.log_metric("loss", 1 / (i + 1))
        tracker.log_metric("acc", 0.5, step=10)
        tracker.log_metrics({"acc": 0.7, "f1": 0.6}, step=11)
    history = tracker.metric_history(run.id, "loss")
    assert [p.step for p in history] == [0, 1, 2, 3, 4]
    got = tracker.get_run(run.id).metrics
    assert got["acc"].last == 0.7 and got["acc"].step == 11 and got["acc"].min == 0.5
    assert got["loss"].last == pytest.approx(0.2) and got["loss"].count == 5


def test_relogging_a_step_replaces_it(tracker):
    with tracker.start_run() as run:
        tracker.log_metric("x", 1.0, step=0)
        tracker.flush()
        tracker.log_metric("x", 2.0, step=0)
    assert [p.value for p in tracker.metric_history(run.id, "x")] == [2.0]


@pytest.mark.parametrize("key", ["", "   ", "a\nb", "x" * 300, 3])
def test_bad_metric_keys_refused(tracker, key):
    with tracker.start_run():
        with pytest.raises(UsageError):
            tracker.log_metric(key, 1.0)


@pytest.mark.parametrize("value", ["0.5", None, [1], object()])
def test_non_numeric_metric_refused(tracker, value):
    with tracker.start_run():
        with pytest.raises(UsageError, match="must be a real number"):
            tracker.log_metric("m", value)


def test_logging_without_run_starts_one(tracker):
    tracker.log_metric("m", 1.0)
    run = tracker.active_run()
    assert run is not None
    tracker.end_run()
    assert tracker.get_run(run.id).metrics["m"].last == 1.0


def test_an_auto_started_run_is_never_a_parent(tracker):
    tracker.log_metric("m", 1.0)
    auto = tracker.active_run()
    with tracker.start_run("explicit") as explicit:
        tracker.log_metric("m", 2.0)
        with tracker.start_run("inner") as inner:
            pass
    assert tracker.get_run(explicit.id).parent_id is None
    assert tracker.get_run(inner.id).parent_id == explicit.id  # explicit runs still nest
    tracker.log_metric("m", 3.0)  # back in the auto-started run, which stayed open
    assert tracker.active_run() is auto
    tracker.end_run()
    assert tracker.get_run(auto.id).metrics["m"].count == 2
    assert tracker.get_run(explicit.id).metrics["m"].count == 1


def test_end_without_run_is_clear(tracker):
    with pytest.raises(RunStateError, match="no active run"):
        tracker.end_run()


def test_artifacts(tracker, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    source = tmp_path / "data.csv"
    source.write_text("a,b\n1,2\n")
    fig = Figure()
    fig.add_subplot().plot([1, 2, 3])
    with tracker.start_run() as run:
        a = tracker.log_artifact(source)
        tracker.log_text("hello", "notes/readme.txt")
        tracker.log_dict({"x": [1, 2]}, "config.json")
        tracker.log_figure(fig, "curve")
        tracker.log_model({"weights": [1, 2, 3]}, "churn")
    assert a.media_type == "text/csv" and a.size == 8 and len(a.sha256) == 64
    names = {x.name: x for x in tracker.get_run(run.id).artifacts}
    assert set(names) == {"data.csv", "notes/readme.txt", "config.json", "curve.png", "models/churn.pkl"}
    assert tracker.artifact_bytes(run.id, "curve.png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(tracker.artifact_bytes(run.id, "config.json")) == {"x": [1, 2]}


@pytest.mark.parametrize("name", ["../evil", "/etc/passwd", "a/../../b", "C:\\x", "a\\b", "", "./x", "~/x"])
def test_unsafe_artifact_names_refused(tracker, name):
    with tracker.start_run():
        with pytest.raises(UsageError):
            tracker.log_text("x", name)


def test_run_id_prefix_resolution(tracker):
    runs = [tracker.start_run(f"r{i}") for i in range(3)]
    for run in runs:
        tracker.end_run(run=run)
    assert tracker.get_run(runs[0].id[:6]).id == runs[0].id
    assert tracker.get_run("r1").id == runs[1].id
    with pytest.raises(UsageError, match="at least 4"):
        tracker.get_run("ab")
    with pytest.raises(NotFoundError):
        tracker.get_run("ffffffffffff")
    fake = "abcd" + "0" * 28
    with tracker.store.atomic() as conn:  # the lock: runs' late git provenance is written from another thread
        conn.execute("UPDATE runs SET uuid = ? WHERE uuid = ?", (fake, runs[1].id))
        conn.execute("UPDATE runs SET uuid = ? WHERE uuid = ?", ("abcd" + "1" * 28, runs[2].id))
    with pytest.raises(AmbiguousIdError, match="type more characters"):
        tracker.get_run("abcd")


def test_search_runs_returns_dataframe(tracker):
    pytest.importorskip("pandas")
    from nbtrack.display import RunList

    import pandas as pd

    with tracker.start_run("a", params={"lr": 0.1}) as done:
        tracker.log_metric("f1", 0.8)
    running = tracker.start_run("b")
    frame = RunList(tracker.search_runs(order_by="name")).to_pandas()
    assert list(frame["params.lr"][:1]) == [0.1] and list(frame["metrics.f1"][:1]) == [0.8]
    assert frame["start_time"].dtype.kind == "M" and frame["end_time"].dtype.kind == "M"
    finished = tracker.get_run(done.id)
    assert abs(frame["end_time"][0] - pd.Timestamp(finished.end_time, unit="s")) < pd.Timedelta(microseconds=1)
    assert abs(frame["start_time"][1] - pd.Timestamp(running.start_time, unit="s")) < pd.Timedelta(microseconds=1)
    assert frame["end_time"][1] is pd.NaT and list(frame["run_id"]) == [done.id, running.id]
    tracker.end_run(run=running)
    assert RunList().to_pandas().empty


@pytest.mark.slow
def test_secrets_never_stored(store_path, tmp_path):
    """Secret-looking environment variables never reach the database file."""
    script = textwrap.dedent(
        f"""
        import nbtrack
        nbtrack.set_store({str(store_path)!r})
        with nbtrack.start_run("s"):
            nbtrack.log_metric("m", 1)
        """
    )
    secrets = {
        "AWS_SECRET_ACCESS_KEY": "AKIAsupersecretvalue123",
        "GITHUB_TOKEN": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "DB_PASSWORD": "hunter2hunter2",
        "VIRTUAL_ENV": "/venv",
    }
    subprocess.run([sys.executable, "-c", script], check=True, env={**os.environ, **secrets}, cwd=tmp_path)
    raw = b"".join(p.read_bytes() for p in store_path.rglob("*") if p.is_file())
    for value in list(secrets.values())[:3]:
        assert value.encode() not in raw
    for name in list(secrets)[:3]:
        assert name.encode() not in raw


def test_run_end_is_one_transaction_with_its_listeners(tracker):
    """What listeners write at run end (snapshot, receipt) commits with the status, or not at all."""
    seen = []

    def listener(run, status):
        tracker.runs.update_run(run.row_id, {"note": "written by a listener"})
        seen.append(tracker.store.conn.in_transaction)

    tracker.run_end_listeners.append(listener)
    run = tracker.start_run("atomic")
    tracker.end_run(run=run)
    assert seen == [True]
    ended = tracker.get_run(run.id)
    assert ended.status == "FINISHED" and ended.note == "written by a listener"
