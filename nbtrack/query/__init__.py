"""The run filter and order-by language, compiled to parameterized SQLite.

A filter::

    metrics.f1 > 0.8 and (params.model = 'gbm' or params.model in ('rf', 'xgb'))
        and tags.team = 'churn' and status = 'FINISHED'

Grammar (keywords are case-insensitive; keys are case-sensitive)::

    filter     := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" or_expr ")" | predicate
    predicate  := field ("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=") value
                | field ["not"] "like" string
                | field ["not"] "in" "(" value ("," value)* ")"
                | field "is" ["not"] "null"
    value      := string | number | "true" | "false"
    field      := attribute | "metrics." key ["." aggregate] | "params." key | "tags." key
    key        := segment ("." segment)*
    segment    := [A-Za-z0-9_]+ | "`" any text, "``" for a backquote "`"
    aggregate  := "last" | "min" | "max" | "count" | "step"
    attribute  := "id" | "name" | "status" | "start_time" | "end_time" | "duration"
                | "experiment" | "notebook" | "parent" | "cell"
    order_by   := field ["asc" | "desc"] ("," field ["asc" | "desc"])*

Values:

- Strings take single or double quotes; double the quote to include it: ``'it''s'``.
- Numbers: ``3``, ``-2``, ``0.5``, ``.5``, ``1e-3``. ``true``/``false`` are booleans.
  ``null`` is only written as ``is null`` / ``is not null``.

Fields:

- ``metrics.<key>`` is the metric's last value (highest step); ``metrics.<key>.min``,
  ``.max``, ``.count``, ``.step`` select aggregates over its history, ``.last`` the default.
  Because of this, a key whose last segment is an aggregate name must be backquoted:
  ``metrics.`loss.min```. Keys containing anything but letters, digits, ``_`` and dots
  are backquoted too: ``metrics.`val/loss```, ``params.`learning-rate```.
- ``params.<key>`` compares by type: a number matches int and float params numerically
  (``params.lr > 0.01``), a string matches str and JSON params as text
  (``params.model = 'gbm'``), ``true``/``false`` match bool params. ``params.n = '5'``
  does not match the int 5.
- ``tags.<key>`` is text; a number or boolean compares as the text nbtrack stores for it
  (``tags.epoch = 5`` matches the tag logged as ``5``; ``<``/``>`` compare alphabetically).
- Attributes: ``id`` (the run id), ``name``, ``status`` (case-insensitive; one of RUNNING,
  FINISHED, FAILED, KILLED), ``start_time`` and ``end_time`` (epoch seconds, or ISO dates
  and datetimes in quotes, UTC unless an offset is given: ``start_time > '2026-11-01'``),
  ``duration`` (seconds from start to end, or to the last heartbeat of a running run),
  ``experiment`` (its name), ``notebook`` (its path), ``parent`` (the parent run's id),
  ``cell`` (the cell key that links re-runs of one cell).
- ``id = 'ab12'`` and ``parent = 'ab12'`` match ids *starting with* ``ab12`` (like run
  references elsewhere; a full id matches itself); ``in``/``!=`` likewise.

Semantics:

- Every comparison is true or false. One on a missing metric, param or tag (or a metric
  whose last value is NaN, a param set to None, an attribute that is empty) is false, and
  ``is null`` is true for it. ``!=``, ``not in`` and ``not like`` need the field to be
  present: ``params.model != 'gbm'`` skips runs without a model param, while
  ``not params.model = 'gbm'`` includes them.
- ``like`` uses ``%`` (any text) and ``_`` (one character), case-insensitive for ASCII
  (SQLite's LIKE); ``\\`` escapes them: ``'top\\_5%'``.
- Limits: at most 16 levels of parentheses and ``not``, and 500 comparisons (an ``in``
  list counts as one): beyond those SQLite itself would refuse the statement.
- Order by: ``asc`` is the default; runs without the value come last in both directions,
  and ties are broken newest-id first. An empty order means newest first.

Use :func:`compile_filter` and :func:`compile_order_by` to query the store; :func:`parse`,
:func:`parse_order_by` and :func:`tokenize` let other tools (promotion gates, inline error
display) reuse the language. Every problem raises :class:`~nbtrack.errors.QueryError`
with the 0-based position of the offending text.
"""

from __future__ import annotations

from ..errors import QueryError
from .nodes import (
    AGGREGATES,
    ATTRIBUTES,
    MLFLOW,
    NBTRACK,
    And,
    Compare,
    Field,
    InList,
    IsNull,
    Literal,
    Node,
    Not,
    Or,
    OrderItem,
)
from .parser import MAX_DEPTH, parse, parse_order_by
from .sql import DEFAULT_ORDER, MAX_COMPARISONS, compile_order, compile_where
from .tokens import Part, Token, tokenize


def compile_filter(text: str | None, dialect: str = NBTRACK) -> tuple[str, list]:
    """Compile a filter into a WHERE fragment over ``runs r JOIN experiments e`` and its parameters.

    >>> compile_filter("params.model = 'gbm'")[1]
    ['model', 'gbm']
    >>> compile_filter("  ")
    ('', [])
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return "", []
    return compile_where(parse(text, dialect=dialect), text)


def compile_order_by(text: str | list | tuple | None) -> tuple[str, list]:
    """Compile an order such as ``"metrics.f1 desc, params.lr"`` into ORDER BY terms and parameters.

    The parameters belong after the WHERE parameters (ORDER BY follows WHERE in the
    statement) and before any LIMIT parameter:
    ``repo.search(where, where_params, order_sql, order_params)``.
    """
    if isinstance(text, (list, tuple)):  # MLflow's order_by=["metrics.f1 DESC", "start_time"]
        text = (
            ", ".join(item for item in text if isinstance(item, str) and item.strip())
            if all(isinstance(i, str) for i in text)
            else text
        )
    if text is None or (isinstance(text, str) and not text.strip()):
        return DEFAULT_ORDER, []
    return compile_order(parse_order_by(text), text)


__all__ = [
    "AGGREGATES",
    "ATTRIBUTES",
    "MAX_COMPARISONS",
    "MAX_DEPTH",
    "MLFLOW",
    "NBTRACK",
    "And",
    "Compare",
    "Field",
    "InList",
    "IsNull",
    "Literal",
    "Node",
    "Not",
    "Or",
    "OrderItem",
    "Part",
    "QueryError",
    "Token",
    "compile_filter",
    "compile_order_by",
    "parse",
    "parse_order_by",
    "tokenize",
]
