"""Answering "who held Production at time T" by replaying the append-only event log.

The log, not the current tables, is the source of truth for the past: every stage change
(including the archiving done by a promotion) and every alias move is one event, so the
state at T is the fold of the events with ``time <= T`` in ``seq`` order. Deleted versions
(and every version of a deleted model) hold nothing; their aliases went with their own events.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..entities import RegistryEvent, RegistryState


def state_at(model: str, time: float, events: Iterable[RegistryEvent]) -> RegistryState:
    stages: dict[int, str] = {}
    aliases: dict[str, int] = {}
    deleted_versions: set[int] = set()
    model_deleted = False
    for event in events:
        if event.time > time:
            continue
        if event.action in ("register", "transition") and event.version is not None and event.to_value:
            stages[event.version] = event.to_value
        elif event.action == "set_alias" and event.key and event.to_value:
            aliases[event.key] = int(event.to_value)
        elif event.action == "delete_alias" and event.key:
            aliases.pop(event.key, None)
        elif event.action in ("delete_version", "restore_version") and event.version is not None:
            (deleted_versions.add if event.action == "delete_version" else deleted_versions.discard)(event.version)
        elif event.action in ("delete_model", "restore_model"):
            model_deleted = event.action == "delete_model"
    held = {} if model_deleted else {v: s for v, s in stages.items() if v not in deleted_versions}
    return RegistryState(model, time, held, dict(sorted(aliases.items())), deleted=model_deleted)
