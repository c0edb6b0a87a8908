"""Importing an MLflow tracking store made by real MLflow (tests/fixtures/make_mlflow_fixture.py).

The fixture's recorded artifact paths point at the temporary folder it was built in, so
every test here also exercises finding ``mlruns`` after it moved.
"""

from __future__ import annotations

import math
import shutil
import sqlite3
from pathlib import Path

import pytest

from nbtrack.cli import main
from nbtrack.entities import FAILED, FINISHED, KILLED
from nbtrack.errors import UsageError
from nbtrack.importers import import_mlflow
from nbtrack.importers.mlflow import _literal

FIXTURE = Path(__file__).parent / "fixtures" / "mlflow"
GBM = "1e3b467bdefb45b3bdaf879d80a2ddbc"  # the fixture's parent run


@pytest.fixture
def mlflow_dir(tmp_path) -> Path:
    target = tmp_path / "mlflow-project"
    shutil.copytree(FIXTURE, target)
    return target


def by_name(tracker, deleted: bool = False) -> dict:
    return {r.name: r for r in tracker.search_runs(deleted=deleted)}


def test_runs_arrive_with_their_ids_values_histories_and_artifacts(tracker, mlflow_dir):
    before = (mlflow_dir / "mlflow.db").read_bytes()
    report = import_mlflow(tracker, mlflow_dir / "mlflow.db")
    assert (mlflow_dir / "mlflow.db").read_bytes() == before  # opened read-only
    assert len(report.imported) == 7 and report.skipped == []
    assert report.warnings == ["run 607915ad was RUNNING in MLflow; imported as KILLED (nbtrack cannot resume it)"]
    runs = by_name(tracker)
    assert set(runs) == {"gbm", "gbm-fold-1", "logreg", "broken", "never-ended", "scratch"}
    gbm = runs["gbm"]
    assert gbm.id == GBM and gbm.experiment == "churn" and runs["scratch"].experiment == "Default"
    assert gbm.params == {"lr": 0.1, "n_estimators": 200, "deep": True, "grid": [1, 2.5], "model": "gbm", "none": None,
                          "quoted": "'x'", "a_set": "{1, 2}", "version": "1.2.3"}
    assert gbm.tags == {"team": "churn", "unicode": "é✓", "mlflow.source.name": "tests/fixtures/make_mlflow_fixture.py",
                        "mlflow.source.type": "LOCAL", "nbtrack.imported_from": "mlflow"}
    assert gbm.note == "first try" and gbm.user and gbm.end_time > gbm.start_time > 1.7e9
    assert [(p.step, p.value) for p in tracker.metric_history(gbm.id, "loss")] == [(0, 1.0), (1, 0.5), (2, 1 / 3), (3, 0.25), (4, 0.1)]
    odd = [p.value for p in tracker.metric_history(gbm.id, "odd")]
    assert math.isnan(odd[0]) and odd[1:] == [math.inf, -math.inf]
    assert runs["gbm-fold-1"].parent_id == GBM and runs["gbm-fold-1"].metrics["acc"].last == 0.9
    assert (runs["broken"].status, runs["never-ended"].status, runs["logreg"].status) == (FAILED, KILLED, FINISHED)
    assert {a.name for a in gbm.artifacts} == {"cfg.json", "notes/hello.txt"}
    assert tracker.artifact_bytes(gbm.id, "notes/hello.txt") == b"hello"
    assert set(by_name(tracker, deleted=True)) == {"thrown-away"}
    provenance = tracker.runs.provenance(tracker.runs.resolve(gbm.id))["imported_from"]
    assert provenance["tool"] == "mlflow" and provenance["run_id"] == GBM
    assert [r.name for r in tracker.search_runs("params.lr > 0.05 and tags.team = 'churn'")] == ["gbm"]
    assert tracker.store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_importing_again_skips_what_is_there(tracker, mlflow_dir):
    import_mlflow(tracker, mlflow_dir / "mlflow.db")
    counts = [tracker.store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("runs", "params", "metrics", "tags", "artifacts")]
    again = import_mlflow(tracker, f"sqlite:///{mlflow_dir / 'mlflow.db'}")
    assert again.imported == [] and len(again.skipped) == 7
    assert [tracker.store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("runs", "params", "metrics", "tags", "artifacts")] == counts


def test_a_moved_mlruns_folder_is_found_with_artifacts_root(tracker, mlflow_dir, tmp_path):
    lonely = tmp_path / "db-only"
    lonely.mkdir()
    shutil.copyfile(mlflow_dir / "mlflow.db", lonely / "mlflow.db")
    report = import_mlflow(tracker, lonely / "mlflow.db", artifacts=True)
    assert report.artifacts == 0 and "no artifact folder was found for any of the 7 imported runs" in report.warnings[-1]
    fresh = type(tracker).open(tmp_path / "second-store")
    report = import_mlflow(fresh, lonely / "mlflow.db", artifacts_root=mlflow_dir / "mlruns")
    assert report.artifacts == 2 and report.artifact_bytes == len(b"hello") + len((mlflow_dir / "mlruns/1" / GBM / "artifacts/cfg.json").read_bytes())
    assert not any("artifact" in w for w in report.warnings)
    fresh.close()


def test_without_artifacts(tracker, mlflow_dir):
    report = import_mlflow(tracker, mlflow_dir / "mlflow.db", artifacts=False)
    assert report.artifacts == 0 and tracker.get_run(GBM).artifacts == ()


def test_a_run_that_cannot_be_imported_is_reported_and_the_rest_still_arrive(tracker, mlflow_dir):
    conn = sqlite3.connect(mlflow_dir / "mlflow.db")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("UPDATE runs SET run_uuid = 'short' WHERE name = 'logreg'")  # not a 32-hex id
    conn.execute("INSERT INTO tags(key, value, run_uuid) VALUES ('huge', ?, ?)", ("x" * 70_000, GBM))
    conn.commit()
    conn.close()
    (mlflow_dir / "mlruns/1" / GBM / "artifacts" / "odd\\name.txt").write_text("?")
    report = import_mlflow(tracker, mlflow_dir / "mlflow.db")
    assert len(report.imported) == 6 and "logreg" not in by_name(tracker)
    assert any(w.startswith("run short was not imported:") for w in report.warnings)
    assert any(w.startswith("run 1e3b467b: tag 'huge' skipped:") for w in report.warnings)
    assert any(w.startswith("run 1e3b467b: artifact skipped:") and "backslash" in w for w in report.warnings)
    assert "huge" not in tracker.get_run(GBM).tags and len(tracker.get_run(GBM).artifacts) == 2


@pytest.mark.parametrize("text, value", [
    ("0.1", 0.1), ("200", 200), ("True", True), ("None", None), ("[1, 2.5]", [1, 2.5]), ("{'a': [1]}", {"a": [1]}),
    ("'x'", "'x'"), ("{1, 2}", "{1, 2}"), ("1.2.3", "1.2.3"), ("nan", "nan"), ("gbm", "gbm"), ("-3", -3), ("1e400", math.inf),
    ("(1, 2)", (1, 2)), ("[" * 500 + "]" * 500, "[" * 500 + "]" * 500), (" 7 ", 7), ("", ""),
])
def test_param_text_becomes_the_literal_it_spells(text, value):
    assert _literal(text) == value


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.db", "does not exist"),
    (lambda d: (d / "text.db").write_text("not sqlite") and d / "text.db", "is not a SQLite database"),
    (lambda d: Path(__file__).parent / "fixtures" / "schema_0004.db", "is not an MLflow tracking database (it is an nbtrack store)"),
])
def test_other_files_are_refused_with_a_clear_message(tracker, tmp_path, make, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_mlflow(tracker, make(tmp_path))
    assert tracker.search_runs() == []


def test_cli(mlflow_dir, tmp_path, capsys):
    store = tmp_path / "cli-store"
    assert main(["--store", str(store), "import", "mlflow", str(mlflow_dir / "mlflow.db")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("imported 7 runs (") and "skipped 0 already in the store" in out and str(store) in out
    assert main(["--store", str(store), "import", "mlflow", str(mlflow_dir / "mlflow.db"), "--no-artifacts"]) == 0
    assert "imported 0 runs" in capsys.readouterr().out
    assert main(["--store", str(store), "import", "mlflow", str(tmp_path / "nope.db")]) == 1
    assert "does not exist" in capsys.readouterr().err
