"""Real processes: killed runs become KILLED, concurrent writers lose nothing, import stays cheap."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from nbtrack.entities import KILLED
from nbtrack.tracking import Tracker

pytestmark = pytest.mark.slow  # spawns tracking processes

LOGGER = textwrap.dedent(
    """
    import sys, time, nbtrack
    nbtrack.set_store(sys.argv[1])
    run = nbtrack.start_run(sys.argv[2])
    for i in range(int(sys.argv[3])):
        nbtrack.log_metric("x", i, step=i)
    nbtrack.flush()
    print(run.id, flush=True)
    if sys.argv[4] == "hang":
        time.sleep(600)
    nbtrack.end_run()
    """
)


def test_sigkill_leaves_run_marked_killed_on_next_open(store_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", LOGGER, str(store_path), "victim", "500", "hang"], stdout=subprocess.PIPE, text=True
    )
    try:
        run_id = proc.stdout.readline().strip()
        assert len(run_id) == 32
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    tracker = Tracker.open(store_path)  # opening marks dead runs
    run = tracker.get_run(run_id)
    assert run.status == KILLED and run.end_time is not None and run.end_time <= time.time()
    assert [p.step for p in tracker.metric_history(run_id, "x")] == list(range(500))  # flushed before the kill
    assert tracker.store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    tracker.close()


def test_two_processes_logging_concurrently(store_path):
    Tracker.open(store_path).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOGGER, str(store_path), f"w{i}", "10000", "end"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all(err == "" for _, err in outputs), outputs
    tracker = Tracker.open(store_path)
    for out, _ in outputs:
        run = tracker.get_run(out.strip())
        assert run.status == "FINISHED" and run.metrics["x"].count == 10000
    assert tracker.store.conn.execute("SELECT count(*) FROM metrics").fetchone()[0] == 20000
    tracker.close()


def test_import_nbtrack_is_cheap():
    code = "import sys, nbtrack; heavy = [m for m in ('IPython', 'ipywidgets', 'matplotlib', 'sqlite_utils', 'pandas', 'numpy') if m in sys.modules]; print(heavy)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize("module", ["nbtrack.capture", "nbtrack.provenance"])
def test_pure_modules_import_no_ui_or_ipython(module):
    """At run time too (import-linter checks the static imports): loading them loads no UI."""
    code = f"import sys, {module}; print([m for m in ('IPython', 'ipywidgets', 'matplotlib') if m in sys.modules])"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_api_usable_without_ipython_imported(store_path):
    code = f"import sys, nbtrack; nbtrack.set_store({str(store_path)!r}); nbtrack.log_metric('m', 1); nbtrack.end_run(); print('IPython' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False False"


def test_exit_flushes_points_and_finishes_open_api_runs(store_path):
    code = f"import nbtrack; nbtrack.set_store({str(store_path)!r}); r = nbtrack.start_run('x'); [nbtrack.log_metric('m', i) for i in range(100)]; print(r.id)"
    run_id = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=dict(os.environ)
    ).stdout.strip()
    tracker = Tracker.open(store_path)
    run = tracker.get_run(run_id)
    assert run.metrics["m"].count == 100 and run.status == "FINISHED"
    tracker.close()
