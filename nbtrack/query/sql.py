"""Compiling a parsed query into parameterized SQL over ``runs r JOIN experiments e``.

User text never becomes SQL text: keys and values are always bound ``?`` parameters;
only names from the fixed tables below are written into the SQL.

Metric, param and tag predicates become ``+r.id IN (SELECT run_id FROM <table> WHERE
key = ? AND <condition>)``: an uncorrelated subquery that SQLite runs once as a range
scan over the ``(key[, type], value)`` indexes, instead of one lookup per run. The unary
``+`` keeps SQLite from driving the query by one of those lists (a lookup into ``runs`` per
listed run, then a sort: 70 ms for 25,000 runs of ``params.model = 'gbm'`` in a store of
100,000): it walks the live runs in the requested order instead (the ``runs_live_newest``
index for the default one), checks each against the lists, and stops at the LIMIT (15 ms).
Its worst case, a filter that matches almost nothing, is one pass over that index. Every predicate
is two-valued (true or false, never SQL NULL), so ``not`` means what it says.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from ..entities import RUN_STATUSES
from ..errors import QueryError
from ..policy import OK, POLICY_TAG, VIOLATIONS
from .nodes import (
    ATTRIBUTE,
    DATASET,
    INPUT,
    METRIC,
    PARAM,
    TAG,
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

#: the order when none is given: newest first
DEFAULT_ORDER = "r.start_time DESC, r.id DESC"
#: SQLite refuses statements with too many parameters (32766 by default); stay well below
MAX_PARAMETERS = 10_000
#: comparisons per query: SQLite refuses expressions nested deeper than 1000, and an
#: ``a or b or ...`` chain nests one level per term
MAX_COMPARISONS = 500
#: SQLite refuses LIKE patterns longer than this many bytes at execution time
MAX_LIKE_BYTES = 50_000

_TEXT, _STATUS, _ID, _TIME, _NUMBER, _POLICY = "text", "status", "id", "time", "number", "policy"
# attribute -> (SQL expression, value type, nullable)
_ATTRIBUTES: dict[str, tuple[str, str, bool]] = {
    "id": ("r.uuid", _ID, False),
    "name": ("r.name", _TEXT, True),
    "status": ("r.status", _STATUS, False),
    "start_time": ("r.start_time", _TIME, False),
    "end_time": ("r.end_time", _TIME, True),
    "duration": ("(coalesce(r.end_time, r.heartbeat) - r.start_time)", _NUMBER, True),
    "experiment": ("e.name", _TEXT, False),
    "notebook": ("r.notebook_path", _TEXT, True),
    "parent": ("(SELECT pr.uuid FROM runs pr WHERE pr.id = r.parent_id)", _ID, True),
    "cell": ("r.cell_key", _TEXT, True),
    "user": ("r.user", _TEXT, True),
    "note": ("r.note", _TEXT, True),
    "git_commit": ("r.git_commit", _TEXT, True),
    # the team policy's verdict tag, read as 'ok' or 'violations' (NULL: not checked)
    "policy": (
        f"(SELECT CASE WHEN pt.value = '{OK}' THEN '{OK}' ELSE '{VIOLATIONS}' END FROM tags pt "
        f"WHERE pt.run_id = r.id AND pt.key = '{POLICY_TAG}')",
        _POLICY,
        True,
    ),
}
# kind -> (table, condition selecting the key, with one ? for the key)
_SOURCES = {
    METRIC: ("latest_metrics", "key_id = (SELECT id FROM metric_keys WHERE key = ?)"),
    PARAM: ("params", "key = ?"),
    TAG: ("tags", "key = ?"),
    # data inputs live in the provenance document: (run_id, key, value = content digest) rows
    INPUT: (
        "(SELECT ir.run_id AS run_id, ij.key AS key, json_extract(ij.value, '$.digest') AS value "
        "FROM run_documents ir, json_each(ir.provenance, '$.inputs') ij WHERE json_valid(ir.provenance))",
        "key = ?",
    ),
}
# datasets.<field>: the run's data inputs by name, content digest and context
_DATASETS = (
    "(SELECT ir.run_id AS run_id, ij.key AS name, json_extract(ij.value, '$.digest') AS digest, "
    "json_extract(ij.value, '$.context') AS context FROM run_documents ir, json_each(ir.provenance, '$.inputs') ij "
    "WHERE json_valid(ir.provenance))"
)
_START_TIME = Field(ATTRIBUTE, "start_time")
_METRIC_COLUMNS = {"last": "value", "min": "min", "max": "max", "count": "count", "step": "step"}
# params are typed: a literal only compares with params of its own kind
_PARAM_KINDS = {
    "number": "type IN ('int', 'float') AND typeof(value) != 'text'",  # non-finite floats are stored as text
    "bool": "type = 'bool'",
    "text": "type IN ('str', 'json')",
}
_NEGATIONS = {"!=": "=", "not like": "like", "not glob": "glob", "not in": "in"}
_HEX = re.compile(r"[0-9a-f]{4,64}")


def compile_where(node: Node, text: str) -> tuple[str, list]:
    """SQL and parameters for a parsed filter; ``text`` is the query, for error positions."""
    compiler = _Compiler(text)
    sql = compiler.node(node)
    return sql, compiler.checked_params()


def compile_order(items: tuple[OrderItem, ...], text: str) -> tuple[str, list]:
    """ORDER BY terms (NULLs last either way, ties newest-id first) and their parameters."""
    if len(items) == 1 and items[0].field == _START_TIME and items[0].descending:
        return DEFAULT_ORDER, []  # the same order (start_time is never NULL), in the words the index serves
    compiler = _Compiler(text)
    terms = [f"{compiler.value(item.field)} {'DESC' if item.descending else 'ASC'} NULLS LAST" for item in items]
    return ", ".join([*terms, "r.id DESC"]), compiler.checked_params()


class _Compiler:
    """Builds SQL left to right, appending each bound value as its ``?`` is written."""

    def __init__(self, text: str):
        self.text = text
        self.params: list[Any] = []
        self.comparisons = 0

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def fail(self, message: str, position: int) -> QueryError:
        return QueryError(message, self.text, position)

    def checked_params(self) -> list:
        if len(self.params) > MAX_PARAMETERS:
            raise self.fail(f"the query is too long (more than {MAX_PARAMETERS} keys and values)", 0)
        if self.comparisons > MAX_COMPARISONS:
            raise self.fail(f"the query has more than {MAX_COMPARISONS} comparisons; use 'in (...)' for long lists", 0)
        return self.params

    # -- boolean structure ---------------------------------------------------------------------
    def node(self, node: Node) -> str:
        """SQL for a node, nesting as little as possible.

        SQLite's parser stack overflows after ~30 nested ``(a AND (b OR ...`` groups, so
        nested and-in-and / or-in-or are flattened, ``not not`` cancels, and ``NOT`` adds
        no parentheses (it binds looser than every predicate we emit).
        """
        if isinstance(node, (And, Or)):
            joiner = " AND " if isinstance(node, And) else " OR "
            return "(" + joiner.join(self.node(item) for item in _flatten(node)) + ")"
        if isinstance(node, Not):
            return self.node(node.item.item) if isinstance(node.item, Not) else f"NOT {self.node(node.item)}"
        self.comparisons += 1
        if isinstance(node, IsNull):
            return self.is_null(node)
        return self.predicate(node)

    # -- predicates ----------------------------------------------------------------------------
    def predicate(self, node: Compare | InList) -> str:
        if isinstance(node, Compare) and isinstance(node.value, Field):
            raise self.fail("a filter compares a field with a value, not with another field", node.value.position)
        op = node.op if isinstance(node, Compare) else ("not in" if node.negated else "in")
        literals = (node.value,) if isinstance(node, Compare) else node.values
        if node.field.kind == ATTRIBUTE:
            return self.attribute(node.field, op, literals, node.position)
        if node.field.kind == DATASET:
            return self.dataset(node.field, op, literals, node.position)
        return self.keyed(node.field, op, literals, node.position)

    def dataset(self, field: Field, op: str, literals: tuple[Literal, ...], position: int) -> str:
        """``datasets.name = 'train'``: some data input of the run has that name (digest, context)."""
        if any(_kind(lit.value) != "text" for lit in literals):
            raise self.fail(f"datasets.{field.name} is text: quote the value", position)
        positive = _NEGATIONS.get(op, op)
        # a digest is shown (and written by MLflow) as 8 characters: compare on those
        column = "substr(digest, 1, 8)" if field.name == "digest" else field.name
        condition = self.condition(column, positive, list(literals))
        if positive != op:
            condition = f"{column} IS NOT NULL AND NOT ({condition})"
        return f"r.id IN (SELECT run_id FROM {_DATASETS} WHERE {condition})"

    def is_null(self, node: IsNull) -> str:
        field = node.field
        if field.kind == ATTRIBUTE:
            column, _, _ = _ATTRIBUTES[field.name]
            return f"{column} IS {'NOT ' if node.negated else ''}NULL"
        if field.kind == DATASET:
            return f"r.id {'IN' if node.negated else 'NOT IN'} (SELECT run_id FROM {_DATASETS} WHERE {field.name} IS NOT NULL)"
        table, key_condition = _SOURCES[field.kind]
        exists = f"SELECT run_id FROM {table} WHERE {key_condition} AND {_column(field)} IS NOT NULL"
        self.bind(field.name)
        return f"+r.id {'IN' if node.negated else 'NOT IN'} ({exists})"

    def keyed(self, field: Field, op: str, literals: tuple[Literal, ...], position: int) -> str:
        """A metric/param/tag predicate; negated operators mean "has the key, and not ..."."""
        table, key_condition = _SOURCES[field.kind]
        sql = f"+r.id IN (SELECT run_id FROM {table} WHERE {key_condition} AND "
        self.bind(field.name)
        column = _column(field)
        positive = _NEGATIONS.get(op, op)
        condition = self.typed_condition(field, column, positive, literals, position)
        if positive != op:
            condition = f"{column} IS NOT NULL AND NOT ({condition})"
        return f"{sql}{condition})"

    def typed_condition(self, field: Field, column: str, op: str, literals: tuple[Literal, ...], position: int) -> str:
        if field.kind == PARAM:
            groups: dict[str, list] = {}
            for literal in literals:
                groups.setdefault(_kind(literal.value), []).append(literal)
            parts = [f"{_PARAM_KINDS[kind]} AND {self.condition(column, op, group)}" for kind, group in groups.items()]
            return parts[0] if len(parts) == 1 else "(" + " OR ".join(f"({part})" for part in parts) + ")"
        if field.kind == METRIC:
            if op in ("like", "glob"):
                raise self.fail("'like' needs text, but metrics are numbers", position)
            return self.condition(column, op, [self.metric_literal(field, literal) for literal in literals])
        if field.kind == INPUT:
            return self.digest_prefix(field, column, op, literals, position)
        return self.condition(column, op, [Literal(_tag_text(lit.value), lit.position) for lit in literals])

    def digest_prefix(self, field: Field, column: str, op: str, literals: tuple[Literal, ...], position: int) -> str:
        """``inputs.X = '3f2a1b0c'``: the input's content digest starts with that hex prefix."""
        if op not in ("=", "in"):
            raise self.fail(
                f"inputs.{field.name} is a content digest: compare it with =, != or in, e.g. inputs.{field.name} = '3f2a1b0c'",
                position,
            )
        for literal in literals:
            if _kind(literal.value) != "text" or not _HEX.fullmatch(literal.value.lower()):
                raise self.fail(
                    f"compare inputs.{field.name} with a digest prefix of 4+ hex characters, e.g. '3f2a1b0c'",
                    literal.position,
                )
        return self.id_prefix(column, op, [Literal(lit.value.lower(), lit.position) for lit in literals])

    def metric_literal(self, field: Field, literal: Literal) -> Literal:
        if _kind(literal.value) == "text":
            raise self.fail(
                f"metrics are numbers: compare metrics.{field.name} with a number, not a string", literal.position
            )
        return Literal(float(literal.value), literal.position)

    def condition(self, column: str, op: str, literals: list[Literal]) -> str:
        """``column <op> ?`` (or ``IN (?, ...)``) for already-converted literals."""
        if op in ("in", "not in"):
            return f"{column} {op.upper()} ({', '.join(self.bind(lit.value) for lit in literals)})"
        if op in ("like", "not like"):
            self.check_pattern(literals[0])
            return f"{column} {op.upper()} {self.bind(literals[0].value)} ESCAPE '\\'"
        if op in ("glob", "not glob"):  # MLflow's case-sensitive LIKE: % and _ as GLOB's * and ?
            self.check_pattern(literals[0])
            return f"{column} {op.upper()} {self.bind(_glob(literals[0].value))}"
        return f"{column} {op} {self.bind(literals[0].value)}"

    def check_pattern(self, literal: Literal) -> None:
        if len(literal.value.encode("utf-8")) > MAX_LIKE_BYTES:
            raise self.fail(f"the 'like' pattern is longer than {MAX_LIKE_BYTES} bytes", literal.position)

    # -- attributes ----------------------------------------------------------------------------
    def attribute(self, field: Field, op: str, literals: tuple[Literal, ...], position: int) -> str:
        column, value_type, nullable = _ATTRIBUTES[field.name]
        if op in ("like", "not like", "glob", "not glob") and value_type in (_TIME, _NUMBER):
            raise self.fail(f"'like' needs text, but {field.name} is a number", position)
        converted = [Literal(self.attribute_value(field, value_type, op, lit), lit.position) for lit in literals]
        if field.name == "parent":
            # Look the parent up by its uuid once, instead of reading every run's parent row.
            return f"r.parent_id IN (SELECT pr.id FROM runs pr WHERE {self.value_condition('pr.uuid', value_type, op, converted)})"
        condition = self.value_condition(column, value_type, op, converted)
        return f"({column} IS NOT NULL AND {condition})" if nullable else condition

    def value_condition(self, column: str, value_type: str, op: str, literals: list[Literal]) -> str:
        if value_type == _ID and op in ("=", "!=", "in", "not in"):
            return self.id_prefix(column, op, literals)
        return self.condition(column, op, literals)

    def attribute_value(self, field: Field, value_type: str, op: str, literal: Literal) -> Any:
        value, kind = literal.value, _kind(literal.value)
        if value_type in (_TIME, _NUMBER) and kind == "number":
            return float(value)
        if value_type == _TIME and kind == "text":
            return self.epoch(value, literal.position)
        if value_type in (_TIME, _NUMBER):
            raise self.fail(
                f"{field.name} is a number{' or an ISO date' if value_type == _TIME else ''}", literal.position
            )
        if kind != "text":
            raise self.fail(f"{field.name} is text: quote the value, e.g. {field.name} = '{value}'", literal.position)
        if value_type == _STATUS:
            return self.status(value, op, literal.position)
        if value_type == _POLICY and op in ("=", "!=", "in", "not in") and value.lower() not in (OK, VIOLATIONS):
            raise self.fail(
                f"policy is '{OK}' or '{VIOLATIONS}' (runs not checked against a policy: policy is null), not {value!r}",
                literal.position,
            )
        if value_type == _POLICY:
            return value.lower()
        if value_type == _ID:
            return self.run_id(value, literal.position)
        return value

    def status(self, value: str, op: str, position: int) -> str:
        status = value.upper()
        if op in ("=", "!=", "in", "not in") and status not in RUN_STATUSES:
            raise self.fail(f"unknown status {value!r} (expected one of {', '.join(RUN_STATUSES)})", position)
        return status

    def run_id(self, value: str, position: int) -> str:
        if not value:
            raise self.fail("an empty run id would match every run", position)
        return value.lower()

    def id_prefix(self, column: str, op: str, literals: list[Literal]) -> str:
        """``id = 'ab12'`` matches ids starting with ab12, as run references do elsewhere.

        One prefix is a range (``>= 'ab12' AND < 'ab12\\x7f'``: run ids are lowercase hex,
        below 0x7f) that uses the uuid index. A list is grouped by prefix length into
        ``substr(id, 1, n) IN (...)``, so a pasted list of 1,000 ids stays one flat term.
        """
        if len(literals) == 1:
            prefix = literals[0].value
            matched = f"{column} >= {self.bind(prefix)} AND {column} < {self.bind(prefix + chr(0x7F))}"
        else:
            by_length: dict[int, list[str]] = {}
            for literal in literals:
                by_length.setdefault(len(literal.value), []).append(literal.value)
            self.comparisons += len(by_length) - 1
            matched = " OR ".join(
                f"substr({column}, 1, {self.bind(length)}) IN ({', '.join(self.bind(v) for v in prefixes)})"
                for length, prefixes in by_length.items()
            )
        return f"NOT ({matched})" if op in ("!=", "not in") else f"({matched})"

    def epoch(self, text: str, position: int) -> float:
        """ISO date or datetime -> epoch seconds; UTC when no offset is given."""
        iso = text.strip()
        if iso[-1:] in ("Z", "z"):
            iso = iso[:-1] + "+00:00"  # Python 3.10's fromisoformat does not read 'Z'
        try:
            moment = datetime.fromisoformat(iso)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            return moment.timestamp()
        except (ValueError, OverflowError, OSError):
            raise self.fail(
                f"expected an ISO date such as '2026-11-01' or '2026-11-01T13:30:00', got {text!r}", position
            ) from None

    # -- values for ORDER BY -------------------------------------------------------------------
    def value(self, field: Field) -> str:
        """A scalar SQL expression for ``field``'s value on run ``r`` (NULL when missing)."""
        if field.kind == ATTRIBUTE:
            return _ATTRIBUTES[field.name][0]
        if field.kind == DATASET:
            raise self.fail("runs cannot be ordered by datasets (a run may have several)", field.position)
        table, key_condition = _SOURCES[field.kind]
        sql = f"(SELECT {_column(field)} FROM {table} WHERE run_id = r.id AND {key_condition})"
        self.bind(field.name)
        return sql


def _flatten(node: And | Or) -> list[Node]:
    """The items of ``a and (b and c)`` as ``[a, b, c]`` (likewise for ``or``)."""
    items: list[Node] = []
    for item in node.items:
        items.extend(_flatten(item) if type(item) is type(node) else [item])
    return items


def _column(field: Field) -> str:
    return _METRIC_COLUMNS[field.aggregate] if field.kind == METRIC else "value"


def _kind(value: Any) -> str:
    """'bool', 'number' or 'text': how a literal compares (bool before int: True is an int)."""
    if isinstance(value, bool):
        return "bool"
    return "number" if isinstance(value, (int, float)) else "text"


def _tag_text(value: Any) -> str:
    """Tags are text; a number or bool compares as the text nbtrack stores for it (``str``)."""
    return value if isinstance(value, str) else str(value)


def _glob(pattern: str) -> str:
    """A LIKE pattern as a GLOB pattern: ``%`` -> ``*``, ``_`` -> ``?``, GLOB's own specials bracketed."""
    special = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(special.get(char, char) for char in pattern)
