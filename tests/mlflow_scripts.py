"""MLflow-style scripts, written in the shapes MLflow's documentation uses, that must run unchanged.

Each script starts with ``import mlflow`` (the test points that name at ``nbtrack.mlflow``, or
leaves it to real MLflow in the differential test), uses ``workdir`` (a scratch folder), asserts
what MLflow documents and leaves its results in ``out`` for comparisons.
"""

QUICKSTART = """
import mlflow
import mlflow.sklearn
import mlflow.pyfunc
import mlflow.artifacts
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from mlflow.models import infer_signature

X, y = datasets.load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
params = {"solver": "lbfgs", "max_iter": 1000, "multi_class": "auto", "random_state": 8888}
lr = LogisticRegression(**{k: v for k, v in params.items() if k != "multi_class"})
lr.fit(X_train, y_train)
y_pred = lr.predict(X_test)
accuracy = accuracy_score(y_test, y_pred)

mlflow.set_experiment("MLflow Quickstart")
with mlflow.start_run() as run:
    mlflow.log_params(params)
    mlflow.log_metric("accuracy", accuracy)
    mlflow.set_tag("Training Info", "Basic LR model for iris data")
    signature = infer_signature(X_train, lr.predict(X_train))
    model_info = mlflow.sklearn.log_model(sk_model=lr, name="iris_model", signature=signature, input_example=X_train,
                                          registered_model_name="tracking-quickstart")

loaded_model = mlflow.pyfunc.load_model(model_info.model_uri)
predictions = loaded_model.predict(X_test)
assert list(predictions) == list(y_pred)
fetched = mlflow.get_run(run.info.run_id)
assert fetched.info.status == "FINISHED" and fetched.info.end_time >= fetched.info.start_time > 1.7e12
assert fetched.data.params == {"solver": "lbfgs", "max_iter": "1000", "multi_class": "auto", "random_state": "8888"}
assert fetched.data.metrics == {"accuracy": accuracy}
assert fetched.data.tags["Training Info"] == "Basic LR model for iris data"
assert model_info.registered_model_version in ("1", 1)
version = mlflow.MlflowClient().get_model_version("tracking-quickstart", "1")
assert version.run_id == run.info.run_id and version.current_stage == "None"
assert list(mlflow.sklearn.load_model("models:/tracking-quickstart/1").predict(X_test)) == list(y_pred)
out["params"], out["metrics"] = fetched.data.params, fetched.data.metrics
"""

NESTED = """
import mlflow
import mlflow.sklearn
import mlflow.pyfunc
import mlflow.artifacts
mlflow.set_experiment("tuning")
with mlflow.start_run(run_name="search") as parent:
    mlflow.log_param("space", "grid")
    for lr in (0.1, 0.01):
        with mlflow.start_run(run_name=f"lr={lr}", nested=True) as child:
            mlflow.log_param("lr", lr)
            mlflow.log_metric("loss", lr * 10)
    assert mlflow.active_run().info.run_id == parent.info.run_id
try:
    with mlflow.start_run():
        mlflow.start_run()  # a second top-level run while one is active
    raise AssertionError("start_run without nested=True inside a run must fail")
except Exception as exc:
    assert "nested=True" in str(exc)
mlflow.end_run()
assert mlflow.active_run() is None
children = mlflow.search_runs(filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'", order_by=["params.lr ASC"])
assert list(children["tags.mlflow.runName"]) == ["lr=0.01", "lr=0.1"]
assert list(children["params.lr"]) == ["0.01", "0.1"]
assert list(children["metrics.loss"]) == [0.1, 1.0]
assert mlflow.last_active_run() is not None
out["children"] = sorted(children["tags.mlflow.runName"])
"""

REGISTRY = """
import mlflow
import mlflow.sklearn
import mlflow.pyfunc
import mlflow.artifacts
from mlflow import MlflowClient

from sklearn.linear_model import LinearRegression

X, y = [[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0]
client = MlflowClient()
with mlflow.start_run() as run:
    info = mlflow.sklearn.log_model(LinearRegression().fit(X, y), name="model")
    mlflow.log_metric("f1", 0.8)
client.create_registered_model("churn", tags={"team": "growth"}, description="churn model")
for _ in range(3):
    mv = client.create_model_version("churn", info.model_uri, run_id=run.info.run_id)
assert mv.version in ("3", 3) and mv.current_stage == "None"
registered = mlflow.register_model(f"runs:/{run.info.run_id}/model", "churn")
assert str(registered.version) == "4" and registered.name == "churn"
client.transition_model_version_stage("churn", 1, "Staging")
client.transition_model_version_stage("churn", 2, "Production")
client.transition_model_version_stage("churn", 3, "Production", archive_existing_versions=True)
assert client.get_model_version("churn", "2").current_stage == "Archived"
assert client.get_model_version("churn", "3").current_stage == "Production"
latest = {v.current_stage: str(v.version) for v in client.get_latest_versions("churn")}
assert latest == {"Staging": "1", "Production": "3", "Archived": "2", "None": "4"}
assert [str(v.version) for v in client.get_latest_versions("churn", stages=["Production"])] == ["3"]
client.set_registered_model_alias("churn", "champion", 3)
client.set_registered_model_alias("churn", "challenger", "4")
assert str(client.get_model_version_by_alias("churn", "champion").version) == "3"
assert "champion" in client.get_model_version("churn", 3).aliases
client.delete_registered_model_alias("churn", "challenger")
client.set_model_version_tag("churn", "3", "validated", "yes")
client.update_model_version("churn", "3", description="best so far")
v3 = client.get_model_version("churn", "3")
assert v3.tags == {"validated": "yes"} and v3.description == "best so far"
assert sorted(str(v.version) for v in client.search_model_versions("name = 'churn'")) == ["1", "2", "3", "4"]
assert [m.name for m in client.search_registered_models(filter_string="name LIKE 'chu%'")] == ["churn"]
model = client.get_registered_model("churn")
assert model.description == "churn model" and model.tags == {"team": "growth"}
assert {alias: str(version) for alias, version in model.aliases.items()} == {"champion": "3"}
assert [round(v, 6) for v in mlflow.pyfunc.load_model("models:/churn@champion").predict([[3.0]])] == [7.0]
assert [round(v, 6) for v in mlflow.sklearn.load_model("models:/churn/Production").predict([[4.0]])] == [9.0]
out["stages"] = latest
"""

SEARCH = """
import mlflow
import mlflow.sklearn
import mlflow.pyfunc
import mlflow.artifacts
mlflow.set_experiment("search")
for i, (model, lr) in enumerate([("gbm", 0.1), ("gbm", 0.01), ("rf", 0.05)]):
    with mlflow.start_run(run_name=f"{model}-{i}"):
        mlflow.log_params({"model": model, "lr": lr})
        mlflow.log_metric("rmse", 1.0 - lr)
        mlflow.set_tag("team", "churn" if i < 2 else "ads")
frame = mlflow.search_runs(filter_string="metrics.rmse < 0.99 and params.model = 'gbm'", order_by=["metrics.rmse DESC"])
assert list(frame["tags.mlflow.runName"]) == ["gbm-0"]
for column in ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time", "metrics.rmse", "params.lr",
               "params.model", "tags.team", "tags.mlflow.runName"):
    assert column in frame.columns, column
frame = mlflow.search_runs(order_by=["params.model ASC", "metrics.rmse DESC"])
assert list(frame["tags.mlflow.runName"]) == ["gbm-1", "gbm-0", "rf-2"]
runs = mlflow.search_runs(filter_string="attributes.run_name LIKE 'gbm%'", output_format="list")
assert sorted(r.info.run_name for r in runs) == ["gbm-0", "gbm-1"]
assert len(mlflow.search_runs(filter_string="tags.team ILIKE 'CHURN'")) == 2
assert len(mlflow.search_runs(filter_string="tags.team LIKE 'CHURN'")) == 0
assert len(mlflow.search_runs(filter_string="params.lr = '0.01'")) == 1
assert len(mlflow.search_runs(filter_string="attributes.status = 'FINISHED'", max_results=2)) == 2
experiment = mlflow.get_experiment_by_name("search")
assert len(mlflow.search_runs(experiment_ids=[experiment.experiment_id])) == 3
assert len(mlflow.search_runs(experiment_names=["search"], filter_string="metrics.rmse > 0.9")) == 2
from mlflow.entities import ViewType
gone = mlflow.search_runs(output_format="list")[0].info.run_id
mlflow.delete_run(gone)
assert len(mlflow.search_runs()) == 2
assert len(mlflow.search_runs(run_view_type=ViewType.DELETED_ONLY)) == 1
assert len(mlflow.search_runs(run_view_type=ViewType.ALL)) == 3
assert mlflow.get_run(gone).info.lifecycle_stage == "deleted"
out["names"] = sorted(frame["tags.mlflow.runName"])
"""

ARTIFACTS = """
import mlflow
import mlflow.sklearn
import mlflow.pyfunc
import mlflow.artifacts
import os, json
src = os.path.join(workdir, "features.txt")
with open(src, "w") as handle:
    handle.write("a,b")
folder = os.path.join(workdir, "plots")
os.makedirs(os.path.join(folder, "inner"))
for name in ("roc.txt", "inner/pr.txt"):
    with open(os.path.join(folder, name), "w") as handle:
        handle.write(name)
with mlflow.start_run() as run:
    mlflow.log_artifact(src)
    mlflow.log_artifact(src, artifact_path="data")
    mlflow.log_artifacts(folder, artifact_path="charts")
    mlflow.log_dict({"lr": 0.1, "layers": [1, 2]}, "config.yaml")
    mlflow.log_dict({"lr": 0.1}, "config.json")
    mlflow.log_text("hello", "notes/readme.md")
    uri = mlflow.get_artifact_uri("data")
client = mlflow.MlflowClient()
listed = {(f.path, f.is_dir) for f in client.list_artifacts(run.info.run_id)}
assert listed == {("features.txt", False), ("data", True), ("charts", True), ("config.yaml", False), ("config.json", False), ("notes", True)}
assert {f.path for f in client.list_artifacts(run.info.run_id, "charts")} == {"charts/roc.txt", "charts/inner"}
local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="config.yaml", dst_path=os.path.join(workdir, "dl"))
text = open(local).read()
assert "lr: 0.1" in text and not text.lstrip().startswith("{")
assert json.load(open(client.download_artifacts(run.info.run_id, "config.json", os.path.join(workdir, "dl2")))) == {"lr": 0.1}
got = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=os.path.join(workdir, "dl3"))
assert open(os.path.join(got, "features.txt")).read() == "a,b"
out["listed"] = sorted(listed)
"""

TAGS_AND_TIME = """
import mlflow
import mlflow.sklearn
import mlflow.pyfunc
import mlflow.artifacts
import time
with mlflow.start_run(run_name="first", description="the note") as run:
    mlflow.set_tag("mlflow.runName", "renamed")
    now_ms = int(time.time() * 1000)
    mlflow.log_metric("loss", 0.5, step=1, timestamp=now_ms)
    mlflow.log_metrics({"a": 1.0, "b": 2.0}, step=2)
    mlflow.log_param("text", "1e3")
run_id = run.info.run_id
fetched = mlflow.get_run(run_id)
assert fetched.info.run_name == "renamed" and fetched.data.tags["mlflow.runName"] == "renamed"
assert fetched.data.tags["mlflow.note.content"] == "the note"
assert fetched.data.params["text"] == "1e3"
history = mlflow.MlflowClient().get_metric_history(run_id, "loss")
assert [(m.step, m.value, m.timestamp) for m in history] == [(1, 0.5, now_ms)]
assert len(mlflow.search_runs(filter_string=f"attributes.start_time >= {fetched.info.start_time}")) == 1
assert len(mlflow.search_runs(filter_string=f"attributes.start_time > {fetched.info.start_time + 1000}")) == 0
with mlflow.start_run(run_id=run_id):
    mlflow.log_metric("loss", 0.25, step=2)
    mlflow.delete_tag("mlflow.note.content")
resumed = mlflow.get_run(run_id)
assert resumed.info.status == "FINISHED" and resumed.data.metrics["loss"] == 0.25
assert "mlflow.note.content" not in resumed.data.tags
out["metrics"] = resumed.data.metrics
"""

CLIENT_RUNS = """
import mlflow
import mlflow.sklearn
import mlflow.pyfunc
import mlflow.artifacts
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

client = MlflowClient()
experiment_id = client.create_experiment("client-exp")
created = client.create_run(experiment_id, run_name="by-client", tags={"k": "v"})
assert created.info.status == "RUNNING" and mlflow.active_run() is None
client.log_param(created.info.run_id, "alpha", 0.5)
client.log_metric(created.info.run_id, "m", 1.5, step=3)
client.log_batch(created.info.run_id, metrics=[Metric("n", 2.0, int(1.7e12), 0)], params=[Param("p", "x")], tags=[RunTag("t", "y")])
client.set_terminated(created.info.run_id)
run = client.get_run(created.info.run_id)
assert run.info.status == "FINISHED" and run.info.experiment_id == experiment_id
assert run.data.params == {"alpha": "0.5", "p": "x"} and run.data.metrics == {"m": 1.5, "n": 2.0}
assert run.data.tags["k"] == "v" and run.data.tags["t"] == "y" and run.data.tags["mlflow.runName"] == "by-client"
assert [r.info.run_id for r in client.search_runs([experiment_id], "metrics.m > 1")] == [created.info.run_id]
out["params"] = run.data.params
"""

DATASETS_AND_MEDIA = """
import mlflow
import mlflow.artifacts
import numpy as np
import pandas as pd
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

train = mlflow.data.from_pandas(pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]}), source="train.csv", targets="y", name="train")
evaluation = mlflow.data.from_numpy(np.arange(6).reshape(3, 2), source="eval.npy", name="eval")
figure, axes = plt.subplots()
axes.plot([1, 2, 3])
with mlflow.start_run() as run:
    mlflow.log_input(train, context="training")
    mlflow.log_input(evaluation, context="evaluation")
    mlflow.log_figure(figure, "plots/curve.png")
    mlflow.log_image(np.zeros((4, 4, 3), dtype=np.uint8), "images/black.png")
    mlflow.log_table({"a": [1, 2], "b": ["x", "y"]}, "tables/t.json")
fetched = mlflow.get_run(run.info.run_id)
inputs = sorted((d.dataset.name, sorted((t.key, t.value) for t in d.tags)) for d in fetched.inputs.dataset_inputs)
assert inputs == [("eval", [("mlflow.data.context", "evaluation")]), ("train", [("mlflow.data.context", "training")])]
client = mlflow.MlflowClient()
files = sorted(f.path for folder in ("plots", "images", "tables") for f in client.list_artifacts(run.info.run_id, folder))
assert files == ["images/black.png", "plots/curve.png", "tables/t.json"]
table = mlflow.load_table("tables/t.json", run_ids=[run.info.run_id])
assert list(table["a"]) == [1, 2] and list(table["b"]) == ["x", "y"]
png = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="images/black.png", dst_path=workdir)
assert open(png, "rb").read()[1:4] == b"PNG"
out["inputs"], out["files"] = inputs, files
"""

SCRIPTS = {
    "quickstart": QUICKSTART,
    "nested": NESTED,
    "registry": REGISTRY,
    "search": SEARCH,
    "artifacts": ARTIFACTS,
    "tags_and_time": TAGS_AND_TIME,
    "client_runs": CLIENT_RUNS,
    "datasets_and_media": DATASETS_AND_MEDIA,
}
