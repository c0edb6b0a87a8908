"""The param, metric and tag keys present in a store: the choices of the column chooser.

These are three fixed statements (no user text reaches the SQL). They belong next to
the other run queries in ``RunRepository``; they live here until the store grows a
``keys()`` method, so the dashboard does not load every run to learn its columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store import Store

_PARAMS = "SELECT key FROM params GROUP BY key ORDER BY count(*) DESC, key"
_METRICS = (
    "SELECT k.key FROM latest_metrics l JOIN metric_keys k ON k.id = l.key_id "
    "GROUP BY l.key_id ORDER BY count(*) DESC, k.key"
)
_TAGS = "SELECT key FROM tags GROUP BY key ORDER BY count(*) DESC, key"


@dataclass(frozen=True)
class ColumnKeys:
    """Keys in order of use (the most used first, ties alphabetical)."""

    params: tuple[str, ...]
    metrics: tuple[str, ...]
    tags: tuple[str, ...]


def column_keys(store: Store, system_tag_prefix: str = "nbtrack.") -> ColumnKeys:
    params = tuple(row[0] for row in store.query(_PARAMS))
    metrics = tuple(row[0] for row in store.query(_METRICS))
    tags = tuple(row[0] for row in store.query(_TAGS) if not row[0].startswith(system_tag_prefix))
    return ColumnKeys(params, metrics, tags)
