"""Which branch of a top-level ``if`` ran, when its test can be re-evaluated safely after the cell.

``if model == "rf":`` re-run with the same ``model``: the literals of the branch are the very
objects the names already held (small ints, interned strings), so the identity check of
:mod:`nbtrack.capture` cannot prove the branch ran. When the test is built only of names the
cell never binds (whose values are plain scalars the cell did not replace) or binds only
before the ``if``, constants,
comparisons, ``and``/``or``/``not``, it is evaluated again here: no user code runs (no calls,
attributes or subscripts; builtin scalar comparisons only), and its outcome is the one the
``if`` saw.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Collection, Mapping
from typing import Any

_SCALARS = (bool, int, float, str, type(None))
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}  # fmt: skip


class Undecided(Exception):
    """The test cannot be re-evaluated safely."""


def test_names(test: ast.expr) -> frozenset[str] | None:
    """The names a simple test reads, or None when the test is not simple (a call, an attribute...)."""
    names: set[str] = set()
    for node in ast.walk(test):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif not isinstance(node, (ast.Constant, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.Tuple, ast.List, ast.Load,
                                   ast.boolop, ast.cmpop, ast.Not, ast.USub)):  # fmt: skip
            return None
    return frozenset(names)


def outcome(
    test: ast.expr, namespace: Mapping[str, Any], ids: Mapping[str, int], trusted: Collection[str] = ()
) -> bool:
    """The truth of ``test`` as the ``if`` saw it; raises :class:`Undecided`.

    Each name must hold a plain scalar that is the very object it held before the cell ran
    (``ids``), so the value the test read is the value now; ``trusted`` names (bound by the
    cell only before the ``if``) need not.
    """
    values = {}
    for name in test_names(test) or ():
        value = namespace.get(name, Undecided)
        if type(value) not in _SCALARS or (name not in trusted and ids.get(name) != id(value)):
            raise Undecided(name)
        values[name] = value
    try:
        return bool(_evaluate(test, values))
    except (TypeError, ValueError, OverflowError) as exc:  # "<" between str and int, ...
        raise Undecided(str(exc)) from None


def _evaluate(node: ast.expr, values: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant) and type(node.value) in _SCALARS:
        return node.value
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_evaluate(element, values) for element in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _evaluate(node.operand, values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _evaluate(node.operand, values)
        if type(value) not in (int, float):
            raise TypeError("unary minus of a non-number")
        return -value
    if isinstance(node, ast.BoolOp):
        result: Any = None
        for operand in node.values:
            result = _evaluate(operand, values)
            if bool(result) is isinstance(node.op, ast.Or):
                return result  # short-circuit as Python does
        return result
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, values)
        for op, comparator in zip(node.ops, node.comparators):
            right = _evaluate(comparator, values)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    raise TypeError(f"not a simple test: {type(node).__name__}")
