"""Registered models, versions, tags, aliases and registry events in SQL: the only place that knows those tables.

The repository does no validation and makes no decisions; :class:`nbtrack.registry.Registry`
does, inside one ``store.atomic()`` per logical change, and calls these methods from there.
Reads outside a transaction are single statements, so they see one consistent snapshot.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from ..entities import ModelVersion, RegisteredModel, RegistryEvent
from ..errors import NotFoundError
from .connection import Store

_VERSION_COLUMNS = (
    "m.name, v.model_id, v.version, r.uuid AS run_uuid, v.artifact, v.sha256, v.stage, v.description, "
    "v.created, v.updated, v.created_by, v.deleted_time"
)
_VERSION_FROM = "FROM model_versions v JOIN registered_models m ON m.id = v.model_id JOIN runs r ON r.id = v.run_id"
_EVENT_FIELDS = ("version", "key", "from_value", "to_value", "comment", "details")


class ModelRepository:
    """SQL for the registry tables of one :class:`Store`."""

    def __init__(self, store: Store):
        self.store = store

    # -- models --------------------------------------------------------------------------------
    def model_id(self, name: str) -> int | None:
        """The model's id, deleted or not: a deleted model's name stays taken."""
        rows = self.store.query("SELECT id FROM registered_models WHERE name = ?", (name,))
        return rows[0]["id"] if rows else None

    def require_model_id(self, name: str, deleted_ok: bool = False) -> int:
        rows = self.store.query("SELECT id, deleted_time FROM registered_models WHERE name = ?", (name,))
        if not rows:
            raise NotFoundError(f"no registered model named {name!r}; list them with `nbtrack models ls`")
        if rows[0]["deleted_time"] is not None and not deleted_ok:
            raise NotFoundError(
                f"model {name!r} is deleted; restore it with `nbtrack models restore {shlex.quote(name)}` (its history: `nbtrack models history {shlex.quote(name)}`)"
            )
        return rows[0]["id"]

    def create_model(self, name: str, now: float) -> int:
        with self.store.atomic() as conn:
            return conn.execute(
                "INSERT INTO registered_models(name, created, updated) VALUES (?, ?, ?)", (name, now, now)
            ).lastrowid

    def touch_model(self, model_id: int, now: float) -> None:
        with self.store.atomic() as conn:
            conn.execute("UPDATE registered_models SET updated = ? WHERE id = ?", (now, model_id))

    def set_model_description(self, model_id: int, text: str | None, now: float) -> None:
        with self.store.atomic() as conn:
            conn.execute(
                "UPDATE registered_models SET description = ?, updated = ? WHERE id = ?", (text, now, model_id)
            )

    def rename_model(self, model_id: int, new_name: str, now: float) -> None:
        with self.store.atomic() as conn:
            conn.execute("UPDATE registered_models SET name = ?, updated = ? WHERE id = ?", (new_name, now, model_id))

    def set_model_deleted(self, model_id: int, deleted_time: float | None, now: float) -> None:
        """Mark a model deleted at ``deleted_time``, or live again with None."""
        with self.store.atomic() as conn:
            conn.execute(
                "UPDATE registered_models SET deleted_time = ?, updated = ? WHERE id = ?", (deleted_time, now, model_id)
            )

    def model_ids(self, glob: str | None = None, deleted: bool = False) -> list[int]:
        """Ids of live models (or, with ``deleted``, of deleted ones) whose name matches ``glob``, by name."""
        sql = "SELECT id FROM registered_models WHERE deleted_time IS " + ("NOT NULL" if deleted else "NULL")
        params: tuple[str, ...] = ()
        if glob is not None:
            sql, params = sql + " AND name GLOB ?", (glob,)
        return [r["id"] for r in self.store.query(sql + " ORDER BY name", params)]

    def get_model(self, model_id: int) -> RegisteredModel:
        row = self.store.query("SELECT * FROM registered_models WHERE id = ?", (model_id,))[0]
        tags = {
            r["key"]: r["value"]
            for r in self.store.query("SELECT key, value FROM model_tags WHERE model_id = ? ORDER BY key", (model_id,))
        }
        return RegisteredModel(
            name=row["name"],
            description=row["description"],
            created=row["created"],
            updated=row["updated"],
            tags=tags,
            versions=tuple(self.versions(model_id)),
            aliases=self.aliases(model_id),
            deleted_time=row["deleted_time"],
            deleted_versions=tuple(v.version for v in self.versions(model_id, deleted=True)),
        )

    # -- versions ------------------------------------------------------------------------------
    def next_version(self, model_id: int) -> int:
        """Deleted versions count: a version number is never given twice (nor one whose deletion the
        audit trail records without a row, as for versions MLflow had deleted before an import)."""
        with self.store.atomic() as conn:
            return conn.execute(
                "SELECT max(coalesce((SELECT max(version) FROM model_versions WHERE model_id = ?), 0), "
                "coalesce((SELECT max(version) FROM registry_events WHERE model_id = ? AND action = 'delete_version'), 0)) + 1",
                (model_id, model_id),
            ).fetchone()[0]

    def insert_version(
        self,
        model_id: int,
        version: int,
        run_row_id: int,
        artifact: str,
        sha: str,
        description: str | None,
        now: float,
        who: str,
    ) -> None:
        with self.store.atomic() as conn:
            conn.execute(
                "INSERT INTO model_versions(model_id, version, run_id, artifact, sha256, stage, description, created, updated, created_by) "
                "VALUES (?, ?, ?, ?, ?, 'None', ?, ?, ?, ?)",
                (model_id, version, run_row_id, artifact, sha, description, now, now, who),
            )

    def set_stage(self, model_id: int, version: int, stage: str, now: float) -> None:
        with self.store.atomic() as conn:
            conn.execute(
                "UPDATE model_versions SET stage = ?, updated = ? WHERE model_id = ? AND version = ?",
                (stage, now, model_id, version),
            )

    def set_version_description(self, model_id: int, version: int, text: str | None, now: float) -> None:
        with self.store.atomic() as conn:
            conn.execute(
                "UPDATE model_versions SET description = ?, updated = ? WHERE model_id = ? AND version = ?",
                (text, now, model_id, version),
            )

    def set_version_deleted(self, model_id: int, version: int, deleted_time: float | None, now: float) -> None:
        with self.store.atomic() as conn:
            conn.execute(
                "UPDATE model_versions SET deleted_time = ?, updated = ? WHERE model_id = ? AND version = ?",
                (deleted_time, now, model_id, version),
            )

    def version(self, model_id: int, version: int, deleted_ok: bool = False) -> ModelVersion | None:
        live = "" if deleted_ok else " AND v.deleted_time IS NULL"
        found = self._versions("WHERE v.model_id = ? AND v.version = ?" + live, (model_id, version))
        return found[0] if found else None

    def versions(self, model_id: int, stage: str | None = None, deleted: bool = False) -> list[ModelVersion]:
        """Live versions (or, with ``deleted``, deleted ones), optionally only those in ``stage``."""
        where = "WHERE v.model_id = ? AND v.deleted_time IS " + ("NOT NULL" if deleted else "NULL")
        if stage is None:
            return self._versions(where, (model_id,))
        return self._versions(where + " AND v.stage = ?", (model_id, stage))

    def registered_from(self, run_ids: Iterable[int]) -> list[tuple[str, int, str]]:
        """(model name, version, run id) of the versions registered from any of these runs (row ids)."""
        rows = self.store.query(
            f"SELECT m.name, v.version, r.uuid {_VERSION_FROM} WHERE v.run_id IN (SELECT value FROM json_each(?)) ORDER BY m.name, v.version",
            (json.dumps([int(i) for i in run_ids]),),
        )
        return [(r["name"], r["version"], r["uuid"]) for r in rows]

    def live_versions_of(self, run_uuids: Iterable[str]) -> dict[str, list[tuple[str, int, str]]]:
        """(model, version, stage) of the live versions of live models registered from each run, by run id."""
        found: dict[str, list[tuple[str, int, str]]] = {}
        rows = self.store.query(
            f"SELECT r.uuid, m.name, v.version, v.stage {_VERSION_FROM} WHERE r.uuid IN (SELECT value FROM json_each(?)) "
            "AND v.deleted_time IS NULL AND m.deleted_time IS NULL ORDER BY m.name, v.version",
            (json.dumps(list(run_uuids)),),
        )
        for r in rows:
            found.setdefault(r["uuid"], []).append((r["name"], r["version"], r["stage"]))
        return found

    def run_row_id(self, model_id: int, version: int) -> int:
        return self.store.query(
            "SELECT run_id FROM model_versions WHERE model_id = ? AND version = ?", (model_id, version)
        )[0]["run_id"]

    def _versions(self, where: str, params: Sequence[Any]) -> list[ModelVersion]:
        rows = self.store.query(f"SELECT {_VERSION_COLUMNS} {_VERSION_FROM} {where} ORDER BY v.version", params)
        if not rows:
            return []
        model_id = rows[0]["model_id"]
        tags: dict[int, dict[str, str]] = {}
        for r in self.store.query(
            "SELECT version, key, value FROM version_tags WHERE model_id = ? ORDER BY key", (model_id,)
        ):
            tags.setdefault(r["version"], {})[r["key"]] = r["value"]
        aliases: dict[int, list[str]] = {}
        for alias, version in self.aliases(model_id).items():
            aliases.setdefault(version, []).append(alias)
        return [
            ModelVersion(
                name=r["name"],
                version=r["version"],
                run_id=r["run_uuid"],
                artifact=r["artifact"],
                sha256=r["sha256"],
                stage=r["stage"],
                description=r["description"],
                created=r["created"],
                updated=r["updated"],
                created_by=r["created_by"],
                tags=tags.get(r["version"], {}),
                aliases=tuple(sorted(aliases.get(r["version"], []))),
                deleted_time=r["deleted_time"],
            )
            for r in rows
        ]

    # -- tags ----------------------------------------------------------------------------------
    def tag(self, model_id: int, version: int | None, key: str) -> str | None:
        if version is None:
            rows = self.store.query("SELECT value FROM model_tags WHERE model_id = ? AND key = ?", (model_id, key))
        else:
            rows = self.store.query(
                "SELECT value FROM version_tags WHERE model_id = ? AND version = ? AND key = ?",
                (model_id, version, key),
            )
        return rows[0]["value"] if rows else None

    def set_tag(self, model_id: int, version: int | None, key: str, value: str) -> None:
        with self.store.atomic() as conn:
            if version is None:
                conn.execute(
                    "INSERT OR REPLACE INTO model_tags(model_id, key, value) VALUES (?, ?, ?)", (model_id, key, value)
                )
            else:
                conn.execute(
                    "INSERT OR REPLACE INTO version_tags(model_id, version, key, value) VALUES (?, ?, ?, ?)",
                    (model_id, version, key, value),
                )

    def delete_tag(self, model_id: int, version: int | None, key: str) -> None:
        with self.store.atomic() as conn:
            if version is None:
                conn.execute("DELETE FROM model_tags WHERE model_id = ? AND key = ?", (model_id, key))
            else:
                conn.execute(
                    "DELETE FROM version_tags WHERE model_id = ? AND version = ? AND key = ?", (model_id, version, key)
                )

    # -- aliases ---------------------------------------------------------------------------------
    def aliases(self, model_id: int) -> dict[str, int]:
        rows = self.store.query("SELECT alias, version FROM aliases WHERE model_id = ? ORDER BY alias", (model_id,))
        return {r["alias"]: r["version"] for r in rows}

    def set_alias(self, model_id: int, alias: str, version: int, now: float) -> None:
        with self.store.atomic() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO aliases(model_id, alias, version, updated) VALUES (?, ?, ?, ?)",
                (model_id, alias, version, now),
            )

    def delete_alias(self, model_id: int, alias: str) -> None:
        with self.store.atomic() as conn:
            conn.execute("DELETE FROM aliases WHERE model_id = ? AND alias = ?", (model_id, alias))

    # -- events ----------------------------------------------------------------------------------
    def append_event(self, model_id: int, time: float, who: str, action: str, **fields: Any) -> int:
        """Append one event with the next gap-free ``seq`` of this model; returns the seq.

        Must run inside the caller's transaction (``BEGIN IMMEDIATE`` serializes writers, so
        ``max(seq) + 1`` cannot be taken twice).
        """
        unknown = set(fields) - set(_EVENT_FIELDS)
        if unknown:
            raise TypeError(f"unknown event fields: {sorted(unknown)}")
        values = [fields.get(name) for name in _EVENT_FIELDS]
        values[-1] = json.dumps(values[-1], sort_keys=True, default=str) if values[-1] else None
        with self.store.atomic() as conn:
            seq = conn.execute(
                "SELECT coalesce(max(seq), 0) + 1 FROM registry_events WHERE model_id = ?", (model_id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO registry_events(model_id, seq, time, who, action, version, key, from_value, to_value, comment, details) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (model_id, seq, time, who, action, *values),
            )
        return seq

    def events(self, model_id: int, until: float | None = None) -> list[RegistryEvent]:
        sql = "SELECT m.name, e.* FROM registry_events e JOIN registered_models m ON m.id = e.model_id WHERE e.model_id = ?"
        params: list[Any] = [model_id]
        if until is not None:
            sql += " AND e.time <= ?"
            params.append(until)
        return [_event(r) for r in self.store.query(sql + " ORDER BY e.seq", params)]


def _event(row: sqlite3.Row) -> RegistryEvent:
    return RegistryEvent(
        model=row["name"],
        seq=row["seq"],
        time=row["time"],
        who=row["who"],
        action=row["action"],
        version=row["version"],
        key=row["key"],
        from_value=row["from_value"],
        to_value=row["to_value"],
        comment=row["comment"],
        details=json.loads(row["details"]) if row["details"] else {},
    )


__all__ = ["ModelRepository"]
