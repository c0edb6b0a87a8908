"""The syntax tree of a query: small frozen dataclasses that other modules can walk.

Positions (0-based offsets into the query text) are kept for error messages but left
out of equality, so ``parse("a=1") == parse("a = 1")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

#: run attributes a query may name, besides metrics.<key>, params.<key>, tags.<key> and inputs.<name>
ATTRIBUTES = (
    "id",
    "name",
    "status",
    "start_time",
    "end_time",
    "duration",
    "experiment",
    "notebook",
    "parent",
    "cell",
    "user",
    "note",
    "git_commit",
    "policy",
)
#: MLflow's attribute names (``attributes.run_id``, ``run_name``, ...) and the nbtrack attribute each means
ATTRIBUTE_ALIASES = {
    "run_id": "id",
    "run_name": "name",
    "run name": "name",
    "user_id": "user",
    "created": "start_time",
    "experiment_name": "experiment",
}
#: words that may stand before an attribute, as MLflow writes them (``attributes.status``)
ATTRIBUTE_PREFIXES = ("attributes", "attribute", "attr", "run")
#: what ``metrics.<key>.<aggregate>`` may select; ``last`` is the default
AGGREGATES = ("last", "min", "max", "count", "step")
#: the field kinds, named after the query prefixes
ATTRIBUTE, METRIC, PARAM, TAG, INPUT, DATASET = "attribute", "metric", "param", "tag", "input", "dataset"
#: MLflow's singular prefixes (``metric.loss``) are accepted too
PREFIXES = {
    "metrics": METRIC,
    "params": PARAM,
    "tags": TAG,
    "inputs": INPUT,
    "datasets": DATASET,
    "metric": METRIC,
    "param": PARAM,
    "tag": TAG,
    "dataset": DATASET,
}
#: what ``datasets.<field>`` may name (MLflow's dataset inputs; nbtrack's data inputs)
DATASET_FIELDS = ("name", "digest", "context")
#: MLflow's system tags that are run attributes in nbtrack: ``tags.mlflow.runName`` is ``name``
FOLDED_TAGS = {
    "mlflow.runName": "name",
    "mlflow.user": "user",
    "mlflow.parentRunId": "parent",
    "mlflow.note.content": "note",
    "mlflow.source.git.commit": "git_commit",
}
#: system tags that are an attribute for runs tracked here and a tag for imported ones: either matches
EITHER_TAGS = {"mlflow.source.name": "notebook"}
#: query dialects: nbtrack's own, and MLflow's (``nbtrack.mlflow``): there LIKE is case-sensitive and
#: ``start_time``/``end_time`` numbers are epoch milliseconds
NBTRACK, MLFLOW = "nbtrack", "mlflow"


@dataclass(frozen=True)
class Field:
    """A run attribute, ``metrics.<key>[.<aggregate>]``, ``params.<key>`` or ``tags.<key>``.

    ``name`` is the attribute name or the metric/param/tag key. ``scope`` is the prefix
    word of a scoped field (``production.metrics.f1``), allowed only when the caller
    of :func:`~nbtrack.query.parse` lists it.
    """

    kind: str
    name: str
    aggregate: str | None = None
    scope: str | None = None
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Literal:
    """A string, int, float, bool or None (``null``) written in the query."""

    value: str | int | float | bool | None
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Compare:
    """``field <op> value``; ``op`` is one of = != < <= > >= like, 'not like' (case-insensitive),
    glob, 'not glob' (case-sensitive LIKE: MLflow's).

    ``==`` is normalized to ``=`` and ``<>`` to ``!=``. ``value`` is a Field only in
    field-to-field comparisons such as promotion gates. ``position`` is the operator's.
    """

    field: Field
    op: str
    value: Literal | Field
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class InList:
    """``field [not] in (v1, v2, ...)``."""

    field: Field
    values: tuple[Literal, ...]
    negated: bool = False
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class IsNull:
    """``field is [not] null``: true when the key is missing (or a metric is NaN)."""

    field: Field
    negated: bool = False
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    item: "Node"


@dataclass(frozen=True)
class OrderItem:
    """One ``field [asc|desc]`` of an order-by list."""

    field: Field
    descending: bool = False


Predicate = Union[Compare, InList, IsNull]
Node = Union[Predicate, And, Or, Not]
