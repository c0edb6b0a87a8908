"""The param, metric and tag keys present in a store: the choices of the column chooser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tracking import Tracker


@dataclass(frozen=True)
class ColumnKeys:
    """Keys in order of use (the most used first, ties alphabetical)."""

    params: tuple[str, ...]
    metrics: tuple[str, ...]
    tags: tuple[str, ...]


def column_keys(tracker: "Tracker", system_tag_prefix: str = "nbtrack.", deleted: bool = False) -> ColumnKeys:
    """Keys for the column chooser of the live (or deleted) runs; nbtrack's own tags are left out."""
    usage = tracker.key_usage(deleted)
    tags = tuple(key for key in usage["tags"] if not key.startswith(system_tag_prefix))
    return ColumnKeys(usage["params"], usage["metrics"], tags)
