"""A run that has started and not yet ended: the handle ``start_run`` returns."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..entities import FAILED, FINISHED, KILLED

if TYPE_CHECKING:
    from .tracker import Tracker


@dataclass(eq=False)
class ActiveRun:
    """A run that has started and not yet ended. Use as a context manager to end it.

    >>> with tracker.start_run("baseline") as run:   # doctest: +SKIP
    ...     tracker.log_metric("f1", 0.91)
    """

    tracker: "Tracker" = field(repr=False)
    row_id: int
    id: str
    name: str | None
    experiment: str
    start_time: float
    kind: str = "api"
    cell_key: str | None = None
    steps: dict[str, int] = field(default_factory=dict, repr=False)
    #: data fingerprints (:mod:`nbtrack.fingerprint`) by name, written with the run's end
    inputs: dict[str, dict] = field(default_factory=dict, repr=False)
    git_probe: Any = field(default=None, repr=False)
    ended: bool = False
    #: replace secret param and tag values by "<redacted>" (:mod:`nbtrack.redaction`)
    redact: bool = field(default=True, repr=False)

    def __enter__(self) -> "ActiveRun":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self.ended:
            return False
        if exc_type is None:
            self.tracker.end_run(FINISHED, run=self)
        elif issubclass(exc_type, KeyboardInterrupt):
            self.tracker.end_run(KILLED, error=_format_exception(exc_type, exc, tb), run=self)
        else:
            self.tracker.end_run(FAILED, error=_format_exception(exc_type, exc, tb), run=self)
        return False

    @property
    def short_id(self) -> str:
        return self.id[:8]

    def __repr__(self) -> str:
        return f"<ActiveRun {self.name or self.short_id} ({self.id})>"


def _format_exception(exc_type, exc, tb) -> str:
    return "".join(traceback.format_exception(exc_type, exc, tb))
