"""MLflow's entity classes (``mlflow.entities``) with MLflow's names, fields and units, built from nbtrack's.

Times are epoch milliseconds, params are text, ``data.tags`` carries the ``mlflow.*`` system
tags, ids are strings: code that reads ``run.info.run_id`` or ``mv.current_stage`` sees what
MLflow would show. The conversion rules live in :mod:`nbtrack.interop.mlflow_mapping`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import entities as nb
from ..interop import mlflow_mapping as mapping

ACTIVE, DELETED = "active", "deleted"


class LifecycleStage:
    ACTIVE = ACTIVE
    DELETED = DELETED


class ViewType:
    """Which runs a search lists (MLflow's numbers)."""

    ACTIVE_ONLY, DELETED_ONLY, ALL = 1, 2, 3

    @classmethod
    def from_string(cls, text: str) -> int:
        return {"active_only": 1, "deleted_only": 2, "all": 3}[str(text).lower()]


class RunStatus:
    RUNNING, SCHEDULED, FINISHED, FAILED, KILLED = "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"

    @staticmethod
    def is_terminated(status: str) -> bool:
        return status in ("FINISHED", "FAILED", "KILLED")


class PagedList(list):
    """A list with MLflow's ``token`` for the next page (always None: nbtrack returns every result at once)."""

    def __init__(self, items=(), token: str | None = None):
        super().__init__(items)
        self.token = token


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int = 0


@dataclass(frozen=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True)
class RunTag:
    key: str
    value: str


@dataclass(frozen=True)
class InputTag:
    key: str
    value: str


@dataclass(frozen=True)
class Dataset:
    name: str
    digest: str
    source_type: str = "code"
    source: str = ""
    schema: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class DatasetInput:
    dataset: Dataset
    tags: list[InputTag] = field(default_factory=list)


@dataclass(frozen=True)
class RunInputs:
    dataset_inputs: list[DatasetInput] = field(default_factory=list)


@dataclass(frozen=True)
class FileInfo:
    path: str
    is_dir: bool
    file_size: int | None


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str | None
    user_id: str | None
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str

    @property
    def run_uuid(self) -> str:  # MLflow's older name, still accepted
        return self.run_id


@dataclass(frozen=True)
class RunData:
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)

    def to_dictionary(self) -> dict[str, Any]:
        return {
            "info": dict(self.info.__dict__),
            "data": {
                "metrics": dict(self.data.metrics),
                "params": dict(self.data.params),
                "tags": dict(self.data.tags),
            },
        }


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = ACTIVE
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None


@dataclass(frozen=True)
class ModelVersion:
    """A registered version; ``version`` is an int, as MLflow's SQL stores (the local case) give it."""

    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None
    user_id: str | None
    current_stage: str
    source: str
    run_id: str
    status: str = "READY"
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    run_link: str | None = None


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None
    latest_versions: list[ModelVersion] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)


# -- conversions from nbtrack's entities --------------------------------------------------------------
def artifact_uri(run_id: str) -> str:
    return f"runs:/{run_id}"


def run(source: nb.Run, experiment_ids: dict[str, str]) -> Run:
    info = RunInfo(
        run_id=source.id,
        experiment_id=experiment_ids.get(source.experiment, ""),
        run_name=source.name,
        user_id=source.user,
        status=source.status,
        start_time=mapping.to_ms(source.start_time),
        end_time=mapping.to_ms(source.end_time),
        artifact_uri=artifact_uri(source.id),
        lifecycle_stage=DELETED if source.deleted_time is not None else ACTIVE,
    )
    data = RunData(
        metrics={k: m.last for k, m in source.metrics.items()},
        params=mapping.params_as_text(source.params),
        tags=mapping.mlflow_tags(source),
    )
    inputs = RunInputs([_dataset_input(name, doc) for name, doc in source.inputs.items()])
    return Run(info, data, inputs)


def _dataset_input(name: str, doc: dict) -> DatasetInput:
    dataset = Dataset(
        name=name,
        digest=str(doc.get("digest", ""))[:8],
        source_type=str(doc.get("source_type", "code")),
        source=str(doc.get("source", "")),
        schema=doc.get("schema"),
        profile=doc.get("profile"),
    )
    tags = [InputTag("mlflow.data.context", str(doc["context"]))] if doc.get("context") else []
    return DatasetInput(dataset, tags)


def experiment(source: nb.Experiment) -> Experiment:
    created = mapping.to_ms(source.created)
    experiment_id = mapping.experiment_id(source.id, source.name)
    return Experiment(experiment_id, source.name, f"nbtrack:/experiments/{experiment_id}", ACTIVE, {}, created, created)


def model_version(source: nb.ModelVersion) -> ModelVersion:
    return ModelVersion(
        name=source.name,
        version=source.version,
        creation_timestamp=mapping.to_ms(source.created),
        last_updated_timestamp=mapping.to_ms(source.updated),
        description=source.description,
        user_id=source.created_by,
        current_stage=source.stage,
        source=f"runs:/{source.run_id}/{source.artifact}",
        run_id=source.run_id,
        tags=dict(source.tags),
        aliases=list(source.aliases),
    )


def registered_model(source: nb.RegisteredModel) -> RegisteredModel:
    latest: dict[str, nb.ModelVersion] = {}
    for version in source.versions:
        latest[version.stage] = version  # versions are oldest first: the newest per stage wins
    return RegisteredModel(
        name=source.name,
        creation_timestamp=mapping.to_ms(source.created),
        last_updated_timestamp=mapping.to_ms(source.updated),
        description=source.description,
        latest_versions=[model_version(v) for v in latest.values()],
        tags=dict(source.tags),
        aliases=dict(source.aliases),
    )
