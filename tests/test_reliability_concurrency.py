"""Concurrency: several writer processes, a reader and two real kernels share one store.

Figures asserted here (issue 9, part 1): 4 processes x 50 runs x 10,000 metric points
plus a reader listing runs the whole time lose 0 rows and show 0 lock errors to the
user; two Jupyter kernels (nbclient) tracking into one store at once lose nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from nbtrack.entities import FINISHED
from nbtrack.tracking import Tracker

WRITERS = 4
RUNS_PER_WRITER = 50
POINTS_PER_WRITER = 10_000

# Each writer: 50 runs, 200 points per run (10,000 in all), params and tags on every run.
# Everything it prints on stderr (warnings, tracebacks) counts as an error reaching the user.
WRITER = textwrap.dedent(
    """
    import json, sys, warnings, nbtrack
    warnings.simplefilter("always")
    nbtrack.set_store(sys.argv[1])
    who, runs, points = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    per_run = points // runs
    ids = []
    for r in range(runs):
        with nbtrack.start_run(f"{who}-{r}", params={"writer": who, "r": r}, tags={"who": who}) as run:
            for step in range(per_run):
                nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
                if step % 50 == 0:
                    nbtrack.log_metric("lr", 0.1 * r, step=step)  # a second key, interleaved
        ids.append(run.id)
    print(json.dumps(ids), flush=True)
    """
)

READER = textwrap.dedent(
    """
    import json, os, sys, time, warnings, nbtrack
    warnings.simplefilter("always")
    nbtrack.set_store(sys.argv[1])
    stop = sys.argv[2]
    listings, seen = 0, 0
    while not os.path.exists(stop):
        runs = nbtrack.search_runs("status = 'FINISHED'", order_by="metrics.loss")
        seen = max(seen, len(runs))
        # A finished run is never seen half-written: its metrics came with its end.
        for run in runs:
            assert run.metrics["loss"].count == 200, (run.name, run.metrics)
        listings += 1
        time.sleep(0.05)
    print(json.dumps({"listings": listings, "seen": seen}), flush=True)
    """
)


@pytest.mark.slow
def test_four_writers_and_a_reader_lose_nothing(store_path, tmp_path):
    Tracker.open(store_path).close()  # create the store once, so no writer races on the schema
    stop = tmp_path / "stop"
    started = time.monotonic()
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(store_path), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store_path), f"w{i}", str(RUNS_PER_WRITER), str(POINTS_PER_WRITER)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    try:
        outputs = [w.communicate(timeout=150) for w in writers]
    finally:
        stop.touch()
        reader_out, reader_err = reader.communicate(timeout=60)
    elapsed = time.monotonic() - started

    lock_errors = sum(err.count("locked") for _, err in outputs) + reader_err.count("locked")
    assert lock_errors == 0, outputs
    assert [w.returncode for w in writers] == [0] * WRITERS, outputs
    assert all(err == "" for _, err in outputs), [err for _, err in outputs]
    assert reader.returncode == 0 and reader_err == "", reader_err
    reading = json.loads(reader_out)
    assert reading["listings"] >= 3  # the reader really listed runs while the writers wrote

    tracker = Tracker.open(store_path)
    conn = tracker.store.conn
    expected_lr = RUNS_PER_WRITER * (200 // 50)
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == WRITERS * RUNS_PER_WRITER
    assert (
        conn.execute("SELECT count(*) FROM runs WHERE status = 'FINISHED'").fetchone()[0] == WRITERS * RUNS_PER_WRITER
    )
    loss_rows = conn.execute(
        "SELECT count(*) FROM metrics m JOIN metric_keys k ON k.id = m.key_id WHERE k.key = 'loss'"
    ).fetchone()[0]
    assert loss_rows == WRITERS * POINTS_PER_WRITER  # 40,000: 0 lost rows
    assert conn.execute("SELECT count(*) FROM metrics").fetchone()[0] == WRITERS * (POINTS_PER_WRITER + expected_lr)
    assert conn.execute("SELECT count(*) FROM params").fetchone()[0] == WRITERS * RUNS_PER_WRITER * 2
    assert conn.execute("SELECT count(*) FROM tags").fetchone()[0] == WRITERS * RUNS_PER_WRITER
    for out, _ in outputs:
        for run_id in json.loads(out):
            run = tracker.get_run(run_id)
            assert run.status == FINISHED
            assert run.metrics["loss"].count == 200 and run.metrics["loss"].step == 199
            assert run.metrics["lr"].count == 4
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    tracker.close()
    print(
        f"\n[figures] {WRITERS} writers x {RUNS_PER_WRITER} runs x {POINTS_PER_WRITER} points + 1 reader "
        f"({reading['listings']} listings): {loss_rows} loss rows, 0 lost, {lock_errors} lock errors, {elapsed:.1f} s"
    )


def _notebook(name: str, runs: int, points: int):
    import nbformat

    cells = [
        nbformat.v4.new_code_cell("%load_ext nbtrack"),
        nbformat.v4.new_code_cell(f"%%track {name}-params\nlr = 0.01\nsize = 32\nprint('ok')"),
        nbformat.v4.new_code_cell(
            textwrap.dedent(
                f"""\
                import nbtrack
                ids = []
                for r in range({runs}):
                    with nbtrack.start_run("{name}-%d" % r) as run:
                        for i in range({points}):
                            nbtrack.log_metric("acc", i / {points}, step=i)
                    ids.append(run.id)
                len(ids)"""
            )
        ),
        nbformat.v4.new_code_cell("%%track " + name + "-last\nfinal_acc = 0.5\nfinal_acc"),
    ]
    return nbformat.v4.new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )


# Each driver runs its notebook in its own kernel. The kernels talk over Unix sockets with a
# per-notebook path: over TCP, two kernels started at the same instant by two processes can
# pick the same free port (jupyter_client only guards against that within one process), and
# the loser dies before its first cell. That race is the harness's, not the store's.
KERNEL_DRIVER = textwrap.dedent(
    """
    import json, sys, nbformat
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient
    path, socket_prefix = sys.argv[1], sys.argv[2]
    nb = nbformat.read(path, as_version=4)
    km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=socket_prefix)
    try:
        NotebookClient(nb, km=km, timeout=120, startup_timeout=120).execute()
    finally:  # the client leaves a kernel it was given running
        if run_sync(km.is_alive)():
            run_sync(km.shutdown_kernel)()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
              or (o.get("name") == "stderr")]
    print(json.dumps({"errors": errors, "last": [o["data"]["text/plain"] for o in nb.cells[-1].outputs if o.get("output_type") == "execute_result"]}))
    """
)


@pytest.mark.slow
def test_two_real_kernels_track_into_one_store(store_path, tmp_path):
    pytest.importorskip("nbclient")
    import nbformat

    Tracker.open(store_path).close()
    paths = []
    for name in ("k1", "k2"):
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(_notebook(name, runs=5, points=2000), path)
        paths.append(path)
    env = {**os.environ, "NBTRACK_STORE": str(store_path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", KERNEL_DRIVER, str(p), str(p.with_suffix(".ipc"))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for p in paths
    ]
    outputs = [p.communicate(timeout=170) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, f"driver exited {proc.returncode}\nstdout: {out}\nstderr:\n{err}"
    for out, _ in outputs:
        result = json.loads(out.strip().splitlines()[-1])
        assert result["errors"] == [], result["errors"]  # no error, no "nbtrack: ..." warning in any cell
        assert result["last"] == ["0.5"]  # the tracked cell's own value stands

    tracker = Tracker.open(store_path)
    runs = tracker.search_runs()
    by_name = {r.name: r for r in runs}
    for name in ("k1", "k2"):
        assert by_name[f"{name}-params"].params == {"lr": 0.01, "size": 32}
        assert by_name[f"{name}-last"].metrics["final_acc"].last == 0.5
        for r in range(5):
            run = by_name[f"{name}-{r}"]
            assert run.status == FINISHED and run.metrics["acc"].count == 2000
    assert len(runs) == 2 * (5 + 2)
    assert all(r.status == FINISHED for r in runs)
    assert tracker.store.conn.execute("SELECT count(*) FROM metrics").fetchone()[0] == 2 * 5 * 2000 + 2
    tracker.close()
