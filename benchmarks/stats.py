"""Summaries of repeated samples and the number formatting of the report."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

_SCALE = {"s": 1.0, "ms": 1e3, "us": 1e6, "B": 1.0}


@dataclass(frozen=True)
class Summary:
    median: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, samples: list[float]) -> "Summary":
        return cls(statistics.median(samples), min(samples), max(samples), len(samples))


def format_value(value: float, unit: str) -> str:
    """``0.0123, "ms"`` -> ``"12.3 ms"``; three significant digits."""
    scaled = value * _SCALE[unit]
    if unit == "B":
        return f"{scaled:.1f} B"
    return f"{_three_digits(scaled)} {unit.replace('us', 'µs')}"


def format_summary(summary: Summary, unit: str) -> str:
    if summary.count == 1:
        return format_value(summary.median, unit)
    return f"{format_value(summary.median, unit)} ({_bare(summary.low, unit)}–{_bare(summary.high, unit)})"


def format_ratio(ratio: float) -> str:
    if ratio >= 100:
        return f"{ratio:,.0f}x"
    return f"{ratio:.2g}x" if ratio < 10 else f"{ratio:.0f}x"


def _bare(value: float, unit: str) -> str:
    return format_value(value, unit).rsplit(" ", 1)[0]


def _three_digits(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if abs(x) >= 1 else f"{x:.3f}"
