"""Estimators' settings as params: what the user chose, once each, at its most specific name.

Everything here reads attributes the estimator already has (``get_params()``, ``best_score_``,
``best_params_``): no fitting, predicting or scoring, so capture stays cheap and changes nothing.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

#: hyperparameters recorded per estimator (a deep pipeline's get_params can return hundreds)
MAX_ESTIMATOR_PARAMS = 200
#: characters kept of a search-space entry that is not a literal (a distribution's description)
MAX_SPACE_TEXT = 200
#: search-space keys (scikit-learn's names) recorded as JSON
SEARCH_SPACES = ("param_grid", "param_distributions")

UNRECORDED = object()
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def is_estimator(value: Any) -> bool:
    """An estimator instance (not a class, whose get_params is an unbound function)."""
    return not isinstance(value, type) and callable(getattr(type(value), "get_params", None))


def settings(estimator: Any) -> tuple[dict[str, Any], list[str]]:
    """({key: value} of the non-default settings, [owner keys left with random_state=None]).

    Keys are scikit-learn's deep names (``C``, ``svc__C``, ``estimator__svc__C``). An estimator
    nested as a pipeline step or as a search's ``estimator`` is named by :func:`label` and not
    again as a key; its own settings follow under their deep names. Raises what ``get_params`` raises.
    """
    params = estimator.get_params(deep=True)
    if not isinstance(params, Mapping):
        raise TypeError("get_params() did not return a mapping")
    labelled = {id(step) for step in nested_parts(estimator)}
    chosen: dict[str, Any] = {}
    unseeded: list[str] = []
    for key, value in sorted(params.items(), key=lambda item: str(item[0])):
        if not isinstance(key, str) or id(value) in labelled and is_estimator(value):
            continue
        owner_key, _, param = key.rpartition("__")
        if param == "random_state" and value is None:
            unseeded.append(owner_key)
        if key == "steps" or key.endswith("__steps"):
            continue  # the label names the steps; their settings have their own keys
        if param in SEARCH_SPACES:
            recorded = space(value)
        elif _is_default(estimator, params, key, value):
            continue
        else:
            recorded = hyperparameter(value)
        if recorded is not UNRECORDED and len(chosen) < MAX_ESTIMATOR_PARAMS:
            chosen[key] = recorded
    return chosen, unseeded


def nested_parts(estimator: Any, depth: int = 0) -> list[Any]:
    """The nested estimators :func:`label` names: pipeline steps and a search's estimator."""
    if depth > 8:
        return []
    parts = list(_steps(estimator))
    wrapped = _wrapped(estimator)
    if wrapped is not None:
        parts.append(wrapped)
    return parts + [inner for part in parts for inner in nested_parts(part, depth + 1)]


def _steps(estimator: Any) -> list[Any]:
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps and all(isinstance(s, tuple) and len(s) == 2 for s in steps):
        return [step for _, step in steps]
    return []


def _wrapped(estimator: Any) -> Any:
    """The estimator a meta-estimator wraps in its ``estimator`` param (a search's model, a
    bagging's base): named in the label, since ``NAME.estimator`` is the label's own key."""
    wrapped = getattr(estimator, "estimator", None)
    return wrapped if is_estimator(wrapped) else None


def label(estimator: Any, depth: int = 0) -> str:
    """The class name; a pipeline names its steps (``Pipeline[StandardScaler, SVC]``) and a search
    or other meta-estimator what it wraps (``GridSearchCV[SVC]``): "Pipeline" alone says nothing
    in a runs table."""
    name = type(estimator).__name__
    if depth > 8:
        return name
    inner = _steps(estimator) or [w for w in (_wrapped(estimator),) if w is not None]
    if inner:
        name += "[" + ", ".join(label(step, depth + 1) for step in inner) + "]"
    return name


def search_results(estimator: Any) -> tuple[float | None, dict[str, Any]]:
    """(best_score_, best_params_) of a fitted search, read as they are; (None, {}) otherwise."""
    score = getattr(estimator, "best_score_", None)
    best = getattr(estimator, "best_params_", None)
    params = {str(k): space(v) for k, v in best.items()} if isinstance(best, Mapping) else {}
    return score, {k: v for k, v in params.items() if v is not UNRECORDED}


def fit_state(value: Any) -> tuple[int, ...] | None:
    """Identities of an estimator's fitted attributes (``coef_``, ``best_score_``: scikit-learn's
    trailing underscore), its steps' included: a fit in place replaces them. None: not an estimator."""
    try:
        if not is_estimator(value):
            return None
        state: list[int] = []
        for part in (value, *nested_parts(value)):
            attributes = getattr(part, "__dict__", None)
            if isinstance(attributes, dict):
                state.extend(
                    id(v)
                    for k, v in attributes.items()
                    if isinstance(k, str) and k.endswith("_") and not k.startswith("_")
                )
        return tuple(state)
    except Exception:  # an exotic object in the user's namespace: not an estimator nbtrack can follow
        return None


def _is_default(estimator: Any, params: Mapping[str, Any], key: str, value: Any) -> bool:
    """Whether ``key`` (``param`` or ``step__param``) holds its owner's ``__init__`` default (NaN == NaN)."""
    owner_key, _, param = key.rpartition("__")
    owner = params.get(owner_key) if owner_key else estimator
    default = _init_defaults(type(owner)).get(param, UNRECORDED)
    if default is UNRECORDED or type(value) is not type(default):
        return False
    if isinstance(value, float) and math.isnan(value) and math.isnan(default):
        return True  # error_score=np.nan: nan != nan, but it is the default
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


def hyperparameter(value: Any) -> Any:
    """The value to record, or ``UNRECORDED``: literals, numpy scalars, short lists of those,
    a nested estimator's class name; not functions, arrays or random states."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if is_estimator(value):
        return type(value).__name__
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "shape", None) == ():
        plain = item()
        return plain if type(plain) in (bool, int, float, str) else UNRECORDED
    if isinstance(value, (list, tuple)) and len(value) <= 64:
        elements = [hyperparameter(v) for v in value]
        return UNRECORDED if any(e is UNRECORDED or isinstance(e, list) for e in elements) else elements
    return UNRECORDED


def space(value: Any, depth: int = 0) -> Any:
    """A search space (or a best-params value) as JSON: lists and dicts of literals as they are,
    estimators by class name, arrays as lists, anything else (a scipy distribution) by its
    description; UNRECORDED when too big or too deep."""
    if depth > 6:
        return UNRECORDED
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return value if math.isfinite(value) else repr(value)
    if is_estimator(value):
        return label(value)
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return space(item(), depth + 1)
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and getattr(value, "size", 1000) <= 1000:
        return space(tolist(), depth + 1)
    if isinstance(value, (list, tuple, range)) and len(value) <= 1000:
        elements = [space(v, depth + 1) for v in value]
        return UNRECORDED if any(e is UNRECORDED for e in elements) else elements
    if isinstance(value, Mapping) and len(value) <= 200:
        items = {str(k): space(v, depth + 1) for k, v in value.items()}
        return UNRECORDED if any(v is UNRECORDED for v in items.values()) else items
    return _describe(value)


def _describe(value: Any) -> str:
    """``loguniform(0.001, 1000.0)`` for a frozen scipy distribution, else the repr without its address."""
    dist = getattr(value, "dist", None)
    args, kwds = getattr(value, "args", None), getattr(value, "kwds", None)
    if dist is not None and isinstance(args, tuple) and isinstance(kwds, Mapping):
        name = getattr(dist, "name", None) or type(dist).__name__
        shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwds.items()]
        text = f"{name}({', '.join(shown)})"
    else:
        try:
            text = _ADDRESS.sub("", repr(value))
        except Exception as exc:  # a user object's repr may raise
            text = f"<{type(value).__name__}: repr failed: {type(exc).__name__}>"
    return text if len(text) <= MAX_SPACE_TEXT else text[: MAX_SPACE_TEXT - 1] + "…"
