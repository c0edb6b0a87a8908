"""The model registry service: versions from runs, stages, aliases, gates and the audit trail.

Every logical change (a registration, a promotion together with the archiving it causes, an
alias move, a tag or description edit) is one ``store.atomic()`` transaction that also
appends its event(s), so the audit trail can never disagree with the tables. Gates are
evaluated inside the promotion's transaction: ``BEGIN IMMEDIATE`` holds the write lock,
so the Production holder a gate compared against is still the holder when it is archived.

>>> registry = Registry(Store.open())                       # doctest: +SKIP
>>> v = registry.register_model(run, model, "fraud")        # doctest: +SKIP
>>> registry.promote("fraud", v, "Production", require=["metrics.f1 >= production.metrics.f1"])  # doctest: +SKIP
>>> registry.load_model("models:/fraud/Production")         # doctest: +SKIP
"""

from __future__ import annotations

import getpass
import os
import pickle
import shlex
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..entities import (
    ARCHIVED,
    PRODUCTION,
    STAGING,
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
    RegistryState,
    Run,
)
from ..errors import GateFailedError, IntegrityError, NotFoundError, PolicyError, RegistryError, UsageError
from ..store import RunRepository, Store
from ..store.models import ModelRepository
from ..values import PICKLE_MEDIA_TYPE, check_key, model_bytes, model_candidates, tag_value
from ..policy import PolicyFinder
from .comparison import VersionComparison, compare_runs
from .compliance import evaluate_policy, policy_details, policy_required, split_requirements
from .gates import GateEvaluation, evaluate, parse_requirement
from .names import check_alias, check_model_name, check_version
from .replay import state_at
from .stages import check_transition, normalize_stage
from .uris import VersionRef, make_ref, selector_ref


#: the artifact suffix of a version whose model is a zipped MLflow model directory (a format
#: other than pickle, e.g. MLflow 3's skops files for scikit-learn); see nbtrack.importers.mlflow
MLFLOW_MODEL_SUFFIX = ".mlflow.zip"


@dataclass(frozen=True)
class Promotion:
    """What :meth:`Registry.promote` did: the promoted version, the gate results, who was archived."""

    version: ModelVersion
    evaluations: tuple[GateEvaluation, ...] = ()
    archived: tuple[int, ...] = ()


class Registry:
    """Registered models over one :class:`~nbtrack.store.Store`.

    ``runs`` lets a caller share its :class:`RunRepository` (the tracker's); ``who`` and
    ``clock`` default to ``user@host`` and ``time.time`` and are recorded in every event.
    """

    def __init__(
        self,
        store: Store,
        runs: RunRepository | None = None,
        who: str | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.runs = runs or RunRepository(store)
        self.who = who or _default_who()
        self.clock = clock
        self.models = ModelRepository(store)
        #: finds the team policy (nbtrack.policy) promotions check; parsed once per file change
        self.policy_finder = PolicyFinder()

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, create: bool = True) -> "Registry":
        """A registry over the store at ``path`` (found as :func:`~nbtrack.store.resolve_store` finds it)."""
        return cls(Store.open(path, create=create))

    @classmethod
    def of(cls, tracker: Any, who: str | None = None) -> "Registry":
        """A registry over a :class:`~nbtrack.tracking.Tracker`'s store, sharing its connection and runs."""
        return cls(tracker.store, runs=tracker.runs, who=who)

    def versions_from_runs(self, run_ids: Iterable[str]) -> dict[str, list[tuple[str, int, str]]]:
        """Run id -> (model, version, stage) of the live versions registered from it."""
        return self.models.live_versions_of(run_ids)

    # -- registering ----------------------------------------------------------------------------
    def register_model(
        self,
        run: Any,
        artifact_or_object: Any = None,
        name: str | None = None,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> int:
        """Register a run's model as the next version of ``name`` and return that version (1, 2, ...).

        ``artifact_or_object`` is an artifact name of the run (``"models/clf.pkl"``, or just
        ``"clf"`` for what ``log_model(obj, "clf")`` wrote), None for the run's only logged
        model, or any other object, which is pickled and logged as an artifact of the run.
        """
        name = check_model_name(name)
        typed_tags = {check_key(k, "tag name"): tag_value(v, k) for k, v in (tags or {}).items()}
        run_row = self._run_row(run)
        with self.store.atomic():
            now = self.clock()
            artifact, sha = self._artifact_for(run_row, artifact_or_object, name)
            model_id = self.models.model_id(name)
            if model_id is None:
                model_id = self.models.create_model(name, now)
                self.models.append_event(model_id, now, self.who, "create_model")
            else:
                self.models.require_model_id(name)  # refuses a deleted model: restore it or pick a new name
            version = self.models.next_version(model_id)
            self.models.insert_version(model_id, version, run_row, artifact, sha, description, now, self.who)
            for key, value in typed_tags.items():
                self.models.set_tag(model_id, version, key, value)
            self.models.touch_model(model_id, now)
            details = {
                "run": self.runs.uuid_of(run_row),
                "artifact": artifact,
                "sha256": sha,
                "description": description,
                "tags": typed_tags,
            }
            self.models.append_event(
                model_id, now, self.who, "register", version=version, to_value="None", details=details
            )
        return version

    def create_model(
        self, name: str, description: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> RegisteredModel:
        """A registered model with no version yet (MLflow's ``create_registered_model``); refused if the name is taken."""
        name = check_model_name(name)
        typed_tags = {check_key(k, "tag name"): tag_value(v, k) for k, v in (tags or {}).items()}
        with self.store.atomic():
            now = self.clock()
            if self.models.model_id(name) is not None:
                raise RegistryError(f"a registered model named {name!r} exists (deleted models keep their names)")
            model_id = self.models.create_model(name, now)
            self.models.append_event(model_id, now, self.who, "create_model")
            if description is not None:
                self.models.set_model_description(model_id, str(description), now)
                self.models.append_event(model_id, now, self.who, "set_description", to_value=str(description))
            for key, value in typed_tags.items():
                self.models.set_tag(model_id, None, key, value)
                self.models.append_event(model_id, now, self.who, "set_tag", key=key, to_value=value)
        return self.get_model(name)

    def _run_row(self, run: Any) -> int:
        if isinstance(getattr(run, "row_id", None), int):
            return run.row_id
        ref = getattr(run, "id", run)
        if not isinstance(ref, str):
            raise UsageError(f"register_model needs a run (id, name, Run or ActiveRun), got {type(run).__name__}")
        return self.runs.resolve(ref)

    def _artifact_for(self, run_row: int, wanted: Any, name: str) -> tuple[str, str]:
        run = self.runs.get(run_row)
        if run.deleted_time is not None:  # a purge would take the version's run away
            raise RegistryError(
                f"run {run.short_id} is deleted; restore it (`nbtrack runs restore {run.short_id}`) before registering its model"
            )
        artifacts = {a.name: a for a in run.artifacts}
        models = sorted(a for a in artifacts if a.startswith("models/") and a.endswith(".pkl"))
        if wanted is None:
            if len(models) != 1:
                found = ", ".join(models) or "none"
                raise UsageError(f"say which artifact to register: the run has {len(models)} logged models ({found})")
            return models[0], artifacts[models[0]].sha256
        if isinstance(wanted, str):
            for candidate in model_candidates(wanted):
                if candidate in artifacts:
                    return candidate, artifacts[candidate].sha256
            raise NotFoundError(
                f"the run has no artifact {wanted!r} (logged models: {', '.join(models) or 'none'}); log one with log_model(obj, name)"
            )
        data = model_bytes(wanted)
        sha = self.store.blobs.put(data)
        artifact = f"models/{name}.pkl"
        if artifact in artifacts and artifacts[artifact].sha256 != sha:
            artifact = f"models/{name}-{sha[:8]}.pkl"
        self.runs.add_artifact(run_row, artifact, sha, len(data), PICKLE_MEDIA_TYPE)
        return artifact, sha

    # -- reading ---------------------------------------------------------------------------------
    def get_model(self, name: str) -> RegisteredModel:
        return self.models.get_model(self.models.require_model_id(check_model_name(name)))

    def search_models(self, pattern: str | None = None, deleted: bool = False) -> list[RegisteredModel]:
        """Models whose name matches ``pattern`` (a glob with ``*?[``, else a substring), by name.

        ``deleted=True`` lists the deleted models instead of the live ones.
        """
        glob = None
        if pattern:
            glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
        return [self.models.get_model(model_id) for model_id in self.models.model_ids(glob, deleted)]

    def get_model_version(
        self, name_or_uri: str, version: int | str | None = None, *, stage: str | None = None, alias: str | None = None
    ) -> ModelVersion:
        """One version, by number, stage (the newest version in it), alias, or ``models:/`` URI."""
        return self.resolve(make_ref(name_or_uri, version, stage, alias))

    def resolve(self, ref: VersionRef) -> ModelVersion:
        model_id = self.models.require_model_id(ref.name)
        if ref.version is not None:
            found = self.models.version(model_id, ref.version)
            if found is None:
                if self.models.version(model_id, ref.version, deleted_ok=True) is not None:
                    raise NotFoundError(
                        f"version {ref.version} of model {ref.name!r} is deleted; restore it with `nbtrack models restore {shlex.quote(ref.name)} {ref.version}`"
                    )
                latest = self.models.next_version(model_id) - 1
                raise NotFoundError(f"model {ref.name!r} has no version {ref.version} (versions 1..{latest})")
            return found
        if ref.alias is not None:
            target = self.models.aliases(model_id).get(ref.alias)
            if target is None:
                raise NotFoundError(
                    f"model {ref.name!r} has no alias {ref.alias!r}; set it with set_alias({ref.name!r}, {ref.alias!r}, VERSION)"
                )
            return self.models.version(model_id, target)
        versions = self.models.versions(model_id, ref.stage)
        if not versions:
            raise NotFoundError(f"no version of model {ref.name!r} is in {ref.stage or 'the registry'}")
        return versions[-1]

    def history(self, name: str) -> list[RegistryEvent]:
        """The audit trail, deleted models included: deleting a model never hides what happened to it."""
        return self.models.events(self.models.require_model_id(check_model_name(name), deleted_ok=True))

    def state_at(self, name: str, when: float) -> RegistryState:
        """Which version held each stage and alias of ``name`` at ``when`` (epoch seconds)."""
        name = check_model_name(name)
        return state_at(name, when, self.models.events(self.models.require_model_id(name, deleted_ok=True), until=when))

    def change_stamp(self) -> tuple[int, int]:
        """Differs from an earlier stamp iff the store may have changed since, by any process
        (see :meth:`nbtrack.store.Store.change_stamp`)."""
        return self.store.change_stamp()

    def run_of(self, version: ModelVersion) -> Run:
        return self.runs.get(self.runs.resolve(version.run_id))

    # -- stages and gates --------------------------------------------------------------------------
    def transition_stage(
        self, name: str, version: int, stage: str, archive_existing: bool = True, comment: str | None = None
    ) -> ModelVersion:
        """Move a version to ``stage`` (see :mod:`nbtrack.registry.stages` for the allowed moves)."""
        return self.promote(name, version, stage, archive_existing=archive_existing, comment=comment).version

    def promote(
        self,
        name: str,
        version: int,
        to: str,
        require: Iterable[str] = (),
        archive_existing: bool = True,
        comment: str | None = None,
        strict: bool = False,
        require_policy: bool | None = None,
    ) -> Promotion:
        """Transition after checking every ``require`` gate (combined with and).

        Raises :class:`GateFailedError` (with ``.evaluations``) and changes nothing when a
        gate fails; a passing gate is recorded with its values in the promotion event.
        ``"policy"`` among ``require`` (or ``require_policy=True``) checks the team policy
        (:mod:`nbtrack.registry.compliance`): on by default for Production when a policy
        exists, off with ``require_policy=False`` (recorded in the event).
        """
        name, version, target = check_model_name(name), check_version(version), normalize_stage(to)
        expressions, asked = split_requirements(require)
        asked = True if asked else require_policy
        requirements = [parse_requirement(r) for r in expressions]
        policy = self._policy(needed=asked or (asked is None and target == PRODUCTION))
        with_policy = policy_required(policy, asked, target)
        with self.store.atomic():
            now = self.clock()
            model_id = self.models.require_model_id(name)
            current = self.resolve(VersionRef(name, version=version))
            check_transition(name, version, current.stage, target)
            evaluations = self._check_gates(
                model_id, current, target, requirements, strict, policy if with_policy else None
            )
            archived = self._make_room(model_id, name, version, target, archive_existing, now)
            try:
                self.models.set_stage(model_id, version, target, now)
            except sqlite3.IntegrityError as exc:  # the partial unique index: the last line of defence
                raise RegistryError(f"model {name!r} already has a Production version; archive it first") from exc
            details: dict[str, Any] = {}
            if evaluations:
                details["gate"] = [e.to_dict() for e in evaluations]
            if archived:
                details["archived"] = list(archived)
            recorded = policy_details(policy, with_policy, asked)
            if recorded is not None:
                details["policy"] = recorded
            self.models.touch_model(model_id, now)
            self.models.append_event(
                model_id,
                now,
                self.who,
                "transition",
                version=version,
                from_value=current.stage,
                to_value=target,
                comment=comment,
                details=details,
            )
        return Promotion(self.resolve(VersionRef(name, version=version)), tuple(evaluations), archived)

    def _policy(self, needed: bool):
        """The team policy; a broken file stops only a promotion that would check it."""
        try:
            return self.policy_finder.find(store_dir=self.store.location.directory)
        except PolicyError:
            if needed:
                raise
            return None

    def _check_gates(
        self, model_id: int, candidate: ModelVersion, target: str, requirements, strict: bool, policy=None
    ) -> list[GateEvaluation]:
        evaluations = self._evaluate(model_id, candidate, requirements, strict)
        if policy is not None:
            evaluations.append(evaluate_policy(policy, self.run_of(candidate), candidate))
        failed = [e for e in evaluations if not e.passed]
        if failed:
            listing = "; ".join(e.describe() for e in failed)
            raise GateFailedError(
                f"gate failed for {candidate.name!r} version {candidate.version} -> {target}, nothing was changed: {listing}",
                evaluations,
            )
        return evaluations

    def _evaluate(self, model_id: int, candidate: ModelVersion, requirements, strict: bool) -> list[GateEvaluation]:
        if not requirements:
            return []
        runs: dict[int, Run] = {}

        def run_for(version: ModelVersion) -> Run:
            if version.version not in runs:
                runs[version.version] = self.run_of(version)
            return runs[version.version]

        def holder_of(holder: str) -> tuple[int, Run] | None:
            if holder in ("production", "staging"):
                held = self.models.versions(model_id, PRODUCTION if holder == "production" else STAGING)
                chosen = held[-1] if held else None
            else:
                target = self.models.aliases(model_id).get(holder)
                chosen = None if target is None else self.models.version(model_id, target)
            return None if chosen is None else (chosen.version, run_for(chosen))

        candidate_run = run_for(candidate)
        return [evaluate(r, candidate_run, holder_of, strict) for r in requirements]

    def _make_room(
        self, model_id: int, name: str, version: int, target: str, archive_existing: bool, now: float
    ) -> tuple[int, ...]:
        """Archive (or refuse to displace) the current Production holder before a promotion."""
        if target != PRODUCTION:
            return ()
        holders = [v.version for v in self.models.versions(model_id, PRODUCTION) if v.version != version]
        if holders and not archive_existing:
            raise RegistryError(
                f"version {holders[0]} of {name!r} holds Production; promote with archive_existing=True "
                "(CLI: without --no-archive) or archive it first"
            )
        for holder in holders:
            self.models.set_stage(model_id, holder, ARCHIVED, now)
            self.models.append_event(
                model_id,
                now,
                self.who,
                "transition",
                version=holder,
                from_value=PRODUCTION,
                to_value=ARCHIVED,
                comment=f"archived by the promotion of version {version}",
            )
        return tuple(holders)

    # -- aliases, descriptions, tags -----------------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: int, comment: str | None = None) -> None:
        """Point ``alias`` (e.g. ``champion``) at ``version``; setting the same target records nothing."""
        name, alias, version = check_model_name(name), check_alias(alias), check_version(version)
        with self.store.atomic():
            now = self.clock()
            model_id = self.models.require_model_id(name)
            self.resolve(VersionRef(name, version=version))
            previous = self.models.aliases(model_id).get(alias)
            if previous == version:
                return
            self.models.set_alias(model_id, alias, version, now)
            self.models.touch_model(model_id, now)
            self.models.append_event(
                model_id,
                now,
                self.who,
                "set_alias",
                version=version,
                key=alias,
                from_value=None if previous is None else str(previous),
                to_value=str(version),
                comment=comment,
            )

    def delete_alias(self, name: str, alias: str, comment: str | None = None) -> None:
        name, alias = check_model_name(name), check_alias(alias)
        with self.store.atomic():
            now = self.clock()
            model_id = self.models.require_model_id(name)
            previous = self.models.aliases(model_id).get(alias)
            if previous is None:
                raise NotFoundError(f"model {name!r} has no alias {alias!r}")
            self._remove_alias(model_id, alias, previous, now, comment)
            self.models.touch_model(model_id, now)

    def set_description(self, name: str, text: str | None, version: int | None = None) -> None:
        """Describe the model (``version=None``) or one version."""
        name = check_model_name(name)
        text = None if text is None else str(text)
        with self.store.atomic():
            now = self.clock()
            model_id = self.models.require_model_id(name)
            if version is None:
                previous = self.models.get_model(model_id).description
                self.models.set_model_description(model_id, text, now)
            else:
                version = check_version(version)
                previous = self.resolve(VersionRef(name, version=version)).description
                self.models.set_version_description(model_id, version, text, now)
            self.models.append_event(
                model_id, now, self.who, "set_description", version=version, from_value=previous, to_value=text
            )

    def set_tag(self, name: str, key: str, value: Any, version: int | None = None) -> None:
        name, key, value = check_model_name(name), check_key(key, "tag name"), tag_value(value, key)
        with self.store.atomic():
            now = self.clock()
            model_id, version = self._tag_target(name, version)
            previous = self.models.tag(model_id, version, key)
            self.models.set_tag(model_id, version, key, value)
            self.models.touch_model(model_id, now)
            self.models.append_event(
                model_id, now, self.who, "set_tag", version=version, key=key, from_value=previous, to_value=value
            )

    def delete_tag(self, name: str, key: str, version: int | None = None) -> None:
        name = check_model_name(name)
        with self.store.atomic():
            now = self.clock()
            model_id, version = self._tag_target(name, version)
            previous = self.models.tag(model_id, version, key)
            if previous is None:
                raise NotFoundError(
                    f"model {name!r}{'' if version is None else f' version {version}'} has no tag {key!r}"
                )
            self.models.delete_tag(model_id, version, key)
            self.models.touch_model(model_id, now)
            self.models.append_event(
                model_id, now, self.who, "delete_tag", version=version, key=key, from_value=previous
            )

    def _tag_target(self, name: str, version: int | None) -> tuple[int, int | None]:
        model_id = self.models.require_model_id(name)
        if version is not None:
            version = self.resolve(VersionRef(name, version=check_version(version))).version
        return model_id, version

    # -- renaming, deleting, restoring ---------------------------------------------------------------
    def rename_model(self, name: str, new_name: str, comment: str | None = None) -> RegisteredModel:
        """Give a model a new name; its versions, aliases and history follow it.

        URIs with the old name stop resolving (as in MLflow), and the old name becomes free.
        """
        name, new_name = check_model_name(name), check_model_name(new_name)
        with self.store.atomic():
            now = self.clock()
            model_id = self.models.require_model_id(name)
            if self.models.model_id(new_name) is not None:
                raise RegistryError(
                    f"cannot rename {name!r} to {new_name!r}: a model with that name exists (deleted models keep their names)"
                )
            self.models.rename_model(model_id, new_name, now)
            self.models.append_event(
                model_id, now, self.who, "rename_model", from_value=name, to_value=new_name, comment=comment
            )
        return self.get_model(new_name)

    def delete_model_version(self, name: str, version: int, comment: str | None = None) -> ModelVersion:
        """Soft-delete a version: it stops resolving and listing, keeps its number, and can be restored.

        The Production version cannot be deleted (archive it or promote another first); the
        version's aliases are removed, each with its own event, in the same transaction.
        """
        name, version = check_model_name(name), check_version(version)
        with self.store.atomic():
            now = self.clock()
            model_id = self.models.require_model_id(name)
            current = self.resolve(VersionRef(name, version=version))
            if current.stage == PRODUCTION:
                raise RegistryError(
                    f"version {version} of {name!r} is in Production; move it to Archived (or promote another version) before deleting it"
                )
            self._drop_aliases(model_id, [version], now, f"removed with the deletion of version {version}")
            self.models.set_version_deleted(model_id, version, now, now)
            self.models.touch_model(model_id, now)
            self.models.append_event(
                model_id, now, self.who, "delete_version", version=version, from_value=current.stage, comment=comment
            )
        return self.models.version(model_id, version, deleted_ok=True)

    def restore_model_version(self, name: str, version: int, comment: str | None = None) -> ModelVersion:
        """Bring a deleted version back, in the stage it had (its aliases are not restored)."""
        name, version = check_model_name(name), check_version(version)
        with self.store.atomic():
            now = self.clock()
            model_id = self.models.require_model_id(name)
            found = self.models.version(model_id, version, deleted_ok=True)
            if found is None or found.deleted_time is None:
                raise NotFoundError(f"model {name!r} has no deleted version {version}")
            self.models.set_version_deleted(model_id, version, None, now)
            self.models.touch_model(model_id, now)
            self.models.append_event(
                model_id, now, self.who, "restore_version", version=version, to_value=found.stage, comment=comment
            )
        return self.resolve(VersionRef(name, version=version))

    def delete_model(self, name: str, comment: str | None = None) -> RegisteredModel:
        """Soft-delete a model: it stops resolving and listing; its name stays taken and its history readable.

        Refused while one of its versions is in Production; its aliases are removed (each
        with its own event) in the same transaction.
        """
        name = check_model_name(name)
        with self.store.atomic():
            now = self.clock()
            model_id = self.models.require_model_id(name)
            held = self.models.versions(model_id, PRODUCTION)
            if held:
                raise RegistryError(
                    f"version {held[0].version} of {name!r} is in Production; move it to Archived before deleting the model"
                )
            self._drop_aliases(model_id, None, now, "removed with the deletion of the model")
            self.models.set_model_deleted(model_id, now, now)
            self.models.append_event(model_id, now, self.who, "delete_model", comment=comment)
        return self.models.get_model(model_id)

    def restore_model(self, name: str, comment: str | None = None) -> RegisteredModel:
        """Bring a deleted model back with its versions (aliases are not restored)."""
        name = check_model_name(name)
        with self.store.atomic():
            now = self.clock()
            model_id = self.models.require_model_id(name, deleted_ok=True)
            if self.models.get_model(model_id).deleted_time is None:
                raise RegistryError(f"model {name!r} is not deleted; nothing to restore")
            self.models.set_model_deleted(model_id, None, now)
            self.models.append_event(model_id, now, self.who, "restore_model", comment=comment)
        return self.get_model(name)

    def _drop_aliases(self, model_id: int, versions: list[int] | None, now: float, comment: str) -> None:
        for alias, target in self.models.aliases(model_id).items():
            if versions is None or target in versions:
                self._remove_alias(model_id, alias, target, now, comment)

    def _remove_alias(self, model_id: int, alias: str, target: int, now: float, comment: str | None) -> None:
        """Remove an alias with its event (inside the caller's transaction)."""
        self.models.delete_alias(model_id, alias)
        self.models.append_event(
            model_id, now, self.who, "delete_alias", version=target, key=alias, from_value=str(target), comment=comment
        )

    # -- loading and comparing ------------------------------------------------------------------------
    def load_model(
        self, name_or_uri: str, version: int | str | None = None, *, stage: str | None = None, alias: str | None = None
    ) -> Any:
        """Unpickle a version after checking its bytes against the sha256 recorded at registration.

        The check catches changes to the store after registration; it cannot make an
        untrusted pickle safe, so only load models from stores you trust.
        """
        found = self.get_model_version(name_or_uri, version, stage=stage, alias=alias)
        if found.artifact.endswith(MLFLOW_MODEL_SUFFIX):
            raise UsageError(
                f"model {found.name!r} version {found.version} is an MLflow model directory (imported as {found.artifact}), "
                f"not a pickle; unpack it (`nbtrack artifacts get {found.run_id[:8]} {shlex.quote(found.artifact)} -o model.zip`) "
                "and load it with mlflow.pyfunc.load_model"
            )
        return pickle.loads(self.model_bytes(found))

    def model_bytes(self, version: ModelVersion) -> bytes:
        try:
            return self.store.blobs.get(version.sha256)
        except IntegrityError as exc:
            raise IntegrityError(
                f"model {version.name!r} version {version.version} ({version.artifact}) failed its sha256 check: "
                f"{exc}. Restore the store from a backup or register the model again"
            ) from exc

    def compare_versions(self, name: str, a: int | str, b: int | str) -> VersionComparison:
        """Metric and param deltas (b - a) of the runs behind two versions; a and b may be numbers, stages or aliases."""
        name = check_model_name(name)
        first, second = self.resolve(selector_ref(name, a)), self.resolve(selector_ref(name, b))
        return compare_runs(first, self.run_of(first), second, self.run_of(second))


def _default_who() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
