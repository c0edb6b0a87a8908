"""The CI promotion example and the demo command, run for real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "example_notebooks"
NBTRACK = str(Path(sys.executable).parent / "nbtrack")


def _registered_versions(tracker, f1_values):
    from nbtrack.registry import Registry

    registry = Registry(tracker.store)
    versions = []
    for f1 in f1_values:
        with tracker.start_run(f"model-f1-{f1}") as run:
            tracker.log_metrics({"f1": f1, "auc": 0.95})
            tracker.log_model({"f1": f1}, "churn")
        versions.append(registry.register_model(run.id, "churn", "Churn Predictor"))
    return registry, versions


def _gate(store_path, version):
    env = {**os.environ, "NBTRACK_STORE": str(store_path), "NBTRACK": NBTRACK}
    return subprocess.run(
        ["bash", str(EXAMPLES / "promotion_gate.sh"), "Churn Predictor", str(version)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.slow
def test_promotion_gate_script(tracker, store_path):
    registry, (v1, v2, v3) = _registered_versions(tracker, [0.80, 0.85, 0.70])
    first = _gate(store_path, v1)
    assert first.returncode == 0 and "promoted Churn Predictor v1" in first.stdout, first.stderr
    better = _gate(store_path, v2)
    assert better.returncode == 0, better.stderr
    worse = _gate(store_path, v3)
    assert worse.returncode == 1 and "gate failed" in worse.stderr
    assert registry.get_model_version("Churn Predictor", stage="Production").version == v2
    assert registry.get_model_version("Churn Predictor", v3).stage == "Staging"
    assert registry.get_model_version("Churn Predictor", v1).stage == "Archived"


@pytest.mark.slow
def test_demo_runs_the_story(tmp_path):
    env = {**os.environ, "NBTRACK_STORE": str(tmp_path / "not-this-one")}
    # options after the command, as the README's demo paragraph invites
    proc = subprocess.run(
        [NBTRACK, "demo", "--output", str(tmp_path / "out"), "--store", str(tmp_path / "store")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "store" / "nbtrack.db").exists() and not (tmp_path / "not-this-one").exists()
    assert "[15/15]" in proc.stdout and "Churn Predictor" in proc.stdout
    assert "v2  Production" in proc.stdout and "v1  Archived" in proc.stdout
    assert (tmp_path / "out" / "churn_quickstart.ipynb").exists()
    # the team policy travelled with the notebook and every run of the story complies with it
    assert (tmp_path / "out" / "pyproject.toml").read_text() == (EXAMPLES / "pyproject.toml").read_text()
    from nbtrack.tracking import Tracker

    tracker = Tracker.open(tmp_path / "store")
    try:
        assert (
            len(tracker.search_runs("policy = 'ok'")) == 4
            and tracker.search_runs("policy != 'ok' or policy is null") == []
        )
    finally:
        tracker.close()
