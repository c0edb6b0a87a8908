"""Two real processes promoting different versions of one model to Production at the same moment.

Each process opens the store itself, signals it is ready and waits for a shared "go" file,
so both promotions are in flight together. BEGIN IMMEDIATE serializes them; the asserts
are about the end state and the history, never about timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from nbtrack.entities import ARCHIVED, PRODUCTION, STAGE_NONE
from nbtrack.registry import Registry

pytestmark = pytest.mark.slow  # races promoter processes

PROMOTER = r"""
import json, os, sys, time
from nbtrack.errors import RegistryError
from nbtrack.registry import Registry
from nbtrack.store import Store

store_dir, barrier, version, archive, require = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", json.loads(sys.argv[5])
registry = Registry(Store.open(store_dir, create=False), who=f"proc{version}")
open(os.path.join(barrier, f"ready-{version}"), "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(os.path.join(barrier, "go")):
    if time.monotonic() > deadline:
        sys.exit("no go signal")
    time.sleep(0.001)
try:
    registry.promote("fraud", version, "Production", require=require, archive_existing=archive)
except RegistryError as exc:
    print(f"{type(exc).__name__}: {exc}")
    sys.exit(3)
print("promoted")
"""


@pytest.fixture
def two_versions(tracker):
    registry = Registry(tracker.store, runs=tracker.runs)
    for f1 in (0.8, 0.9):
        with tracker.start_run() as run:
            tracker.log_metric("f1", f1)
            tracker.log_model({"f1": f1}, "clf")
        registry.register_model(run, "clf", "fraud")
    return registry


def race(store_path, tmp_path, archive: bool, require: list[str] = ()) -> dict[int, subprocess.CompletedProcess]:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = {
        v: subprocess.Popen(
            [
                sys.executable,
                "-c",
                PROMOTER,
                str(store_path),
                str(barrier),
                str(v),
                "1" if archive else "0",
                json.dumps(list(require)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for v in (1, 2)
    }
    deadline = time.monotonic() + 60
    while not all((barrier / f"ready-{v}").exists() for v in procs):
        assert time.monotonic() < deadline, "promoter processes did not start"
        assert all(p.poll() is None for p in procs.values()), [p.communicate() for p in procs.values()]
        time.sleep(0.01)
    (barrier / "go").touch()
    results = {}
    for v, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        results[v] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return results


def assert_history_is_gap_free(registry):
    events = registry.history("fraud")
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    return events


def test_refusing_to_displace_lets_exactly_one_win(two_versions, store_path, tmp_path):
    results = race(store_path, tmp_path, archive=False)
    codes = sorted(r.returncode for r in results.values())
    assert codes == [0, 3], {v: (r.stdout, r.stderr) for v, r in results.items()}
    winner = next(v for v, r in results.items() if r.returncode == 0)
    loser = 3 - winner
    assert f"version {winner} of 'fraud' holds Production" in results[loser].stdout
    stages = {v.version: v.stage for v in two_versions.get_model("fraud").versions}
    assert stages == {winner: PRODUCTION, loser: STAGE_NONE}
    events = assert_history_is_gap_free(two_versions)
    assert [(e.action, e.version, e.to_value, e.who) for e in events[-1:]] == [
        ("transition", winner, PRODUCTION, f"proc{winner}")
    ]


def test_archiving_serializes_both_promotions_and_the_history_shows_the_order(two_versions, store_path, tmp_path):
    results = race(store_path, tmp_path, archive=True)
    assert [r.returncode for r in results.values()] == [0, 0], {v: (r.stdout, r.stderr) for v, r in results.items()}
    events = assert_history_is_gap_free(two_versions)
    first, archived, second = [(e.version, e.from_value, e.to_value, e.who) for e in events[-3:]]
    last = second[0]
    assert first == (3 - last, STAGE_NONE, PRODUCTION, f"proc{3 - last}")
    assert archived == (3 - last, PRODUCTION, ARCHIVED, f"proc{last}")
    assert second == (last, STAGE_NONE, PRODUCTION, f"proc{last}")
    stages = {v.version: v.stage for v in two_versions.get_model("fraud").versions}
    assert stages == {last: PRODUCTION, 3 - last: ARCHIVED}


def test_a_gate_makes_the_outcome_independent_of_the_order(two_versions, store_path, tmp_path):
    """Gates run inside the promotion's write transaction: the better model ends in Production either way."""
    results = race(store_path, tmp_path, archive=True, require=["metrics.f1 >= production.metrics.f1"])
    assert results[2].returncode == 0, (results[2].stdout, results[2].stderr)
    assert results[1].returncode in (0, 3)  # 0 if it went first (then archived by version 2), 3 if its gate saw 0.9
    assert two_versions.get_model_version("fraud", stage="Production").version == 2
    assert_history_is_gap_free(two_versions)
