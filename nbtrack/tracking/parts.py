"""What the parts of :class:`~nbtrack.tracking.Tracker` share: the state they read and how a run
reference becomes a row.

The tracker is assembled from small mixins, one per responsibility (:mod:`.annotation`,
:mod:`.artifact_log`, :mod:`.retention`, :mod:`.reading`), over this base. Mixins rather than
collaborator objects because every part works on the same few things (the store, the run
repository, the active-run stack, the buffer) and the faces see one ``Tracker`` whose methods
keep their names: composition would add a forwarding method per public call (~40) and a
second object to keep in step with the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..entities import Run
from ..errors import RunStateError, UsageError
from ..store.runs import RunNode
from .active import ActiveRun

if TYPE_CHECKING:  # the attributes Tracker.__init__ sets; annotated here for the parts that read them
    from ..store import RunRepository, Store
    from .buffer import MetricBuffer
    from .policy_check import RunPolicy


class TrackerPart:
    """Base of the tracker's parts: declares the shared state, resolves run references."""

    store: "Store"
    runs: "RunRepository"
    buffer: "MetricBuffer"
    #: the team policy: the verdict tag follows an ended run's tags
    policy: "RunPolicy"
    _stack: list[ActiveRun]
    #: default for new runs: secret param/tag values stored as "<redacted>"
    redact: bool

    if TYPE_CHECKING:  # defined by Tracker (run lifecycle and logging), used by the parts

        def _require_run(self, run: ActiveRun | None) -> ActiveRun: ...

        def _write(
            self,
            row_id: int,
            params: Mapping[str, Any] | None = None,
            tags: Mapping[str, Any] | None = None,
            redact: bool | None = None,
        ) -> None: ...

        def mark_dead_runs(self) -> int: ...

    def flush(self) -> int:
        return self.buffer.flush()

    def _row_id(self, run_ref: str | Run | ActiveRun) -> int:
        if isinstance(run_ref, ActiveRun):
            return run_ref.row_id
        return self.runs.resolve(run_ref.id if isinstance(run_ref, Run) else run_ref)

    def _live_nodes(self, run_refs: Iterable[str | Run], action: str) -> list[RunNode]:
        nodes = self.runs.nodes(self._row_id(ref) for ref in run_refs)
        deleted = next((n for n in nodes if n.deleted_time is not None), None)
        if deleted is not None:
            raise RunStateError(f"run {short(deleted)} is deleted; restore it before you {action} it")
        return nodes


def short(node: RunNode) -> str:
    return node.uuid[:8]


def checked_mapping(value: Any, what: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise UsageError(f"{what} must be a mapping of name to value, got {type(value).__name__}")
    return value
