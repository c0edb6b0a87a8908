"""Logged values that never reached the store, counted per run until the run says so.

A point the database refused, or one dropped after the store kept refusing every flush, is
lost: the user is told (one line per value, naming run, key and step) and the run carries the
system tag ``nbtrack.lost_points`` with the running count, so a run that lost data never reads
as a clean FINISHED. Counts wait here until a transaction that writes them commits (the store
may be refusing writes when they are lost).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from ..entities import SYSTEM_TAG_PREFIX
from ..store.runs import BufferedRow, ParamRow

LOST_POINTS_TAG = SYSTEM_TAG_PREFIX + "lost_points"
#: refused values named one per line; beyond this, one more line gives the count
MAX_NAMED = 5


class LostPoints:
    """Per-run counts of lost values not yet written to the runs' tags (shared by two threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, int] = {}

    def add(self, rows: Iterable[BufferedRow]) -> None:
        with self._lock:
            for row in rows:
                self._pending[row[0]] = self._pending.get(row[0], 0) + 1

    def take(self) -> dict[int, int]:
        """The counts to write, removed (two writers must not both add them); give them back
        with :meth:`give_back` if their transaction fails."""
        with self._lock:
            counts, self._pending = self._pending, {}
            return counts

    def give_back(self, counts: dict[int, int]) -> None:
        with self._lock:
            for run_id, n in counts.items():
                self._pending[run_id] = self._pending.get(run_id, 0) + n


def refusal_lines(refused: list[tuple[BufferedRow, str]], run_name: Callable[[int], str]) -> list[str]:
    """One line per refused row (run, key, step or param, the database's reason), at most MAX_NAMED."""
    lines = []
    for row, reason in refused[:MAX_NAMED]:
        what = f"param {row[1]!r}" if isinstance(row, ParamRow) else f"metric {row[1]!r} step {row[2]}"
        lines.append(f"{what} of run {run_name(row[0])} was not recorded: the store refused it ({reason})")
    if len(refused) > MAX_NAMED:
        lines.append(
            f"{len(refused) - MAX_NAMED} more logged values were not recorded (tag {LOST_POINTS_TAG} counts them)"
        )
    return lines
