"""``import nbtrack.mlflow as mlflow``: MLflow-style scripts run unchanged against a tmp store."""

from __future__ import annotations

import sys
import time
import warnings

import pytest

import nbtrack
import nbtrack.mlflow as nbmlflow
from nbtrack import api
from nbtrack.errors import UsageError
from nbtrack.mlflow import MlflowClient
from nbtrack.mlflow.exceptions import MlflowException

from mlflow_scripts import SCRIPTS

_SUBMODULES = ("sklearn", "pyfunc", "artifacts", "tracking", "data", "models", "client", "entities", "exceptions")


@pytest.fixture
def store(store_path):
    tracker = api.set_store(store_path)
    try:
        yield tracker
    finally:
        while tracker.active_run() is not None:
            tracker.end_run()
        api.use(None)


@pytest.fixture
def as_mlflow(monkeypatch, store):
    """``import mlflow`` (and its submodules) means ``nbtrack.mlflow`` for the duration of a test."""
    import importlib

    monkeypatch.setitem(sys.modules, "mlflow", nbmlflow)
    for name in _SUBMODULES:
        monkeypatch.setitem(sys.modules, f"mlflow.{name}", importlib.import_module(f"nbtrack.mlflow.{name}"))
    return store


def run_script(name: str, workdir) -> dict:
    out: dict = {}
    exec(compile(SCRIPTS[name], f"<mlflow script {name}>", "exec"), {"workdir": str(workdir), "out": out})
    return out


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_mlflow_scripts_run_unchanged(as_mlflow, tmp_path, name):
    run_script(name, tmp_path)
    assert as_mlflow.active_run() is None or name == "quickstart"


def test_run_info_and_data_as_mlflow_shows_them(store):
    with nbmlflow.start_run(run_name="a", tags={"team": "x"}) as run:
        nbmlflow.log_params({"lr": 0.1, "n": 3, "flag": True, "grid": [1, 2], "tup": (1, 2)})
        nbmlflow.log_metric("f1", 0.5)
        info = run.info
        assert info.status == "RUNNING" and info.end_time is None and info.run_name == "a"
    fetched = nbmlflow.get_run(run.info.run_id)
    assert isinstance(fetched.info.start_time, int) and abs(fetched.info.start_time / 1000 - time.time()) < 60
    assert fetched.data.params == {"lr": "0.1", "n": "3", "flag": "True", "grid": "[1, 2]", "tup": "(1, 2)"}
    stored = store.get_run(run.info.run_id).params
    assert stored["lr"] == 0.1 and stored["n"] == 3 and stored["tup"] == "(1, 2)"  # typed where the text round-trips
    assert fetched.data.tags["mlflow.user"] and fetched.info.lifecycle_stage == "active"
    assert fetched.info.artifact_uri == f"runs:/{run.info.run_id}"


def test_set_tag_run_name_renames_and_delete_tag_clears_the_note(store):
    with nbmlflow.start_run(description="a note") as run:
        nbmlflow.set_tag("mlflow.runName", "renamed")
        nbmlflow.delete_tag("mlflow.note.content")
    stored = store.get_run(run.info.run_id)
    assert stored.name == "renamed" and stored.note is None and "mlflow.runName" not in stored.tags


def test_metric_timestamps_are_milliseconds_and_seconds_are_refused(store):
    with nbmlflow.start_run() as run:
        nbmlflow.log_metric("m", 1.0, timestamp=1_700_000_000_123)
        with pytest.raises(MlflowException, match="looks like epoch seconds"):
            nbmlflow.log_metric("m", 1.0, timestamp=1_700_000_000)
    assert store.metric_history(run.info.run_id, "m")[0].timestamp == pytest.approx(1_700_000_000.123)


def test_tracking_uri_chooses_a_local_store_and_refuses_a_server(store, tmp_path):
    nbmlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        with nbmlflow.start_run(run_name="here"):
            pass
        assert (tmp_path / "mlflow.db").is_file() and nbmlflow.get_tracking_uri().endswith("mlflow.db")
        for uri in (
            "http://127.0.0.1:5000",
            "https://mlflow.example.com/prefix",
            "databricks",
            "databricks://profile",
            "uc",
        ):
            with pytest.raises(MlflowException, match="nbtrack push"):
                nbmlflow.set_tracking_uri(uri)
        assert nbmlflow.get_tracking_uri().endswith("mlflow.db")  # a refused URI changes nothing
    finally:
        api.use(None)


@pytest.mark.parametrize(
    "name", ["autolog", "start_span", "genai", "deployments", "pytorch", "initialize_logged_model"]
)
def test_out_of_scope_features_say_what_to_do_instead(name):
    with pytest.raises(MlflowException) as info:
        getattr(nbmlflow, name)
    assert "not part of nbtrack" in str(info.value) and len(str(info.value)) > 60


def test_unknown_names_still_raise_attribute_error_with_a_pointer():
    with pytest.raises(AttributeError, match="Coming from MLflow"):
        nbmlflow.no_such_function  # noqa: B018
    assert not hasattr(nbmlflow, "no_such_function")


def test_client_with_its_own_tracking_uri(store, tmp_path):
    client = MlflowClient(tracking_uri=str(tmp_path / "other"))
    experiment_id = client.create_experiment("elsewhere")
    run = client.create_run(experiment_id)
    client.set_terminated(run.info.run_id, "FAILED")
    assert client.get_run(run.info.run_id).info.status == "FAILED"
    assert nbmlflow.get_experiment_by_name("elsewhere") is None  # the default store is another one
    client.tracker.close()


def test_search_runs_pandas_frame_types(store):
    pd = pytest.importorskip("pandas")
    with nbmlflow.start_run(run_name="x"):
        nbmlflow.log_metric("m", 1)
    frame = nbmlflow.search_runs()
    assert list(frame.columns[:6]) == ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    assert (
        str(frame["start_time"].dtype).startswith("datetime64[")
        and str(frame["start_time"].dt.tz) == "UTC"
        and frame["metrics.m"].dtype == "float64"
    )
    assert isinstance(frame, pd.DataFrame)


# -- nbtrack's own API takes MLflow's keywords and never reinterprets a value ---------------------------------
def test_plain_api_accepts_run_name_and_experiment_id(store):
    store.set_experiment("exp-a")
    experiment_id = nbmlflow.get_experiment_by_name("exp-a").experiment_id
    store.set_experiment("Default")
    with nbtrack.start_run(run_name="by-habit", experiment_id=experiment_id, description="why") as run:
        pass
    stored = store.get_run(run.id)
    assert (stored.name, stored.experiment, stored.note) == ("by-habit", "exp-a", "why")
    with pytest.raises(UsageError, match="disagree"):
        nbtrack.start_run("a", run_name="b")
    with pytest.raises(UsageError, match="no experiment with id"):
        nbtrack.start_run(experiment_id="999")


def test_plain_log_metric_refuses_a_millisecond_timestamp(store):
    with nbtrack.start_run() as run:
        with pytest.raises(UsageError, match="looks like epoch milliseconds"):
            nbtrack.log_metric("m", 1.0, timestamp=time.time() * 1000)
        with pytest.raises(UsageError, match="looks like epoch milliseconds"):
            nbtrack.log_metrics({"m": 1.0}, timestamp=time.time() * 1000)
        nbtrack.log_metric("m", 1.0, timestamp=1_700_000_000.5)
    assert [p.timestamp for p in store.metric_history(run.id, "m")] == [1_700_000_000.5]


def test_plain_log_artifact_folder_yaml_dict_and_run_name_tag(store, tmp_path):
    source = tmp_path / "roc.png"
    source.write_bytes(b"png")
    with nbtrack.start_run() as run:
        nbtrack.log_artifact(source, artifact_path="plots")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            nbtrack.log_artifact(source, "plots2")
        nbtrack.log_dict({"a": 1}, "cfg.yml")
        nbtrack.set_tag("mlflow.runName", "named-by-tag")
    assert any("artifact_path='plots2'" in str(w.message) for w in caught)
    names = {a.name for a in store.get_run(run.id).artifacts}
    assert {"plots/roc.png", "plots2", "cfg.yml"} <= names
    assert nbtrack.load_text(run.id, "cfg.yml").strip() == "a: 1"
    assert store.get_run(run.id).name == "named-by-tag"


def test_mlflow_helpers_scripts_use(store):
    with nbmlflow.start_run() as run:
        for step in range(3):
            nbmlflow.log_metric("m", step / 2, step=step, synchronous=False)
        nbmlflow.log_table({"x": [1, 2], "y": ["a", "b"]}, "table.json")
    nbmlflow.flush_async_logging()
    table = nbmlflow.load_table("table.json", extra_columns=["run_id"])
    assert list(table["x"]) == [1, 2] and set(table["run_id"]) == {run.info.run_id}
    with pytest.raises(MlflowException, match="no tags"):
        nbmlflow.set_experiment_tag("k", "v")
    with pytest.raises(MlflowException, match="delete their runs"):
        nbmlflow.delete_experiment("1")


class _AddN(nbmlflow.pyfunc.PythonModel):
    """MLflow 2 style: predict(context, model_input)."""

    def __init__(self, n):
        self.n = n

    def predict(self, context, model_input):
        return [x + self.n for x in model_input]


class _Times(nbmlflow.pyfunc.PythonModel):
    """MLflow 3 style: predict(model_input) without a context."""

    def load_context(self, context):
        self.factor = 3

    def predict(self, model_input):
        return [x * self.factor for x in model_input]


def test_pyfunc_python_models_in_both_styles(store):
    with nbmlflow.start_run():
        added = nbmlflow.pyfunc.log_model(name="adder", python_model=_AddN(2))
        times = nbmlflow.pyfunc.log_model("times", python_model=_Times())
    assert nbmlflow.pyfunc.load_model(added.model_uri).predict([1, 2]) == [3, 4]
    assert nbmlflow.pyfunc.load_model(times.model_uri).predict([1, 2]) == [3, 6]


def test_flavor_autolog_says_what_to_do_instead():
    with pytest.raises(MlflowException, match="log_params/log_metric"):
        nbmlflow.sklearn.autolog()
    with pytest.raises(AttributeError, match="pickled models"):
        nbmlflow.pyfunc.spark_udf  # noqa: B018


def test_default_experiment_is_mlflows_experiment_zero(store):
    with nbmlflow.start_run(experiment_id="0") as run:
        pass
    assert nbmlflow.get_run(run.info.run_id).info.experiment_id == "0"
    assert nbmlflow.get_experiment("0").name == "Default"
    assert len(MlflowClient().search_runs(["0"])) == 1
    with nbtrack.start_run(experiment_id="0") as plain:
        pass
    assert store.get_run(plain.id).experiment == "Default"


def test_in_a_tracked_cell_mlflow_logs_into_the_cells_run_and_never_ends_it(shell):
    shell.ok("import nbtrack.mlflow as mlflow")
    shell.ok("%%track --quiet\nmlflow.log_metric('m', 1.0)\nmlflow.end_run()\nmlflow.log_metric('after', 2.0)")
    (run,) = shell.tracker.search_runs()
    assert run.status == "FINISHED" and set(run.metrics) == {"m", "after"}
    shell.ok("%%track --quiet\nwith mlflow.start_run(run_name='inner') as inner:\n    mlflow.log_param('p', 1)")
    inner = shell.ns["inner"]
    parent = shell.tracker.get_run(inner.info.run_id).parent_id
    assert parent is not None and shell.tracker.get_run(parent).cell_key is not None  # nested under the cell's run


def test_a_param_keeps_its_value_as_in_mlflow(store):
    with nbmlflow.start_run() as run:
        nbmlflow.log_param("lr", 0.1)
        nbmlflow.log_params({"lr": 0.1, "depth": 3})  # the same value again is fine
        with pytest.raises(MlflowException, match="Changing param values is not allowed"):
            nbmlflow.log_param("lr", 0.2)
    with pytest.raises(MlflowException, match="Changing param values"):
        MlflowClient().log_param(run.info.run_id, "depth", 4)
    assert nbmlflow.get_run(run.info.run_id).data.params == {"lr": "0.1", "depth": "3"}


def test_default_experiment_always_exists(store):
    assert nbmlflow.get_experiment_by_name("Default").experiment_id == "0"
    assert "Default" in [e.name for e in nbmlflow.search_experiments()]
