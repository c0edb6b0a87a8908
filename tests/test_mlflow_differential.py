"""The same MLflow scripts under real MLflow and under ``nbtrack.mlflow``: same results.

Runs only where ``mlflow`` is installed (the ``bench`` extra: ``pip install -e '.[bench]'``);
everywhere else it is skipped, saying so. Each side runs in its own process (MLflow's fluent
state is process-wide), against its own temporary store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mlflow  # noqa: F401  (the test extra installs it: this test must run, never be skipped)

from mlflow_scripts import SCRIPTS  # noqa: E402
from test_mlflow_filters import CASES, ROWS  # noqa: E402

pytestmark = pytest.mark.slow  # runs scripts under MLflow and nbtrack in subprocesses

ROOT = Path(__file__).resolve().parents[1]
_ALIAS = """
import importlib, sys
import nbtrack.mlflow as _compat
sys.modules["mlflow"] = _compat
for _name in ("sklearn", "pyfunc", "artifacts", "tracking", "data", "models", "client", "entities", "exceptions"):
    sys.modules["mlflow." + _name] = importlib.import_module("nbtrack.mlflow." + _name)
"""


def run(side: str, body: str, tmp_path: Path) -> dict:
    """Run ``body`` (it fills ``out``) with real MLflow or nbtrack.mlflow; return ``out``."""
    workdir = tmp_path / side
    workdir.mkdir(exist_ok=True)
    preamble = _ALIAS if side == "nbtrack" else "import mlflow\nmlflow.set_tracking_uri('sqlite:///mlflow.db')\n"
    program = (
        preamble
        + f"out = {{}}\nworkdir = {str(workdir)!r}\n"
        + body
        + "\nimport json\nprint(json.dumps(out, default=str))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NBTRACK_STORE": str(workdir / "store"),
        "MLFLOW_TRACKING_URI": "sqlite:///mlflow.db",
        "GIT_PYTHON_REFRESH": "quiet",
    }
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=workdir, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{side} failed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_gives_the_same_results(tmp_path, name):
    assert run("mlflow", SCRIPTS[name], tmp_path) == run("nbtrack", SCRIPTS[name], tmp_path)


FRAME = textwrap.dedent("""
    import mlflow
    mlflow.set_experiment("frame")
    for i in range(3):
        with mlflow.start_run(run_name=f"r{i}"):
            mlflow.log_params({"lr": 0.1 * (i + 1), "model": "gbm" if i else "rf", "grid": [1, i]})
            mlflow.log_metrics({"f1": i / 3, "auc": 0.5 + i / 10})
            mlflow.set_tags({"team": "a", "i": i})
    frame = mlflow.search_runs(order_by=["metrics.f1 DESC"])
    skip = ("run_id", "experiment_id", "artifact_uri", "start_time", "end_time", "tags.mlflow.user", "tags.mlflow.source.name",
            "tags.mlflow.source.type", "tags.mlflow.source.git.commit")
    out["columns"] = sorted(c for c in frame.columns if c not in ("tags.mlflow.source.name", "tags.mlflow.source.type",
                                                                    "tags.mlflow.source.git.commit", "tags.mlflow.user"))
    out["rows"] = frame[[c for c in frame.columns if c not in skip]].astype(str).to_dict(orient="records")
    out["time_types"] = [str(frame[c].dtype).split(",")[0][:10] for c in ("start_time", "end_time")]
""")


def test_search_runs_frames_match(tmp_path):
    assert run("mlflow", FRAME, tmp_path) == run("nbtrack", FRAME, tmp_path)


def _filters_program() -> str:
    definitions = repr(ROWS)
    # run ids and digests differ between the two stores by nature; user_id is MLflow's creation-time user,
    # which a later mlflow.user tag does not change there, while nbtrack keeps one user field (README)
    cases = repr(
        [text for text, _ in CASES if "{run_id" not in text and "{digest" not in text and "user_id" not in text]
    )
    return textwrap.dedent(f"""
        import time, pandas as pd
        import mlflow
        mlflow.set_experiment("search-run-guide")
        rows, starts, last = {definitions}, {{}}, 0
        for row in rows:
            while time.time() * 1000 < last + 2:
                pass
            with mlflow.start_run(run_name=row["name"]) as run:
                last = run.info.start_time
                mlflow.log_metrics({{"accuracy": row["accuracy"], "loss": row["loss"], "f1 score": row["f1 score"]}})
                mlflow.log_params({{"batch_size": row["batch_size"], "learning_rate": row["learning_rate"]}})
                if row["model"]:
                    mlflow.log_param("model", row["model"])
                mlflow.set_tags({{**{{k: row[k] for k in ("task", "environment") if row[k]}}, "type": row["type"]}})
                if row["user"]:
                    mlflow.set_tag("mlflow.user", row["user"])
                frame = pd.DataFrame({{"x": [row["i"] % 5, 1]}})
                mlflow.log_input(mlflow.data.from_pandas(frame, name=row["dataset"]), context=row["context"])
                if row["status"] == "FAILED":
                    mlflow.end_run("FAILED")
            starts[row["i"]] = mlflow.get_run(run.info.run_id).info.start_time
        for text in {cases}:
            query = text.format(start=starts)
            try:
                out[text] = sorted(r.info.run_name for r in mlflow.search_runs(filter_string=query, output_format="list"))
            except Exception as exc:
                out[text] = "refused: " + str(exc).splitlines()[0]
    """)


def test_filter_strings_select_the_same_runs(tmp_path):
    """Every filter MLflow answers selects the same runs here (the table's extras MLflow refuses are nbtrack's own)."""
    program = _filters_program()
    expected, got = run("mlflow", program, tmp_path), run("nbtrack", program, tmp_path)
    answered = {text: names for text, names in expected.items() if not isinstance(names, str)}
    assert len(answered) >= 45
    different = {text: (names, got.get(text)) for text, names in answered.items() if names != got.get(text)}
    assert not different
