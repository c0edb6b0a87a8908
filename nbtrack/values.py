"""Coercion of user values into what the store keeps.

One module decides how Python values become params, metrics and tags, so that
numpy scalars never turn into BLOBs, NaN never silently becomes NULL, and a value
either round-trips exactly or is refused with a clear :class:`UsageError`.
"""

from __future__ import annotations

import json
import math
import numbers
import pickle
from typing import Any

from .errors import UsageError

MAX_KEY_LENGTH = 250
MAX_PARAM_BYTES = 64 * 1024
MAX_TAG_BYTES = 64 * 1024
# SQLite INTEGER is a signed 64-bit value; larger ints are stored as JSON text.
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def check_key(key: Any, what: str = "key") -> str:
    """Validate a metric/param/tag name: a non-empty string without control characters."""
    if not isinstance(key, str):
        raise UsageError(f"{what} must be a string, got {type(key).__name__}: {key!r}")
    if not key or not key.strip():
        raise UsageError(f"{what} must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise UsageError(f"{what} is {len(key)} characters long; the limit is {MAX_KEY_LENGTH}")
    if any(ord(ch) < 32 for ch in key):
        raise UsageError(f"{what} {key!r} contains a control character")
    _check_size(key, MAX_KEY_LENGTH * 4, what)
    return key


def check_text(text: str, what: str, limit: int = MAX_TAG_BYTES) -> str:
    """Free text the store keeps as TEXT (run names, notes): encodable as UTF-8 and not huge."""
    _check_size(text, limit, what)
    return text


def _numpy_item(value: Any) -> Any:
    """Turn a numpy scalar (or 0-d array) into the matching Python scalar, without importing numpy."""
    module = type(value).__module__
    if module == "numpy" or module.startswith("numpy."):
        if getattr(value, "shape", None) == () and hasattr(value, "item"):
            return value.item()
    return value


def metric_value(value: Any, key: str = "metric") -> float:
    """A metric is a real number; bools and ints are accepted, NaN and +-inf are preserved."""
    if type(value) is float:  # the hot path: a plain float needs no further checks
        return value
    value = _numpy_item(value)
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except OverflowError:
            raise UsageError(f"metric {key!r}: {value!r} is too large for a float") from None
    raise UsageError(f"metric {key!r} must be a real number, got {type(value).__name__}: {_short(value)}")


#: a metric timestamp is seconds since the epoch, from 1970 up to this (year 2286): a larger value
#: is most likely milliseconds (MLflow's unit), and NaN cannot be stored at all
MAX_TIMESTAMP = 1e10


def _real(value: Any, requirement: str) -> numbers.Real:
    """``value`` as a Python real number (numpy scalars unwrapped); bools and the rest refused."""
    value = _numpy_item(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UsageError(f"{requirement}, got {type(value).__name__}: {_short(value)}")
    return value


def metric_step(step: Any) -> int:
    """A step is an integer (an integral float or numpy integer too) that SQLite's INTEGER holds."""
    if type(step) is not int:
        real = _real(step, "step must be an integer")
        integral = isinstance(real, numbers.Integral) or (math.isfinite(real) and float(real).is_integer())
        if not integral:  # 2.5, NaN, +-inf
            raise UsageError(f"step must be an integer, got {_short(real)}")
        step = int(real)  # type: ignore[call-overload]  # numbers.Real declares no __int__
    if not _INT64_MIN <= step <= _INT64_MAX:
        raise UsageError(f"step {step} is outside the 64-bit range SQLite stores")
    return step


def metric_timestamp(timestamp: Any) -> float:
    """A point's time: finite seconds since the epoch (a real number, not a bool), 1970 to 2286."""
    if type(timestamp) is not float:
        timestamp = _real(timestamp, "timestamp must be seconds since the epoch (a number)")
        try:
            timestamp = float(timestamp)
        except OverflowError:
            timestamp = math.inf
    if 0.0 <= timestamp < MAX_TIMESTAMP:  # NaN fails both
        return timestamp
    if MAX_TIMESTAMP <= timestamp < MAX_TIMESTAMP * 1000:
        raise UsageError(
            f"timestamp {timestamp!r} looks like epoch milliseconds (MLflow's unit); nbtrack takes seconds: "
            f"pass {timestamp / 1000!r}, or log through nbtrack.mlflow, which takes milliseconds"
        )
    raise UsageError(
        f"timestamp must be finite seconds since the epoch, between 0 and {MAX_TIMESTAMP:.0f}; got {timestamp!r}"
    )


def is_metric_like(value: Any) -> bool:
    """True for values captured automatically as metrics (real numbers, not bools)."""
    value = _numpy_item(value)
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def param_value(value: Any, key: str = "param") -> tuple[str, Any]:
    """Return ``(type, stored_value)`` for a param; the type lets params compare numerically.

    ints, floats, bools and strings are stored natively; lists, tuples and dicts of
    JSON-able values as canonical JSON text (tuples come back as lists). Anything else
    is refused rather than stored as an unreadable repr.
    """
    value = _numpy_item(value)
    if value is None:
        return "null", None
    if isinstance(value, bool):
        return "bool", int(value)
    if isinstance(value, numbers.Integral):
        value = int(value)
        if _INT64_MIN <= value <= _INT64_MAX:
            return "int", value
        return "json", json.dumps(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            # SQLite turns a NaN REAL into NULL: keep the exact value as JSON-ish text.
            return "float", repr(value)
        return "float", value
    if isinstance(value, str):
        _check_size(value, MAX_PARAM_BYTES, f"param {key!r}")
        return "str", value
    if isinstance(value, (list, tuple, dict)):
        try:
            text = json.dumps(_jsonable(value), sort_keys=True, allow_nan=True, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"param {key!r} is not JSON-serializable: {exc}") from None
        except RecursionError:
            raise UsageError(
                f"param {key!r} is nested too deeply (or contains itself); log it as an artifact instead"
            ) from None
        _check_size(text, MAX_PARAM_BYTES, f"param {key!r}")
        return "json", text
    raise UsageError(
        f"param {key!r} has unsupported type {type(value).__name__}; "
        "use int, float, bool, str, None, or a list/dict of those"
    )


def _jsonable(value: Any) -> Any:
    value = _numpy_item(value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"dict key {k!r} is not a string")
            out[k] = _jsonable(v)
        return out
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{type(value).__name__} value {_short(value)}")


def decode_param(kind: str, stored: Any) -> Any:
    """Inverse of :func:`param_value`."""
    if kind == "null":
        return None
    if kind == "bool":
        return bool(stored)
    if kind == "int":
        return int(stored)
    if kind == "float":
        return float(stored)
    if kind == "json":
        return json.loads(stored)
    return stored


def tag_value(value: Any, key: str = "tag") -> str:
    """Tags are strings; other scalars are stored as their ``str``."""
    value = _numpy_item(value)
    if not isinstance(value, (str, int, float, bool)) and value is not None:
        raise UsageError(f"tag {key!r} must be a string, got {type(value).__name__}")
    text = "" if value is None else str(value)
    _check_size(text, MAX_TAG_BYTES, f"tag {key!r}")
    return text


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse ``k=v`` from magic or CLI arguments; ``v`` is a Python literal when it parses as one."""
    import ast

    if "=" not in text:
        raise UsageError(f"expected key=value, got {text!r}")
    key, raw = text.split("=", 1)
    key = check_key(key.strip())
    raw = raw.strip()
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = raw
    return key, value


def _check_size(text: str, limit: int, what: str) -> None:
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise UsageError(f"{what} contains a lone surrogate character that cannot be stored") from None
    if size > limit:
        raise UsageError(f"{what} is {size} bytes; the limit is {limit}. Log it as an artifact instead")


def _short(value: Any, limit: int = 60) -> str:
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: media type of a pickled model artifact (logged by ``log_model`` or ``register_model``)
PICKLE_MEDIA_TYPE = "application/x-python-pickle"


def model_bytes(model: Any) -> bytes:
    """A model as the bytes nbtrack stores: one pickling rule for runs and the registry."""
    try:
        return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # pickling errors come in many types
        raise UsageError(f"cannot pickle the model ({type(exc).__name__}: {exc})") from None


def model_candidates(name: str) -> tuple[str, ...]:
    """Artifact names a model reference may mean: the name itself, then what log_model(model, name) wrote,
    then the pickle inside an MLflow 2 model folder of that name (imported runs: ``runs:/ID/model``)."""
    if name.endswith((".pkl", ".pickle")):
        return (name,)
    folder = name.rstrip("/")
    return (name, f"models/{folder}.pkl", f"{folder}/model.pkl", f"{folder}/python_model.pkl")
