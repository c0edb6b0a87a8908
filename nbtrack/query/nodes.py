"""The syntax tree of a query: small frozen dataclasses that other modules can walk.

Positions (0-based offsets into the query text) are kept for error messages but left
out of equality, so ``parse("a=1") == parse("a = 1")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

#: run attributes a query may name, besides metrics.<key>, params.<key>, tags.<key> and inputs.<name>
ATTRIBUTES = ("id", "name", "status", "start_time", "end_time", "duration", "experiment", "notebook", "parent", "cell")
#: what ``metrics.<key>.<aggregate>`` may select; ``last`` is the default
AGGREGATES = ("last", "min", "max", "count", "step")
#: the field kinds, named after the query prefixes
ATTRIBUTE, METRIC, PARAM, TAG, INPUT = "attribute", "metric", "param", "tag", "input"
PREFIXES = {"metrics": METRIC, "params": PARAM, "tags": TAG, "inputs": INPUT}


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
    """``field <op> value``; ``op`` is one of = != < <= > >= like, 'not like'.

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
