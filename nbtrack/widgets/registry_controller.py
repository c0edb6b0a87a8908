"""State and actions of the Registry tab, over :class:`nbtrack.registry.Registry` (no ipywidgets).

Moving a version to Production and deleting a version are two-step actions:
:meth:`RegistryController.request_stage` / :meth:`RegistryController.request_delete` record
what would happen (which version would be archived, which aliases would go) and only
:meth:`RegistryController.confirm` changes the store. Every other change applies at once.
Errors propagate to the caller; the views route them to the status line.

The comment box is state here (:attr:`RegistryController.comment`, a draft): an action that
records an event takes it and, once the store accepted the change, clears it, so a comment
typed for one change is never written into the next one's audit trail. :meth:`shown` re-reads
the models when the tab is shown again and the store changed meanwhile (a later cell or
another process registered a model).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..entities import PRODUCTION, ModelVersion, RegisteredModel, RegistryEvent, Run
from ..errors import UsageError
from ..registry import POLICY_REQUIREMENT, Registry, normalize_stage, parse_requirement

if TYPE_CHECKING:
    from .controller import DashboardController

#: a baseline choice naming a model's Production version instead of a run
PRODUCTION_PREFIX = "production:"
#: at most this many metrics of a version's source run are shown in the versions table
KEY_METRICS = 4


@dataclass(frozen=True)
class PendingTransition:
    """A stage change waiting for confirmation (only Production asks)."""

    model: str
    version: int
    stage: str
    comment: str | None
    archives: tuple[int, ...]
    require: tuple[str, ...] = ()

    def describe(self) -> str:
        archived = f"; version {', '.join(map(str, self.archives))} will be archived" if self.archives else ""
        gate = f" if {' and '.join(self.require)}" if self.require else ""
        return f"Move {self.model} version {self.version} to {self.stage}{gate}{archived}. Confirm?"


@dataclass(frozen=True)
class PendingDeletion:
    """A version deletion waiting for confirmation."""

    model: str
    version: int
    comment: str | None
    aliases: tuple[str, ...]

    def describe(self) -> str:
        aliases = f"; alias {', '.join(self.aliases)} will be removed" if self.aliases else ""
        return (
            f"Delete {self.model} version {self.version}{aliases}? "
            f"(It can be restored: nbtrack models restore {shlex.quote(self.model)} {self.version}.) Confirm?"
        )


@dataclass(frozen=True)
class VersionRow:
    """One line of the versions table: the version plus its source run (None if that run is gone)."""

    version: ModelVersion
    run: Run | None


class RegistryController:
    def __init__(self, registry: Registry, dashboard: "DashboardController"):
        self.registry = registry
        self.dashboard = dashboard
        self.models: list[RegisteredModel] = []
        self.model: str | None = None
        self.pending: PendingTransition | PendingDeletion | None = None
        #: the comment box's text: recorded by the next stage/alias/delete action, then cleared
        self.comment = ""
        self._stamp: tuple[int, int] | None = None
        self.reload(announce=False)

    # -- reading ---------------------------------------------------------------------------------
    def reload(self, announce: bool = True) -> None:
        self._stamp = (
            self.registry.change_stamp()
        )  # before reading: a write in between means one more reload, never a miss
        self.models = self.registry.search_models()
        names = [m.name for m in self.models]
        if self.model not in names:
            self.model = names[0] if names else None
        if announce:
            self.dashboard.changed("registry")

    def shown(self) -> bool:
        """The tab is shown: reload if the store changed since it was drawn; returns whether it did."""
        if self.registry.change_stamp() == self._stamp:
            return False
        self.reload()
        return True

    def set_comment(self, text: str | None) -> None:
        """The comment box changed (no redraw: the box already shows it)."""
        self.comment = text or ""

    def _comment(self, comment: str | None) -> str | None:
        """An explicit comment, else the box's; blank is no comment."""
        return ((self.comment if comment is None else comment) or "").strip() or None

    def current(self) -> RegisteredModel | None:
        return next((m for m in self.models if m.name == self.model), None)

    def select_model(self, name: str | None) -> None:
        if name is not None and name not in {m.name for m in self.models}:
            raise UsageError(f"no registered model {name!r}")
        self.model, self.pending = name, None
        self.dashboard.changed("registry")

    def version_rows(self) -> list[VersionRow]:
        model = self.current()
        return [] if model is None else [VersionRow(v, self._run(v)) for v in model.versions]

    def key_metrics(self, run: Run | None) -> list[tuple[str, float]]:
        return [] if run is None else [(k, run.metrics[k].last) for k in sorted(run.metrics)[:KEY_METRICS]]

    def history(self) -> list[RegistryEvent]:
        return [] if self.model is None else self.registry.history(self.model)

    def models_in_production(self) -> list[str]:
        return [m.name for m in self.models if m.in_stage(PRODUCTION)]

    def production_run(self, name: str) -> tuple[Run, str]:
        """The source run of ``name``'s Production version and its label ("fraud v3 (Production)")."""
        version = self.registry.get_model_version(name, stage=PRODUCTION)
        return self.registry.run_of(version), f"{name} v{version.version} (Production)"

    def _run(self, version: ModelVersion) -> Run | None:
        try:
            return self.registry.run_of(version)
        except LookupError:
            return None

    def _require_model(self) -> str:
        if self.model is None:
            raise UsageError("no model chosen; register a run first")
        return self.model

    # -- stage changes -------------------------------------------------------------------------------
    def request_stage(
        self, version: int, stage: str, comment: str | None = None, require: str | None = None
    ) -> PendingTransition | None:
        """Change a version's stage; Production returns a pending change that :meth:`confirm` applies.

        ``require`` is a promotion gate (``metrics.f1 >= production.metrics.f1``; several joined
        with ``;``): checked when the change is applied, and nothing moves if it fails.
        """
        model, stage = self._require_model(), normalize_stage(stage)
        comment = self._comment(comment)
        gates = tuple(g.strip() for g in (require or "").split(";") if g.strip())
        for gate in gates:
            if gate.lower() != POLICY_REQUIREMENT:
                parse_requirement(gate)  # a typo is reported now, not after the confirmation
        if stage == PRODUCTION:
            current = self.current()
            holders = tuple(v.version for v in current.in_stage(PRODUCTION) if v.version != version) if current else ()
            self.pending = PendingTransition(model, int(version), stage, comment, holders, gates)
            self.dashboard.changed("registry")
            self.dashboard.set_status(self.pending.describe())
            return self.pending
        self._transition(model, int(version), stage, comment, gates)
        return None

    def request_delete(self, version: int, comment: str | None = None) -> PendingDeletion:
        """Ask to delete a version (soft: restorable); :meth:`confirm` deletes it."""
        model = self._require_model()
        found = self.registry.get_model_version(model, int(version))
        if found.stage == PRODUCTION:
            raise UsageError(
                f"{model} version {found.version} is in Production; move it to Archived before deleting it"
            )
        self.pending = PendingDeletion(model, found.version, self._comment(comment), found.aliases)
        self.dashboard.changed("registry")
        self.dashboard.set_status(self.pending.describe())
        return self.pending

    def confirm(self) -> None:
        if self.pending is None:
            raise UsageError("nothing to confirm")
        pending, self.pending = self.pending, None
        if isinstance(pending, PendingDeletion):
            self._delete(pending)
        else:
            self._transition(pending.model, pending.version, pending.stage, pending.comment, pending.require)

    def cancel(self) -> None:
        what = "deletion" if isinstance(self.pending, PendingDeletion) else "stage change"
        self.pending = None
        self.dashboard.changed("registry")
        self.dashboard.set_status(f"{what} cancelled")

    def _delete(self, pending: PendingDeletion) -> None:
        try:
            self.registry.delete_model_version(pending.model, pending.version, pending.comment)
            self.comment = ""
        finally:
            self.reload()
        self.dashboard.set_status(
            f"{pending.model} version {pending.version} deleted; restore it with "
            f"nbtrack models restore {shlex.quote(pending.model)} {pending.version}"
        )

    def _transition(
        self, model: str, version: int, stage: str, comment: str | None, require: tuple[str, ...] = ()
    ) -> None:
        try:
            moved = self.registry.promote(
                model, version, stage, require=require, archive_existing=True, comment=comment
            ).version
            self.comment = ""
        finally:
            self.reload()
        gate = f" (gate passed: {'; '.join(require)})" if require else ""
        self.dashboard.set_status(f"{model} version {moved.version} is now in {moved.stage}{gate}")

    # -- aliases -----------------------------------------------------------------------------------
    def set_alias(self, alias: str, version: int, comment: str | None = None) -> None:
        model = self._require_model()
        self.registry.set_alias(model, alias.strip(), int(version), self._comment(comment))
        self.comment = ""
        self.reload()
        self.dashboard.set_status(f"alias {alias.strip()} of {model} now points at version {int(version)}")

    def delete_alias(self, alias: str, comment: str | None = None) -> None:
        model = self._require_model()
        self.registry.delete_alias(model, alias.strip(), self._comment(comment))
        self.comment = ""
        self.reload()
        self.dashboard.set_status(f"alias {alias.strip()} of {model} deleted")

    # -- registering and comparing -----------------------------------------------------------------------
    def register_selected(self, name: str, artifact: str | None = None) -> int:
        """Register the one selected run's logged model as the next version of ``name``."""
        selected = self.dashboard.selected_ids
        if len(selected) != 1:
            raise UsageError(f"select exactly one run to register (selected: {len(selected)})")
        version = self.registry.register_model(selected[0], (artifact or "").strip() or None, name.strip())
        self.model = name.strip()
        self.reload()
        self.dashboard.changed("compare")
        self.dashboard.set_status(f"registered {name.strip()} version {version}")
        return version

    def compare_with_production(self, version: int) -> None:
        """Select the version's source run and compare it against the model's Production version."""
        model = self._require_model()
        candidate = self.registry.get_model_version(model, int(version))
        self.dashboard.clear_selection()
        self.dashboard.toggle(candidate.run_id, True)
        self.dashboard.set_baseline(PRODUCTION_PREFIX + model)
