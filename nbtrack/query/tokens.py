"""The tokenizer of the query language: text in, positioned tokens out.

Every token keeps its 0-based ``position`` so the parser, the SQL compiler and the
dashboard's inline error display can point at the exact character. The only exception
this module raises is :class:`~nbtrack.errors.QueryError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import QueryError

#: reserved words, matched case-insensitively; ``asc``/``desc`` only mean something in ORDER BY
KEYWORDS = frozenset({"and", "or", "not", "in", "like", "ilike", "is", "null", "true", "false", "asc", "desc"})
#: comparison operators, longest first so ``<=`` is not read as ``<`` then ``=``
OPERATORS = ("==", "!=", "<>", "<=", ">=", "=", "<", ">")
#: read as operators only by ``tokenize(..., arithmetic=True)`` (promotion gates); there a
#: leading ``-`` is unary minus, so numbers are unsigned
ARITHMETIC = ("+", "-", "*", "/")

NAME, KEYWORD, NUMBER, STRING, OPERATOR, PUNCT, END = "name", "keyword", "number", "string", "operator", "punct", "end"

_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_UNSIGNED = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SEGMENT = re.compile(r"[A-Za-z0-9_]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Part:
    """One dot-separated piece of a name; ``quoted`` when it was written in backquotes (or double quotes)."""

    text: str
    quoted: bool = False


@dataclass(frozen=True)
class Token:
    """A lexical token.

    ``value`` is the parsed payload: the lower-cased word for keywords, an int or float
    for numbers, the unescaped text for strings, a tuple of :class:`Part` for names, and
    the source text for operators and punctuation.
    """

    kind: str
    text: str
    value: Any
    position: int

    @property
    def end(self) -> int:
        return self.position + len(self.text)


def tokenize(text: str, arithmetic: bool = False) -> list[Token]:
    """Split ``text`` into tokens, ending with one ``end`` token at ``len(text)``.

    >>> [t.text for t in tokenize("metrics.`val/loss` < 0.2")]
    ['metrics.`val/loss`', '<', '0.2', '']
    >>> [t.text for t in tokenize("metrics.f1 >= production.metrics.f1 -0.01", arithmetic=True)]
    ['metrics.f1', '>=', 'production.metrics.f1', '-', '0.01', '']
    """
    _check_encodable(text)
    tokens, position = [], 0
    while True:
        position = _skip_space(text, position)
        if position >= len(text):
            tokens.append(Token(END, "", None, len(text)))
            return tokens
        token = _next_token(text, position, arithmetic)
        tokens.append(token)
        position = token.end


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _next_token(text: str, position: int, arithmetic: bool) -> Token:
    char = text[position]
    if char in "(),":
        return Token(PUNCT, char, char, position)
    if char in "'\"":
        return _string(text, position)
    if arithmetic and char in ARITHMETIC:
        return Token(OPERATOR, char, char, position)
    number = (_UNSIGNED if arithmetic else _NUMBER).match(text, position)
    if number:
        return _number(text, number)
    if _WORD.match(text, position):
        return _name(text, position)
    for operator in OPERATORS:
        if text.startswith(operator, position):
            return Token(OPERATOR, operator, operator, position)
    raise QueryError(_unexpected(text, position), text, position)


def _unexpected(text: str, position: int) -> str:
    char = text[position]
    if char == "`":
        return "a backquoted key must follow 'metrics.', 'params.' or 'tags.'"
    if char == "!":
        return "unexpected '!' (did you mean '!='?)"
    if position and (text[position - 1].isalnum() or text[position - 1] in "_`"):
        return f"unexpected {char!r}: a key containing {char!r} must be backquoted, e.g. metrics.`val{char}loss`"
    if char == "-":
        return "expected a number after '-'"
    return f"unexpected character {char!r}"


def _string(text: str, start: int) -> Token:
    """A quoted string; the quote character is escaped by doubling it (``'it''s'``)."""
    body, end = _quoted(text, start, "unterminated string")
    return Token(STRING, text[start:end], body, start)


def _quoted(text: str, start: int, error: str) -> tuple[str, int]:
    """Read ``text[start]``-quoted content with doubled-quote escaping; return (content, end)."""
    quote, chunks, position = text[start], [], start + 1
    while True:
        close = text.find(quote, position)
        if close < 0:
            raise QueryError(error, text, start)
        chunks.append(text[position:close])
        if not text.startswith(quote * 2, close):
            return "".join(chunks), close + 1
        chunks.append(quote)
        position = close + 2


def _number(text: str, match: re.Match) -> Token:
    start, end = match.span()
    if end < len(text) and (text[end].isalnum() or text[end] in "_.`"):
        raise QueryError(f"malformed number {text[start : end + 1]!r}", text, start)
    return Token(NUMBER, match.group(), _number_value(match.group()), start)


def _number_value(literal: str) -> int | float:
    """ints stay exact; ones SQLite cannot bind (beyond 64 bits) become floats."""
    if any(c in literal for c in ".eE"):
        return float(literal)
    value = int(literal)
    return value if _INT64_MIN <= value <= _INT64_MAX else float(value)


def _name(text: str, start: int) -> Token:
    """A word, or a dotted path such as ``metrics.loss.min`` or ``params.`a/b```.

    Segments after the first dot may start with a digit; backquoted segments hold any
    character (a backquote is escaped by doubling it).
    """
    first = _WORD.match(text, start)
    parts, position = [Part(first.group())], first.end()
    while position < len(text) and text[position] == ".":
        part, position = _segment(text, position + 1, start)
        parts.append(part)
    source = text[start:position]
    if len(parts) == 1 and source.lower() in KEYWORDS:
        return Token(KEYWORD, source, source.lower(), start)
    return Token(NAME, source, tuple(parts), start)


def _segment(text: str, position: int, start: int) -> tuple[Part, int]:
    if text.startswith(("`", '"'), position):  # MLflow quotes keys either way: metrics."val loss"
        kind = "backquoted" if text[position] == "`" else "double-quoted"
        body, end = _quoted(text, position, f"unterminated {kind} key")
        if not body:
            raise QueryError("empty backquoted key", text, position)
        return Part(body, quoted=True), end
    match = _SEGMENT.match(text, position)
    if match is None:
        prefix = text[start:position]
        message = f"expected a key after {prefix!r} (backquote keys with other characters: {prefix}`my-key`)"
        raise QueryError(message, text, position)
    return Part(match.group()), match.end()


def _check_encodable(text: str) -> None:
    """Lone surrogates cannot be bound as SQLite text: refuse them here, with a position."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise QueryError(
            "the query contains a character that is not valid text (a lone surrogate)", text, exc.start
        ) from None
