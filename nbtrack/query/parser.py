"""A recursive-descent parser from tokens to the :mod:`~nbtrack.query.nodes` tree.

Whatever the input, the only exception raised is :class:`~nbtrack.errors.QueryError`,
with the position of the offending token; nesting deeper than :data:`MAX_DEPTH` is
refused before Python's recursion limit can be reached.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from ..errors import QueryError
from ..interop import mlflow_mapping as mapping
from .nodes import (
    AGGREGATES,
    ATTRIBUTE,
    ATTRIBUTE_ALIASES,
    ATTRIBUTE_PREFIXES,
    ATTRIBUTES,
    DATASET,
    DATASET_FIELDS,
    EITHER_TAGS,
    FOLDED_TAGS,
    METRIC,
    MLFLOW,
    NBTRACK,
    PARAM,
    PREFIXES,
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
from .tokens import END, KEYWORD, NAME, NUMBER, OPERATOR, PUNCT, STRING, Token, tokenize

#: how many levels of parentheses and ``not`` a query may nest: SQLite's parser stack
#: overflows at ~25 levels of our SQL, and callers may wrap the filter in more SQL
MAX_DEPTH = 16
_NORMALIZED_OPS = {"==": "=", "<>": "!="}
_LITERAL_KEYWORDS = {"true": True, "false": False, "null": None}
_FIELD_HELP = "a field (an attribute such as status, or metrics.<key>, params.<key>, tags.<key>)"


class Parser:
    """Parses one query text; use :func:`parse` or :func:`parse_order_by`."""

    def __init__(self, text: str, scopes: Iterable[str] = (), dialect: str = NBTRACK):
        if dialect not in (NBTRACK, MLFLOW):
            raise QueryError(f"unknown query dialect {dialect!r}")
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.scopes = frozenset(s.lower() for s in scopes)
        self.dialect = dialect

    # -- token helpers -------------------------------------------------------------------------
    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.token
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def at(self, punct: str) -> bool:
        return self.token.kind == PUNCT and self.token.value == punct

    def accept(self, *keywords: str) -> Token | None:
        """Consume and return the current token if it is one of ``keywords``."""
        if self.token.kind == KEYWORD and self.token.value in keywords:
            return self.advance()
        return None

    def fail(self, message: str, token: Token | None = None) -> QueryError:
        return QueryError(message, self.text, (token or self.token).position)

    def found(self) -> str:
        """How the current token reads in an error message."""
        return "the end of the query" if self.token.kind == END else repr(self.token.text)

    # -- boolean structure ---------------------------------------------------------------------
    def filter(self) -> Node:
        node = self.or_expr()
        if self.token.kind != END:
            raise self.fail(f"expected 'and', 'or' or the end of the query, found {self.found()}")
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.accept("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.accept("and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Node:
        keyword = self.accept("not")
        if keyword is None:
            return self.primary()
        with self.nested(keyword):
            return Not(self.not_expr())

    def primary(self) -> Node:
        if not self.at("("):
            return self.predicate()
        opening = self.advance()
        with self.nested(opening):
            node = self.or_expr()
        if not self.at(")"):
            raise self.fail(f"expected ')' to close the '(' at position {opening.position}, found {self.found()}")
        self.advance()
        return node

    @contextmanager
    def nested(self, token: Token) -> Iterator[None]:
        """One more level of parentheses or ``not``; refuses to go deeper than MAX_DEPTH."""
        if self.depth >= MAX_DEPTH:
            raise self.fail(f"the query nests more than {MAX_DEPTH} levels of parentheses or 'not'", token)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    # -- predicates ----------------------------------------------------------------------------
    def predicate(self) -> Node:
        field = self.field()
        if field.kind == TAG and field.name in EITHER_TAGS:
            # tags.mlflow.source.name: the notebook path of runs tracked here, the tag of imported runs
            start = self.index
            as_attribute = self.comparison(
                Field(ATTRIBUTE, EITHER_TAGS[field.name], scope=field.scope, position=field.position)
            )
            self.index = start
            as_tag = self.comparison(field)
            both_missing = isinstance(as_tag, IsNull) and not as_tag.negated
            return And((as_attribute, as_tag)) if both_missing else Or((as_attribute, as_tag))
        return self.comparison(field)

    def comparison(self, field: Field) -> Node:
        token = self.token
        if token.kind == OPERATOR:
            self.advance()
            op, operand = _NORMALIZED_OPS.get(token.value, token.value), self.operand(token)
            if self.is_ms(field, operand):
                return _millisecond(field, op, operand, token.position)
            return Compare(field, op, self.in_units(field, operand), token.position)
        if self.accept("is"):
            negated = self.accept("not") is not None
            if not self.accept("null"):
                raise self.fail(f"expected 'null' or 'not null' after 'is', found {self.found()}")
            return IsNull(field, negated, token.position)
        negated = self.accept("not") is not None
        like = self.accept("like", "ilike")
        if like is not None:
            # MLflow's LIKE is case-sensitive (a GLOB underneath), its ILIKE and nbtrack's LIKE are not
            op = "glob" if like.value == "like" and self.dialect == MLFLOW else "like"
            return Compare(field, f"not {op}" if negated else op, self.pattern(), token.position)
        if self.accept("in"):
            values = self.value_list()
            if any(self.is_ms(field, v) for v in values):
                matched = Or(tuple(_millisecond(field, "=", v, token.position) for v in values))
                return Not(matched) if negated else matched
            return InList(field, tuple(self.in_units(field, v) for v in values), negated, token.position)
        if negated:
            raise self.fail(f"expected 'like' or 'in' after 'not', found {self.found()}")
        written = self.text[field.position : token.position].rstrip()
        raise self.fail(
            f"expected an operator (= != < <= > >= like ilike in is) after {written!r}, found {self.found()}"
        )

    def operand(self, operator: Token) -> Literal | Field:
        if self.token.kind == NAME:
            return self.field()
        if self.token.kind == KEYWORD and self.token.value == "null":
            raise self.fail(f"use 'is null' or 'is not null' instead of '{operator.text} null'")
        return self.literal(f"a value after {operator.text!r}")

    def is_ms(self, field: Field, operand: Literal | Field) -> bool:
        """In MLflow's dialect a number compared with start_time/end_time is epoch milliseconds."""
        return (
            self.dialect == MLFLOW
            and isinstance(operand, Literal)
            and field.kind == ATTRIBUTE
            and field.name in ("start_time", "end_time")
            and isinstance(operand.value, (int, float))
            and not isinstance(operand.value, bool)
        )

    def in_units(self, field: Field, operand: Literal | Field) -> Literal | Field:
        """A value as MLflow's dialect means it: params are text, so ``params.lr = '0.01'`` means the
        param MLflow shows as ``0.01`` (nbtrack keeps it typed)."""
        if self.dialect != MLFLOW or not isinstance(operand, Literal):
            return operand
        value = operand.value
        if field.kind == PARAM and isinstance(value, str):
            typed = mapping.param_from_text(value)
            if isinstance(typed, (bool, int, float)):
                return Literal(typed, operand.position)
        return operand

    def pattern(self) -> Literal:
        if self.token.kind != STRING:
            raise self.fail(f"expected a quoted pattern after 'like' (e.g. 'gbm%'), found {self.found()}")
        token = self.advance()
        return Literal(token.value, token.position)

    def value_list(self) -> tuple[Literal, ...]:
        if not self.at("("):
            raise self.fail(f"expected '(' after 'in', found {self.found()}")
        opening = self.advance()
        values = [self.list_item()]
        while self.at(","):
            self.advance()
            values.append(self.list_item())
        if not self.at(")"):
            raise self.fail(
                f"expected ',' or ')' to close the list at position {opening.position}, found {self.found()}"
            )
        self.advance()
        return tuple(values)

    def list_item(self) -> Literal:
        if self.token.kind == KEYWORD and self.token.value == "null":
            raise self.fail("null never matches in a list; use 'is null' instead")
        return self.literal("a value in the list")

    def literal(self, expected: str) -> Literal:
        token = self.token
        if token.kind in (NUMBER, STRING):
            self.advance()
            return Literal(token.value, token.position)
        if token.kind == KEYWORD and token.value in _LITERAL_KEYWORDS:
            self.advance()
            return Literal(_LITERAL_KEYWORDS[token.value], token.position)
        raise self.fail(f"expected {expected}, found {self.found()}")

    # -- fields --------------------------------------------------------------------------------
    def field(self) -> Field:
        token = self.token
        if token.kind != NAME:
            raise self.fail(f"expected {_FIELD_HELP}, found {self.found()}")
        self.advance()
        parts, scope = list(token.value), None
        if len(parts) > 1 and parts[0].text.lower() in self.scopes:
            scope = parts.pop(0).text.lower()
        if len(parts) > 1 and not parts[0].quoted and parts[0].text.lower() in ATTRIBUTE_PREFIXES:
            parts.pop(0)  # MLflow's attributes.status, attribute.run_id, run.start_time
        head = ATTRIBUTE_ALIASES.get(parts[0].text.lower(), parts[0].text.lower())
        if head in PREFIXES:
            return self.keyed_field(token, parts, scope)
        if head not in ATTRIBUTES:
            raise self.fail(unknown_field_message(parts[0].text, len(parts) > 1), token)
        if len(parts) > 1:
            raise self.fail(
                f"attribute {head!r} has no sub-fields; for a key use metrics.<key>, params.<key> or tags.<key>", token
            )
        return Field(ATTRIBUTE, head, scope=scope, position=token.position)

    def keyed_field(self, token: Token, parts: list, scope: str | None) -> Field:
        kind = PREFIXES[parts[0].text.lower()]
        keys = parts[1:]
        if not keys:
            raise self.fail(f"{parts[0].text!r} needs a key, e.g. {parts[0].text}.loss", token)
        aggregate = None
        key = ".".join(k.text for k in keys)
        if kind == TAG and key in FOLDED_TAGS:  # tags.mlflow.runName is the run's name (folded on import)
            return Field(ATTRIBUTE, FOLDED_TAGS[key], scope=scope, position=token.position)
        if kind == DATASET:
            if len(keys) != 1 or keys[0].text.lower() not in DATASET_FIELDS:
                raise self.fail(
                    f"datasets has the fields {', '.join(DATASET_FIELDS)}, e.g. datasets.name = 'train'", token
                )
            return Field(DATASET, keys[0].text.lower(), scope=scope, position=token.position)
        if kind == METRIC:
            aggregate = "last"
            if len(keys) > 1 and not keys[-1].quoted and keys[-1].text.lower() in AGGREGATES:
                aggregate = keys.pop().text.lower()
        return Field(kind, ".".join(k.text for k in keys), aggregate, scope, token.position)

    # -- order by ------------------------------------------------------------------------------
    def order_items(self) -> tuple[OrderItem, ...]:
        items = [self.order_item()]
        while self.at(","):
            self.advance()
            items.append(self.order_item())
        if self.token.kind != END:
            raise self.fail(f"expected ',', 'asc', 'desc' or the end of the order, found {self.found()}")
        return tuple(items)

    def order_item(self) -> OrderItem:
        field = self.field()
        direction = self.accept("asc", "desc")
        return OrderItem(field, direction is not None and direction.value == "desc")


def _millisecond(field: Field, op: str, literal: Literal, position: int) -> Node:
    """``start_time <op> MS`` on the millisecond MLflow shows (the time truncated): seconds ranges over
    the stored times, so ``start_time = run.info.start_time`` matches the run."""
    low, high = (
        Literal(literal.value / 1000.0, literal.position),
        Literal((literal.value + 1) / 1000.0, literal.position),
    )
    within = And((Compare(field, ">=", low, position), Compare(field, "<", high, position)))
    return {
        ">=": Compare(field, ">=", low, position),
        ">": Compare(field, ">=", high, position),
        "<": Compare(field, "<", low, position),
        "<=": Compare(field, "<", high, position),
        "=": within,
        "!=": And((Not(within), IsNull(field, True, position))),
    }[op]


#: MLflow attributes nbtrack has no column for, and what to use instead
_NOT_ATTRIBUTES = {
    "lifecycle_stage": "deleted runs are chosen with run_view_type (nbtrack: search_runs(deleted=True)), not in the filter",
    "artifact_uri": "artifacts are in the store; filter on the run id instead (attributes.run_id = '...')",
    "experiment_id": "choose experiments with experiment_ids=[...] (nbtrack: experiment = 'name')",
}


def unknown_field_message(word: str, dotted: bool) -> str:
    """Name the closest known field, so a typo reads 'did you mean ...?'."""
    if word.lower() in _NOT_ATTRIBUTES:
        return f"{word!r} cannot be filtered on: {_NOT_ATTRIBUTES[word.lower()]}"
    plurals = [p for p in PREFIXES if p.endswith("s")]  # suggest nbtrack's spelling of the prefixes
    candidates = plurals if dotted else [*ATTRIBUTES, *plurals]
    close = difflib.get_close_matches(word.lower(), candidates, n=1)
    if dotted:
        hint = f"did you mean {close[0]!r}?" if close else "keys are written metrics.<key>, params.<key> or tags.<key>"
        return f"unknown field prefix {word!r} ({hint})"
    if close:
        return f"unknown attribute {word!r} (did you mean {close[0]!r}?)"
    return (
        f"unknown attribute {word!r} (for a key write metrics.{word}, params.{word} or tags.{word}; "
        f"attributes are {', '.join(ATTRIBUTES)})"
    )


def parse(text: str, scopes: Iterable[str] = (), dialect: str = NBTRACK) -> Node:
    """Parse a filter into a tree of :mod:`~nbtrack.query.nodes`.

    ``scopes`` lists prefix words allowed before a field, as promotion gates need:
    ``parse("metrics.f1 >= production.metrics.f1", scopes=["production"])``.
    """
    if not isinstance(text, str):
        raise QueryError(f"a query must be a string, got {type(text).__name__}")
    if not text.strip():
        raise QueryError("the query is empty", text, 0)
    return Parser(text, scopes, dialect).filter()


def parse_order_by(text: str | list | tuple) -> tuple[OrderItem, ...]:
    """Parse ``"metrics.f1 desc, params.lr, start_time"`` (or MLflow's list of such terms) into :class:`OrderItem` s."""
    if isinstance(text, (list, tuple)) and all(isinstance(item, str) for item in text):
        text = ", ".join(item for item in text if item.strip())
    if not isinstance(text, str):
        raise QueryError(f"an order must be a string or a list of strings, got {type(text).__name__}")
    if not text.strip():
        raise QueryError("the order is empty", text, 0)
    return Parser(text).order_items()
