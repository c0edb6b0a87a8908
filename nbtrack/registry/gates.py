"""Promotion gates: ``metrics.f1 >= production.metrics.f1`` checked before a version moves.

Grammar (one requirement; several requirements are combined with *and*)::

    requirement := expr CMP expr            CMP: >= <= > < == = !=
    expr        := term (("+" | "-") term)*
    term        := unary (("*" | "/") unary)*
    unary       := "-" unary | atom
    atom        := NUMBER | 'string' | "string" | true | false | ref | "(" expr ")"
    ref         := [holder "."] ("metrics" | "params" | "inputs") "." key
    holder      := production | staging | <alias>          (e.g. champion)
    key         := name segments joined by ".", a segment may be `back-quoted/any text`

Tokens are the query language's (:mod:`nbtrack.query.tokens`, with arithmetic on), so
strings, numbers and backquoted keys are written exactly as in a run filter, and errors
are :class:`~nbtrack.errors.QueryError` pointing at the character.

``inputs.NAME`` is the content digest of a data input (:mod:`nbtrack.fingerprint`), so
``inputs.X_test == production.inputs.X_test`` requires that the candidate was evaluated on
the very data the current holder was.

A ref without holder is the candidate's run; ``production.`` / ``staging.`` is the run of
the version currently in that stage; any other holder is an alias (aliases containing
``-`` cannot be used as holders). Metrics are the runs' latest values.

Decisions, so CI behaves predictably:

* **No holder** (nobody in Production yet, alias unset): the requirement *passes*, with a
  note saying so, because there is nothing to beat and a first deployment must be possible
  from the same pipeline. ``strict=True`` (``--strict``) makes it fail instead.
* A holder or candidate **without the metric/param**, a NaN, or a type mismatch fails: a
  gate that cannot be checked is not a pass.
* Several versions can be in Staging: ``staging.`` is the newest of them (the same one
  ``load_model(name, stage="Staging")`` returns).
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union

from ..entities import Run
from ..errors import QueryError, UsageError
from ..query.tokens import END, KEYWORD, NAME, NUMBER, OPERATOR, PUNCT, STRING, Token, tokenize

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "=": operator.eq,
    "!=": operator.ne,
    "<>": operator.ne,
}
#: what a reference may read from a run (the Run attribute), and how its value is taken from the
#: stored entry: a metric's latest value, a param as stored, an input's content digest
_VALUE: dict[str, Callable[[Any], Any]] = {
    "metrics": lambda m: m.last,
    "params": lambda p: p,
    "inputs": lambda i: i.get("digest"),
}
#: how deeply parentheses and unary minus may nest (a gate is one short comparison)
MAX_DEPTH = 32
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


@dataclass(frozen=True)
class Ref:
    holder: str | None  # None: the candidate; "production", "staging" or an alias
    kind: str  # "metrics", "params" or "inputs" (an input's value is its content digest)
    key: str
    text: str


@dataclass(frozen=True)
class Binary:
    op: str
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Negate:
    operand: "Node"


Node = Union[float, str, Ref, Binary, Negate]


@dataclass(frozen=True)
class Requirement:
    text: str
    op: str
    left: Node
    right: Node

    def refs(self) -> list[Ref]:
        found: list[Ref] = []
        _collect(self.left, found)
        _collect(self.right, found)
        return found


@dataclass(frozen=True)
class GateEvaluation:
    """The outcome of one requirement, with every value it read (kept in the promotion event)."""

    requirement: str
    passed: bool
    op: str = ""
    left: Any = None
    right: Any = None
    values: dict[str, Any] = field(default_factory=dict)
    holders: dict[str, int] = field(default_factory=dict)
    note: str = ""

    def describe(self) -> str:
        """One line for people: numbers to 6 significant digits, unless that would make two
        different values look equal (then in full); the promotion event keeps exact values."""
        exact = self.left != self.right and _show(self.left, short=True) == _show(self.right, short=True)
        show = functools.partial(_show, short=not exact)
        verdict = "PASS" if self.passed else "FAIL"
        read = ", ".join(f"{k} = {show(v)}" for k, v in self.values.items())
        held = ", ".join(f"{h} is version {v}" for h, v in self.holders.items())
        parts = [f"{verdict}  {self.requirement}"]
        if self.left is not None or self.right is not None:
            parts.append(f"{show(self.left)} {self.op} {show(self.right)}")
        detail = "; ".join(p for p in (read, held, self.note) if p)
        return "  ->  ".join(parts) + (f"   [{detail}]" if detail else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement,
            "passed": self.passed,
            "op": self.op,
            "left": _jsonable(self.left),
            "right": _jsonable(self.right),
            "values": {k: _jsonable(v) for k, v in self.values.items()},
            "holders": dict(self.holders),
            "note": self.note,
        }


# -- parsing ---------------------------------------------------------------------------------------
def parse_requirement(text: str) -> Requirement:
    if not isinstance(text, str) or not text.strip():
        raise UsageError(
            "a gate requirement must be a non-empty expression, e.g. 'metrics.f1 >= production.metrics.f1'"
        )
    parser = _Parser(text)
    left = parser.expr()
    op = parser.accept(*_COMPARE)
    if op is None:
        raise parser.error("expected a comparison (>=, <=, >, <, ==, !=)")
    right = parser.expr()
    if parser.peek().kind != END:
        raise parser.error(f"unexpected {parser.peek().text!r}; combine requirements with several --require")
    return Requirement(text.strip(), op, left, right)


class _Parser:
    """Recursive descent over the query tokenizer's tokens (see the grammar above)."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text, arithmetic=True)
        self.index = 0
        self.depth = 0

    def nest(self, token: Token) -> None:
        """One more level of parentheses or unary minus: refused past MAX_DEPTH (no RecursionError)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the expression nests more than {MAX_DEPTH} levels of parentheses or '-'", token)

    def peek(self) -> Token:
        return self.tokens[self.index]

    def error(self, reason: str, token: Token | None = None) -> QueryError:
        token = token or self.peek()
        return QueryError(
            f"gate: {reason}" if token.kind != END else f"gate: {reason} (at the end)", self.text, token.position
        )

    def accept(self, *texts: str) -> str | None:
        token = self.peek()
        if token.kind in (OPERATOR, PUNCT) and token.text in texts:
            self.index += 1
            return token.text
        return None

    def expr(self) -> Node:
        node = self.term()
        while (op := self.accept("+", "-")) is not None:
            node = Binary(op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while (op := self.accept("*", "/")) is not None:
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.peek()
        if self.accept("-"):
            self.nest(token)
            node = Negate(self.unary())
            self.depth -= 1
            return node
        return self.atom()

    def atom(self) -> Node:
        token = self.peek()
        if token.kind == END:
            raise self.error("the expression ends too early")
        if self.accept("("):
            self.nest(token)
            node = self.expr()
            if not self.accept(")"):
                raise self.error("missing ')'")
            self.depth -= 1
            return node
        self.index += 1
        if token.kind == NUMBER:
            return float(token.value)
        if token.kind == STRING:
            return token.value
        if token.kind == KEYWORD and token.value in ("true", "false"):
            return token.value == "true"
        if token.kind == NAME:
            return self.ref(token)
        raise self.error(f"unexpected {token.text!r}", token)

    def ref(self, token: Token) -> Ref:
        parts = [part.text for part in token.value]
        holder = None
        if parts[0].lower() not in _VALUE:
            holder, parts = parts[0].lower() if parts[0].lower() in ("production", "staging") else parts[0], parts[1:]
        if len(parts) < 2 or parts[0].lower() not in _VALUE:
            raise self.error(
                f"{token.text!r} is not a reference; write metrics.KEY, params.KEY, inputs.NAME, "
                "production.metrics.KEY, staging.metrics.KEY or ALIAS.metrics.KEY",
                token,
            )
        return Ref(holder, parts[0].lower(), ".".join(parts[1:]), token.text)


def _collect(node: Node, found: list[Ref]) -> None:
    if isinstance(node, Ref):
        found.append(node)
    elif isinstance(node, Binary):
        _collect(node.left, found)
        _collect(node.right, found)
    elif isinstance(node, Negate):
        _collect(node.operand, found)


# -- evaluation ---------------------------------------------------------------------------------------
class _Unavailable(Exception):
    def __init__(self, note: str, vacuous: bool = False):
        super().__init__(note)
        self.note = note
        self.vacuous = vacuous


#: ``holder -> (version, run)`` of the current holder, or None when nobody holds it
HolderLookup = Callable[[str], "tuple[int, Run] | None"]


def evaluate(requirement: Requirement, candidate: Run, holder_of: HolderLookup, strict: bool = False) -> GateEvaluation:
    """Evaluate one requirement for ``candidate`` against the holders ``holder_of`` finds."""
    values: dict[str, Any] = {}
    holders: dict[str, int] = {}

    def value(node: Node) -> Any:
        if isinstance(node, (float, str)):
            return node
        if isinstance(node, Negate):
            return -_number(value(node.operand), "-")
        if isinstance(node, Binary):
            left, right = _number(value(node.left), node.op), _number(value(node.right), node.op)
            if node.op == "/" and right == 0:
                raise _Unavailable("division by zero")
            return _ARITH[node.op](left, right)
        return read(node)

    def read(ref: Ref) -> Any:
        run = candidate
        if ref.holder is not None:
            held = holder_of(ref.holder)
            if held is None:
                label = (
                    f"nobody is in {ref.holder.capitalize()}"
                    if ref.holder in ("production", "staging")
                    else f"alias {ref.holder!r} is not set"
                )
                raise _Unavailable(
                    f"{label}: {'fails (strict)' if strict else 'passes, nothing to beat'}", vacuous=not strict
                )
            holders[ref.holder], run = held
        source = getattr(run, ref.kind)  # Run.metrics / .params / .inputs
        if ref.key not in source:
            whose = "the candidate" if ref.holder is None else f"{ref.holder} (version {holders[ref.holder]})"
            raise _Unavailable(f"{whose} has no {ref.kind[:-1]} {ref.key!r}")
        found = _VALUE[ref.kind](source[ref.key])
        values[ref.text] = found
        if isinstance(found, float) and math.isnan(found):
            raise _Unavailable(f"{ref.text} is NaN")
        return found

    try:
        left, right = value(requirement.left), value(requirement.right)
        if isinstance(left, str) != isinstance(right, str) or (
            isinstance(left, str) and requirement.op not in ("==", "=", "!=")
        ):
            raise _Unavailable(f"cannot compare {_show(left)} {requirement.op} {_show(right)}")
        if not isinstance(left, (str, int, float)) or not isinstance(right, (str, int, float)):
            raise _Unavailable(f"cannot compare {_show(left)} {requirement.op} {_show(right)}")
    except _Unavailable as missing:
        return GateEvaluation(
            requirement.text, missing.vacuous, requirement.op, values=values, holders=holders, note=missing.note
        )
    passed = bool(_COMPARE[requirement.op](left, right))
    return GateEvaluation(requirement.text, passed, requirement.op, left, right, values, holders)


def _number(item: Any, op: str) -> float:
    if isinstance(item, bool) or not isinstance(item, (int, float)):
        raise _Unavailable(f"{_show(item)} is not a number (needed for {op!r})")
    return item


def _show(item: Any, short: bool = False) -> str:
    if isinstance(item, float):
        if short and math.isfinite(item):
            return f"{item:.6g}"
        return repr(item) if not item.is_integer() or abs(item) >= 1e16 else f"{item:.1f}"
    return repr(item) if isinstance(item, str) else str(item)


def _jsonable(item: Any) -> Any:
    if isinstance(item, float) and (math.isnan(item) or math.isinf(item)):
        return str(item)
    if item is None or isinstance(item, (str, int, float, bool)):
        return item
    return str(item)


__all__ = ["GateEvaluation", "Requirement", "evaluate", "parse_requirement"]
