"""Frozen records handed out by the services; kept apart from database rows.

They are plain data: rendering lives in ``display``, persistence in ``store``.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

RUNNING, FINISHED, FAILED, KILLED = "RUNNING", "FINISHED", "FAILED", "KILLED"
RUN_STATUSES = (RUNNING, FINISHED, FAILED, KILLED)
#: tags under this prefix are nbtrack's own (rerun_of, verified, ...): listed apart, not editable by hand
SYSTEM_TAG_PREFIX = "nbtrack."


@dataclass(frozen=True)
class Experiment:
    id: int
    name: str
    created: float


def record(cls, fields: dict[str, Any]):
    """A frozen dataclass instance from a complete dict of its fields, for bulk reads of trusted rows.

    The generated ``__init__`` of a frozen dataclass sets each field through
    ``object.__setattr__``: ~6 µs per Run, ~2 µs per MetricSummary, more than the SQL behind a
    1,000-run listing. Filling ``__dict__`` at once is what that ``__init__`` ends up doing.
    """
    instance = object.__new__(cls)
    instance.__dict__.update(fields)
    return instance


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


class MetricPoint(NamedTuple):
    """One point of a metric's history (a tuple: 100k of them are built per history read)."""

    step: int
    value: float
    timestamp: float


def _list(items: Sequence) -> list:
    return items if type(items) is list else list(items)


class MetricHistory(Sequence):
    """A metric's history as three columns (steps, values, timestamps), read as a sequence of
    :class:`MetricPoint`.

    Reading 100,000 points builds three lists in C instead of 100,000 point objects; a point is
    made when indexed or iterated. Plot or compute with the columns directly:
    ``plt.plot(history.steps, history.values)``. Equal to any sequence of the same points.
    """

    __slots__ = ("steps", "values", "timestamps")

    def __init__(self, steps: Sequence[int] = (), values: Sequence[float] = (), timestamps: Sequence[float] = ()):
        self.steps, self.values, self.timestamps = _list(steps), _list(values), _list(timestamps)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return MetricHistory(self.steps[index], self.values[index], self.timestamps[index])
        return MetricPoint(self.steps[index], self.values[index], self.timestamps[index])

    def __iter__(self):
        return map(MetricPoint._make, zip(self.steps, self.values, self.timestamps))

    def __eq__(self, other) -> bool:
        if isinstance(other, MetricHistory):
            return (self.steps, self.values, self.timestamps) == (other.steps, other.values, other.timestamps)
        if isinstance(other, (list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to lists, which are unhashable

    def __repr__(self) -> str:
        return f"MetricHistory({list(self)!r})"


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


def receipt_outline(receipt: dict[str, Any] | None) -> dict[str, Any] | None:
    """``{"checked": ..., "kinds": [problem kinds]}`` of a receipt: its verdict, a few bytes, kept
    next to the run so a listing shows its badge without reading the receipt itself."""
    if receipt is None:
        return None
    return {"checked": receipt.get("checked"), "kinds": [p.get("kind") for p in receipt.get("problems") or []]}


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
    #: the provenance JSON as stored; decoded on first use of :attr:`provenance` (listing 1,000
    #: runs should not parse 1,000 provenance documents nobody looks at)
    provenance_json: str | None = field(default=None, repr=False, compare=False)
    #: provenance fields kept in their own columns (notebook path, git commit, ...)
    provenance_columns: dict[str, Any] = field(default_factory=dict, repr=False)
    #: the hidden-state receipt JSON as stored; decoded on first use of :attr:`receipt`
    receipt_json: str | None = field(default=None, repr=False, compare=False)
    #: when the run was deleted (it is hidden from listings until restored or purged); None: live
    deleted_time: float | None = None
    #: reads (provenance JSON, receipt JSON) from the store on first use, for runs of a listing:
    #: listings leave both documents in the store (they can be tens of KB per run)
    documents: Callable[[], tuple[str | None, str | None]] | None = field(default=None, repr=False, compare=False)
    #: :func:`receipt_outline` of the receipt, from its own small column: what a listing's badge needs
    outline: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def _documents(self) -> tuple[str | None, str | None]:
        return self.documents() if self.documents is not None else (self.provenance_json, self.receipt_json)

    @functools.cached_property
    def provenance(self) -> dict[str, Any]:
        text = self._documents[0]
        decoded = json.loads(text) if text else {}
        decoded.update(self.provenance_columns)
        return decoded

    @functools.cached_property
    def receipt(self) -> dict[str, Any] | None:
        """Why the run may not reproduce top to bottom (see :mod:`nbtrack.snapshot.receipt`); None: no receipt."""
        text = self._documents[1]
        return json.loads(text) if text else None

    @property
    def receipt_outline(self) -> dict[str, Any] | None:
        """The receipt's verdict without its messages (see :func:`receipt_outline`), without reading the receipt."""
        if self.outline is not None or (self.documents is not None and "_documents" not in self.__dict__):
            return self.outline
        return receipt_outline(self.receipt)

    @property
    def inputs(self) -> dict[str, dict[str, Any]]:
        """Fingerprints of the data the run read, by name (see :mod:`nbtrack.fingerprint`)."""
        return self.provenance.get("inputs") or {}

    @property
    def notebook_path(self) -> str | None:
        """Cheap: read from its own column, without decoding the provenance document."""
        return self.provenance_columns.get("notebook_path")

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


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed for good (or, with ``dry_run``, would remove)."""

    runs: tuple[str, ...]
    blobs: int
    bytes: int
    dry_run: bool = False


# -- model registry -------------------------------------------------------------------------------
STAGE_NONE, STAGING, PRODUCTION, ARCHIVED = "None", "Staging", "Production", "Archived"
STAGES = (STAGE_NONE, STAGING, PRODUCTION, ARCHIVED)


@dataclass(frozen=True)
class ModelVersion:
    """One registered version: a run's pickled model, pinned by its sha256."""

    name: str
    version: int
    run_id: str
    artifact: str
    sha256: str
    stage: str
    description: str | None
    created: float
    updated: float
    created_by: str | None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    deleted_time: float | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    description: str | None
    created: float
    updated: float
    tags: dict[str, str] = field(default_factory=dict)
    versions: tuple[ModelVersion, ...] = ()
    aliases: dict[str, int] = field(default_factory=dict)
    deleted_time: float | None = None
    deleted_versions: tuple[int, ...] = ()

    @property
    def latest(self) -> ModelVersion | None:
        return self.versions[-1] if self.versions else None

    def in_stage(self, stage: str) -> list[ModelVersion]:
        return [v for v in self.versions if v.stage == stage]


@dataclass(frozen=True)
class RegistryEvent:
    """One line of a model's append-only audit trail (``seq`` is 1, 2, 3, ... per model)."""

    model: str
    seq: int
    time: float
    who: str
    action: str
    version: int | None
    key: str | None
    from_value: str | None
    to_value: str | None
    comment: str | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RegistryState:
    """Who held which stage and alias of one model at ``time``, replayed from the event log."""

    model: str
    time: float
    stages: dict[int, str]
    aliases: dict[str, int]
    deleted: bool = False

    def holders(self, stage: str) -> list[int]:
        return sorted(v for v, s in self.stages.items() if s == stage)
