"""The team policy (:mod:`nbtrack.policy`) where runs are made.

Defaults are filled when a run starts; the verdict is stamped as the system tag
:data:`~nbtrack.policy.POLICY_TAG` when it ends, when an import or a pull writes it, and again
whenever its tags change afterwards (``%track tag``, ``set_tag`` on an ended run, the dashboard).
A run that breaks the policy is recorded all the same: the tag says what is wrong, so listings
(``policy = 'violations'``), ``nbtrack check`` and promotion gates read it without re-checking.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..entities import Run
from ..errors import PolicyError
from ..policy import POLICY_TAG, VIOLATIONS, Policy, PolicyFinder, Violation, fix_command, verdict
from ..store import RunRepository


class RunPolicy:
    """The policy in effect for one tracker's runs (found from the working directory and the store)."""

    def __init__(self, runs: RunRepository, store_dir: Path | None):
        self.runs = runs
        self.store_dir = store_dir
        self.finder = PolicyFinder()
        #: why the policy could not be read the last time it was looked for (None: it could, or there is none)
        self.problem: str | None = None

    def current(self) -> Policy | None:
        """The policy now (files re-read only when they change); a broken file is no policy, with :attr:`problem` set."""
        try:
            policy = self.finder.find(None, self.store_dir)
        except PolicyError as exc:
            self.problem = str(exc)
            return None
        self.problem = None
        return policy

    def with_defaults(self, tags: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """``tags`` and the policy's defaults for those missing (``owner = git:user.name``, ...)."""
        policy = self.current()
        filled = policy.defaults(tags or {}) if policy is not None else {}
        return {**filled, **tags} if filled and tags else filled or tags

    def stamp(self, row_ids: Iterable[int]) -> None:
        """Write the verdict on runs ``row_ids`` (in the caller's transaction, if any).

        Called at run end, after tag changes, and by ``nbtrack import mlflow`` for each run it
        writes; a pull from a tracking server (``nbtrack/remote``, not built yet) calls it the same
        way for the runs it brings in, without :meth:`with_defaults` (this machine did not make them).
        """
        policy = self.current()
        if policy is None:
            return
        for row_id, tags in self.runs.tags_of(row_ids).items():
            tags.pop(POLICY_TAG, None)
            self.runs.write_batch(row_id, tags=[(POLICY_TAG, verdict(policy.check(tags)))])

    def fix(self, run: Run) -> str | None:
        """How to make ``run`` comply (``%track tag team=churn``), or None when it does (or there is no policy)."""
        if not run.tags.get(POLICY_TAG, "").startswith(VIOLATIONS):
            return None
        policy = self.current()
        if policy is None:
            return None
        return fix_command(policy.check({k: v for k, v in run.tags.items() if k != POLICY_TAG})) or None


def audit_runs(tracker, policy: Policy, filter: str | None = None) -> Iterator[tuple[str, str | None, list[Violation]]]:
    """``(run id, name, violations)`` of every live run matching ``filter`` that breaks ``policy`` now.

    Read-only (``nbtrack check`` in CI, and a team push before sending): the runs' tags are
    judged as they stand, whatever verdict they carry, read as table rows (no Run objects).
    A tag set to the empty text counts as missing.
    """
    keys = sorted(policy.tags)
    for row in tracker.iter_table({"params": [], "metrics": [], "tags": keys}, filter):
        tags = {key: value for key, value in zip(keys, row[len(row) - len(keys) :]) if value != ""}
        found = policy.check(tags)
        if found:
            yield row[0], row[1], found
