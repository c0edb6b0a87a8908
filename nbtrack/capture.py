"""Params and metrics from a ``%%track`` cell, without changing the cell's code.

The magic calls :func:`analyze_cell` on the cell source *before* running it (the source
has already been through IPython's ``shell.transform_cell``, so magics and ``!`` lines
are plain Python calls), runs the cell, then calls :func:`extract` with the user
namespace. Analysis only reads the syntax tree; values always come from the namespace
*after* the cell ran, so what is recorded is what the cell actually used last.

Example::

    names = analyze_cell("lr = 0.1\\nmodel = fit(lr)\\nval_acc = score(model)")
    captured = extract(names, user_ns)
    captured.params   # {'lr': 0.1}
    captured.metrics  # {'val_acc': 0.93}

Capture rules
-------------
*Literal*: a number (``int``/``float``, with an optional unary ``-``/``+``, e.g. ``-1e-3``),
a string, ``True``/``False``, ``None``, or a list, tuple or dict built only of literals
(dict keys: strings, numbers, bools or None). Not literals: bytes, complex numbers,
sets (not JSON), ``...``, f-strings, names (``x = y``), calls (``x = f()``) and arithmetic
(``x = 2 * 3`` is not folded: folding would make the rules harder to predict).

*Param candidates* are names given a literal at the top level of the cell by
``a = 1``, ``a: float = 0.1``, ``a = b = 1`` or ``a, b = 1, 2`` (element-wise when both
sides are tuples/lists of the same length without ``*``). Augmented assignment
(``a += 1``) is not a literal assignment.

- An assignment directly at the top level is *unconditional*: the name's value after
  the cell ran is recorded, whatever happened to it later in the cell.
- An assignment nested (at any depth) only under ``if``/``elif``/``else``, ``with``,
  ``try``/``except``/``else``/``finally`` or ``match`` is *conditional*: the name is
  recorded only when its final value equals (same type, ``==``) one of the literals
  assigned to it in the cell, so a branch that did not run does not leak a value left
  over from an earlier cell.
- Assignments inside ``for``/``while`` loops, ``def``, ``class``, lambdas and
  comprehensions are ignored.
- A value :func:`nbtrack.values.param_value` refuses (e.g. a dict with int keys, a
  string over 64 KiB) is left out and reported in ``skipped``; so is an unconditional
  name that no longer exists after the cell ran (``del``).

*Metric candidates* are names bound at the top level, unconditionally or conditionally,
by ``=``, annotated or augmented assignment or ``:=`` (not ``for`` targets, ``with ... as``,
``except ... as``, imports, ``def`` or ``class``), whose lower-cased name matches one of the
fnmatch ``metric_patterns`` (:data:`DEFAULT_METRIC_PATTERNS` by default) and whose final
value is a real number (:func:`nbtrack.values.is_metric_like`: ints, floats and numpy
scalars, not bools). Metrics are returned as floats. A name captured as a metric is not
also a param; a name matching a pattern whose value is not a number (``loss_fn = "mse"``)
can still be a param.

*Explicit names* (``--params a,b`` / ``--metrics f1,auc``) are read from the namespace
whatever their right side, even if the cell never assigned them. A requested name that
is missing or whose value cannot be stored is reported in ``skipped``. Precedence:
explicit metric > explicit param > pattern metric > literal param.

*Estimators*: a name bound at the top level whose final value follows scikit-learn's
estimator API (an instance with ``get_params()``; also XGBoost, LightGBM and CatBoost's
sklearn wrappers, and pipelines) contributes ``<name>.estimator`` = its class name and
the hyperparameters that differ from their defaults as params named ``<name>.<param>``
(``model.max_depth``; inside a pipeline ``model.logisticregression__C``), so
``model = GBC(max_depth=3).fit(X, y)`` is recorded without assigning each value to a
variable first. Non-defaults only, as scikit-learn's own repr shows them: what the user
chose, not the twenty settings nobody touched (the snapshot keeps the code, the recorded
packages its library version). A nested estimator is recorded as its class name; values
that are not literals (functions, arrays, random states) are left out silently; at most
:data:`MAX_ESTIMATOR_PARAMS` per estimator. An estimator whose ``get_params`` raises is
skipped with the reason. A literal param of the same name wins.

*Data inputs* (:func:`data_inputs`): every name the cell reads, at any depth, and does not
bind at its top level, whose value after the cell ran is a NumPy array or a pandas
DataFrame, Series or Index is fingerprinted
(:mod:`nbtrack.fingerprint`: shape, dtypes, content digest), at most :data:`MAX_INPUTS`
per cell. Read after the cell ran, like params: a cell that modifies its input in place
records the modified data.

Never captured: names starting with ``_`` (IPython's output history ``_``, ``_1``, ...
and private helpers), even when requested explicitly (reported in ``skipped``).
A cell with a syntax error yields no candidates (running it will raise anyway).
Code hidden inside a magic call (``%time acc = f()``) is a string argument after
``transform_cell``, so its assignments are invisible to the analysis.
"""

from __future__ import annotations

import ast
import dataclasses
import fnmatch
import inspect
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from .errors import UsageError
from .fingerprint import fingerprint, is_data
from .values import is_metric_like, metric_value, param_value

__all__ = ["DEFAULT_METRIC_PATTERNS", "CellNames", "Captured", "analyze_cell", "data_inputs", "extract"]

#: fnmatch patterns (matched against the lower-cased name) for automatic metrics.
#: Bare prefixes like ``acc*`` are avoided: they would catch ``accumulate_steps``.
DEFAULT_METRIC_PATTERNS: tuple[str, ...] = (
    "acc", "acc_*", "*_acc", "accuracy*", "*_accuracy",
    "f1", "f1_*", "*_f1",
    "auc", "auc_*", "*_auc",
    "loss", "loss_*", "*_loss",
    "precision*", "*_precision",
    "recall*", "*_recall",
    "mse", "mse_*", "*_mse", "rmse*", "*_rmse",
    "mae", "mae_*", "*_mae",
    "r2", "r2_*", "*_r2",
    "*_score",
)  # fmt: skip

#: data inputs fingerprinted per cell
MAX_INPUTS = 20
#: hyperparameters recorded per estimator (a deep pipeline's get_params can return hundreds)
MAX_ESTIMATOR_PARAMS = 200

_PRIVATE_REASON = "names starting with '_' are never captured"
_MISSING_REASON = "not defined after the cell ran"

# Blocks whose bodies may or may not run: assignments inside are conditional.
_CONDITIONAL_BLOCKS: tuple[type[ast.stmt], ...] = (ast.If, ast.With, ast.AsyncWith, ast.Try, ast.Match)
if hasattr(ast, "TryStar"):  # Python 3.11+: try/except*
    _CONDITIONAL_BLOCKS += (ast.TryStar,)

# Scopes and loops whose bindings are never candidates; ':=' inside them is skipped too.
_IGNORED_SCOPES = (
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.For, ast.AsyncFor,
    ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
)  # fmt: skip


@dataclass(frozen=True)
class CellNames:
    """What the syntax of a cell says about its names; the result of :func:`analyze_cell`.

    Instances are cached and shared between calls, hence the immutable fields.
    """

    #: names given a literal unconditionally at the top level, in source order
    literals: tuple[str, ...] = ()
    #: name -> literals assigned to it only under if/with/try/match
    conditional: Mapping[str, tuple[Any, ...]] = field(default_factory=lambda: MappingProxyType({}))
    #: every name bound at the top level (metric candidates), in source order
    bound: tuple[str, ...] = ()
    #: every name the cell reads, at any depth, in source order (data input candidates)
    read: tuple[str, ...] = ()


@dataclass(frozen=True)
class Captured:
    """The outcome of :func:`extract`: raw param values, float metrics, and what was left out why."""

    params: dict[str, Any]
    metrics: dict[str, float]
    skipped: list[tuple[str, str]]


class _NotLiteral(Exception):
    """Raised inside :func:`_literal` to abandon a right side that is not a literal."""


def analyze_cell(source: str) -> CellNames:
    """Find param and metric candidates in a (transformed) cell; see the module docstring.

    Cached by source (a re-run cell is analysed once), so the result is immutable.
    """
    return _analyze(source)


@lru_cache(maxsize=128)
def _analyze(source: str) -> CellNames:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: NUL bytes
        return CellNames()
    scan = _Scan()
    scan.statements(tree.body, conditional=False)
    if ":=" in source:  # cheap pre-check: walking every expression costs more than parsing
        for name in _walrus_targets(tree):
            scan.bind(name, None, conditional=True)
    loads = [node for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and not node.id.startswith("_")]
    read = tuple(dict.fromkeys(node.id for node in sorted(loads, key=lambda n: (n.lineno, n.col_offset))))
    return dataclasses.replace(scan.result(), read=read)


class _Scan:
    """Accumulates bindings while walking the top-level statements."""

    def __init__(self) -> None:
        self.literals: dict[str, None] = {}  # ordered set
        self.conditional: dict[str, list[Any]] = {}
        self.bound: dict[str, None] = {}

    def statements(self, body: list[ast.stmt], conditional: bool) -> None:
        for stmt in body:
            if isinstance(stmt, _CONDITIONAL_BLOCKS):
                for block in _blocks(stmt):
                    self.statements(block, conditional=True)
            elif isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    self.target(target, stmt.value, conditional)
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                self.target(stmt.target, stmt.value, conditional)
            elif isinstance(stmt, ast.AugAssign):
                self.target(stmt.target, None, conditional)

    def target(self, target: ast.expr, value: ast.expr | None, conditional: bool) -> None:
        """Bind the names of one assignment target; ``value`` None means "not a literal"."""
        if isinstance(target, ast.Name):
            self.bind(target.id, value, conditional)
        elif isinstance(target, (ast.Tuple, ast.List)):
            values = _pairwise(target, value) or [None] * len(target.elts)
            for element, element_value in zip(target.elts, values):
                self.target(element, element_value, conditional)
        elif isinstance(target, ast.Starred):
            self.target(target.value, None, conditional)
        # attribute and subscript targets (obj.x = 1, d["k"] = 1) bind no name

    def bind(self, name: str, value: ast.expr | None, conditional: bool) -> None:
        if name.startswith("_"):
            return
        self.bound[name] = None
        if value is None:
            return
        try:
            literal = _literal(value)
        except _NotLiteral:
            return
        if conditional:
            self.conditional.setdefault(name, []).append(literal)
        else:
            self.literals[name] = None

    def result(self) -> CellNames:
        conditional = {
            name: tuple(values) for name, values in self.conditional.items() if name not in self.literals
        }
        return CellNames(tuple(self.literals), MappingProxyType(conditional), tuple(self.bound))


def _blocks(stmt: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists of an if/with/try/match block."""
    if isinstance(stmt, ast.Match):
        for case in stmt.cases:
            yield case.body
        return
    for name in ("body", "orelse", "finalbody"):
        yield getattr(stmt, name, [])
    for handler in getattr(stmt, "handlers", []):
        yield handler.body


def _pairwise(target: ast.Tuple | ast.List, value: ast.expr | None) -> list[ast.expr] | None:
    """The right-side elements matching ``a, b = 1, 2`` one to one, or None."""
    if not isinstance(value, (ast.Tuple, ast.List)) or len(value.elts) != len(target.elts):
        return None
    if any(isinstance(node, ast.Starred) for node in (*target.elts, *value.elts)):
        return None
    return value.elts


def _literal(node: ast.expr) -> Any:
    """Evaluate a literal right side (see the module docstring) or raise :class:`_NotLiteral`.

    Stricter than ``ast.literal_eval``, which also accepts sets, bytes and ``1+2j``.
    """
    if isinstance(node, ast.Constant) and _is_scalar(node.value):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = node.operand
        if isinstance(operand, ast.Constant) and type(operand.value) in (int, float):
            return -operand.value if isinstance(node.op, ast.USub) else operand.value
    if isinstance(node, ast.List):
        return [_literal(element) for element in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_literal(element) for element in node.elts)
    if isinstance(node, ast.Dict) and None not in node.keys:  # None key: {**other}
        return {_dict_key(key): _literal(value) for key, value in zip(node.keys, node.values)}
    raise _NotLiteral


def _is_scalar(value: Any) -> bool:
    return value is None or type(value) in (bool, int, float, str)


def _dict_key(node: ast.expr | None) -> Any:
    if isinstance(node, ast.Constant) and _is_scalar(node.value):
        return node.value
    raise _NotLiteral


def _walrus_targets(tree: ast.Module) -> Iterator[str]:
    """Names bound by ``:=`` outside loops, functions, classes and comprehensions."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, _IGNORED_SCOPES):
            continue
        if isinstance(node, ast.NamedExpr):
            yield node.target.id
        stack.extend(ast.iter_child_nodes(node))


def extract(
    names: CellNames,
    namespace: Mapping[str, Any],
    metric_patterns: Iterable[str] = DEFAULT_METRIC_PATTERNS,
    *,
    extra_params: Iterable[str] = (),
    extra_metrics: Iterable[str] = (),
    estimators: bool = True,
) -> Captured:
    """Read the candidates of ``names`` from ``namespace`` after the cell ran.

    Values nbtrack cannot store do not raise: they end up in ``Captured.skipped`` as
    ``(name, reason)``. Params keep their Python values (the tracker types them
    through :func:`nbtrack.values.param_value`); metrics are floats.
    """
    out = Captured({}, {}, [])
    for name in dict.fromkeys(extra_metrics):
        _take(out, name, namespace, _as_metric)
    for name in dict.fromkeys(extra_params):
        if name not in out.metrics:
            _take(out, name, namespace, _as_param)
    is_metric_name = _metric_matcher(tuple(metric_patterns))
    for name in names.bound:
        if _is_free(out, name) and is_metric_name(name.lower()) and is_metric_like(namespace.get(name)):
            _take(out, name, namespace, _as_metric)
    for name in names.literals:
        if _is_free(out, name):
            _take(out, name, namespace, _as_param)
    for name, literals in names.conditional.items():
        if _is_free(out, name) and name in namespace and _equals_any(namespace[name], literals):
            _take(out, name, namespace, _as_param)
    if estimators:
        for name in names.bound:
            if _is_free(out, name) and _is_estimator(namespace.get(name)):
                _estimator_params(out, name, namespace[name])
    return out


def _is_estimator(value: Any) -> bool:
    """An estimator instance (not a class, whose get_params is an unbound function)."""
    return not isinstance(value, type) and callable(getattr(type(value), "get_params", None))


def _estimator_params(out: Captured, name: str, estimator: Any) -> None:
    try:
        params = estimator.get_params(deep=True)
        if not isinstance(params, Mapping):
            raise TypeError("get_params() did not return a mapping")
        chosen = [(key, value) for key, value in sorted(params.items()) if isinstance(key, str) and not _is_default(estimator, params, key, value)]
    except Exception as exc:  # user code: anything may happen, and the cell has already run
        out.skipped.append((name, f"hyperparameters not recorded: {type(exc).__name__}: {exc}"))
        return
    _put(out, f"{name}.estimator", _estimator_label(estimator))
    for key, value in chosen[:MAX_ESTIMATOR_PARAMS]:
        value = _hyperparameter(value)
        if value is not _UNRECORDED and _is_free(out, f"{name}.{key}"):
            _put(out, f"{name}.{key}", value)


def _estimator_label(estimator: Any) -> str:
    """The class name; a pipeline names its steps (``Pipeline[StandardScaler, MLPClassifier]``),
    since "Pipeline" alone says nothing in a runs table."""
    label = type(estimator).__name__
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps and all(isinstance(s, tuple) and len(s) == 2 for s in steps):
        label += "[" + ", ".join(type(step).__name__ for _, step in steps) + "]"
    return label


def _is_default(estimator: Any, params: Mapping[str, Any], key: str, value: Any) -> bool:
    """Whether ``key`` (``param`` or ``step__param``) holds its owner's ``__init__`` default."""
    owner_key, _, param = key.rpartition("__")
    owner = params.get(owner_key) if owner_key else estimator
    default = _init_defaults(type(owner)).get(param, _UNRECORDED)
    if default is _UNRECORDED or type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except Exception:  # e.g. arrays: "truth value is ambiguous"
        return False


@lru_cache(maxsize=256)
def _init_defaults(cls: type) -> Mapping[str, Any]:
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return MappingProxyType({})
    return MappingProxyType({k: p.default for k, p in signature.parameters.items() if p.default is not p.empty})


_UNRECORDED = object()


def _hyperparameter(value: Any) -> Any:
    """The value to record, or ``_UNRECORDED`` (see "Estimators" in the module docstring)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if _is_estimator(value):
        return type(value).__name__
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "shape", None) == ():
        plain = item()
        return plain if type(plain) in (bool, int, float, str) else _UNRECORDED
    if isinstance(value, (list, tuple)) and len(value) <= 64:
        elements = [_hyperparameter(v) for v in value]
        return _UNRECORDED if any(e is _UNRECORDED or isinstance(e, list) for e in elements) else elements
    return _UNRECORDED


def _put(out: Captured, key: str, value: Any) -> None:
    try:
        _as_param(out, key, value)
    except UsageError:
        pass  # e.g. a NaN or a huge string: left out like any other unrecordable hyperparameter


def _is_free(out: Captured, name: str) -> bool:
    return name not in out.params and name not in out.metrics


def _take(
    out: Captured, name: str, namespace: Mapping[str, Any], convert: Callable[[Captured, str, Any], None]
) -> None:
    """Store ``namespace[name]`` through ``convert`` into ``out``, or record why not."""
    if name.startswith("_"):
        out.skipped.append((name, _PRIVATE_REASON))
    elif name not in namespace:
        out.skipped.append((name, _MISSING_REASON))
    else:
        try:
            convert(out, name, namespace[name])
        except UsageError as exc:
            out.skipped.append((name, str(exc)))


def _as_metric(out: Captured, name: str, value: Any) -> None:
    out.metrics[name] = metric_value(value, name)


def _as_param(out: Captured, name: str, value: Any) -> None:
    param_value(value, name)  # validation only: raises UsageError for unstorable values
    out.params[name] = value


def _equals_any(value: Any, literals: tuple[Any, ...]) -> bool:
    """Same type and ``==``: a stale ``1`` must not pass for a literal ``True``."""
    return any(type(value) is type(literal) and value == literal for literal in literals)


@lru_cache(maxsize=16)
def _metric_matcher(patterns: tuple[str, ...]) -> Callable[[str], object]:
    """One compiled regex for all patterns: matching a name costs one ``match`` call."""
    if not patterns:
        return lambda name: False
    regex = re.compile("|".join(fnmatch.translate(pattern.lower()) for pattern in patterns))
    return regex.match


def data_inputs(names: CellNames, namespace: Mapping[str, Any]) -> tuple[dict[str, dict], list[tuple[str, str]]]:
    """(fingerprints of the data the cell read by name, [(name, why it was left out)])."""
    found: dict[str, dict] = {}
    skipped: list[tuple[str, str]] = []
    made_here = set(names.bound)
    for name in names.read:
        if name in made_here:
            continue  # derived in the cell (weights, a split): an outcome of the inputs, not one
        value = namespace.get(name)
        if not is_data(value):
            continue
        if len(found) >= MAX_INPUTS:
            skipped.append((name, f"more than {MAX_INPUTS} data inputs in one cell"))
            continue
        try:
            found[name] = fingerprint(value)
        except Exception as exc:  # user data of odd kinds; the cell has already run
            skipped.append((name, f"fingerprint failed: {type(exc).__name__}: {exc}"))
    return found, skipped
