"""Renaming, deleting and restoring models and versions: soft, audited, and never reusing a number or a name."""

from __future__ import annotations

import sqlite3

import pytest

from nbtrack.cli import main
from nbtrack.entities import ARCHIVED, PRODUCTION, STAGING
from nbtrack.errors import NotFoundError, RegistryError
from nbtrack.registry import Registry


@pytest.fixture
def registry(tracker, clock):
    """Model 'fraud' with versions 1..3; 1 Archived, 2 Production, 3 Staging; champion -> 3, stable -> 2."""
    registry = Registry(tracker.store, runs=tracker.runs, who="alice@lab", clock=clock)
    for f1 in (0.80, 0.85, 0.83):
        with tracker.start_run(f"f1={f1}") as run:
            tracker.log_metric("f1", f1)
            tracker.log_model({"f1": f1}, "clf")
        registry.register_model(run, "clf", "fraud")
    registry.transition_stage("fraud", 1, PRODUCTION)
    registry.transition_stage("fraud", 2, PRODUCTION)
    registry.transition_stage("fraud", 3, STAGING)
    registry.set_alias("fraud", "champion", 3)
    registry.set_alias("fraud", "stable", 2)
    clock.now += 100
    return registry


def table_counts(registry) -> dict[str, int]:
    conn = registry.store.conn
    return {
        t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("model_versions", "aliases", "registry_events")
    }


def test_deleting_a_version_hides_it_removes_its_aliases_and_records_each_change(registry, clock):
    deleted = registry.delete_model_version("fraud", 3, comment="leaky features")
    assert deleted.deleted_time == clock.now and deleted.stage == STAGING
    model = registry.get_model("fraud")
    assert [v.version for v in model.versions] == [1, 2] and model.deleted_versions == (3,)
    assert model.aliases == {"stable": 2}
    with pytest.raises(
        NotFoundError, match="version 3 of model 'fraud' is deleted; restore it with `nbtrack models restore fraud 3`"
    ):
        registry.load_model("models:/fraud/3")
    with pytest.raises(NotFoundError, match="no alias 'champion'"):
        registry.get_model_version("fraud", alias="champion")
    with pytest.raises(NotFoundError, match="no version of model 'fraud' is in Staging"):
        registry.get_model_version("fraud", stage="Staging")
    tail = [(e.action, e.version, e.key, e.from_value, e.comment) for e in registry.history("fraud")[-2:]]
    assert tail == [
        ("delete_alias", 3, "champion", "3", "removed with the deletion of version 3"),
        ("delete_version", 3, None, STAGING, "leaky features"),
    ]


def test_a_deleted_version_number_is_never_given_again(registry, tracker):
    registry.delete_model_version("fraud", 3)
    with tracker.start_run() as run:
        tracker.log_model({"f1": 0.9}, "clf")
    assert registry.register_model(run, "clf", "fraud") == 4


def test_the_production_version_cannot_be_deleted_and_nothing_changes(registry):
    before = table_counts(registry)
    with pytest.raises(RegistryError, match="version 2 of 'fraud' is in Production; move it to Archived"):
        registry.delete_model_version("fraud", 2)
    assert table_counts(registry) == before
    assert registry.get_model("fraud").aliases == {"champion": 3, "stable": 2}


def test_restoring_a_version_brings_back_its_stage_but_not_its_aliases(registry, clock):
    registry.delete_model_version("fraud", 3)
    clock.now += 10
    restored = registry.restore_model_version("fraud", 3, comment="false alarm")
    assert (restored.stage, restored.deleted_time, restored.aliases) == (STAGING, None, ())
    assert registry.load_model("fraud", stage="Staging") == {"f1": 0.83}
    last = registry.history("fraud")[-1]
    assert (last.action, last.version, last.to_value, last.comment) == ("restore_version", 3, STAGING, "false alarm")
    with pytest.raises(NotFoundError, match="has no deleted version 3"):
        registry.restore_model_version("fraud", 3)
    with pytest.raises(NotFoundError, match="has no version 9"):
        registry.delete_model_version("fraud", 9)


def test_the_past_is_replayed_with_deletions(registry, clock):
    before = clock.now
    clock.now += 10
    registry.delete_model_version("fraud", 3)
    after = clock.now
    clock.now += 10
    registry.restore_model_version("fraud", 3)
    assert registry.state_at("fraud", before).stages == {1: ARCHIVED, 2: PRODUCTION, 3: STAGING}
    state = registry.state_at("fraud", after)
    assert state.stages == {1: ARCHIVED, 2: PRODUCTION} and state.aliases == {"stable": 2} and not state.deleted
    assert registry.state_at("fraud", clock.now).stages[3] == STAGING


def test_renaming_moves_versions_aliases_and_history_and_frees_the_old_name(registry, tracker):
    events_before = len(registry.history("fraud"))
    renamed = registry.rename_model("fraud", "fraud-detector", comment="team naming")
    assert [v.version for v in renamed.versions] == [1, 2, 3] and renamed.aliases == {"champion": 3, "stable": 2}
    assert registry.load_model("models:/fraud-detector@stable") == {"f1": 0.85}
    with pytest.raises(NotFoundError, match="no registered model named 'fraud'"):
        registry.get_model_version("models:/fraud/Production")
    history = registry.history("fraud-detector")
    assert len(history) == events_before + 1 and {e.model for e in history} == {"fraud-detector"}
    assert (history[-1].action, history[-1].from_value, history[-1].to_value) == (
        "rename_model",
        "fraud",
        "fraud-detector",
    )
    with tracker.start_run() as run:
        tracker.log_model({"new": True}, "clf")
    assert registry.register_model(run, "clf", "fraud") == 1  # the old name is a new model


def test_renaming_onto_a_taken_name_is_refused(registry, tracker):
    with tracker.start_run() as run:
        tracker.log_model({}, "clf")
    for name in ("other", "third"):
        registry.register_model(run, "clf", name)
    with pytest.raises(RegistryError, match="cannot rename 'other' to 'fraud': a model with that name exists"):
        registry.rename_model("other", "fraud")
    registry.delete_model("other")
    with pytest.raises(
        RegistryError, match="cannot rename 'third' to 'other': a model with that name exists .deleted models keep"
    ):
        registry.rename_model("third", "other")
    assert [m.name for m in registry.search_models()] == ["fraud", "third"]


def test_a_model_with_a_production_version_cannot_be_deleted(registry):
    before = table_counts(registry)
    with pytest.raises(
        RegistryError, match="version 2 of 'fraud' is in Production; move it to Archived before deleting the model"
    ):
        registry.delete_model("fraud")
    assert table_counts(registry) == before and registry.get_model("fraud").deleted_time is None


def test_a_deleted_model_keeps_its_name_and_history_and_can_be_restored(registry, tracker, clock):
    registry.transition_stage("fraud", 2, ARCHIVED)
    registry.delete_model("fraud", comment="replaced by the new pipeline")
    assert registry.search_models() == []
    assert [m.name for m in registry.search_models(deleted=True)] == ["fraud"]
    with pytest.raises(NotFoundError, match="model 'fraud' is deleted; restore it with `nbtrack models restore fraud`"):
        registry.load_model("models:/fraud/1")
    with tracker.start_run() as run:
        tracker.log_model({}, "clf")
    with pytest.raises(NotFoundError, match="model 'fraud' is deleted"):
        registry.register_model(run, "clf", "fraud")
    actions = [e.action for e in registry.history("fraud")[-3:]]
    assert actions == ["delete_alias", "delete_alias", "delete_model"]
    assert registry.state_at("fraud", clock.now).deleted and registry.state_at("fraud", clock.now).stages == {}
    restored = registry.restore_model("fraud")
    assert [v.version for v in restored.versions] == [1, 2, 3] and restored.aliases == {}
    assert registry.history("fraud")[-1].action == "restore_model"
    with pytest.raises(RegistryError, match="is not deleted; nothing to restore"):
        registry.restore_model("fraud")


def test_the_event_log_stays_append_only_after_the_rebuild(registry):
    conn = registry.store.conn
    # holding the store's lock: a run's late git provenance is written from a background thread on
    # this connection, and SQLite's error code is per connection (an unlocked statement's error
    # can be read, or lost, by the other thread)
    with registry.store.lock:
        for statement in ("UPDATE registry_events SET who = 'mallory'", "DELETE FROM registry_events"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            conn.execute(
                "INSERT INTO registry_events(model_id, seq, time, who, action) VALUES (1, 999, 0, 'x', 'purge_everything')"
            )


def cli(store_path, *argv: str) -> int:
    return main(["--store", str(store_path), *argv])


def test_cli_rename_rm_restore_and_ls_deleted(registry, store_path, capsys):
    assert cli(store_path, "models", "rm", "fraud", "3", "-c", "bad data") == 0
    assert "fraud version 3 deleted; undo with `nbtrack models restore fraud 3`" in capsys.readouterr().out
    assert cli(store_path, "models", "show", "fraud") == 0
    assert "deleted versions: 3" in capsys.readouterr().out
    assert cli(store_path, "models", "rm", "fraud") == 1
    assert "is in Production" in capsys.readouterr().err
    assert cli(store_path, "models", "restore", "fraud", "3") == 0
    assert "fraud version 3 restored (Staging)" in capsys.readouterr().out
    assert cli(store_path, "models", "rename", "fraud", "fraud2") == 0
    assert "fraud renamed to fraud2" in capsys.readouterr().out
    assert cli(store_path, "models", "promote", "fraud2", "2", "--to", "Archived") == 0
    assert cli(store_path, "models", "rm", "fraud2") == 0
    capsys.readouterr()
    assert cli(store_path, "models", "ls") == 0
    assert "no registered models" in capsys.readouterr().out
    assert cli(store_path, "models", "ls", "--deleted") == 0
    listing = capsys.readouterr().out
    assert "fraud2" in listing and "deleted" in listing.splitlines()[0]
    assert cli(store_path, "models", "history", "fraud2") == 0
    assert "delete_model" in capsys.readouterr().out
    assert cli(store_path, "models", "restore", "fraud2") == 0
    assert "model fraud2 restored" in capsys.readouterr().out


def test_restore_hints_are_commands_a_shell_can_run(registry, tracker, store_path, capsys):
    with tracker.start_run() as run:
        tracker.log_model({}, "clf")
    registry.register_model(run, "clf", "Churn Predictor")
    assert cli(store_path, "models", "rm", "Churn Predictor", "1") == 0
    assert "`nbtrack models restore 'Churn Predictor' 1`" in capsys.readouterr().out
    with pytest.raises(NotFoundError, match="restore it with `nbtrack models restore 'Churn Predictor' 1`"):
        registry.get_model_version("Churn Predictor", 1)
