"""Content fingerprints of the data a run used: "was this model trained on the same data?"

A ``%%track`` cell records a fingerprint of every NumPy array and pandas DataFrame,
Series or Index it reads (``nbtrack.log_input(data, name)`` does it by hand): its kind,
shape, dtype(s), columns and a BLAKE2b digest of its content. Two runs with the same
digest saw the same values; a diff names the inputs that changed and a rerun checks
them like metrics. Nothing is stored but the fingerprint.

Cost is bounded so tracking stays cheap (hashing runs at about 1 GB/s here): up to
:data:`MAX_HASHED_BYTES` of an array, or :data:`MAX_HASHED_ROWS` rows of a frame (fewer
for a frame so wide that they would exceed :data:`MAX_HASHED_BYTES`), are hashed in full; beyond that an evenly spaced sample of rows (first and last included) is hashed
and the fingerprint says ``sampled``, so a change confined to rows between the samples
can go unseen. Object arrays, and frames with unhashable cells (lists, dicts), are hashed
through ``repr`` of their elements (also sampled).

Detection is by duck typing on the value's module, so nothing here imports NumPy or
pandas: they are used only when the user's data already brought them in.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

#: arrays up to this many bytes are hashed whole
MAX_HASHED_BYTES = 64 * 1024 * 1024
#: frames up to this many rows are hashed whole
MAX_HASHED_ROWS = 200_000
#: columns named in a frame's fingerprint (the digest covers all of them)
MAX_COLUMNS_LISTED = 50
DIGEST = "blake2b-128"

_PANDAS_KINDS = ("DataFrame", "Series", "Index", "MultiIndex", "RangeIndex", "DatetimeIndex")


def is_data(value: Any) -> bool:
    """A NumPy array with at least one dimension, or a pandas DataFrame, Series or Index."""
    kind = type(value)
    package = kind.__module__.partition(".")[0]
    if package == "numpy":
        return kind.__name__ == "ndarray" and getattr(value, "ndim", 0) >= 1
    return package == "pandas" and kind.__name__ in _PANDAS_KINDS


def fingerprint(value: Any) -> dict[str, Any]:
    """``{"kind", "shape", "dtype" | "dtypes", "columns"?, "digest", "algorithm", "sampled"}``."""
    if type(value).__module__.partition(".")[0] == "numpy":
        return _array(value)
    return _pandas(value)


def _array(array: Any) -> dict[str, Any]:
    import numpy as np

    rows = array.shape[0]
    row_bytes = max(array.nbytes // max(rows, 1), 1)
    sample, sampled = _sample(array, rows, MAX_HASHED_BYTES // row_bytes)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{array.dtype.str}|{array.shape}".encode())
    if array.dtype.hasobject:
        for item in sample.reshape(-1):
            digest.update(repr(item).encode("utf-8", "backslashreplace") + b"\x00")
    else:  # raw bytes via a uint8 view: no copy when contiguous; datetimes and empty arrays too
        digest.update(np.ascontiguousarray(sample).reshape(-1).view(np.uint8))  # type: ignore[arg-type]  # ndarray is a buffer
    return {
        "kind": "ndarray",
        "shape": list(array.shape),
        "dtype": str(array.dtype),
        "digest": digest.hexdigest(),
        "algorithm": DIGEST,
        "sampled": sampled,
    }


def _pandas(data: Any) -> dict[str, Any]:
    import pandas as pd

    kind = type(data).__name__
    rows = len(data)
    row_bytes = max(_nbytes(data) // max(rows, 1), 1)  # a wide frame gets fewer rows
    sample, sampled = _sample(data, rows, min(MAX_HASHED_ROWS, MAX_HASHED_BYTES // row_bytes))
    digest = hashlib.blake2b(digest_size=16)
    result: dict[str, Any] = {"kind": kind, "shape": list(data.shape)}
    if kind == "DataFrame":
        columns = [str(c) for c in data.columns]
        digest.update(repr([(c, str(t)) for c, t in zip(columns, data.dtypes)]).encode("utf-8", "backslashreplace"))
        result["columns"] = columns[:MAX_COLUMNS_LISTED]
        result["dtypes"] = sorted({str(t) for t in data.dtypes})
    else:
        digest.update(f"{getattr(data, 'name', None)!r}|{data.dtype}".encode("utf-8", "backslashreplace"))
        result["dtype"] = str(data.dtype)
    digest.update(f"{list(data.shape)}".encode())
    try:
        hashed = pd.util.hash_pandas_object(sample, index=kind != "Index" and not kind.endswith("Index"))
        digest.update(hashed.to_numpy().view("uint8"))
    except TypeError:  # unhashable cells (lists, dicts): their reprs, row by row
        for row in sample.itertuples() if kind == "DataFrame" else sample:
            digest.update(repr(row).encode("utf-8", "backslashreplace") + b"\x00")
    return {**result, "digest": digest.hexdigest(), "algorithm": DIGEST, "sampled": sampled}


def _nbytes(data: Any) -> int:
    """Shallow memory size (object cells count as pointers): cheap, and enough to bound the work."""
    usage = getattr(data, "memory_usage", None)
    if callable(usage) and type(data).__name__ == "DataFrame":
        return int(usage(index=False, deep=False).sum())
    return int(getattr(data, "nbytes", 0) or 0)


def _sample(data: Any, rows: int, allowed: int) -> tuple[Any, bool]:
    """``data`` itself when small enough, else every k-th row plus the last one."""
    if rows <= max(allowed, 2):
        return data, False
    step = math.ceil(rows / max(allowed - 1, 1))
    positions = list(range(0, rows, step))
    if positions[-1] != rows - 1:
        positions.append(rows - 1)
    taker = getattr(data, "iloc", None)
    return (taker[positions] if taker is not None else data[positions]), True


def paired(before: dict[str, dict], after: dict[str, dict]) -> list[tuple[str, str | None, str | None, bool]]:
    """Every input of either side, by name: (name, description before, description after, same
    content). The one comparison rule for diffs, rerun checks and version comparisons: the full
    digest decides, the description (with a short digest) is what people read."""
    rows = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name), after.get(name)
        same = a is not None and b is not None and a.get("digest") == b.get("digest")
        rows.append((name, describe(a) if a else None, describe(b) if b else None, same))
    return rows


def describe(print_: dict[str, Any]) -> str:
    """``DataFrame 800x12 · 3f2a1b0c9d8e`` for listings (``sampled`` marked)."""
    shape = "x".join(str(n) for n in print_.get("shape") or [])
    dtype = print_.get("dtype") or ",".join(print_.get("dtypes") or [])
    digest = (print_.get("digest") or "")[:12]
    sampled = " (sampled)" if print_.get("sampled") else ""
    return f"{print_.get('kind', '?')} {shape} {dtype} · {digest}{sampled}".replace("  ", " ")
