"""Reading artifacts back: the API, runs:/ model URIs, downloads and the CLI, all hash-checked."""

from __future__ import annotations

import json
import math
import zlib

import pytest

import nbtrack
from nbtrack import api
from nbtrack.cli import main
from nbtrack.errors import IntegrityError, NotFoundError, UsageError


@pytest.fixture
def logged(store_path):
    """One run with a text, a dict (with NaN), a binary file and a pickled model."""
    tracker = nbtrack.set_store(store_path)
    try:
        with nbtrack.start_run("artifacts") as run:
            nbtrack.log_text("hello\n", "notes/hello.txt")
            nbtrack.log_dict({"lr": 0.1, "loss": float("nan"), "layers": [64, 32]}, "config.json")
            nbtrack.log_model({"weights": [1, 2, 3]}, "churn")
            nbtrack.log_text("x" * 300_000, "big/blob.txt")  # stored as a file under blobs/
        yield tracker, run.id
    finally:
        api.use(None)


def test_api_reads_back_what_was_logged(logged, tmp_path):
    tracker, run_id = logged
    assert [a.name for a in nbtrack.list_artifacts(run_id)] == [
        "big/blob.txt",
        "config.json",
        "models/churn.pkl",
        "notes/hello.txt",
    ]
    assert nbtrack.load_text(run_id, "notes/hello.txt") == "hello\n"
    config = nbtrack.load_dict(run_id, "config.json")
    assert config["lr"] == 0.1 and math.isnan(config["loss"]) and config["layers"] == [64, 32]
    assert nbtrack.load_artifact(run_id[:8], "big/blob.txt") == b"x" * 300_000
    one = nbtrack.download_artifacts(run_id, "notes/hello.txt", tmp_path / "one")
    assert (
        one == str(tmp_path / "one" / "notes" / "hello.txt")
        and (tmp_path / "one" / "notes" / "hello.txt").read_text() == "hello\n"
    )
    assert nbtrack.download_artifacts(run_id, dst_path=tmp_path / "all") == str(tmp_path / "all")
    written = sorted(str(p.relative_to(tmp_path / "all")) for p in (tmp_path / "all").rglob("*") if p.is_file())
    assert written == ["big/blob.txt", "config.json", "models/churn.pkl", "notes/hello.txt"]


def test_runs_uri_loads_a_logged_model_registered_or_not(logged):
    _, run_id = logged
    assert nbtrack.load_model(f"runs:/{run_id}/churn") == {"weights": [1, 2, 3]}
    assert nbtrack.load_model(f"runs:/{run_id[:8]}/models/churn.pkl") == {"weights": [1, 2, 3]}
    with pytest.raises(
        NotFoundError, match=r"no artifact 'other' \(its artifacts: big/blob.txt, config.json, models/churn.pkl"
    ):
        nbtrack.load_model(f"runs:/{run_id}/other")
    with pytest.raises(UsageError, match="runs:/RUN_ID/ARTIFACT"):
        nbtrack.load_model("runs:/only-a-run")


def test_tampered_bytes_are_refused_before_unpickling(logged):
    tracker, run_id = logged
    sha = tracker.find_artifact(run_id, ["models/churn.pkl"]).sha256
    encoding = tracker.store.query("SELECT encoding FROM blobs WHERE sha256 = ?", (sha,))[0]["encoding"]
    evil = b"cos\nsystem\n(S'echo pwned'\ntR."  # a pickle that would run a command
    payload = zlib.compress(evil) if encoding == "zlib" else evil
    with tracker.store.atomic() as conn:
        conn.execute("UPDATE blobs SET data = ? WHERE sha256 = ?", (payload, sha))
    with pytest.raises(IntegrityError, match="does not match its sha256"):
        nbtrack.load_model(f"runs:/{run_id}/churn")


def test_a_hostile_artifact_name_in_the_store_is_never_written_outside_the_folder(logged, tmp_path):
    tracker, run_id = logged
    with tracker.store.atomic() as conn:
        conn.execute("UPDATE artifacts SET name = '../../escaped.txt' WHERE name = 'notes/hello.txt'")
    with pytest.raises(UsageError, match="must not contain '.', '..'"):
        nbtrack.download_artifacts(run_id, "../../escaped.txt", tmp_path / "dst")
    assert not (tmp_path / "escaped.txt").exists() and not any(tmp_path.rglob("escaped.txt"))


def test_cli_lists_and_gets_artifacts(logged, tmp_path, capsysbinary, monkeypatch):
    tracker, run_id = logged
    store = str(tracker.store.location.directory)
    assert main(["--store", store, "artifacts", "ls", run_id[:8]]) == 0
    listing = capsysbinary.readouterr().out.decode()
    assert "config.json" in listing and "application/json" in listing and "models/churn.pkl" in listing

    monkeypatch.chdir(tmp_path)
    assert main(["--store", store, "artifacts", "get", run_id[:8], "config.json"]) == 0
    assert json.loads((tmp_path / "config.json").read_text())["lr"] == 0.1
    assert main(["--store", store, "artifacts", "get", run_id[:8], "-o", "everything"]) == 0
    assert (tmp_path / "everything" / "models" / "churn.pkl").is_file()
    capsysbinary.readouterr()
    assert main(["--store", store, "artifacts", "get", run_id[:8], "notes/hello.txt", "-o", "-"]) == 0
    assert capsysbinary.readouterr().out == b"hello\n"
    assert main(["--store", store, "artifacts", "get", run_id[:8], "missing.txt"]) == 1
    assert "no artifact 'missing.txt'" in capsysbinary.readouterr().err.decode()
    assert main(["--store", store, "artifacts", "get", run_id[:8], "-o", "-"]) == 1
