"""Dead runs are found wherever they died (issue 12, point 5).

Runs are written through the real tracker and store as another host, another container or a
process whose PID was later reused would have written them (their hostname, clock, PID and
PID space patched at the source), then judged by a fresh ``Tracker.open`` or listing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
import types

import pytest

from nbtrack.entities import FINISHED, KILLED, RUNNING
from nbtrack.errors import RunStateError
from nbtrack.tracking import Tracker, liveness
from nbtrack.tracking import tracker as tracker_module

HERE = socket.gethostname()


def _write_as(monkeypatch, store_path, *, host=HERE, at=None, pid=None, process=None, name="r"):
    """Start a run as another process would have: on ``host``, its clock at ``at``, its PID and
    recorded process; then that tracker goes away (its runs stay RUNNING, as after a crash)."""
    with monkeypatch.context() as patch:
        patch.setattr(socket, "gethostname", lambda: host)
        if at is not None:
            patch.setattr(tracker_module, "time", types.SimpleNamespace(time=lambda: at))
        if pid is not None:
            patch.setattr(tracker_module.os, "getpid", lambda: pid)
        writer = Tracker.open(store_path)
        if process is not None:
            writer.process = process
        run = writer.start_run(name)
        writer.buffer.close()  # no heartbeat from here on (nor at exit: the process is "gone")
        writer._stack.clear()
        writer.store.close()
    return run


def _status(store_path, run):
    reader = Tracker.open(store_path)
    try:
        return reader.get_run(run.id)
    finally:
        reader.close()


def test_a_run_of_another_host_is_killed_at_its_last_heartbeat_once_stale(monkeypatch, store_path):
    now = time.time()
    stale = _write_as(monkeypatch, store_path, host="gpu-node-7", at=now - liveness.STALE_AFTER - 60, name="stale")
    fresh = _write_as(monkeypatch, store_path, host="gpu-node-7", at=now - liveness.STALE_AFTER + 120, name="fresh")
    got = _status(store_path, stale)
    assert got.host == "gpu-node-7" and got.pid == os.getpid()  # a PID alive here, and meaningless here
    assert got.status == KILLED and got.end_time == got.heartbeat == now - liveness.STALE_AFTER - 60
    assert "no heartbeat" in got.error and "gpu-node-7" in got.error
    assert _status(store_path, fresh).status == RUNNING
    reader = Tracker.open(store_path)
    try:
        assert reader.delete_run(stale.id) == [stale.id]
        with pytest.raises(RunStateError, match="RUNNING"):
            reader.delete_run(fresh.id)
    finally:
        reader.close()


def test_a_listing_finds_a_run_that_went_stale_while_the_store_was_open(monkeypatch, store_path, tracker):
    now = time.time()
    run = _write_as(monkeypatch, store_path, host="gpu-node-7", at=now - 60)
    assert {r.id: r.status for r in tracker.search_runs()}[run.id] == RUNNING
    monkeypatch.setattr(liveness, "STALE_AFTER", 30.0)
    assert {r.id: r.status for r in tracker.search_runs()}[run.id] == KILLED


@pytest.mark.slow
def test_a_container_with_the_same_hostname_is_judged_by_heartbeat(monkeypatch, store_path):
    """Same hostname, another PID namespace: its PID says nothing here (here it is dead)."""
    dead_here = _dead_pid()
    other = {"space": "another-boot/pid:[4026532999]", "start": "ticks:42"}
    now = time.time()
    fresh = _write_as(monkeypatch, store_path, pid=dead_here, process=other, at=now - 10, name="fresh")
    stale = _write_as(
        monkeypatch, store_path, pid=dead_here, process=other, at=now - liveness.STALE_AFTER - 1, name="stale"
    )
    assert _status(store_path, fresh).status == RUNNING
    assert _status(store_path, stale).status == KILLED


@pytest.mark.slow
def test_a_reused_pid_does_not_keep_a_dead_run_running(monkeypatch, store_path):
    with subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE) as child:
        try:
            space = liveness.pid_space()
            # the run's process had this PID and died; the child now lives under it (another start time)
            reused = _write_as(
                monkeypatch, store_path, pid=child.pid, process={"space": space, "start": "ticks:1"}, name="reused"
            )
            # control: the run really is the child's
            owned = _write_as(
                monkeypatch,
                store_path,
                pid=child.pid,
                process={"space": space, "start": liveness.process_start(child.pid)},
                name="owned",
            )
            assert liveness.process_start(child.pid) not in (None, "ticks:1")
            got = _status(store_path, reused)
            assert got.status == KILLED and "process ended" in got.error
            assert _status(store_path, owned).status == RUNNING
        finally:
            child.communicate(b"")
    assert _status(store_path, owned).status == KILLED  # and once the child is gone, its run too


LIVE_CHILD = textwrap.dedent(
    """
    import sys, nbtrack
    nbtrack.set_store(sys.argv[1])
    run = nbtrack.start_run("long")
    print(run.id, flush=True)
    sys.stdin.readline()          # "training": blocked for as long as the test likes
    nbtrack.log_metric("loss", 0.5)
    nbtrack.end_run()
    print("ended", flush=True)
    """
)


@pytest.mark.slow
def test_a_live_run_on_this_host_is_never_killed_even_without_heartbeats(store_path, tmp_path):
    """A cell that holds the GIL for an hour writes no heartbeat; its process is alive, so the run is."""
    script = tmp_path / "long.py"
    script.write_text(LIVE_CHILD)
    with subprocess.Popen(
        [sys.executable, str(script), str(store_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        run_id = child.stdout.readline().strip()
        reader = Tracker.open(store_path)
        try:
            row = reader.runs.resolve(run_id)
            reader.runs.heartbeat([row], time.time() - 10 * liveness.STALE_AFTER)  # as if blocked for 50 minutes
            assert reader.mark_dead_runs() == 0
            assert {r.id: r.status for r in reader.search_runs()}[run_id] == RUNNING
        finally:
            reader.close()
        out, _ = child.communicate("go\n", timeout=60)
    assert out.strip() == "ended"
    got = _status(store_path, types.SimpleNamespace(id=run_id))
    assert got.status == FINISHED and got.metrics["loss"].last == 0.5


def test_a_live_run_presumed_dead_elsewhere_comes_back_with_its_next_heartbeat(monkeypatch, store_path):
    """From another host a live run looks dead after STALE_AFTER without heartbeats (a suspended
    laptop, a GIL held for long); the owner's next heartbeat, then its end, restore the truth."""
    monkeypatch.setattr(socket, "gethostname", lambda: "laptop")
    owner = Tracker.open(store_path)
    try:
        run = owner.start_run("slow")
        owner.buffer.close()  # its thread's heartbeats are called by hand below, when the test wants one
        owner.runs.heartbeat([run.row_id], time.time() - liveness.STALE_AFTER - 1)
        monkeypatch.setattr(socket, "gethostname", lambda: HERE)
        assert _status(store_path, run).status == KILLED
        owner._heartbeat()
        back = owner.get_run(run.id)
        assert back.status == RUNNING and back.end_time is None and back.error is None
        owner.log_metric("loss", 1.0)
        assert owner.end_run().status == FINISHED
    finally:
        owner.close()


def test_the_heartbeat_thread_starts_with_the_run(tracker):
    """A run that logs nothing for minutes still has a heartbeat written for it."""
    assert tracker.buffer._thread is None
    tracker.start_run("quiet")
    assert tracker.buffer._thread is not None and tracker.buffer._thread.is_alive()
    tracker.end_run()


def test_a_run_records_its_process(tracker):
    run = tracker.start_run("p")
    tracker.end_run()
    process = tracker.runs.provenance(run.row_id)["process"]
    assert process == {"space": liveness.pid_space(), "start": liveness.process_start(os.getpid())}
    if sys.platform.startswith("linux"):
        assert process["start"].startswith("ticks:") and process["space"]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
