"""The runs API (``nbtrack.server``) against a real ``jupyter server`` subprocess with token auth."""

from __future__ import annotations

import urllib.parse

import pytest

from browser.jupyterproc import JupyterProcess
from nbtrack.tracking import Tracker

pytestmark = pytest.mark.slow  # a real `jupyter server` subprocess

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = JupyterProcess("server", tmp_path_factory.mktemp("jupyter-server"))
    try:
        yield process.start()
    finally:
        process.stop()


def _log_run(tracker: Tracker, notebook, name, params, metrics):
    run = tracker.start_run(name, params=params)
    tracker.log_metrics(metrics, run=run)
    tracker.runs.update_run(run.row_id, {"notebook_path": str(notebook)})
    return tracker.end_run(run=run)


@pytest.fixture(scope="module")
def runs(server):
    """Two runs of ``exp/train.ipynb`` and one of another notebook, in the server's store."""
    tracker = Tracker.open(server.store)
    try:
        train = server.root / "exp" / "train.ipynb"
        first = _log_run(tracker, train, "first", {"lr": 0.1, "model": "rf"}, {"f1": 0.5})
        second = _log_run(tracker, train, HOSTILE, {"lr": 0.01, "model": "rf"}, {"f1": 0.75, "auc": 0.9})
        other = _log_run(tracker, server.root / "other.ipynb", "elsewhere", {}, {})
    finally:
        tracker.close()
    return {"first": first, "second": second, "other": other}


def _api(path: str, notebook: str = "exp/train.ipynb") -> str:
    return f"/nbtrack/api/{path}?notebook={urllib.parse.quote(notebook)}"


@pytest.mark.parametrize("method,path", [("GET", "runs"), ("GET", "runs/abcd"), ("POST", "runs/abcd/rerun")])
def test_every_route_needs_jupyters_auth(server, method, path):
    status, _ = server.request(method, _api(path), token=False, body=b"" if method == "POST" else None)
    assert status == 403


def test_lists_the_notebooks_runs_newest_first(server, runs):
    status, body = server.request("GET", _api("runs"))
    assert status == 200
    assert body["notebook"] == "exp/train.ipynb"
    assert [r["id"] for r in body["runs"]] == [runs["second"].id, runs["first"].id]
    newest = body["runs"][0]
    assert newest["name"] == HOSTILE  # data stays data: escaping is the panel's job
    assert newest["status"] == "FINISHED"
    assert newest["params"] == {"lr": 0.01, "model": "rf"}
    assert newest["metrics"] == {"f1": 0.75, "auc": 0.9}
    assert newest["short_id"] == runs["second"].id[:8]


def test_other_notebook_and_limit(server, runs):
    assert [r["name"] for r in server.request("GET", _api("runs", "other.ipynb"))[1]["runs"]] == ["elsewhere"]
    assert server.request("GET", _api("runs", "nothing-here.ipynb"))[1]["runs"] == []
    limited = server.request("GET", _api("runs") + "&limit=1")[1]["runs"]
    assert [r["id"] for r in limited] == [runs["second"].id]
    assert server.request("GET", _api("runs") + "&limit=x")[0] == 400


def test_run_detail_carries_the_previous_run(server, runs):
    status, body = server.request("GET", _api(f"runs/{runs['second'].id}"))
    assert status == 200
    assert body["run"]["id"] == runs["second"].id
    assert body["previous"]["id"] == runs["first"].id
    assert body["previous"]["params"]["lr"] == 0.1
    first = server.request("GET", _api(f"runs/{runs['first'].id}"))[1]
    assert first["previous"] is None


def test_errors_are_json_with_a_status(server, runs):
    status, body = server.request("GET", _api("runs/ffffffffffff"))
    assert status == 404 and "ffffffffffff" in body["message"]
    status, body = server.request("GET", _api("runs/100%25sure"))
    assert status == 400 and "100%sure" in body["message"]  # "%" survives tornado's logging
    status, body = server.request("GET", _api("runs", "../../etc/passwd"))
    assert status == 400 and "outside the server root" in body["message"]


def test_reruns_are_listed_with_the_notebook_they_reproduce(server, runs):
    """A rerun executes a copy elsewhere: it is found by its rerun_of tag, and its detail compares it with the original."""
    tracker = Tracker.open(server.store)
    try:
        notebook = server.root / "exp" / "reproduce.ipynb"
        original = _log_run(tracker, notebook, "original", {"seed": 1}, {"f1": 0.8})
        copy = server.root / "scratch" / "reproduce.ipynb"
        rerun = tracker.start_run("original", params={"seed": 1}, tags={"nbtrack.rerun_of": original.id})
        tracker.runs.update_run(rerun.row_id, {"notebook_path": str(copy)})
        rerun = tracker.end_run(run=rerun)
        again = tracker.start_run("original", tags={"nbtrack.rerun_of": rerun.id})
        tracker.runs.update_run(again.row_id, {"notebook_path": str(copy)})
        again = tracker.end_run(run=again)
        later = _log_run(tracker, notebook, "later", {"seed": 2}, {"f1": 0.7})
    finally:
        tracker.close()
    listed = server.request("GET", _api("runs", "exp/reproduce.ipynb"))[1]["runs"]
    assert [r["id"] for r in listed] == [later.id, again.id, rerun.id, original.id]
    assert [r["id"] for r in server.request("GET", _api("runs", "exp/train.ipynb"))[1]["runs"]] == [
        runs["second"].id,
        runs["first"].id,
    ]
    detail = server.request("GET", _api(f"runs/{rerun.id}", "exp/reproduce.ipynb"))[1]
    assert detail["previous"]["id"] == original.id
    assert server.request("GET", _api(f"runs/{later.id}", "exp/reproduce.ipynb"))[1]["previous"]["id"] == original.id


def test_records_carry_data_input_fingerprints(server, runs):
    import numpy as np

    tracker = Tracker.open(server.store)
    try:
        run = tracker.start_run("with data")
        tracker.log_input(np.arange(6.0).reshape(3, 2), "X")
        tracker.runs.update_run(run.row_id, {"notebook_path": str(server.root / "data.ipynb")})
        ended = tracker.end_run(run=run)
    finally:
        tracker.close()
    listed = server.request("GET", _api("runs", "data.ipynb"))[1]["runs"]
    assert listed[0]["inputs"] == {"X": "ndarray 3x2 float64 · " + ended.inputs["X"]["digest"][:12]}
    assert server.request("GET", _api("runs", "exp/train.ipynb"))[1]["runs"][0]["inputs"] == {}


def test_records_name_the_live_model_versions_registered_from_them(server, runs):
    from nbtrack.registry import Registry

    tracker = Tracker.open(server.store)
    try:
        first = _log_run(tracker, server.root / "models.ipynb", "first", {}, {"f1": 0.7})
        second = _log_run(tracker, server.root / "models.ipynb", "second", {}, {"f1": 0.8})
        registry = Registry(tracker.store, runs=tracker.runs)
        for run, name in ((first, HOSTILE), (second, "churn"), (second, "other")):
            registry.register_model(run.id, {"w": 1}, name)
        registry.register_model(second.id, {"w": 2}, "churn")
        registry.promote("churn", 2, "Production")
        registry.delete_model_version("churn", 1)
        registry.delete_model("other")
    finally:
        tracker.close()
    listed = {r["name"]: r["models"] for r in server.request("GET", _api("runs", "models.ipynb"))[1]["runs"]}
    assert listed == {
        "first": [{"name": HOSTILE, "version": 1, "stage": "None"}],
        "second": [{"name": "churn", "version": 2, "stage": "Production"}],
    }
    detail = server.request("GET", _api(f"runs/{second.id}", "models.ipynb"))[1]
    assert detail["run"]["models"] == listed["second"] and detail["previous"]["models"] == listed["first"]
