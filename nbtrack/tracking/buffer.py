"""Buffered metric (and param) writes: microseconds per ``log_metric``, batches to SQLite.

Points (and params, which would otherwise cost a commit each) wait in memory and are written by :meth:`MetricBuffer.flush` in one
``executemany`` transaction: at cell end, at run end, when the buffer is large, from a
background thread after about a second, and at interpreter exit. A crash loses at
most that window. A row the database refuses is dropped alone and reported (see
:mod:`nbtrack.tracking.lost`); the thread outlives any failure. It starts with the first run and
also refreshes the heartbeat of active runs every :data:`HEARTBEAT_INTERVAL` seconds: the end
time a KILLED run gets, and what other hosts judge it by (see :mod:`nbtrack.tracking.liveness`).
"""

from __future__ import annotations

import atexit
import threading
import time
from collections import deque
import weakref
from collections.abc import Callable

from ..errors import StoreError
from ..store.runs import BufferedRow

FLUSH_INTERVAL = 1.0
HEARTBEAT_INTERVAL = 5.0
MAX_BUFFERED = 50_000
# After this many failed flushes in a row, drop the points and say so (never grow without bound).
MAX_FAILED_FLUSHES = 5


class MetricBuffer:
    """Collects metric rows and writes them through ``write(rows)`` (one transaction; returns how
    many it wrote)."""

    def __init__(
        self,
        write: Callable[[list[BufferedRow]], int],
        heartbeat: Callable[[], None],
        lost: Callable[[list, str], None],
    ):
        self._write = write
        self._heartbeat = heartbeat
        #: told of rows given up on, with the reason (it counts them and reports)
        self._lost = lost
        # deque: append/popleft are atomic, so the notebook thread never takes the lock
        self._rows: deque[BufferedRow] = deque()
        self._lock = threading.Lock()
        self._failures = 0
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._last_heartbeat = 0.0
        _live_buffers.add(self)

    def append(self, row: BufferedRow) -> None:
        rows = self._rows
        rows.append(row)
        if len(rows) >= MAX_BUFFERED:
            self.flush()
        elif self._thread is None:
            self._start_thread()

    def extend(self, new_rows: list[BufferedRow]) -> None:
        self._rows.extend(new_rows)
        if len(self._rows) >= MAX_BUFFERED:
            self.flush()
        elif self._thread is None:
            self._start_thread()

    def take(self) -> list[BufferedRow]:
        """Remove and return everything buffered (for callers that write it in their own transaction)."""
        with self._lock:
            return self._drain()

    def restore(self, rows: list[BufferedRow]) -> None:
        """Put back rows taken with :meth:`take` whose transaction failed, ahead of newer ones."""
        with self._lock:
            self._rows.extendleft(reversed(rows))

    def _drain(self) -> list[BufferedRow]:
        popleft = self._rows.popleft
        return [popleft() for _ in range(len(self._rows))]

    def flush(self) -> int:
        """Write buffered points now; returns how many were written (``write`` drops and reports
        the rows the database refuses). Never raises."""
        with self._lock:
            rows = self._drain()
            if not rows:
                return 0
            try:
                written = self._write(rows)
            except StoreError as exc:
                self._failures += 1
                if self._failures >= MAX_FAILED_FLUSHES:
                    self._failures = 0
                    self._lost(rows, str(exc))
                else:
                    self._rows.extendleft(reversed(rows))  # keep them for the next attempt, in order
                return 0
            except Exception as exc:  # a bug, not the store: retrying would fail the same way for ever
                self._failures = 0
                self._lost(rows, f"internal error: {type(exc).__name__}: {exc}")
                return 0
            self._failures = 0
            return written

    def __len__(self) -> int:
        return len(self._rows)

    # -- background thread ---------------------------------------------------------------------
    def start(self) -> None:
        """Start the background thread now (a run started: its heartbeat must be refreshed even
        when it logs nothing)."""
        if self._thread is None:
            self._start_thread()

    def _start_thread(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopped:
                return
            self._thread = threading.Thread(target=self._loop, name="nbtrack-flusher", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stopped:
            self._wake.wait(FLUSH_INTERVAL)
            self._wake.clear()
            if self._stopped:
                break
            self.flush()
            now = time.monotonic()
            if now - self._last_heartbeat >= HEARTBEAT_INTERVAL:
                self._last_heartbeat = now
                try:
                    self._heartbeat()
                except Exception:  # noqa: BLE001 - the thread must outlive any one failure
                    pass  # the next flush reports persistent store trouble

    def close(self) -> None:
        """Flush and stop the thread (idempotent)."""
        self._stopped = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.flush()
        _live_buffers.discard(self)


_live_buffers: "weakref.WeakSet[MetricBuffer]" = weakref.WeakSet()


@atexit.register
def _flush_all_at_exit() -> None:
    for buffer in list(_live_buffers):
        buffer.flush()
