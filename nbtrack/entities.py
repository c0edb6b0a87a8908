"""Frozen records handed out by the services; kept apart from database rows.

They are plain data: rendering lives in ``display``, persistence in ``store``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

RUNNING, FINISHED, FAILED, KILLED = "RUNNING", "FINISHED", "FAILED", "KILLED"
RUN_STATUSES = (RUNNING, FINISHED, FAILED, KILLED)


@dataclass(frozen=True)
class Experiment:
    id: int
    name: str
    created: float


@dataclass(frozen=True)
class MetricSummary:
    """The latest value of a metric plus aggregates over its whole history."""

    key: str
    last: float
    step: int
    timestamp: float
    min: float | None
    max: float | None
    count: int


@dataclass(frozen=True)
class MetricPoint:
    step: int
    value: float
    timestamp: float


@dataclass(frozen=True)
class Artifact:
    name: str
    sha256: str
    size: int
    media_type: str
    created: float


@dataclass(frozen=True)
class RunCell:
    """One cell executed as part of a run, in execution order."""

    seq: int
    execution_count: int | None
    cell_id: str | None
    source: str


@dataclass(frozen=True)
class Run:
    id: str
    name: str | None
    experiment: str
    status: str
    start_time: float
    end_time: float | None
    heartbeat: float | None
    parent_id: str | None
    cell_key: str | None
    pid: int | None
    host: str | None
    user: str | None
    error: str | None
    note: str | None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: tuple[Artifact, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)
    receipt: dict[str, Any] | None = None

    @property
    def duration(self) -> float | None:
        end = self.end_time if self.end_time is not None else self.heartbeat
        return None if end is None else max(0.0, end - self.start_time)

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def label(self) -> str:
        return self.name or self.short_id

    def metric(self, key: str, default: float = math.nan) -> float:
        summary = self.metrics.get(key)
        return default if summary is None else summary.last
