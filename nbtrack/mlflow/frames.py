"""``search_runs`` as MLflow's pandas DataFrame: its column names, order and types."""

from __future__ import annotations

from typing import Any

from . import entities as ml

_INFO_COLUMNS = ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")


def runs_frame(runs: list[ml.Run]) -> Any:
    """One row per run: ``run_id``, ``experiment_id``, ``status``, ``artifact_uri``, ``start_time``/``end_time``
    (UTC datetimes, as MLflow gives them), then ``metrics.*``, ``params.*``, ``tags.*`` sorted by key."""
    import pandas as pd

    rows, metrics, params, tags = [], set(), set(), set()
    for run in runs:
        info = run.info
        row: dict[str, Any] = {
            "run_id": info.run_id,
            "experiment_id": info.experiment_id,
            "status": info.status,
            "artifact_uri": info.artifact_uri,
            "start_time": _time(info.start_time),
            "end_time": _time(info.end_time),
        }
        for prefix, values, seen in (
            ("metrics", run.data.metrics, metrics),
            ("params", run.data.params, params),
            ("tags", run.data.tags, tags),
        ):
            for key, value in values.items():
                row[f"{prefix}.{key}"] = value
                seen.add(key)
        rows.append(row)
    columns = [
        *_INFO_COLUMNS,
        *(f"metrics.{k}" for k in sorted(metrics)),
        *(f"params.{k}" for k in sorted(params)),
        *(f"tags.{k}" for k in sorted(tags)),
    ]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], unit="ms", utc=True)
    for key in metrics:
        frame[f"metrics.{key}"] = frame[f"metrics.{key}"].astype("float64")
    return frame


def _time(ms: int | None) -> float | None:
    return None if ms is None else ms
