"""Git provenance for runs, without making a short run wait for git.

A probe (``git status`` + ``git diff`` in a thread) starts with the run; its answer is
written with the run's end when ready, else by a short-lived thread as soon as git
answers. Runs started within ``REUSE`` seconds in one folder share a probe, so a loop
that starts hundreds of runs does not spawn hundreds of git processes; the price is a
dirty state up to ``REUSE`` seconds old.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from .. import provenance
from ..store import RunRepository

TIMEOUT = 5.0
REUSE = 2.0


class GitRecorder:
    def __init__(self, runs: RunRepository, report: Callable[[str], None]):
        self.runs = runs
        self.report = report
        self._cache: tuple[str, float, Any] | None = None
        self._late_writers: list[threading.Thread] = []

    def probe(self, cwd: str):
        """A running (or shared, recent) git probe for ``cwd``."""
        now = time.monotonic()
        if self._cache and self._cache[0] == cwd and now - self._cache[1] < REUSE:
            return self._cache[2]
        probe = provenance.start_git_probe(cwd, timeout=TIMEOUT)
        self._cache = (cwd, now, probe)
        return probe

    def fields_now(self, row_id: int, probe) -> dict[str, Any]:
        """Run columns to write with the run's end, if git has already answered (else empty)."""
        git = probe.result(timeout=0.0) if probe is not None else None
        return self._fields(row_id, git) if git is not None else {}

    def write_later(self, row_id: int, run_uuid: str, probe) -> None:
        """After the run's end: write git's answer when it comes (no thread if there is none to wait for)."""
        if probe is None or (probe.done() and probe.result(timeout=0.0) is None):
            return  # not a repository, or already written with the end
        writer = threading.Thread(
            target=self._write_late, args=(row_id, run_uuid, probe), daemon=True, name="nbtrack-git-late"
        )
        writer.start()
        self._late_writers = [t for t in self._late_writers if t.is_alive()] + [writer]

    def join(self) -> None:
        for writer in self._late_writers:
            writer.join(TIMEOUT)

    def _write_late(self, row_id: int, run_uuid: str, probe) -> None:
        git = probe.result(timeout=TIMEOUT)
        if not git:
            return
        try:
            # Read-modify-write of the provenance document in one transaction, and only if the row
            # is still this run: a run purged meanwhile frees its row id for the next run, whose
            # document (snapshot, inputs) must not be overwritten with this one's.
            with self.runs.store.atomic():
                if self.runs.is_row_of(row_id, run_uuid):
                    self.runs.update_run(row_id, self._fields(row_id, git))
        except Exception as exc:  # background thread: never raise
            self.report(f"git provenance was not recorded: {exc}")

    def _fields(self, row_id: int, git: dict) -> dict[str, Any]:
        existing = self.runs.provenance(row_id)
        existing["git"] = git
        return {"git_commit": git.get("commit"), "provenance": json.dumps(existing, default=str)}
