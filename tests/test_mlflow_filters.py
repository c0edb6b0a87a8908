"""MLflow's filter dialect, table-driven: filter strings written from MLflow's search-runs documentation.

Each row is a filter MLflow accepts and what it must select, written as a predicate over the
runs' definitions (so the expectation is MLflow's meaning, not nbtrack's output); or, for the
few MLflow filters nbtrack cannot answer, the clear error it gives instead.
"""

from __future__ import annotations

import time

import pytest

import nbtrack.mlflow as mlflow
from nbtrack import api
from nbtrack.errors import QueryError

pd = pytest.importorskip("pandas")

NAMES = ["alpha", "beta", "gamma", "run-3", "run-4", "Run-5", "run-6", "run-7", "run-8", "run-9"]
MODELS = ["GPT-2", "GPT-3", "GPT-3.5", "GPT-4"]
TASKS = ["classification", "regression", "causal lm"]


def definition(i: int) -> dict:
    return {
        "i": i,
        "name": NAMES[i],
        "accuracy": i / 10,
        "loss": 1 - i / 10,
        "f1 score": i / 10,
        "batch_size": 2 if i < 5 else 4,
        "learning_rate": 0.001 if i % 2 == 0 else 0.01,
        "model": MODELS[i] if i < 4 else None,
        "task": TASKS[i] if i < 3 else None,
        "environment": "notebook" if i < 5 else None,
        "user": "Monkey D Luffy" if i < 3 else None,
        "dataset": "custom" if i < 5 else "also custom",
        "context": "train" if i < 5 else "test",
        "status": "FAILED" if i == 9 else "FINISHED",
        "type": "LogisticRegression" if i in (1, 2) else "tree",
    }


ROWS = [definition(i) for i in range(10)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tracker = api.set_store(tmp_path_factory.mktemp("filters") / "store")
    mlflow.set_experiment("search-run-guide")
    ids, last_ms = {}, 0
    for row in ROWS:
        deadline = time.monotonic() + 5
        while time.time() * 1000 < last_ms + 2 and time.monotonic() < deadline:
            pass  # each run starts in its own millisecond, so start_time filters in ms tell them apart
        with mlflow.start_run(run_name=row["name"]) as run:
            last_ms = run.info.start_time
            mlflow.log_metrics({"accuracy": row["accuracy"], "loss": row["loss"], "f1 score": row["f1 score"]})
            mlflow.log_params({"batch_size": row["batch_size"], "learning_rate": row["learning_rate"]})
            if row["model"]:
                mlflow.log_param("model", row["model"])
            tags = {k: row[k] for k in ("task", "environment") if row[k]}
            mlflow.set_tags({**tags, "type": row["type"]})
            if row["user"]:
                mlflow.set_tag("mlflow.user", row["user"])
            frame = pd.DataFrame({"x": [row["i"] % 5, 1]})
            mlflow.log_input(mlflow.data.from_pandas(frame, name=row["dataset"]), context=row["context"])
            if row["status"] == "FAILED":
                mlflow.end_run("FAILED")
        ids[row["i"]] = run.info.run_id
    infos = {i: mlflow.get_run(run_id) for i, run_id in ids.items()}
    assert len({run.info.start_time for run in infos.values()}) == len(ROWS)
    yield ids, infos
    api.use(None)
    tracker.close()


def digest(infos, i):
    return infos[i].inputs.dataset_inputs[0].dataset.digest


# (filter, predicate over a run's definition); {run_id[i]}, {start[i]}, {digest[i]} are filled in per run
CASES = [
    ("metrics.accuracy > 0.72", lambda r: r["accuracy"] > 0.72),
    ("metrics.loss <= 0.5", lambda r: r["loss"] <= 0.5),
    ("metrics.accuracy >= 0.3 AND metrics.loss < 0.5", lambda r: r["accuracy"] >= 0.3 and r["loss"] < 0.5),
    ("metric.accuracy = 0.5", lambda r: r["accuracy"] == 0.5),
    ("metrics.`f1 score` > 0.5", lambda r: r["f1 score"] > 0.5),
    ('metrics."f1 score" > 0.5', lambda r: r["f1 score"] > 0.5),
    ("metrics.accuracy != 0.5", lambda r: r["accuracy"] != 0.5),
    ('params.batch_size = "2"', lambda r: r["batch_size"] == 2),
    ("params.batch_size = '4'", lambda r: r["batch_size"] == 4),
    ("param.learning_rate = '0.01'", lambda r: r["learning_rate"] == 0.01),
    (
        'params.learning_rate = "0.001" and params.batch_size = "2"',
        lambda r: r["learning_rate"] == 0.001 and r["batch_size"] == 2,
    ),
    ("params.batch_size != '2'", lambda r: r["batch_size"] != 2),
    ("params.model = 'GPT-3.5'", lambda r: r["model"] == "GPT-3.5"),
    ("params.model LIKE 'GPT-3%'", lambda r: (r["model"] or "").startswith("GPT-3")),
    ("params.model LIKE 'gpt%'", lambda r: False),  # MLflow's LIKE is case-sensitive
    ("params.model ILIKE 'gpt%'", lambda r: r["model"] is not None),
    ("params.model IN ('GPT-2', 'GPT-4')", lambda r: r["model"] in ("GPT-2", "GPT-4")),
    (
        "params.model NOT IN ('GPT-2', 'GPT-4')",
        lambda r: r["model"] is not None and r["model"] not in ("GPT-2", "GPT-4"),
    ),
    ("params.`batch_size` = '2'", lambda r: r["batch_size"] == 2),
    ("tags.task = 'regression'", lambda r: r["task"] == "regression"),
    ('tags.task ILIKE "%CLASS%"', lambda r: "class" in (r["task"] or "")),
    ("tags.task LIKE '%lm'", lambda r: (r["task"] or "").endswith("lm")),
    ("tag.environment = 'notebook'", lambda r: r["environment"] == "notebook"),
    ("tags.`type` ILIKE '%Logistic%'", lambda r: "Logistic" in r["type"]),
    ("tags.`type` LIKE 'logistic%'", lambda r: False),
    ("tags.task != 'regression'", lambda r: r["task"] not in (None, "regression")),
    ("tags.task IN ('classification', 'causal lm')", lambda r: r["task"] in ("classification", "causal lm")),
    ("tags.environment IS NULL", lambda r: r["environment"] is None),
    ("tags.environment IS NOT NULL", lambda r: r["environment"] is not None),
    ("tags.`mlflow.user` = 'Monkey D Luffy'", lambda r: r["user"] == "Monkey D Luffy"),
    (
        "tags.mlflow.user = 'Monkey D Luffy' and metrics.accuracy > 0.1",
        lambda r: r["user"] is not None and r["accuracy"] > 0.1,
    ),
    ("tags.mlflow.runName = 'beta'", lambda r: r["name"] == "beta"),
    ("tags.`mlflow.runName` LIKE 'run-%'", lambda r: r["name"].startswith("run-")),
    ("attributes.status = 'FINISHED'", lambda r: r["status"] == "FINISHED"),
    ('attributes.status = "FAILED"', lambda r: r["status"] == "FAILED"),
    ("attributes.status != 'FAILED'", lambda r: r["status"] != "FAILED"),
    ("status = 'FAILED'", lambda r: r["status"] == "FAILED"),
    ("attribute.status IN ('FAILED', 'KILLED')", lambda r: r["status"] == "FAILED"),
    ("attributes.run_name = 'alpha'", lambda r: r["name"] == "alpha"),
    ("run_name = 'gamma'", lambda r: r["name"] == "gamma"),
    ("attributes.`run_name` IN ('alpha', 'beta', 'gamma')", lambda r: r["name"] in ("alpha", "beta", "gamma")),
    ("attributes.`Run name` IN ('alpha', 'beta')", lambda r: r["name"] in ("alpha", "beta")),
    ("attributes.`Run Name` ILIKE '%A%'", lambda r: "a" in r["name"].lower()),
    ("attributes.run_name LIKE 'run-%'", lambda r: r["name"].startswith("run-")),
    ("attributes.run_name ILIKE 'run-%'", lambda r: r["name"].lower().startswith("run-")),
    ("run.run_name != 'alpha'", lambda r: r["name"] != "alpha"),
    ("attributes.run_id = '{run_id[3]}'", lambda r: r["i"] == 3),
    ("attributes.run_id IN ('{run_id[1]}', '{run_id[4]}')", lambda r: r["i"] in (1, 4)),
    ("attributes.run_id NOT IN ('{run_id[1]}')", lambda r: r["i"] != 1),
    ("attributes.user_id = 'Monkey D Luffy'", lambda r: r["user"] == "Monkey D Luffy"),
    ("attributes.start_time >= {start[5]}", lambda r: r["i"] >= 5),
    ("attributes.created > {start[5]}", lambda r: r["i"] > 5),
    ("attributes.Created < {start[2]}", lambda r: r["i"] < 2),
    ("attributes.start_time = {start[7]}", lambda r: r["i"] == 7),
    ("attributes.end_time IS NOT NULL", lambda r: True),
    ("datasets.name = 'custom'", lambda r: r["dataset"] == "custom"),
    ("datasets.name LIKE '%custom'", lambda r: True),
    ("datasets.name ILIKE 'ALSO%'", lambda r: r["dataset"] == "also custom"),
    ("datasets.context = 'train'", lambda r: r["context"] == "train"),
    ("datasets.context = 'test' AND metrics.accuracy > 0.7", lambda r: r["context"] == "test" and r["accuracy"] > 0.7),
    ("datasets.digest = '{digest[0]}'", lambda r: r["i"] in (0, 5)),  # runs 0 and 5 read the same data
    ("datasets.digest IN ('{digest[1]}', '{digest[2]}')", lambda r: r["i"] in (1, 2, 6, 7)),
    (
        "metrics.accuracy > 0.2 and params.batch_size = '4' and tags.environment IS NULL and datasets.context = 'test'",
        lambda r: r["accuracy"] > 0.2 and r["batch_size"] == 4 and r["context"] == "test",
    ),
]

ERRORS = [
    ("attributes.artifact_uri = 'x'", "artifact_uri"),
    ("attributes.lifecycle_stage = 'deleted'", "run_view_type"),
    ("datasets.source = 'x'", "datasets has the fields name, digest, context"),
    ("metrics.accuracy LIKE '0.%'", "'like' needs text"),
    ("attributes.start_time LIKE '1%'", "'like' needs text"),
    ("metrics.accuracy > 'high'", "metrics are numbers"),
    ("params.model = ", "expected a value"),
]


def fill(text: str, ids: dict, infos: dict) -> str:
    return text.format(
        run_id=ids,
        start={i: run.info.start_time for i, run in infos.items()},
        digest={i: digest(infos, i) for i in infos},
    )


@pytest.mark.parametrize("text, predicate", CASES, ids=[c[0] for c in CASES])
def test_mlflow_filter(runs, text, predicate):
    ids, infos = runs
    found = {r.info.run_id for r in mlflow.search_runs(filter_string=fill(text, ids, infos), output_format="list")}
    assert found == {ids[row["i"]] for row in ROWS if predicate(row)}


@pytest.mark.parametrize("text, message", ERRORS, ids=[e[0] for e in ERRORS])
def test_mlflow_filter_refused_with_a_clear_error(runs, text, message):
    with pytest.raises(QueryError) as info:
        mlflow.search_runs(filter_string=text)
    assert message in str(info.value)


def test_order_by_list_with_mlflow_terms(runs):
    ids, infos = runs
    ordered = mlflow.search_runs(order_by=["params.batch_size DESC", "metrics.`f1 score` ASC"], output_format="list")
    expected = sorted(ROWS, key=lambda r: (-r["batch_size"], r["f1 score"]))
    assert [r.info.run_id for r in ordered] == [ids[r["i"]] for r in expected]
    by_start = mlflow.search_runs(order_by=["attributes.start_time DESC"], max_results=3, output_format="list")
    assert [r.info.run_id for r in by_start] == [ids[9], ids[8], ids[7]]


def test_the_case_insensitive_like_of_nbtrack_stays(runs):
    """nbtrack's own dialect keeps its case-insensitive LIKE; ILIKE works in both."""
    tracker = api.tracker()
    assert {r.name for r in tracker.search_runs("params.model like 'gpt-3%'")} == {"beta", "gamma"}
    assert {r.name for r in tracker.search_runs("params.model ilike 'gpt-3%'")} == {"beta", "gamma"}
    assert {
        r.name for r in tracker.search_runs("params.batch_size = '2'")
    } == set()  # nbtrack: a string is not the int 2
