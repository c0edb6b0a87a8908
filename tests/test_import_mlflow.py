"""Importing an MLflow tracking store made by real MLflow (tests/fixtures/make_mlflow_fixture.py).

The fixture's recorded artifact paths point at the temporary folder it was built in, so
every test here also exercises finding ``mlruns`` after it moved.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from nbtrack.cli import main
from nbtrack.entities import FAILED, FINISHED, KILLED
from nbtrack.errors import UsageError
from nbtrack.importers import import_mlflow
from nbtrack.importers.mlflow import _literal

FIXTURE = Path(__file__).parent / "fixtures" / "mlflow"


def _mlflow_ids() -> dict[str, str]:
    conn = sqlite3.connect(f"file:{FIXTURE / 'mlflow.db'}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT name, run_uuid FROM runs"))
    finally:
        conn.close()


IDS = _mlflow_ids()
GBM = IDS["gbm"]  # the fixture's parent run
LIVE = {
    "gbm",
    "gbm-fold-1",
    "logreg",
    "broken",
    "never-ended",
    "scratch",
    "logreg-C1.0",
    "logreg-C0.5",
    "logreg-C2.0",
    "hand-pickled",
}


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
    assert len(report.imported) == 11 and report.skipped == []
    assert (
        f"run {IDS['never-ended'][:8]} was RUNNING in MLflow; imported as KILLED (nbtrack cannot resume it)"
        in report.warnings
    )
    # gbm logged loss twice at step 4: MLflow keeps both points, nbtrack the last, and the report says so
    assert (
        f"run {GBM[:8]}: metric 'loss' had 1 more value logged at a step that already had one; MLflow keeps every point, "
        "nbtrack the last value per step" in report.warnings
    )
    runs = by_name(tracker)
    assert set(runs) == LIVE
    gbm = runs["gbm"]
    assert gbm.id == GBM and gbm.experiment == "churn" and runs["scratch"].experiment == "Default"
    assert gbm.params == {
        "lr": 0.1,
        "n_estimators": 200,
        "deep": True,
        "grid": [1, 2.5],
        "model": "gbm",
        "none": None,
        "quoted": "'x'",
        "a_set": "{1, 2}",
        "version": "1.2.3",
    }
    assert gbm.tags == {
        "team": "churn",
        "unicode": "é✓",
        "mlflow.source.name": "tests/fixtures/make_mlflow_fixture.py",
        "mlflow.source.type": "LOCAL",
        "nbtrack.imported_from": "mlflow",
    }
    assert gbm.note == "first try" and gbm.user and gbm.end_time > gbm.start_time > 1.7e9
    assert [(p.step, p.value) for p in tracker.metric_history(gbm.id, "loss")] == [
        (0, 1.0),
        (1, 0.5),
        (2, 1 / 3),
        (3, 0.25),
        (4, 0.1),
    ]
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
    # MLflow's system tags find imported runs: folded into fields (runName, user) or kept as tags (source.name)
    assert [r.name for r in tracker.search_runs("tags.mlflow.runName = 'gbm' and tags.mlflow.user IS NOT NULL")] == [
        "gbm"
    ]
    assert GBM in {
        r.id for r in tracker.search_runs("tags.mlflow.source.name = 'tests/fixtures/make_mlflow_fixture.py'")
    }
    assert GBM not in {r.id for r in tracker.search_runs("tags.mlflow.source.name IS NULL")}
    assert tracker.store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_importing_again_skips_what_is_there(tracker, mlflow_dir):
    import_mlflow(tracker, mlflow_dir / "mlflow.db")
    counts = [
        tracker.store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("runs", "params", "metrics", "tags", "artifacts")
    ]
    again = import_mlflow(tracker, f"sqlite:///{mlflow_dir / 'mlflow.db'}")
    assert again.imported == [] and len(again.skipped) == 11
    assert again.models == [] and again.skipped_models == ["Churn Predictor"]
    assert [
        tracker.store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("runs", "params", "metrics", "tags", "artifacts")
    ] == counts


def test_a_moved_mlruns_folder_is_found_with_artifacts_root(tracker, mlflow_dir, tmp_path):
    lonely = tmp_path / "db-only"
    lonely.mkdir()
    shutil.copyfile(mlflow_dir / "mlflow.db", lonely / "mlflow.db")
    report = import_mlflow(tracker, lonely / "mlflow.db", artifacts=True)
    assert report.artifacts == 0 and any(
        "no artifact folder was found for any of the 11 imported runs" in w for w in report.warnings
    )
    assert report.versions == 0 and any("its model files were not found" in w for w in report.warnings)
    fresh = type(tracker).open(tmp_path / "second-store")
    report = import_mlflow(fresh, lonely / "mlflow.db", artifacts_root=mlflow_dir / "mlruns")
    assert report.artifacts == 3 and report.versions == 3
    run_files = [p for p in (mlflow_dir / "mlruns").rglob("*") if p.is_file() and "/models/m-" not in p.as_posix()]
    assert len(run_files) == 3 and report.artifact_bytes == sum(p.stat().st_size for p in run_files)
    assert not any("not found" in w for w in report.warnings)
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
    assert len(report.imported) == 10 and "logreg" not in by_name(tracker)
    assert any(w.startswith("run short was not imported:") for w in report.warnings)
    assert any(w.startswith(f"run {GBM[:8]}: tag 'huge' skipped:") for w in report.warnings)
    assert any(w.startswith(f"run {GBM[:8]}: artifact skipped:") and "backslash" in w for w in report.warnings)
    assert "huge" not in tracker.get_run(GBM).tags and len(tracker.get_run(GBM).artifacts) == 2


@pytest.mark.parametrize(
    "text, value",
    [
        ("0.1", 0.1),
        ("200", 200),
        ("True", True),
        ("None", None),
        ("[1, 2.5]", [1, 2.5]),
        ("{'a': [1]}", {"a": [1]}),
        ("'x'", "'x'"),
        ("{1, 2}", "{1, 2}"),
        ("1.2.3", "1.2.3"),
        ("nan", "nan"),
        ("gbm", "gbm"),
        ("-3", -3),
        ("[" * 500 + "]" * 500, "[" * 500 + "]" * 500),
        ("", ""),
        # text whose value would read back as other text stays text: MLflow showed exactly this
        ("1e400", "1e400"),
        ("1e3", "1e3"),
        ("0.10", "0.10"),
        ("(1, 2)", "(1, 2)"),
        (" 7 ", " 7 "),
        ("007", "007"),
        ("+5", "+5"),
        ("1_000", "1_000"),
        ("-0", "-0"),
        ("1.0e-5", "1.0e-5"),
    ],
)
def test_param_text_becomes_the_literal_it_spells(text, value):
    assert _literal(text) == value
    assert type(_literal(text)) is type(value)


def test_param_text_that_would_not_round_trip_reads_back_as_mlflow_showed_it(tracker, mlflow_dir):
    conn = sqlite3.connect(mlflow_dir / "mlflow.db")
    conn.executemany(
        "INSERT INTO params(key, value, run_uuid) VALUES (?, ?, ?)", [("big", "1e3", GBM), ("ratio", "0.10", GBM)]
    )
    conn.commit()
    conn.close()
    import_mlflow(tracker, mlflow_dir / "mlflow.db")
    params = tracker.get_run(GBM).params
    assert params["big"] == "1e3" and params["ratio"] == "0.10" and params["lr"] == 0.1


def test_dataset_inputs_become_data_inputs(tracker, mlflow_dir):
    conn = sqlite3.connect(mlflow_dir / "mlflow.db")
    experiment = conn.execute("SELECT experiment_id FROM runs WHERE run_uuid = ?", (GBM,)).fetchone()[0]
    conn.executemany(
        "INSERT INTO datasets(dataset_uuid, experiment_id, name, digest, dataset_source_type, dataset_source) "
        "VALUES (?, ?, ?, ?, 'local', ?)",
        [
            ("d1", experiment, "train", "a1b2c3d4", "/data/train.csv"),
            ("d2", experiment, "eval", "e5f6a7b8", "/data/eval.csv"),
        ],
    )
    conn.executemany(
        "INSERT INTO inputs(input_uuid, source_type, source_id, destination_type, destination_id) VALUES (?, 'DATASET', ?, 'RUN', ?)",
        [("i1", "d1", GBM), ("i2", "d2", GBM)],
    )
    conn.executemany(
        "INSERT INTO input_tags(input_uuid, name, value) VALUES (?, 'mlflow.data.context', ?)",
        [("i1", "training"), ("i2", "eval")],
    )
    conn.commit()
    conn.close()
    import_mlflow(tracker, mlflow_dir / "mlflow.db")
    inputs = tracker.get_run(GBM).inputs
    assert inputs["train"]["digest"] == "a1b2c3d4" and inputs["train"]["context"] == "training"
    assert inputs["eval"]["source"] == "/data/eval.csv"
    assert [r.id for r in tracker.search_runs("datasets.context = 'training' and datasets.name = 'train'")] == [GBM]
    assert [r.id for r in tracker.search_runs("inputs.eval = 'e5f6a7b8'")] == [GBM]


def test_logged_models_become_artifacts_of_their_runs(tracker, mlflow_dir):
    report = import_mlflow(tracker, mlflow_dir / "mlflow.db")
    assert len(report.logged_models) == 3 and "kept 3 MLflow logged models" in report.summary()
    run = tracker.get_run(IDS["logreg-C1.0"])
    names = {a.name for a in run.artifacts}
    (model_id,) = {n.split("/")[1] for n in names if n.startswith("logged_models/")}
    assert {f"logged_models/{model_id}/MLmodel", f"logged_models/{model_id}/model.skops"} <= names
    record = json.loads(tracker.artifact_bytes(run.id, f"logged_models/{model_id}/logged_model.json"))
    assert record["name"] == "clf" and record["params"] == {"C": "1.0"} and record["metrics"][0]["key"] == "f1"
    again = import_mlflow(tracker, mlflow_dir / "mlflow.db")
    assert again.logged_models == []  # imported once


def test_logged_model_without_files_is_named_in_the_report(tracker, mlflow_dir):
    shutil.rmtree(mlflow_dir / "mlruns" / "1" / "models")
    report = import_mlflow(tracker, mlflow_dir / "mlflow.db")
    assert report.logged_models == []
    assert sum(w.startswith("logged model m-") and "its files were not found" in w for w in report.warnings) == 3


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.db", "does not exist"),
        (lambda d: d, "is a folder; nbtrack reads MLflow's SQLite backend store"),
        (lambda d: (d / "text.db").write_text("not sqlite") and d / "text.db", "is not a SQLite database"),
        (
            lambda d: Path(__file__).parent / "fixtures" / "schema_0004.db",
            "is not an MLflow tracking database (it is an nbtrack store)",
        ),
    ],
)
def test_other_files_are_refused_with_a_clear_message(tracker, tmp_path, make, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_mlflow(tracker, make(tmp_path))
    assert tracker.search_runs() == []


def test_cli(mlflow_dir, tmp_path, capsys):
    store = tmp_path / "cli-store"
    assert main(["--store", str(store), "import", "mlflow", str(mlflow_dir / "mlflow.db")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("imported 11 runs (") and "skipped 0 already in the store" in out and str(store) in out
    assert main(["--store", str(store), "import", "mlflow", str(mlflow_dir / "mlflow.db"), "--no-artifacts"]) == 0
    assert "imported 0 runs" in capsys.readouterr().out
    assert main(["--store", str(store), "import", "mlflow", str(tmp_path / "nope.db")]) == 1
    assert "does not exist" in capsys.readouterr().err


# -- the model registry -------------------------------------------------------------------------------
def test_registered_models_keep_numbers_stages_aliases_tags_and_descriptions(tracker, mlflow_dir):
    from nbtrack.registry import Registry

    report = import_mlflow(tracker, mlflow_dir / "mlflow.db")
    assert report.models == ["Churn Predictor"] and report.versions == 3
    registry = Registry(tracker.store, runs=tracker.runs)
    model = registry.get_model("Churn Predictor")
    assert [(v.version, v.stage) for v in model.versions] == [
        (1, "Production"),
        (3, "Staging"),
        (4, "None"),
    ]  # 2 was deleted in MLflow
    assert (
        model.aliases == {"champion": 1} and model.description == "predicts churn" and model.tags == {"team": "churn"}
    )
    assert model.versions[0].tags == {"validated": "yes"} and model.versions[1].description == "C=2"
    assert [v.run_id for v in model.versions] == [IDS["logreg-C1.0"], IDS["logreg-C2.0"], IDS["hand-pickled"]]
    # MLflow 2 style (a pickle among the run's artifacts): loadable, and the artifact is the run's own
    assert (
        registry.load_model("models:/Churn Predictor/4") == {"weights": [1, 2]}
        and model.versions[2].artifact == "model/model.pkl"
    )
    # ... and by the run URI MLflow used for it (the model folder's name)
    assert tracker.load_model_artifact(IDS["hand-pickled"], "model") == {"weights": [1, 2]}
    # MLflow 3 scikit-learn models are skops files: kept whole, refused by load_model with directions
    assert model.versions[0].artifact == "models/Churn Predictor-v1.mlflow.zip"
    with pytest.raises(UsageError, match="is an MLflow model directory .* load it with mlflow.pyfunc.load_model"):
        registry.load_model("models:/Churn Predictor@champion")
    archive = zipfile.ZipFile(io.BytesIO(tracker.artifact_bytes(IDS["logreg-C1.0"], model.versions[0].artifact)))
    assert {"MLmodel", "model.skops"} <= set(archive.namelist())
    assert sum("is not a pickle (model.skops)" in w for w in report.warnings) == 2
    # the audit trail says it was an import, with MLflow's own creation data
    history = registry.history("Churn Predictor")
    assert {e.comment.split(":")[0] for e in history if e.action in ("create_model", "register", "transition")} == {
        "imported from MLflow"
    }
    registered = [e for e in history if e.action == "register"]
    assert [e.version for e in registered] == [1, 3, 4] and all(e.details["created"] > 1.7e9 for e in registered)
    # gates and comparisons work on imported versions
    assert registry.compare_versions("Churn Predictor", "Production", "Staging").metric("f1").delta == pytest.approx(
        0.01
    )
    assert registry.models.next_version(registry.models.model_id("Churn Predictor")) == 5


def test_a_version_deleted_in_mlflow_keeps_its_number(tracker, mlflow_dir):
    from nbtrack.registry import Registry

    conn = sqlite3.connect(mlflow_dir / "mlflow.db")
    row = conn.execute("SELECT * FROM model_versions WHERE version = 2").fetchone()
    columns = [r[1] for r in conn.execute("PRAGMA table_info(model_versions)")]
    conn.execute(
        f"INSERT INTO model_versions({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        tuple(5 if c == "version" else v for c, v in zip(columns, row)),
    )  # v5, deleted in MLflow (as v2 is)
    conn.commit()
    conn.close()
    import_mlflow(tracker, mlflow_dir / "mlflow.db")
    registry = Registry(tracker.store, runs=tracker.runs)
    assert [v.version for v in registry.get_model("Churn Predictor").versions] == [1, 3, 4]
    with tracker.start_run() as run:
        tracker.log_model({"w": 1}, "next")
    assert registry.register_model(run, "next", "Churn Predictor") == 6
    deleted = [e for e in registry.history("Churn Predictor") if e.action == "delete_version"]
    assert [e.version for e in deleted] == [2, 5] and all(
        "deleted there before the import" in e.comment for e in deleted
    )


def test_several_production_versions_in_mlflow_become_one(tracker, mlflow_dir):
    from nbtrack.registry import Registry

    conn = sqlite3.connect(mlflow_dir / "mlflow.db")
    conn.execute("UPDATE model_versions SET current_stage = 'Production' WHERE version IN (3, 4)")
    conn.commit()
    conn.close()
    report = import_mlflow(tracker, mlflow_dir / "mlflow.db")
    stages = {
        v.version: v.stage for v in Registry(tracker.store, runs=tracker.runs).get_model("Churn Predictor").versions
    }
    assert stages == {1: "Archived", 3: "Archived", 4: "Production"}
    assert sum("was in Production in MLflow next to version 4; imported as Archived" in w for w in report.warnings) == 2


def test_a_version_whose_run_was_not_imported_is_skipped_and_named(tracker, mlflow_dir):
    from nbtrack.registry import Registry

    conn = sqlite3.connect(mlflow_dir / "mlflow.db")
    conn.execute("UPDATE model_versions SET run_id = 'ffffffffffffffffffffffffffffffff' WHERE version = 3")
    conn.execute("UPDATE registered_model_aliases SET version = 3")
    conn.commit()
    conn.close()
    report = import_mlflow(tracker, mlflow_dir / "mlflow.db", models=True)
    model = Registry(tracker.store, runs=tracker.runs).get_model("Churn Predictor")
    assert [v.version for v in model.versions] == [1, 4] and model.aliases == {}
    assert "model 'Churn Predictor' version 3 skipped: its run ffffffff is not in the store" in report.warnings
    assert "model 'Churn Predictor': alias 'champion' skipped: version 3 was not imported" in report.warnings


def test_models_can_be_left_out(tracker, mlflow_dir):
    report = import_mlflow(tracker, mlflow_dir / "mlflow.db", models=False)
    assert report.models == [] and tracker.store.query("SELECT count(*) FROM registered_models")[0][0] == 0
    later = import_mlflow(tracker, mlflow_dir / "mlflow.db")
    assert later.imported == [] and later.models == ["Churn Predictor"]


def test_the_report_displays_as_its_summary_in_ipython(tracker, mlflow_dir):
    from IPython.lib.pretty import pretty

    report = import_mlflow(tracker, mlflow_dir / "mlflow.db")
    assert pretty(report) == report.summary() == str(report)
    assert (
        pretty(report).splitlines()[1]
        == "imported 1 registered model with 3 versions; skipped 0 already in the registry"
    )
    assert repr(report) == f"<ImportReport: 11 runs, 1 models, {len(report.warnings)} warnings>"


def test_a_tracking_servers_proxied_artifacts_are_found_in_mlartifacts(tracker, mlflow_dir):
    conn = sqlite3.connect(mlflow_dir / "mlflow.db")
    conn.execute(
        "UPDATE runs SET artifact_uri = 'mlflow-artifacts:/' || experiment_id || '/' || run_uuid || '/artifacts'"
    )
    conn.commit()
    conn.close()
    (mlflow_dir / "mlruns").rename(mlflow_dir / "mlartifacts")
    report = import_mlflow(tracker, mlflow_dir / "mlflow.db", models=False)
    assert report.artifacts == 3 and tracker.artifact_bytes(GBM, "notes/hello.txt") == b"hello"


def test_symbolic_links_among_artifacts_are_not_followed(tracker, mlflow_dir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not copy me")
    (mlflow_dir / "mlruns/1" / GBM / "artifacts" / "link.txt").symlink_to(secret)
    import_mlflow(tracker, mlflow_dir / "mlflow.db")
    assert {a.name for a in tracker.get_run(GBM).artifacts} == {"cfg.json", "notes/hello.txt"}


def test_runs_whose_artifacts_are_remote_are_named_in_the_report(tracker, mlflow_dir):
    conn = sqlite3.connect(mlflow_dir / "mlflow.db")
    conn.execute("UPDATE runs SET artifact_uri = 's3://team-bucket/mlflow/' || run_uuid WHERE name = 'logreg'")
    conn.commit()
    conn.close()
    report = import_mlflow(tracker, mlflow_dir / "mlflow.db", models=False)
    assert (
        f"run {IDS['logreg'][:8]}: its artifacts are in s3://team-bucket/mlflow/{IDS['logreg']}; "
        "nbtrack copies local artifacts only (download them, then pass --artifacts-root)" in report.warnings
    )
    assert tracker.get_run(IDS["logreg"]).status == "FINISHED" and report.artifacts == 3
