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
from .nodes import AGGREGATES, ATTRIBUTE, ATTRIBUTES, METRIC, PREFIXES, And, Compare, Field, InList, IsNull, Literal, Node, Not, Or, OrderItem
from .tokens import END, KEYWORD, NAME, NUMBER, OPERATOR, PUNCT, STRING, Token, tokenize

#: how many levels of parentheses and ``not`` a query may nest: SQLite's parser stack
#: overflows at ~25 levels of our SQL, and callers may wrap the filter in more SQL
MAX_DEPTH = 16
_NORMALIZED_OPS = {"==": "=", "<>": "!="}
_LITERAL_KEYWORDS = {"true": True, "false": False, "null": None}
_FIELD_HELP = "a field (an attribute such as status, or metrics.<key>, params.<key>, tags.<key>)"


class Parser:
    """Parses one query text; use :func:`parse` or :func:`parse_order_by`."""

    def __init__(self, text: str, scopes: Iterable[str] = ()):
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.scopes = frozenset(s.lower() for s in scopes)

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
        token = self.token
        if token.kind == OPERATOR:
            self.advance()
            return Compare(field, _NORMALIZED_OPS.get(token.value, token.value), self.operand(token), token.position)
        if self.accept("is"):
            negated = self.accept("not") is not None
            if not self.accept("null"):
                raise self.fail(f"expected 'null' or 'not null' after 'is', found {self.found()}")
            return IsNull(field, negated, token.position)
        negated = self.accept("not") is not None
        if self.accept("like"):
            return Compare(field, "not like" if negated else "like", self.pattern(), token.position)
        if self.accept("in"):
            return InList(field, self.value_list(), negated, token.position)
        if negated:
            raise self.fail(f"expected 'like' or 'in' after 'not', found {self.found()}")
        written = self.text[field.position:token.position].rstrip()
        raise self.fail(f"expected an operator (= != < <= > >= like in is) after {written!r}, found {self.found()}")

    def operand(self, operator: Token) -> Literal | Field:
        if self.token.kind == NAME:
            return self.field()
        if self.token.kind == KEYWORD and self.token.value == "null":
            raise self.fail(f"use 'is null' or 'is not null' instead of '{operator.text} null'")
        return self.literal(f"a value after {operator.text!r}")

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
            raise self.fail(f"expected ',' or ')' to close the list at position {opening.position}, found {self.found()}")
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
        head = parts[0].text.lower()
        if head in PREFIXES:
            return self.keyed_field(token, parts, scope)
        if head not in ATTRIBUTES:
            raise self.fail(unknown_field_message(parts[0].text, len(parts) > 1), token)
        if len(parts) > 1:
            raise self.fail(f"attribute {head!r} has no sub-fields; for a key use metrics.<key>, params.<key> or tags.<key>", token)
        return Field(ATTRIBUTE, head, scope=scope, position=token.position)

    def keyed_field(self, token: Token, parts: list, scope: str | None) -> Field:
        kind = PREFIXES[parts[0].text.lower()]
        keys = parts[1:]
        if not keys:
            raise self.fail(f"{parts[0].text!r} needs a key, e.g. {parts[0].text}.loss", token)
        aggregate = None
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


def unknown_field_message(word: str, dotted: bool) -> str:
    """Name the closest known field, so a typo reads 'did you mean ...?'."""
    candidates = list(PREFIXES) if dotted else [*ATTRIBUTES, *PREFIXES]
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


def parse(text: str, scopes: Iterable[str] = ()) -> Node:
    """Parse a filter into a tree of :mod:`~nbtrack.query.nodes`.

    ``scopes`` lists prefix words allowed before a field, as promotion gates need:
    ``parse("metrics.f1 >= production.metrics.f1", scopes=["production"])``.
    """
    if not isinstance(text, str):
        raise QueryError(f"a query must be a string, got {type(text).__name__}")
    if not text.strip():
        raise QueryError("the query is empty", text, 0)
    return Parser(text, scopes).filter()


def parse_order_by(text: str) -> tuple[OrderItem, ...]:
    """Parse ``"metrics.f1 desc, params.lr, start_time"`` into :class:`OrderItem` s."""
    if not isinstance(text, str):
        raise QueryError(f"an order must be a string, got {type(text).__name__}")
    if not text.strip():
        raise QueryError("the order is empty", text, 0)
    return Parser(text).order_items()
