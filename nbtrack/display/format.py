"""Human formatting of times, durations and values, shared by text and HTML views."""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any


def timestamp(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return _dt.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def value(item: Any, digits: int = 4) -> str:
    """Compact text for a param or metric value; NaN and infinities spelled out."""
    if item is None:
        return ""
    if isinstance(item, bool):
        return str(item)
    if isinstance(item, float):
        if math.isnan(item):
            return "nan"
        if math.isinf(item):
            return "inf" if item > 0 else "-inf"
        if item != 0 and (abs(item) >= 1e6 or abs(item) < 1e-3):
            return f"{item:.{digits}g}"
        return f"{item:.{digits}f}".rstrip("0").rstrip(".") if "." in f"{item:.{digits}f}" else f"{item}"
    if isinstance(item, (list, dict, tuple)):
        import json

        return json.dumps(item, default=str)
    return str(item)


def truncate(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
