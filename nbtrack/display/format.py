"""Human formatting of times, durations and values, shared by text and HTML views."""

from __future__ import annotations

import math
import time
from typing import Any


def timestamp(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


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


def size(count: int) -> str:
    """Bytes in the largest unit that keeps the number at or above 1: ``"1.5 MB"``."""
    number, unit = float(count), "bytes"
    for bigger in ("kB", "MB", "GB"):
        if number < 1000:
            break
        number, unit = number / 1000, bigger
    return f"{count} bytes" if unit == "bytes" else f"{number:.1f} {unit}"


def value(item: Any, digits: int = 4) -> str:
    """Compact text for a param or metric value; NaN and infinities spelled out."""
    kind = type(item)
    if kind is str:
        return item
    if item is None:
        return ""
    if kind is float:
        if not math.isfinite(item):
            return "nan" if item != item else ("inf" if item > 0 else "-inf")
        if item != 0 and (abs(item) >= 1e6 or abs(item) < 1e-3):
            return f"{item:.{digits}g}"
        return f"{item:.{digits}f}".rstrip("0").rstrip(".")
    if kind is bool or kind is int:
        return str(item)
    if isinstance(item, (list, dict, tuple)):
        import json

        return json.dumps(item, default=str)
    return str(item)


def truncate(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
