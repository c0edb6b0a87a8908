"""MLflow's side: its fluent API and ``MlflowClient`` over the SQLite backend (``sqlite:///...``).

Large read fixtures (1,000 / 10,000 runs, a 100,000-point history) are written straight into
MLflow's own tables with the rows it writes itself (same columns, millisecond timestamps,
string params, system tags); logging them through its API would take minutes here. Every
fixture is a copy of one database that MLflow created and migrated itself.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
import uuid
import warnings
from pathlib import Path

from . import cells, data
from .timing import cold_import, compacted_size

_SYSTEM_TAGS = {"mlflow.user": "bench", "mlflow.source.name": "benchmark", "mlflow.source.type": "LOCAL"}


class MlflowBackend:
    name = "mlflow"

    def __init__(self, workdir: Path):
        import mlflow

        warnings.filterwarnings("ignore")
        logging.getLogger("mlflow").setLevel(logging.ERROR)
        logging.getLogger("alembic").setLevel(logging.ERROR)
        self.mlflow = mlflow
        self.workdir = workdir
        self._template: Path | None = None
        self._fixtures: dict[str, tuple[str, str]] = {}
        self._shell = None

    # -- databases and experiments -----------------------------------------------------------------
    def _database(self, name: str) -> tuple[str, str]:
        """(tracking uri, experiment id) of a fresh copy of the migrated template database."""
        if self._template is None:
            self._template = self.workdir / "template.db"
            self._use(f"sqlite:///{self._template}")
            self.mlflow.MlflowClient().search_experiments()  # creates and migrates the schema
        path = self.workdir / f"{name}.db"
        shutil.copyfile(self._template, path)
        uri = f"sqlite:///{path}"
        self._use(uri)
        experiment_id = self.mlflow.create_experiment(
            "bench", artifact_location=(self.workdir / "artifacts" / name).as_uri()
        )
        self._fixtures[name] = (uri, experiment_id)
        return uri, experiment_id

    def _use(self, uri: str, experiment_id: str | None = None) -> None:
        self.mlflow.set_tracking_uri(uri)
        if experiment_id is not None:
            self.mlflow.set_experiment(experiment_id=experiment_id)

    def _fixture(self, name: str) -> tuple[str, str]:
        uri, experiment_id = self._fixtures[name]
        self._use(uri, experiment_id)
        return uri, experiment_id

    def _insert_runs(self, uri: str, experiment_id: str, n: int) -> None:
        """Write ``n`` finished runs of :mod:`benchmarks.data`."""
        conn = sqlite3.connect(uri.removeprefix("sqlite:///"), isolation_level=None)
        now = int(time.time() * 1000)
        runs, params, tags, metrics, latest = [], [], [], [], []
        for i in range(n):
            run_id = uuid.uuid4().hex
            runs.append(
                (
                    run_id,
                    f"run-{i}",
                    "LOCAL",
                    "benchmark",
                    "",
                    "bench",
                    "FINISHED",
                    now + i,
                    now + i + 5,
                    "",
                    "active",
                    f"{self.workdir}/artifacts/{run_id}",
                    int(experiment_id),
                )
            )
            run_tags = {**_SYSTEM_TAGS, "mlflow.runName": f"run-{i}", **data.tags(i)}
            tags += [(k, str(v), run_id) for k, v in run_tags.items()]
            params += [(k, str(v), run_id) for k, v in data.params(i).items()]
            metrics += [(key, value, now + i, run_id, step, 0) for step, key, value in data.history(i)]
            latest += [(key, value, now + i, data.STEPS - 1, 0, run_id) for key, value in data.metrics(i).items()]
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO runs(run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, "
            "end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            runs,
        )
        conn.executemany("INSERT INTO tags(key, value, run_uuid) VALUES (?,?,?)", tags)
        conn.executemany("INSERT INTO params(key, value, run_uuid) VALUES (?,?,?)", params)
        conn.executemany(
            "INSERT INTO metrics(key, value, timestamp, run_uuid, step, is_nan) VALUES (?,?,?,?,?,?)", metrics
        )
        conn.executemany(
            "INSERT INTO latest_metrics(key, value, timestamp, step, is_nan, run_uuid) VALUES (?,?,?,?,?,?)", latest
        )
        conn.execute("COMMIT")
        conn.close()

    @staticmethod
    def _insert_points(uri: str, run_id: str, points: int) -> None:
        """A ``points``-long "loss" history for an existing run, as ``log_batch`` would write it."""
        conn = sqlite3.connect(uri.removeprefix("sqlite:///"), isolation_level=None)
        now = int(time.time() * 1000)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO metrics(key, value, timestamp, run_uuid, step, is_nan) VALUES (?,?,?,?,?,?)",
            [("loss", 1.0 / (s + 1), now + s, run_id, s, 0) for s in range(points)],
        )
        conn.execute(
            "INSERT INTO latest_metrics(key, value, timestamp, step, is_nan, run_uuid) VALUES (?,?,?,?,?,?)",
            ("loss", 1.0 / points, now + points - 1, points - 1, 0, run_id),
        )
        conn.execute("COMMIT")
        conn.close()

    def _runs_fixture(self, n: int) -> str:
        name = f"runs{n}"
        if name not in self._fixtures:
            uri, experiment_id = self._database(name)
            self._insert_runs(uri, experiment_id, n)
            found = self.mlflow.search_runs(experiment_ids=[experiment_id])
            assert len(found) == n, "MLflow does not read the benchmark's runs back"
        return self._fixture(name)[1]

    # -- workloads ---------------------------------------------------------------------------------
    def measure_import(self, size: dict) -> float:
        return cold_import("import mlflow", self.workdir)

    measure_import_api = measure_import

    def prepare_start_end(self, size: dict) -> None:
        self._database("lifecycle")

    def measure_start_end(self, size: dict) -> float:
        self._fixture("lifecycle")
        runs = size["mlflow_runs"]
        start = time.perf_counter()
        for _ in range(runs):
            self.mlflow.start_run()
            self.mlflow.end_run()
        return (time.perf_counter() - start) / runs

    def _timed_calls(self, fixture: str, calls: int, call) -> float:
        self._fixture(fixture)
        self.mlflow.start_run()
        start = time.perf_counter()
        for i in range(calls):
            call(i)
        elapsed = time.perf_counter() - start
        self.mlflow.end_run()
        return elapsed / calls

    def prepare_log_param(self, size: dict) -> None:
        self._database("params")

    def measure_log_param(self, size: dict) -> float:
        return self._timed_calls("params", size["mlflow_calls"], lambda i: self.mlflow.log_param(f"p{i}", i))

    def prepare_log_metric(self, size: dict) -> None:
        self._database("metric")

    def measure_log_metric(self, size: dict) -> float:
        return self._timed_calls(
            "metric", size["mlflow_calls"], lambda i: self.mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        )

    def prepare_batch_points(self, size: dict) -> None:
        self._database("batch")

    def measure_batch_points(self, size: dict) -> float:
        from mlflow.entities import Metric

        self._fixture("batch")
        client = self.mlflow.MlflowClient()
        run_id = self.mlflow.start_run().info.run_id
        keys = [f"m{k}" for k in range(size["keys"])]
        points = [(step, key) for step in range(size["mlflow_points"] // len(keys)) for key in keys]
        start = time.perf_counter()
        for offset in range(0, len(points), 1000):  # MLflow's limit per log_batch
            now = int(time.time() * 1000)
            client.log_batch(
                run_id, metrics=[Metric(key, step * 1e-3, now, step) for step, key in points[offset : offset + 1000]]
            )
        elapsed = time.perf_counter() - start
        self.mlflow.end_run()
        return elapsed / len(points)

    def prepare_list_runs(self, size: dict) -> None:
        self._runs_fixture(size["runs"])

    def measure_list_runs(self, size: dict) -> float:
        experiment_id = self._runs_fixture(size["runs"])
        start = time.perf_counter()
        frame = self.mlflow.search_runs(experiment_ids=[experiment_id])
        html = frame._repr_html_()
        elapsed = time.perf_counter() - start
        assert len(frame) == size["runs"] and html
        return elapsed

    prepare_list_runs_pandas = prepare_list_runs

    def measure_list_runs_pandas(self, size: dict) -> float:
        experiment_id = self._runs_fixture(size["runs"])
        start = time.perf_counter()
        frame = self.mlflow.search_runs(experiment_ids=[experiment_id])
        elapsed = time.perf_counter() - start
        assert len(frame) == size["runs"]
        return elapsed

    def _search(self, size: dict) -> float:
        experiment_id = self._runs_fixture(size["runs"])
        client = self.mlflow.MlflowClient()
        start = time.perf_counter()
        runs = client.search_runs([experiment_id], data.FILTER, max_results=50_000)
        elapsed = time.perf_counter() - start
        assert len(runs) == data.expected_matches(size["runs"]), len(runs)
        return elapsed

    prepare_search_1k = prepare_search_10k = prepare_list_runs
    measure_search_1k = measure_search_10k = _search

    def prepare_history(self, size: dict) -> None:
        uri, experiment_id = self._database("history")
        self._history_run = self.mlflow.MlflowClient().create_run(experiment_id).info.run_id
        self._insert_points(uri, self._history_run, size["points"])

    def measure_history(self, size: dict) -> float:
        self._fixture("history")
        client = self.mlflow.MlflowClient()
        start = time.perf_counter()
        points = client.get_metric_history(self._history_run, "loss")
        elapsed = time.perf_counter() - start
        assert len(points) == size["points"]
        return elapsed

    def measure_bytes_per_point(self, size: dict) -> float:
        uri, experiment_id = self._database(f"bytes-{uuid.uuid4().hex[:6]}")
        path = Path(uri.removeprefix("sqlite:///"))
        run_id = self.mlflow.MlflowClient().create_run(experiment_id).info.run_id
        before = compacted_size(path)
        self._insert_points(uri, run_id, size["points"])
        return (compacted_size(path) - before) / size["points"]

    # -- the closest thing to %%track: a trivial cell wrapped in a run ------------------------------
    def prepare_track_cell(self, size: dict) -> None:
        self._database("cells")
        self._shell = cells.make_shell()
        self._shell.run_cell("import mlflow")

    def measure_track_cell(self, size: dict) -> float:
        self._fixture("cells")
        cell = "with mlflow.start_run():\n    " + cells.TRIVIAL_CELL
        return cells.overhead(self._shell, cell, size["cells"])
