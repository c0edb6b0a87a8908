"""``mlflow.artifacts``: download a run's artifacts from the nbtrack store."""

from __future__ import annotations

from .. import api
from .client import download
from .exceptions import MlflowException


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
    tracking_uri: str | None = None,
) -> str:
    """``artifact_uri="runs:/ID/PATH"`` or ``run_id`` with ``artifact_path``; returns the local path written."""
    from ..tracking.artifacts import parse_runs_uri

    if artifact_uri is not None and (run_id is not None or artifact_path is not None):
        raise MlflowException("give artifact_uri, or run_id with artifact_path, not both")
    if artifact_uri is not None:
        if not artifact_uri.startswith("runs:/"):
            raise MlflowException(f"nbtrack downloads runs:/RUN_ID/PATH artifacts, not {artifact_uri!r}")
        rest = artifact_uri[len("runs:/") :].strip("/")
        run_id, _, artifact_path = rest.partition("/")
        if "/" in rest:
            run_id, artifact_path = parse_runs_uri(artifact_uri)
    if run_id is None:
        raise MlflowException("download_artifacts needs artifact_uri or run_id")
    tracker = api.tracker() if tracking_uri is None else None
    if tracker is None:
        from .client import MlflowClient

        tracker = MlflowClient(tracking_uri).tracker
    return download(tracker, run_id, artifact_path, dst_path)


def load_text(artifact_uri: str) -> str:
    with open(download_artifacts(artifact_uri), encoding="utf-8") as handle:
        return handle.read()


def load_dict(artifact_uri: str) -> dict:
    import json

    path = download_artifacts(artifact_uri)
    with open(path, encoding="utf-8") as handle:
        if path.endswith((".yml", ".yaml")):
            import yaml

            return yaml.safe_load(handle)
        return json.load(handle)
