"""Is the process that owns a RUNNING run still alive? (Dead owners' runs become KILLED.)

Two kinds of evidence, used where each is reliable:

- **Runs whose process this one can see** (same host, same boot, same PID namespace): the
  process is asked directly. It is alive when its PID answers *and* that PID's start time is the
  one recorded when the run started, so a PID reused by an unrelated process does not keep a
  dead run RUNNING. The heartbeat is not consulted: a cell that holds the GIL for minutes (a C
  extension that does not release it), a store locked by another writer or a suspended laptop
  delay heartbeats of a live process, and a live run on this machine is never killed.
- **Runs from elsewhere** (another host or container): only the heartbeat, written every
  :data:`~nbtrack.tracking.buffer.HEARTBEAT_INTERVAL` seconds by the owner's background
  thread, is visible. A run whose heartbeat is older than :data:`STALE_AFTER` is dead. The
  limit is many intervals, not two, because of the delays above and because the two hosts'
  clocks may disagree. If the owner was in fact alive, its next heartbeat sets the run
  RUNNING again (and its end records its real status): a false alarm heals itself.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: seconds without a heartbeat after which a run of another host or container is presumed dead
STALE_AFTER = 300.0
#: the error a run gets when it is presumed dead for want of heartbeats (its owner's next
#: heartbeat recognizes it and undoes it)
STALE_ERROR = "no heartbeat from its process for more than {limit:g} s: presumed dead (host {host})"
STALE_ERROR_PREFIX = "no heartbeat from its process"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    except OSError:
        return False
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed child that its parent has not reaped still answers kill(pid, 0)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def process_start(pid: int) -> str | None:
    """An opaque token that differs between two processes that had the same PID, or None when
    this platform cannot tell (then only "does the PID answer" counts)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            # field 22, starttime in clock ticks since boot; fields counted after the ")" that
            # ends the command name (which may itself contain spaces and parentheses)
            return "ticks:" + handle.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        pass
    if sys.platform.startswith("linux"):
        return None  # no such process (or /proc hidden): psutil could not say more
    try:
        import psutil  # optional: macOS and Windows have no /proc
    except ImportError:
        return None
    try:
        return f"created:{psutil.Process(pid).create_time():.2f}"
    except Exception:  # gone, or not ours to inspect
        return None


def pid_space() -> str | None:
    """Which PIDs this process can see: the boot and the PID namespace (Linux), else None.

    Two containers on one host (possibly with the same hostname) see different PID spaces,
    so a run from the other one is judged by its heartbeat, not by a PID that means nothing here.
    """
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            boot = handle.read().strip()
        return f"{boot}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return None


def own_process() -> dict[str, Any]:
    """What a run records of its process at start (kept in its provenance: no schema change)."""
    return {"space": pid_space(), "start": process_start(os.getpid())}


@dataclass
class Judge:
    """Decides which RUNNING runs are dead, seen from this process."""

    host: str
    pid: int
    process: Mapping[str, Any]
    own_runs: set[int]
    now: float

    def dead(self, row: Mapping[str, Any]) -> bool:
        """``row``: id, host, pid, start_time, heartbeat, space and start (the recorded process)."""
        if row["id"] in self.own_runs:
            return False
        if self.visible(row):
            return not self._process_alive(row["pid"], row["start"])
        last = row["heartbeat"] or row["start_time"]
        return last < self.now - STALE_AFTER

    def reason(self, row: Mapping[str, Any]) -> str:
        """The error a dead run gets: what told it dead."""
        if self.visible(row):
            return "process ended without closing the run (killed or crashed)"
        return STALE_ERROR.format(limit=STALE_AFTER, host=row["host"] or "unknown")

    def visible(self, row: Mapping[str, Any]) -> bool:
        """Can this process see the run's process? (Runs recorded before spaces were: same host.)"""
        space = row["space"]
        return row["host"] == self.host and (space is None or space == self.process.get("space"))

    def _process_alive(self, pid: int | None, start: str | None) -> bool:
        if pid is None:
            return False
        if pid == self.pid:
            now_start = self.process.get("start")
        elif pid_alive(pid):
            now_start = process_start(pid)
        else:
            return False
        return start is None or now_start is None or start == now_start


def judge(host: str, process: Mapping[str, Any], own_runs: set[int], now: float | None = None) -> Judge:
    return Judge(host, os.getpid(), process, own_runs, time.time() if now is None else now)
