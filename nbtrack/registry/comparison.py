"""Champion / challenger: metric and param deltas between the runs behind two versions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..entities import ModelVersion, Run
from ..fingerprint import paired as paired_inputs


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

    @property
    def changed(self) -> bool:
        return self.a_missing != self.b_missing or self.a != self.b


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

    @property
    def changed_params(self) -> tuple[ParamDelta, ...]:
        return tuple(p for p in self.params if p.changed)

    def metric(self, key: str) -> MetricDelta:
        for item in self.metrics:
            if item.key == key:
                return item
        raise KeyError(key)


def compare_runs(a: ModelVersion, run_a: Run, b: ModelVersion, run_b: Run) -> VersionComparison:
    keys = sorted(set(run_a.metrics) | set(run_b.metrics))
    metrics = tuple(
        MetricDelta(k, run_a.metrics[k].last if k in run_a.metrics else None, run_b.metrics[k].last if k in run_b.metrics else None)
        for k in keys
    )
    names = sorted(set(run_a.params) | set(run_b.params))
    params = tuple(
        ParamDelta(k, run_a.params.get(k), run_b.params.get(k), k not in run_a.params, k not in run_b.params) for k in names
    )
    inputs = tuple(InputDelta(*row) for row in paired_inputs(run_a.inputs, run_b.inputs))
    return VersionComparison(a, b, metrics, params, inputs)
