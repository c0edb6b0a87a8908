"""Human formatting of times, durations and values, shared by text and HTML views.

Text shown in a terminal goes through :func:`inert`: a run name, param, tag or note holding
``ESC]8;;...`` (a hyperlink), ``ESC[2J`` (clear screen) or a right-to-left override must be
shown as the characters it is, not obeyed by the terminal.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

# C1 controls, DEL, and the invisible direction marks and overrides that reorder what is shown
_INVISIBLE = r"\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROLS = {
    "line": re.compile(rf"[\x00-\x1f{_INVISIBLE}]"),  # a table cell or one line: newlines and tabs too
    "text": re.compile(rf"[\x00-\x08\x0b-\x1f{_INVISIBLE}]"),  # multi-line text: newlines and tabs kept
    "stream": re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f{_INVISIBLE}]|\r(?!\n)"),  # output: CRLF line ends kept (CSV)
}


def inert(text: str, keep: str = "text") -> str:
    """``text`` with control characters shown escaped (``\\x1b``, ``\\u202e``) so a terminal shows
    them instead of obeying them. ``keep``: ``"text"`` keeps newlines and tabs, ``"line"`` keeps
    none (table cells), ``"stream"`` also keeps CR before LF (CSV line ends)."""
    return _CONTROLS[keep].sub(_escaped, text)


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


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
