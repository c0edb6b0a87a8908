"""Params, metrics, estimators and data inputs from a ``%%track`` cell, without changing its code.

The hooks call :func:`analyze_cell` on the cell source *before* running it (the source has
already been through IPython's ``shell.transform_cell``, so magics and ``!`` lines are plain
Python calls) and :func:`snapshot` on the namespace; they run the cell; then :func:`extract`
and :func:`data_inputs` read the namespace. When the cell raised, they first cut the analysis
to what ran (:meth:`CellNames.executed` at :func:`failure_position`); a cell that did not
compile ran nothing, and nothing is captured.

Example::

    names = analyze_cell("lr = 0.1\\nmodel = fit(lr)\\nval_acc = score(model)")
    captured = extract(names, user_ns)
    captured.params   # {'lr': 0.1}
    captured.metrics  # {'val_acc': 0.93}

This execution's own values only
--------------------------------
A run records only what *its* execution bound or read, never a value an earlier cell left
in the namespace. A plain top-level assignment (``a = ...``, ``a: T = ...``, ``a += ...``)
that ran is this execution's binding. Any other binding (under ``if``/``with``/``try``/
``match``, by ``:=``, or in the statement that raised) counts only when the name holds a
different object after the cell than before it (:func:`snapshot` keeps the ``id`` of each
candidate's value, not the value): so a branch that did not run, or an assignment that
raised, lends nothing. A top-level ``if`` with a simple test is re-evaluated after the cell
(:mod:`nbtrack.capture.branches`, no user code runs): the branch that ran counts as top-level
code. Otherwise re-assigning the very same object under a condition (``True``, ``None``, a
small int or a short string already held by the name) cannot be told from a branch that did
not run, and is left out. A cell that raised: statements after the failing
one never ran, their names are not candidates. Values logged through the API before the
exception stay (they are not captured here).

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
(``a += 1``) is not a literal assignment. The name's value after the cell ran is recorded;
a conditional one only when it is also one of the literals assigned to it in the cell
(same type, ``==``). Assignments inside ``for``/``while`` loops, ``def``, ``class``,
lambdas and comprehensions are ignored. A value :func:`nbtrack.values.param_value`
refuses (a dict with int keys, a string over 64 KiB) is left out and reported in
``skipped``; so is an unconditional name that no longer exists after the cell ran (``del``).

*Metric candidates* are names bound at the top level by ``=``, annotated or augmented
assignment or ``:=`` (not ``for`` targets, ``with ... as``, ``except ... as``, imports,
``def`` or ``class``) whose lower-cased name matches ``metric_patterns``
(:data:`DEFAULT_METRIC_PATTERNS`; ``!pattern`` excludes) and whose value is a real number
(ints, floats, numpy scalars, not bools; recorded as a float) or a 1-D sequence of them
(``scores = cross_val_score(...)``: ``scores.mean`` and ``scores.std`` as metrics, std with
ddof=0 like NumPy, and the length ``scores.n`` as a param). A name captured as a metric is
not also a param; a name matching a pattern whose value is not a number can be a param.

*Explicit names* (``--params a,b`` / ``--metrics f1,auc``) are read from the namespace
whatever their right side, even if the cell never assigned them, when the cell ran to the
end; when it raised, only those this execution rebound. A requested name that is missing or
whose value cannot be stored is reported in ``skipped``. Precedence: explicit metric >
explicit param > pattern metric > literal param.

*Estimators*: a name bound by the cell, or an estimator the cell reads and fits in place
(``clf.fit(X, y)``: its fitted attributes changed during the cell), whose value follows
scikit-learn's estimator API (``get_params()``) adds ``<name>.estimator`` = its label and its
non-default settings (:mod:`nbtrack.capture.estimators`); a fitted search (anything with
``best_score_``/``best_params_``) adds the metric ``<name>.best_score`` and the params
``<name>.best_params.<key>``, read as they are: no fit, prediction or scoring is ever run.
An estimator that is a step or the wrapped model of another captured estimator is recorded
once, under the outer one's names. Estimators with ``random_state=None`` are listed in
``Captured.unseeded``. A literal param of the same name wins.

*Data inputs* (:func:`data_inputs`): names the cell reads before binding them anywhere in
it (def-use over all statements, loops and comprehensions included; reads inside ``def``
bodies count where the function is defined) whose value is a NumPy array or a pandas
DataFrame, Series or Index are fingerprinted (:mod:`nbtrack.fingerprint`), at most
:data:`MAX_INPUTS` per cell. Read after the cell ran, so a cell that modifies its input in
place records the modified data; an input the cell later rebinds (``X = scale(X)``) is
fingerprinted by :func:`snapshot` before the cell runs.

Never captured: names starting with ``_`` (IPython's output history ``_``, ``_1``, ...
and private helpers), even when requested explicitly (reported in ``skipped``).
Code hidden inside a magic call (``%time acc = f()``) is a string argument after
``transform_cell``, so its assignments are invisible to the analysis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from ..fingerprint import fingerprint, is_data
from ..values import is_metric_like, metric_value, param_value
from . import estimators as est
from .estimators import MAX_ESTIMATOR_PARAMS
from .metrics import DEFAULT_METRIC_PATTERNS, metric_matcher, score_summary
from .names import CellNames, analyze_cell, failure_position

__all__ = [
    "DEFAULT_METRIC_PATTERNS", "MAX_ESTIMATOR_PARAMS", "MAX_INPUTS", "Before", "CellNames", "Captured",
    "analyze_cell", "data_inputs", "extract", "failure_position", "snapshot",
]  # fmt: skip

#: data inputs fingerprinted per cell
MAX_INPUTS = 20

_PRIVATE_REASON = "names starting with '_' are never captured"
_MISSING_REASON = "not defined after the cell ran"
_NOT_RUN_REASON = "not set by this execution (the cell raised before binding it)"


@dataclass(frozen=True)
class Captured:
    """The outcome of :func:`extract`: raw param values, float metrics, and what was left out why."""

    params: dict[str, Any]
    metrics: dict[str, float]
    skipped: list[tuple[str, str]]
    #: estimators (``model``, ``search.estimator__svc``) left with ``random_state=None``
    unseeded: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Before:
    """The namespace as the cell found it (:func:`snapshot`): enough to tell its own bindings."""

    #: candidate name -> id() of its value (the value itself is not kept: no memory is held)
    ids: Mapping[str, int] = field(default_factory=dict)
    #: estimator the cell reads -> identities of its fitted attributes (a fit in place changes them)
    fits: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    #: fingerprints of inputs the cell rebinds later, taken before it could
    inputs: Mapping[str, dict] = field(default_factory=dict)


def snapshot(names: CellNames, namespace: Mapping[str, Any], extra: Iterable[str] = (), inputs: bool = True) -> Before:
    """Taken just before the cell runs; costs a dict lookup per candidate name."""
    ids = {name: id(namespace[name]) for name in (*names.bound, *extra, *names.guard_names()) if name in namespace}
    fits = {}
    for name in names.read:
        state = est.fit_state(namespace.get(name))
        if state is not None:
            fits[name] = state
    early = {}
    if inputs:
        for name in names.rebound:
            value = namespace.get(name)
            if is_data(value):
                try:
                    early[name] = fingerprint(value)
                except Exception:  # noqa: S112 - odd user data: left to data_inputs, which reports it
                    continue
    return Before(ids, fits, early)


def extract(
    names: CellNames,
    namespace: Mapping[str, Any],
    metric_patterns: Iterable[str] = DEFAULT_METRIC_PATTERNS,
    *,
    extra_params: Iterable[str] = (),
    extra_metrics: Iterable[str] = (),
    estimators: bool = True,
    before: Before | None = None,
) -> Captured:
    """Read the candidates of ``names`` from ``namespace`` after the cell ran.

    ``before`` (from :func:`snapshot`) tells this execution's bindings from older ones;
    without it, conditional params are taken on their value alone and other bindings on trust
    (for callers that know the namespace is fresh, like papermill's parameters cell).
    Values nbtrack cannot store do not raise: they end up in ``Captured.skipped`` as
    ``(name, reason)``. Params keep their Python values (the tracker types them through
    :func:`nbtrack.values.param_value`); metrics are floats.
    """
    out = Captured({}, {}, [])
    if before is not None and names.guards:
        names = names.taken(namespace, before.ids)

    def fresh(name: str) -> bool:
        if before is None or name in names.certain:
            return True
        return name in namespace and before.ids.get(name) != id(namespace[name])

    for name in dict.fromkeys(extra_metrics):
        _take_explicit(out, name, namespace, _as_metric, names.ran_to_end or fresh(name))
    for name in dict.fromkeys(extra_params):
        if name not in out.metrics:
            _take_explicit(out, name, namespace, _as_param, names.ran_to_end or fresh(name))
    is_metric_name = metric_matcher(tuple(metric_patterns))
    for name in names.bound:
        if _is_free(out, name) and is_metric_name(name.lower()) and fresh(name):
            _metric(out, name, namespace.get(name))
    summarised = {key[: -len(".mean")] for key in out.metrics if key.endswith(".mean")}  # `scores = []` is no param
    for name in names.literals:
        if _is_free(out, name) and name not in summarised:
            _take(out, name, namespace, _as_param)
    for name, literals in names.conditional.items():
        if (
            _is_free(out, name)
            and name not in summarised
            and name in namespace
            and fresh(name)
            and _equals_any(namespace[name], literals)
        ):
            _take(out, name, namespace, _as_param)
    if estimators:
        found = [name for name in names.bound if fresh(name) and est.is_estimator(namespace.get(name))]
        if before is not None:  # fitted in place: `clf.fit(X, y)` on an estimator of an earlier cell
            found += [
                name
                for name, state in before.fits.items()
                if name in names.read and est.fit_state(namespace.get(name)) != state
            ]
        found = list(dict.fromkeys(found))  # `clf = clf.fit(X, y)`: bound and fitted in place
        inner = {id(part) for name in found for part in est.nested_parts(namespace[name])}
        for name in found:
            if id(namespace[name]) not in inner and _is_free(out, name):
                _estimator(out, name, namespace[name])
    return out


def _metric(out: Captured, name: str, value: Any) -> None:
    if is_metric_like(value):
        out.metrics[name] = metric_value(value, name)
        return
    try:
        summary = score_summary(value)
    except Exception:  # an odd sequence type: not a metric
        return
    if summary is not None and _is_free(out, f"{name}.mean") and _is_free(out, f"{name}.std"):
        out.metrics[f"{name}.mean"], out.metrics[f"{name}.std"] = summary[0], summary[1]
        _put(out, f"{name}.n", summary[2])


def _estimator(out: Captured, name: str, estimator: Any) -> None:
    try:
        chosen, unseeded = est.settings(estimator)
        score, best = est.search_results(estimator)
    except Exception as exc:  # user code: anything may happen, and the cell has already run
        out.skipped.append((name, f"hyperparameters not recorded: {type(exc).__name__}: {exc}"))
        return
    _put(out, f"{name}.estimator", est.label(estimator))
    for key, value in chosen.items():
        if _is_free(out, f"{name}.{key}"):
            _put(out, f"{name}.{key}", value)
    out.unseeded.extend(f"{name}.{owner}" if owner else name for owner in unseeded)
    if score is not None and is_metric_like(score) and _is_free(out, f"{name}.best_score"):
        out.metrics[f"{name}.best_score"] = metric_value(score)
    for key, value in best.items():
        _put(out, f"{name}.best_params.{key}", value)


def _put(out: Captured, key: str, value: Any) -> None:
    try:
        _as_param(out, key, value)
    except UsageError:
        pass  # e.g. a NaN or a huge string: left out like any other unrecordable hyperparameter


def _is_free(out: Captured, name: str) -> bool:
    return name not in out.params and name not in out.metrics


def _take_explicit(
    out: Captured, name: str, namespace: Mapping[str, Any], convert: Callable[[Captured, str, Any], None], ran: bool
) -> None:
    if ran or name.startswith("_"):
        _take(out, name, namespace, convert)
    else:
        out.skipped.append((name, _NOT_RUN_REASON))


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


def data_inputs(
    names: CellNames, namespace: Mapping[str, Any], before: Before | None = None
) -> tuple[dict[str, dict], list[tuple[str, str]]]:
    """(fingerprints of the data the cell read by name, [(name, why it was left out)])."""
    found: dict[str, dict] = {}
    skipped: list[tuple[str, str]] = []
    early = before.inputs if before is not None else {}
    for name in names.read:
        if name in names.rebound and name not in early:
            continue  # rebound by the cell: the value now is an outcome, and the input was not data
        value = namespace.get(name)
        if name not in early and not is_data(value):
            continue
        if len(found) >= MAX_INPUTS:
            skipped.append((name, f"more than {MAX_INPUTS} data inputs in one cell"))
            continue
        try:
            found[name] = early[name] if name in early else fingerprint(value)
        except Exception as exc:  # user data of odd kinds; the cell has already run
            skipped.append((name, f"fingerprint failed: {type(exc).__name__}: {exc}"))
    return found, skipped
