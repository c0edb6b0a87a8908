"""Champion / challenger: metric and param deltas between the runs behind two versions.

A view of the one run-comparison model, :class:`nbtrack.compare.Comparison` (``runs``): the
deltas below are read from its rows, so "changed" means what it means in ``%track diff`` and
the dashboard's Compare tab.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..compare import Comparison, compare_runs as compare_run_list
from ..entities import ModelVersion, Run


@dataclass(frozen=True)
class MetricDelta:
    key: str
    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        """``b - a``; None when either side is missing or NaN."""
        if self.a is None or self.b is None or math.isnan(self.a) or math.isnan(self.b):
            return None
        return self.b - self.a


@dataclass(frozen=True)
class ParamDelta:
    key: str
    a: Any
    b: Any
    a_missing: bool = False
    b_missing: bool = False
    #: the comparison model's verdict (:func:`nbtrack.compare.same`: 1 equals 1.0, True is not 1)
    changed: bool = False


@dataclass(frozen=True)
class InputDelta:
    """A data input of either run: descriptions (None when absent) and whether the content is the same."""

    key: str
    a: str | None
    b: str | None
    same: bool


@dataclass(frozen=True)
class VersionComparison:
    """Version ``a`` (e.g. the champion) against version ``b`` (the challenger)."""

    a: ModelVersion
    b: ModelVersion
    metrics: tuple[MetricDelta, ...]
    params: tuple[ParamDelta, ...]
    #: were the two versions trained on the same data? (see :mod:`nbtrack.fingerprint`)
    inputs: tuple[InputDelta, ...] = ()
    #: the runs behind ``a`` and ``b`` in the one comparison model (``a``'s run is the baseline)
    runs: Comparison | None = field(default=None, compare=False, repr=False)

    @property
    def changed_params(self) -> tuple[ParamDelta, ...]:
        return tuple(p for p in self.params if p.changed)

    def metric(self, key: str) -> MetricDelta:
        for item in self.metrics:
            if item.key == key:
                return item
        raise KeyError(key)


def compare_runs(a: ModelVersion, run_a: Run, b: ModelVersion, run_b: Run) -> VersionComparison:
    runs = compare_run_list([run_a, run_b])
    metrics = tuple(MetricDelta(row.key, row.values[0], row.values[1]) for row in runs.metrics)
    params = tuple(
        ParamDelta(row.key, row.values[0], row.values[1], not row.present[0], not row.present[1], row.differs)
        for row in sorted(runs.params, key=lambda r: r.key)
    )
    inputs = tuple(InputDelta(row.key, row.values[0], row.values[1], not row.differs) for row in runs.inputs)
    return VersionComparison(a, b, metrics, params, inputs, runs)
