"""Annotating runs: tags, notes and renames, on the active run or on any live run by id (the
dashboard, the CLI), and the redaction every param and tag write passes through."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .. import redaction
from ..entities import RUNNING, Run
from ..errors import UsageError
from ..interop import mlflow_mapping as mapping
from ..values import check_key, check_text, tag_value
from .active import ActiveRun
from .parts import TrackerPart, checked_mapping


class Annotation(TrackerPart):
    """Tags, notes and run fields (name, user, note, parent) of live runs."""

    def update_run_info(self, run_ref: str | Run | ActiveRun, **fields: Any) -> None:
        """Change a live run's ``name``, ``user``, ``note`` or ``parent`` (a run id, or None for none).

        What MLflow does through its ``mlflow.runName``/``mlflow.user``/``mlflow.note.content``/
        ``mlflow.parentRunId`` tags.
        """
        unknown = set(fields) - {"name", "user", "note", "parent"}
        if unknown:
            raise UsageError(f"a run's {', '.join(sorted(unknown))} cannot be changed")
        values: dict[str, Any] = {}
        for key in ("name", "user", "note"):
            if key in fields:
                values[key] = None if fields[key] is None else check_text(str(fields[key]), f"run {key}")
        with self.store.atomic():
            (node,) = self._live_nodes([run_ref], "change")
            if "parent" in fields:
                parent = fields["parent"]
                values["parent_id"] = None if parent in (None, "") else self._row_id(parent)
                if values["parent_id"] == node.id:
                    raise UsageError("a run cannot be its own parent")
            if values:
                self.runs.update_run(node.id, values)
        for run in self._stack:
            if run.row_id == node.id and "name" in values:
                run.name = values["name"]

    def set_tag(self, key: str, value: Any, run: ActiveRun | None = None) -> None:
        self.set_tags({key: value}, run=run)

    def set_tags(self, tags: Mapping[str, Any], run: ActiveRun | None = None) -> None:
        """MLflow's ``mlflow.runName``/``mlflow.user``/``mlflow.note.content``/``mlflow.parentRunId`` tags
        change the run's name, user, note and parent (nbtrack keeps those as run fields, not tags)."""
        tags = checked_mapping(tags, "tags")
        run = self._require_run(run)
        fields, other = mapping.split_folded(tags)
        if fields:
            self.update_run_info(run, **{k: (None if v is None else str(v)) for k, v in fields.items()})
        if other:
            self._write(run.row_id, tags=other, redact=run.redact)
            if run.ended:  # an ended run's verdict follows its tags; a running one is judged at its end
                self.policy.stamp([run.row_id])

    def set_note(self, text: str, run: ActiveRun | None = None) -> None:
        self._write_note(self._require_run(run).row_id, text)

    def tag_runs(self, run_refs: Iterable[str | Run], tags: Mapping[str, Any]) -> list[str]:
        """Set ``tags`` on every run named, in one transaction; returns their ids.

        Refused, changing nothing, when a tag is invalid or a run is deleted (MLflow, too,
        tags only active runs): a batch half-applied would leave the user guessing which runs
        carry the tag.

        >>> tracker.tag_runs(["3f2a", "9b1c"], {"stage": "prod"})   # doctest: +SKIP
        """
        tags, _, hidden = self.redact_values(tags)
        texts = tag_rows(tags)
        with self.store.atomic():
            nodes = self._live_nodes(run_refs, "tag")
            for node in nodes:
                self.runs.write_batch(node.id, tags=texts)
                self.record_redacted(node.id, hidden)
            self.policy.stamp(n.id for n in nodes if n.status != RUNNING)
        return [n.uuid for n in nodes]

    def untag_runs(self, run_refs: Iterable[str | Run], key: str) -> int:
        """Delete tag ``key`` from every run named, in one transaction; returns how many had it."""
        key = check_key(key, "tag name")
        with self.store.atomic():
            nodes = self._live_nodes(run_refs, "untag")
            removed = self.runs.delete_tag((n.id for n in nodes), key)
            self.policy.stamp(n.id for n in nodes if n.status != RUNNING)
            return removed

    def note_run(self, run_ref: str | Run, text: str) -> None:
        """Replace the note of any live run, by id (``set_note`` writes to the active run)."""
        with self.store.atomic():
            (node,) = self._live_nodes([run_ref], "write a note on")
            self._write_note(node.id, text)

    def _write_note(self, row_id: int, text: str) -> None:
        self.runs.update_run(row_id, {"note": check_text(str(text), "note")})

    def redact_values(
        self, params: Mapping[str, Any] | None = None, tags: Mapping[str, Any] | None = None, redact: bool | None = None
    ) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        """``(params, tags, names)``: secret values replaced by "<redacted>" and the names replaced.

        Every param and tag write passes here (captured params, the API, the magics, importers),
        then :meth:`record_redacted` once the rows are checked. ``redact`` defaults to :attr:`redact`.
        """
        params, tags = dict(params or {}), dict(tags or {})
        if not (self.redact if redact is None else redact):
            return params, tags, []
        params, hidden = redaction.redact(params)
        tags, hidden_tags = redaction.redact(tags)
        return params, tags, hidden + hidden_tags

    def record_redacted(self, row_id: int, names: Iterable[str]) -> None:
        """Add ``names`` to the run's ``nbtrack.redacted`` tag (read only when there is something to add)."""
        names = set(names)
        if names:
            earlier = self.runs.get(row_id).tags.get(redaction.REDACTED_TAG, "")
            listed = ",".join(sorted(names.union(filter(None, earlier.split(",")))))
            self.runs.write_batch(row_id, tags=[(redaction.REDACTED_TAG, listed)])


def tag_rows(tags: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, text) rows for the tags table, every key and value checked before anything is written."""
    return [(check_key(k, "tag name"), tag_value(v, k)) for k, v in checked_mapping(tags, "tags").items()]
