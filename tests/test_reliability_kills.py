"""Kills: SIGKILL a logging process at random moments, 20 times, and inspect what it left.

After every kill the store must pass ``PRAGMA integrity_check`` and
``foreign_key_check``; the next open marks every interrupted run KILLED; every point the
child reported as flushed (it prints after each flush returns) is present; and no
half-written transaction is visible: every run has all of its params and tags, each
run's metric steps form one gap-free prefix 0..n, ``latest_metrics`` agrees exactly with
the ``metrics`` rows, and every artifact points at a readable blob.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from nbtrack.entities import FINISHED, KILLED
from nbtrack.tracking import Tracker

TRIALS = 20

# Batches of very different sizes, so kills land inside small commits, inside big ones
# (which also trigger WAL checkpoints), between runs, inside start_run/end_run and blob writes.
CHILD = textwrap.dedent(
    """
    import json, random, sys, nbtrack
    nbtrack.set_store(sys.argv[1])
    rng = random.Random(int(sys.argv[2]))
    print("ready", flush=True)
    i = 0
    while True:
        run = nbtrack.start_run(f"t{i}", params={"i": i, "text": "p" * rng.randint(1, 5000), "grid": [1, 2.5, "x"]},
                                tags={"trial": sys.argv[2], "i": i})
        step = 0
        for _ in range(rng.randint(1, 6)):
            for _ in range(rng.choice((1, 10, 1000, 20000))):
                nbtrack.log_metric("loss", rng.random(), step=step)
                nbtrack.log_metric("acc", step * 0.5, step=step)
                step += 1
            nbtrack.flush()
            print(json.dumps(["flushed", run.id, step]), flush=True)
        if rng.random() < 0.5:
            size = rng.choice((100, 600_000))  # inline blob, or a file under blobs/
            nbtrack.log_text(str(i) * size, f"notes/{i}.txt")
        nbtrack.end_run()
        print(json.dumps(["ended", run.id, step]), flush=True)
        i += 1
    """
)


def _collect(stream, lines: list[str]) -> None:
    for line in stream:
        lines.append(line.strip())


def _one_trial(store_path, seed: int, delay: float) -> dict:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store_path), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=_collect, args=(proc.stdout, lines), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while "ready" not in lines and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "ready" in lines, proc.stderr.read() if proc.poll() is not None else "child never got ready"
        time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        reader.join(5)
        stderr = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert stderr == "", stderr
    flushed: dict[str, int] = {}
    ended: set[str] = set()
    for line in lines[1:]:
        kind, run_id, step = json.loads(line)
        flushed[run_id] = max(flushed.get(run_id, 0), step)
        if kind == "ended":
            ended.add(run_id)
    return {"flushed": flushed, "ended": ended}


def _check_store(store_path, report: dict, trial_seed: int) -> dict:
    tracker = Tracker.open(store_path)  # opening marks the dead child's runs KILLED
    conn = tracker.store.conn
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT count(*) FROM runs WHERE status = 'RUNNING'").fetchone()[0] == 0
        # Every run got its params and tags in the transaction that created it.
        assert (
            conn.execute(
                "SELECT count(*) FROM runs r WHERE (SELECT count(*) FROM params p WHERE p.run_id = r.id) != 3 "
                "OR (SELECT count(*) FROM tags t WHERE t.run_id = r.id) != 2"
            ).fetchone()[0]
            == 0
        )
        # latest_metrics is written in the same transaction as the points it summarizes.
        mismatched = conn.execute(
            """
            SELECT l.run_id, l.key_id, l.count, l.step, agg.n, agg.top
            FROM latest_metrics l
            LEFT JOIN (SELECT run_id, key_id, count(*) AS n, max(step) AS top FROM metrics GROUP BY run_id, key_id) agg
              ON agg.run_id = l.run_id AND agg.key_id = l.key_id
            WHERE agg.n IS NULL OR agg.n != l.count OR agg.top != l.step
            """
        ).fetchall()
        assert mismatched == []
        orphans = conn.execute(
            "SELECT count(*) FROM metrics m WHERE NOT EXISTS (SELECT 1 FROM latest_metrics l WHERE l.run_id = m.run_id AND l.key_id = m.key_id)"
        ).fetchone()[0]
        assert orphans == 0
        # Flushes are written in order: each key's steps are a gap-free prefix 0..n.
        for run_id, n, top in conn.execute("SELECT run_id, count(*), max(step) FROM metrics GROUP BY run_id, key_id"):
            assert n == top + 1, (run_id, n, top)
        # And together they are a prefix of the child's call sequence loss0, acc0, loss1, acc1, ...:
        # the background flusher may cut between the two calls of one step, so loss leads acc by
        # at most one point, never the other way round.
        counts = conn.execute(
            """
            SELECT r.name,
                   (SELECT count(*) FROM metrics m JOIN metric_keys k ON k.id = m.key_id WHERE m.run_id = r.id AND k.key = 'loss'),
                   (SELECT count(*) FROM metrics m JOIN metric_keys k ON k.id = m.key_id WHERE m.run_id = r.id AND k.key = 'acc')
            FROM runs r
            """
        ).fetchall()
        for name, loss, acc in counts:
            assert loss - acc in (0, 1), (name, loss, acc)
        for (sha,) in conn.execute("SELECT sha256 FROM artifacts"):
            tracker.store.blobs.get(sha)  # present and matching its hash
        # What the child saw flushed is there; what it saw ended is FINISHED; the rest is KILLED.
        killed = 0
        # Newest first; the shared store holds earlier trials too.
        runs = tracker.search_runs(f"tags.trial = '{trial_seed}'", order_by="start_time desc")
        assert set(report["flushed"]) <= {r.id for r in runs}, "a run the child reported is missing"
        for position, run in enumerate(runs):
            count = run.metrics["loss"].count if "loss" in run.metrics else 0
            assert count >= report["flushed"].get(run.id, 0), (run.name, count, report["flushed"].get(run.id))
            if run.id in report["ended"]:
                assert run.status == FINISHED
            elif run.status == FINISHED:
                # The kill landed after end_run committed and before the child printed "ended":
                # possible only for the newest run (the next one had not started).
                assert position == 0, (run.name, "FINISHED without being reported ended, and not the newest run")
            else:
                assert run.status == KILLED, (run.name, run.status)
                assert run.end_time is not None and run.end_time >= run.start_time
                killed += 1
        return {"runs": len(report["flushed"]), "killed": killed, "points": sum(report["flushed"].values())}
    finally:
        tracker.close()


@pytest.mark.slow
def test_sigkill_at_random_moments(tmp_path):
    seed = int(os.environ.get("NBTRACK_KILL_SEED", time.time_ns() % 10**6))
    rng = random.Random(seed)
    started = time.monotonic()
    totals = {"runs": 0, "killed": 0, "points": 0}
    shared = tmp_path / "shared"
    for trial in range(TRIALS):
        # Even trials: a fresh store each time (the kill may land in store creation and schema setup);
        # odd trials: one store accumulating every kill, to show damage does not build up.
        store_path = tmp_path / f"fresh{trial}" if trial % 2 == 0 else shared
        delay = rng.choice((0.0, 0.01, 0.05)) if trial < 4 else rng.uniform(0.05, 1.2)
        try:
            report = _one_trial(store_path, seed * 100 + trial, delay)
            figures = _check_store(store_path, report, seed * 100 + trial)
        except AssertionError as exc:
            raise AssertionError(f"trial {trial} (NBTRACK_KILL_SEED={seed}, delay {delay:.3f} s): {exc}") from exc
        for key in totals:
            totals[key] += figures[key]
    print(
        f"\n[figures] {TRIALS} SIGKILL trials (seed {seed}): {totals['killed']} interrupted runs all KILLED, "
        f"{totals['points']} points reported flushed, all present, integrity ok, {time.monotonic() - started:.1f} s"
    )


@pytest.mark.slow
def test_kill_during_store_creation_leaves_a_usable_store(tmp_path):
    """A process killed while it creates and migrates a new store leaves nothing half-made."""
    # the child says when it is about to open the store, so each delay is measured from Store.open's start
    code = "import sys, nbtrack; print('opening', flush=True); nbtrack.set_store(sys.argv[1]); print('x', flush=True)"
    for attempt, delay in enumerate((0.0, 0.02, 0.05, 0.1, 0.2)):
        store_path = tmp_path / f"s{attempt}"
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(store_path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert proc.stdout.readline() == "opening\n"  # blocks until the child reached Store.open (or died: "")
        time.sleep(delay)  # the moment of the kill inside store creation, not a wait for the child
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        tracker = Tracker.open(store_path)
        assert (
            tracker.store.schema_version
            == tracker.store.conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
        )
        with tracker.start_run("after"):
            tracker.log_metric("m", 1.0)
        assert tracker.store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tracker.close()
