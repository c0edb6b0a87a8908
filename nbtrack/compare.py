"""The one model comparing runs: which params, metrics and data inputs differ, and which run is best per metric.

Every view that compares runs is built on one :class:`Comparison`: the dashboard's Compare tab
(widgets) and its static HTML fallback (display), ``%track diff`` (:class:`nbtrack.repro.diff.RunDiff`
takes its param, metric and input changes from :meth:`Comparison.changes`) and the registry's
champion/challenger (:class:`nbtrack.registry.VersionComparison` wraps one). So they can never
disagree about what "changed" (:func:`same`) or what is "best".

Metric direction: a metric is *lower is better* when one of the words of its name
(split on anything but letters and digits, case-insensitive) is in :data:`LOWER_IS_BETTER`
or ends with ``loss`` or ``error`` (``val_loss``, ``logloss``, ``train/rmse``,
``mean_absolute_error``); every other metric is *higher is better* (``f1``, ``auc``,
``accuracy``). Pass ``directions={"name": "lower" | "higher"}`` to override a guess,
e.g. for sklearn's ``neg_mean_squared_error`` (higher is better).

>>> metric_direction("val_loss"), metric_direction("f1")
('lower', 'higher')
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .entities import Run
from .fingerprint import describe as describe_input

LOWER, HIGHER = "lower", "higher"
#: name words meaning "lower is better"
LOWER_IS_BETTER = frozenset(
    {
        "loss",
        "error",
        "err",
        "rmse",
        "mse",
        "mae",
        "mape",
        "smape",
        "rmsle",
        "msle",
        "nll",
        "logloss",
        "perplexity",
        "ppl",
        "wer",
        "cer",
        "latency",
        "time",
        "duration",
        "seconds",
        "cost",
        "regret",
        "aic",
        "bic",
    }
)
_WORD = re.compile(r"[a-z0-9]+")


def metric_direction(name: str, directions: Mapping[str, str] | None = None) -> str:
    """``"lower"`` or ``"higher"``: which way is better for metric ``name`` (see module docs)."""
    if directions and name in directions:
        choice = directions[name]
        if choice not in (LOWER, HIGHER):
            raise ValueError(f"direction of {name!r} must be 'lower' or 'higher', not {choice!r}")
        return choice
    for word in _WORD.findall(name.lower()):
        if word in LOWER_IS_BETTER or word.endswith(("loss", "error")):
            return LOWER
    return HIGHER


def same(x: Any, y: Any) -> bool:
    """The one rule for "unchanged": numbers by value (1 equals 1.0; NaN equals NaN, an infinity
    itself), a bool only equals the same bool, everything else by type and content."""
    if isinstance(x, bool) or isinstance(y, bool) or not (_number(x) and _number(y)):
        return type(x) is type(y) and x == y
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return x == y


@dataclass(frozen=True)
class ValueChange:
    """A param, metric (latest value) or data input that differs between two runs; ``before``/``after``
    are None when absent (``kind``: ``added``, ``removed`` or ``changed``)."""

    key: str
    kind: str
    before: Any = None
    after: Any = None


ADDED, REMOVED, CHANGED = "added", "removed", "changed"


@dataclass(frozen=True)
class Column:
    """One compared run. ``is_baseline`` marks the run the others are measured against."""

    run: Run
    label: str
    is_baseline: bool = False


@dataclass(frozen=True)
class ParamRow:
    key: str
    values: tuple[Any, ...]
    present: tuple[bool, ...]
    differs: bool


@dataclass(frozen=True)
class MetricRow:
    key: str
    direction: str
    values: tuple[float | None, ...]
    #: indices of the columns holding the best finite value (empty with fewer than two runs)
    best: frozenset[int]
    #: value minus the baseline's value, per column (None without a baseline or a value)
    deltas: tuple[float | None, ...]
    present: tuple[bool, ...] = ()
    differs: bool = False

    def improved(self, index: int) -> bool | None:
        """Whether column ``index`` beats the baseline on this metric (None if not comparable)."""
        delta = self.deltas[index]
        if delta is None or delta == 0:
            return None
        return delta < 0 if self.direction == LOWER else delta > 0


@dataclass(frozen=True)
class Comparison:
    columns: tuple[Column, ...]
    params: tuple[ParamRow, ...]
    metrics: tuple[MetricRow, ...]
    #: data inputs (:mod:`nbtrack.fingerprint`): values are one-line descriptions, ``differs``
    #: compares full content digests ("were these runs trained on the same data?")
    inputs: tuple[ParamRow, ...] = ()

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.columns]

    @property
    def baseline_index(self) -> int | None:
        return next((i for i, c in enumerate(self.columns) if c.is_baseline), None)

    def param_rows(self, show_all: bool = False) -> list[ParamRow]:
        """The params that differ between runs, or all of them with ``show_all``."""
        return [row for row in self.params if show_all or row.differs]

    def metric(self, key: str) -> MetricRow:
        for row in self.metrics:
            if row.key == key:
                return row
        raise KeyError(key)

    def changes(self, section: str) -> tuple[ValueChange, ...]:
        """What differs from the first run to the second in ``section`` (``"params"``, ``"metrics"``,
        ``"inputs"``: inputs by content digest, shown by description), sorted by key."""
        if len(self.columns) != 2:
            raise ValueError(f"changes compare two runs, not {len(self.columns)}")
        rows: Sequence[ParamRow | MetricRow] = getattr(self, section)
        return tuple(_change(row) for row in sorted(rows, key=lambda r: r.key) if row.differs)


def param_column_rank(key: str) -> int:
    """Which params deserve a column first (a stable sort keeps frequency order within a rank):
    the user's own names (``lr``), then an estimator's class (``model.estimator``), then the
    hyperparameters read from estimators (``model.mlpclassifier__alpha``), which mostly repeat
    the user's names and would otherwise crowd them out."""
    if "." not in key:
        return 0
    return 1 if key.endswith(".estimator") else 2


def compare_runs(
    runs: Sequence[Run],
    baseline: Run | None = None,
    baseline_label: str | None = None,
    directions: Mapping[str, str] | None = None,
) -> Comparison:
    """Compare ``runs`` (in order); ``baseline`` (one of them, or another run) is put first.

    >>> comparison = compare_runs([run_a, run_b], baseline=run_a)   # doctest: +SKIP
    >>> comparison.metric("f1").best                                # doctest: +SKIP
    frozenset({1})
    """
    ordered = list(runs)
    if baseline is not None:
        ordered = [baseline, *[r for r in ordered if r.id != baseline.id]]
    labels = _labels(ordered)
    if baseline is not None and baseline_label:
        labels[0] = baseline_label
    columns = tuple(
        Column(run, label, baseline is not None and i == 0) for i, (run, label) in enumerate(zip(ordered, labels))
    )
    param_keys = sorted({k for r in ordered for k in r.params}, key=lambda k: (param_column_rank(k), k))
    metric_keys = sorted({k for r in ordered for k in r.metrics})
    params = tuple(_param_row(key, ordered) for key in param_keys)
    metrics = tuple(
        _metric_row(key, ordered, metric_direction(key, directions), baseline is not None) for key in metric_keys
    )
    inputs = tuple(_input_row(key, ordered) for key in sorted({k for r in ordered for k in r.inputs}))
    return Comparison(columns, params, metrics, inputs)


def _labels(runs: Sequence[Run]) -> list[str]:
    """Run labels, with the short id added where two runs share a name."""
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.label] = counts.get(run.label, 0) + 1
    return [run.label if counts[run.label] == 1 else f"{run.label} ({run.short_id})" for run in runs]


def _change(row: ParamRow | MetricRow) -> ValueChange:
    (before, after), (had, has) = row.values, row.present
    return ValueChange(row.key, CHANGED if had and has else ADDED if has else REMOVED, before, after)


def _differs(values: Sequence[Any], present: Sequence[bool]) -> bool:
    if len(set(present)) > 1:
        return True
    shown = [v for v, p in zip(values, present) if p]
    return any(not same(shown[0], v) for v in shown[1:])


def _param_row(key: str, runs: Sequence[Run]) -> ParamRow:
    present = tuple(key in r.params for r in runs)
    values = tuple(r.params.get(key) for r in runs)
    return ParamRow(key, values, present, _differs(values, present))


def _input_row(key: str, runs: Sequence[Run]) -> ParamRow:
    prints = [r.inputs.get(key) for r in runs]
    present = tuple(p is not None for p in prints)
    digests = {(p is not None, p and p.get("digest")) for p in prints}
    return ParamRow(key, tuple(describe_input(p) if p else None for p in prints), present, len(digests) > 1)


def _metric_row(key: str, runs: Sequence[Run], direction: str, has_baseline: bool) -> MetricRow:
    present = tuple(key in r.metrics for r in runs)
    values = tuple(r.metrics[key].last if key in r.metrics else None for r in runs)
    finite = [(i, v) for i, v in enumerate(values) if _finite(v)]
    best: frozenset[int] = frozenset()
    if len(runs) > 1 and finite:
        target = (min if direction == LOWER else max)(v for _, v in finite)
        best = frozenset(i for i, v in finite if v == target)
    base = values[0] if has_baseline else None
    deltas = (
        tuple(v - base if _finite(v) and _finite(base) else None for v in values)
        if has_baseline
        else (None,) * len(values)
    )
    return MetricRow(key, direction, values, best, deltas, present, _differs(values, present))


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


__all__ = [
    "ADDED",
    "CHANGED",
    "Column",
    "Comparison",
    "HIGHER",
    "LOWER",
    "LOWER_IS_BETTER",
    "MetricRow",
    "ParamRow",
    "REMOVED",
    "ValueChange",
    "compare_runs",
    "metric_direction",
    "param_column_rank",
    "same",
]
