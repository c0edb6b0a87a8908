"""The model registry service over a real store: versions, stages, aliases, events, loading, gates."""

from __future__ import annotations

import sqlite3

import pytest

from nbtrack.entities import ARCHIVED, PRODUCTION, STAGE_NONE, STAGES, STAGING
from nbtrack.errors import GateFailedError, IntegrityError, NotFoundError, RegistryError, UsageError
from nbtrack.registry import ALLOWED_TRANSITIONS, Registry


@pytest.fixture
def registry(tracker, clock):
    return Registry(tracker.store, runs=tracker.runs, who="alice@lab", clock=clock)


def model_run(tracker, f1: float, model=None, name: str = "clf", **params):
    """A finished run that logged metric f1, the params, and ``model`` via log_model(model, name)."""
    with tracker.start_run(f"f1={f1}") as run:
        tracker.log_metric("f1", f1)
        tracker.log_params(params or {"depth": 3})
        tracker.log_model(model if model is not None else {"weights": f1}, name)
    return run


def versions(registry, tracker, *f1s: float, name: str = "fraud") -> list[int]:
    return [registry.register_model(model_run(tracker, f1), "clf", name) for f1 in f1s]


def stages(registry, name: str = "fraud") -> dict[int, str]:
    return {v.version: v.stage for v in registry.get_model(name).versions}


# -- registering ----------------------------------------------------------------------------------------
def test_register_numbers_versions_and_pins_the_logged_artifact(registry, tracker):
    run = model_run(tracker, 0.8)
    first = registry.register_model(run, "models/clf.pkl", "fraud", description="baseline", tags={"team": "risk"})
    second = registry.register_model(run.id, "clf", "fraud")
    third = registry.register_model(run.id[:8], None, "fraud")
    assert (first, second, third) == (1, 2, 3)
    v1 = registry.get_model_version("fraud", 1)
    artifact = tracker.runs.artifact(run.row_id, "models/clf.pkl")
    assert (v1.run_id, v1.artifact, v1.sha256, v1.stage) == (run.id, "models/clf.pkl", artifact.sha256, STAGE_NONE)
    assert (v1.description, v1.tags, v1.created_by) == ("baseline", {"team": "risk"}, "alice@lab")


def test_register_an_object_logs_it_as_an_artifact_of_the_run(registry, tracker):
    with tracker.start_run() as run:
        tracker.log_metric("f1", 0.7)
    version = registry.register_model(run, {"coef": [1, 2, 3]}, "direct")
    assert registry.load_model("direct", version) == {"coef": [1, 2, 3]}
    assert [a.name for a in tracker.get_run(run.id).artifacts] == ["models/direct.pkl"]
    registry.register_model(run, {"coef": [4]}, "direct")  # same name, other bytes: the first artifact is kept
    names = {a.name for a in tracker.get_run(run.id).artifacts}
    second = registry.get_model_version("direct", 2).artifact
    assert names == {"models/direct.pkl", second} and second.startswith("models/direct-")
    assert registry.load_model("direct", 1) == {"coef": [1, 2, 3]}


@pytest.mark.parametrize(
    ("artifact", "error"),
    [("nope", NotFoundError), (None, UsageError)],
)
def test_register_refuses_a_missing_or_ambiguous_artifact(registry, tracker, artifact, error):
    with tracker.start_run() as run:
        tracker.log_model(1, "a")
        tracker.log_model(2, "b")
    with pytest.raises(error):
        registry.register_model(run, artifact, "m")
    assert registry.search_models() == []


@pytest.mark.parametrize("name", ["a/b", "a@b", "models:x", "", " pad"])
def test_model_names_that_would_break_uris_are_refused(registry, tracker, name):
    with pytest.raises(UsageError):
        registry.register_model(model_run(tracker, 0.5), "clf", name)


# -- the transition table ------------------------------------------------------------------------------------
def _expected(src: str, dst: str, archive_existing: bool) -> str:
    if src == dst or dst == STAGE_NONE:
        return "refused"
    if dst == PRODUCTION and src != PRODUCTION and not archive_existing:
        return "refused"  # version 1 holds Production
    return "ok"


@pytest.mark.parametrize("archive_existing", [True, False])
@pytest.mark.parametrize("dst", STAGES)
@pytest.mark.parametrize("src", STAGES)
def test_transition_table(registry, tracker, src, dst, archive_existing):
    """Version 1 holds Production (unless the candidate took it); version 2 starts in ``src``."""
    versions(registry, tracker, 0.8, 0.9)
    registry.transition_stage("fraud", 1, PRODUCTION)
    if src != STAGE_NONE:
        registry.transition_stage("fraud", 2, src)
    before, events_before = stages(registry), len(registry.history("fraud"))
    expected = _expected(src, dst, archive_existing)
    if expected == "refused":
        with pytest.raises(RegistryError):
            registry.transition_stage("fraud", 2, dst, archive_existing=archive_existing)
        assert stages(registry) == before and len(registry.history("fraud")) == events_before
        return
    registry.transition_stage("fraud", 2, dst, archive_existing=archive_existing)
    after = stages(registry)
    assert after[2] == dst
    incumbent_displaced = dst == PRODUCTION and before[1] == PRODUCTION
    assert after[1] == (ARCHIVED if incumbent_displaced else before[1])
    assert list(after.values()).count(PRODUCTION) <= 1


def test_the_table_in_code_matches_the_documented_rules():
    assert len(ALLOWED_TRANSITIONS) == 9
    assert all(dst != STAGE_NONE and src != dst for src, dst in ALLOWED_TRANSITIONS)
    assert (ARCHIVED, PRODUCTION) in ALLOWED_TRANSITIONS  # rollback


def test_stage_names_are_case_insensitive_and_checked(registry, tracker):
    versions(registry, tracker, 0.8)
    assert registry.transition_stage("fraud", 1, "staging").stage == STAGING
    with pytest.raises(UsageError, match="unknown stage"):
        registry.transition_stage("fraud", 1, "prod")


def test_the_database_itself_refuses_a_second_production_version(registry, tracker):
    versions(registry, tracker, 0.8, 0.9)
    registry.transition_stage("fraud", 1, PRODUCTION)
    with tracker.store.lock, pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        tracker.store.conn.execute("UPDATE model_versions SET stage = 'Production' WHERE version = 2")
    assert stages(registry) == {1: PRODUCTION, 2: STAGE_NONE}


@pytest.mark.parametrize("statement", ["UPDATE registry_events SET who = 'mallory'", "DELETE FROM registry_events"])
def test_the_event_log_is_append_only(registry, tracker, statement):
    versions(registry, tracker, 0.8)
    with tracker.store.lock, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        tracker.store.conn.execute(statement)
    assert [e.who for e in registry.history("fraud")] == ["alice@lab", "alice@lab"]


# -- history and time travel -----------------------------------------------------------------------------------
def test_history_answers_who_was_production_at_time_t(registry, tracker, clock):
    clock.now = 100.0
    versions(registry, tracker, 0.8, 0.85, 0.9)
    for when, version in [(200.0, 1), (300.0, 2), (400.0, 3)]:
        clock.now = when
        registry.transition_stage("fraud", version, PRODUCTION, comment=f"ship v{version}")
    expected = {99.0: [], 100.0: [], 199.0: [], 200.0: [1], 250.0: [1], 300.0: [2], 399.9: [2], 400.0: [3], 1e9: [3]}
    assert {t: registry.state_at("fraud", t).holders(PRODUCTION) for t in expected} == expected
    assert registry.state_at("fraud", 350.0).holders(ARCHIVED) == [1]
    assert registry.state_at("fraud", 350.0).holders(STAGE_NONE) == [3]
    with pytest.raises(NotFoundError):
        registry.state_at("nobody", 350.0)


def test_every_change_is_one_gap_free_event_with_who_when_from_to_comment(registry, tracker, clock):
    clock.now = 10.0
    versions(registry, tracker, 0.8, 0.9)
    clock.now = 20.0
    registry.transition_stage("fraud", 1, PRODUCTION, comment="first <b>ship</b>")
    registry.transition_stage("fraud", 2, PRODUCTION)
    registry.set_alias("fraud", "champion", 2)
    registry.set_alias("fraud", "champion", 2)  # same target: nothing to record
    registry.set_alias("fraud", "champion", 1, comment="rollback")
    registry.delete_alias("fraud", "champion")
    registry.set_description("fraud", "fraud scorer")
    registry.set_description("fraud", "v2 notes", version=2)
    registry.set_tag("fraud", "team", "risk")
    registry.set_tag("fraud", "team", "ml", version=1)
    registry.delete_tag("fraud", "team")
    rows = [(e.seq, e.action, e.version, e.key, e.from_value, e.to_value, e.comment) for e in registry.history("fraud")]
    assert rows == [
        (1, "create_model", None, None, None, None, None),
        (2, "register", 1, None, None, "None", None),
        (3, "register", 2, None, None, "None", None),
        (4, "transition", 1, None, "None", "Production", "first <b>ship</b>"),
        (5, "transition", 1, None, "Production", "Archived", "archived by the promotion of version 2"),
        (6, "transition", 2, None, "None", "Production", None),
        (7, "set_alias", 2, "champion", None, "2", None),
        (8, "set_alias", 1, "champion", "2", "1", "rollback"),
        (9, "delete_alias", 1, "champion", "1", None, None),
        (10, "set_description", None, None, None, "fraud scorer", None),
        (11, "set_description", 2, None, None, "v2 notes", None),
        (12, "set_tag", None, "team", None, "risk", None),
        (13, "set_tag", 1, "team", None, "ml", None),
        (14, "delete_tag", None, "team", "risk", None, None),
    ]
    assert {(e.who, e.time) for e in registry.history("fraud")[3:]} == {("alice@lab", 20.0)}
    model = registry.get_model("fraud")
    assert (model.description, model.tags, model.aliases) == ("fraud scorer", {}, {})
    assert registry.get_model_version("fraud", 1).tags == {"team": "ml"}


# -- loading ---------------------------------------------------------------------------------------------------
def test_load_model_by_stage_alias_version_and_uri_after_promotions(registry, tracker):
    for f1 in (0.8, 0.85, 0.9):
        registry.register_model(model_run(tracker, f1, model={"f1": f1}), "clf", "fraud")
    registry.transition_stage("fraud", 1, PRODUCTION)
    registry.transition_stage("fraud", 2, PRODUCTION)
    registry.transition_stage("fraud", 3, STAGING)
    registry.set_alias("fraud", "champion", 2)
    registry.set_alias("fraud", "challenger", 3)
    assert registry.load_model("fraud", stage="production") == {"f1": 0.85}
    assert registry.load_model("models:/fraud/Production") == {"f1": 0.85}
    assert registry.load_model("fraud", stage="Archived") == {"f1": 0.8}
    assert registry.load_model("models:/fraud/Staging") == {"f1": 0.9}
    assert (
        registry.load_model("fraud", alias="champion") == registry.load_model("models:/fraud@champion") == {"f1": 0.85}
    )
    assert registry.load_model("models:/fraud@challenger") == {"f1": 0.9}
    assert registry.load_model("fraud", version=1) == registry.load_model("models:/fraud/1") == {"f1": 0.8}
    assert registry.load_model("models:/fraud/latest") == {"f1": 0.9}


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        (("fraud",), {"version": 9}, NotFoundError),
        (("fraud",), {"stage": "Staging"}, NotFoundError),
        (("fraud",), {"alias": "champion"}, NotFoundError),
        (("nobody",), {"version": 1}, NotFoundError),
        (("fraud",), {}, UsageError),
        (("fraud",), {"version": 1, "alias": "champion"}, UsageError),
        (("models:/fraud",), {}, UsageError),
        (("models:/fraud/1",), {"version": 1}, UsageError),
    ],
)
def test_load_model_refuses_unclear_or_missing_references(registry, tracker, args, kwargs, error):
    versions(registry, tracker, 0.8)
    with pytest.raises(error):
        registry.load_model(*args, **kwargs)


def test_a_tampered_inline_blob_is_refused_before_unpickling(registry, tracker):
    versions(registry, tracker, 0.8)
    sha = registry.get_model_version("fraud", 1).sha256
    with tracker.store.atomic() as conn:
        conn.execute(
            "UPDATE blobs SET encoding = 'raw', data = ? WHERE sha256 = ?", (b"cos\nsystem\n(S'echo pwned'\ntR.", sha)
        )
    with pytest.raises(IntegrityError, match="'fraud' version 1 .*sha256"):
        registry.load_model("fraud", version=1)


def test_a_tampered_blob_file_on_disk_is_refused(registry, tracker):
    big = {"weights": bytes(range(256)) * 4096}  # > 512 kB: stored as a file under blobs/
    registry.register_model(model_run(tracker, 0.8, model=big), "clf", "big")
    version = registry.get_model_version("big", 1)
    path = tracker.store.blobs.path_for(version.sha256)
    assert registry.load_model("big", 1) == big
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="'big' version 1"):
        registry.load_model("models:/big/1")


# -- gates -------------------------------------------------------------------------------------------------------
def test_a_passing_gate_promotes_and_is_recorded_with_its_values(registry, tracker):
    versions(registry, tracker, 0.8, 0.9)
    registry.transition_stage("fraud", 1, PRODUCTION)
    result = registry.promote(
        "fraud", 2, PRODUCTION, require=["metrics.f1 >= production.metrics.f1", "metrics.f1 > 0.5"]
    )
    assert [e.passed for e in result.evaluations] == [True, True] and result.archived == (1,)
    assert stages(registry) == {1: ARCHIVED, 2: PRODUCTION}
    gate = registry.history("fraud")[-1].details["gate"]
    assert gate[0]["values"] == {"metrics.f1": 0.9, "production.metrics.f1": 0.8}
    assert gate[0]["holders"] == {"production": 1}
    assert (gate[1]["left"], gate[1]["op"], gate[1]["right"]) == (0.9, ">", 0.5)


def test_a_failing_gate_changes_nothing_and_reports_every_value(registry, tracker):
    versions(registry, tracker, 0.9, 0.8)
    registry.transition_stage("fraud", 1, PRODUCTION)
    before = (stages(registry), len(registry.history("fraud")))
    with pytest.raises(GateFailedError) as failure:
        registry.promote("fraud", 2, PRODUCTION, require=["metrics.f1 > 0.5", "metrics.f1 >= production.metrics.f1"])
    assert (stages(registry), len(registry.history("fraud"))) == before
    first, second = failure.value.evaluations
    assert first.passed and not second.passed
    assert second.values == {"metrics.f1": 0.8, "production.metrics.f1": 0.9}
    assert "0.8 >= 0.9" in str(failure.value)


def test_gates_against_aliases_and_with_arithmetic(registry, tracker):
    versions(registry, tracker, 0.80, 0.805, 0.83)
    registry.set_alias("fraud", "champion", 1)
    with pytest.raises(GateFailedError):
        registry.promote("fraud", 2, STAGING, require="metrics.f1 >= champion.metrics.f1 + 0.01")
    result = registry.promote("fraud", 3, STAGING, require="metrics.f1 >= champion.metrics.f1 * 1.02")
    assert result.evaluations[0].holders == {"champion": 1}


def test_a_missing_holder_passes_unless_strict(registry, tracker):
    versions(registry, tracker, 0.8)
    with pytest.raises(GateFailedError, match="nobody is in Production"):
        registry.promote("fraud", 1, PRODUCTION, require="metrics.f1 >= production.metrics.f1", strict=True)
    assert stages(registry) == {1: STAGE_NONE}
    result = registry.promote("fraud", 1, PRODUCTION, require="metrics.f1 >= production.metrics.f1")
    assert result.evaluations[0].passed and "nothing to beat" in result.evaluations[0].note


@pytest.mark.parametrize(
    ("requirement", "note"),
    [
        ("metrics.auc > 0.5", "no metric 'auc'"),
        ("params.depth > 'x'", "cannot compare"),
        ("metrics.f1 / 0 > 1", "division by zero"),
    ],
)
def test_a_gate_that_cannot_be_checked_fails(registry, tracker, requirement, note):
    versions(registry, tracker, 0.8)
    with pytest.raises(GateFailedError) as failure:
        registry.promote("fraud", 1, STAGING, require=requirement)
    assert note in failure.value.evaluations[0].note
    assert stages(registry) == {1: STAGE_NONE}


# -- champion / challenger ---------------------------------------------------------------------------------------
def test_compare_versions_gives_metric_and_param_deltas(registry, tracker):
    registry.register_model(model_run(tracker, 0.8, depth=3, lr=0.1), "clf", "fraud")
    registry.register_model(model_run(tracker, 0.86, depth=5, lr=0.1), "clf", "fraud")
    registry.set_alias("fraud", "champion", 1)
    registry.set_alias("fraud", "challenger", 2)
    comparison = registry.compare_versions("fraud", "champion", "challenger")
    assert (comparison.a.version, comparison.b.version) == (1, 2)
    assert comparison.metric("f1").delta == pytest.approx(0.06)
    assert [(p.key, p.a, p.b) for p in comparison.changed_params] == [("depth", 3, 5)]
    assert registry.compare_versions("fraud", 2, "1").metric("f1").delta == pytest.approx(-0.06)


def test_search_models_by_substring_and_glob(registry, tracker):
    for name in ("fraud", "fraud-eu", "churn"):
        versions(registry, tracker, 0.5, name=name)
    assert [m.name for m in registry.search_models()] == ["churn", "fraud", "fraud-eu"]
    assert [m.name for m in registry.search_models("fraud")] == ["fraud", "fraud-eu"]
    assert [m.name for m in registry.search_models("*u")] == ["fraud-eu"]


@pytest.mark.parametrize("alias", ["production", "Staging", "latest", "3", "bad alias", "metrics"])
def test_aliases_that_would_be_ambiguous_are_refused(registry, tracker, alias):
    versions(registry, tracker, 0.8)
    with pytest.raises(UsageError):
        registry.set_alias("fraud", alias, 1)


# -- the plain API ---------------------------------------------------------------------------------------------
@pytest.fixture
def plain_api(store_path):
    from nbtrack import api

    api.set_store(store_path)
    yield api
    api.use(None)


def test_the_plain_api_covers_the_registry(plain_api):
    import nbtrack

    for f1 in (0.8, 0.9):
        with nbtrack.start_run() as run:
            nbtrack.log_metric("f1", f1)
            version = nbtrack.register_model(run, {"f1": f1}, "fraud")  # while the run is still active
    assert version == 2
    nbtrack.transition_stage("fraud", 1, "Production")
    result = nbtrack.promote("fraud", 2, "Production", require=["metrics.f1 >= production.metrics.f1"])
    assert result.archived == (1,)
    nbtrack.set_alias("fraud", "champion", 2)
    assert nbtrack.load_model("models:/fraud@champion") == {"f1": 0.9}
    assert nbtrack.get_model_version("fraud", stage="Production").version == 2
    assert nbtrack.compare_versions("fraud", 1, "champion").metric("f1").delta == pytest.approx(0.1)
    assert [m.name for m in nbtrack.search_models()] == ["fraud"]
    assert [e.action for e in nbtrack.model_history("fraud")][-1] == "set_alias"
    nbtrack.delete_alias("fraud", "champion")
    with pytest.raises(GateFailedError):
        nbtrack.promote("fraud", 1, "Production", require="metrics.f1 >= production.metrics.f1")


def test_api_promote_displays_what_it_did(tracker):
    """nbtrack.promote returns a view: the new stage, the archived holder, each gate; attributes read through."""
    import nbtrack
    from nbtrack import api
    from nbtrack.display.models import PROMOTION_MIME

    NAME = "fraud <x> & co"  # noqa: N806  (user text: escaped in the HTML view)
    api.use(tracker)
    try:
        for f1 in (0.8, 0.9):
            with tracker.start_run("m"):
                tracker.log_metric("f1", f1)
                tracker.log_model({"f1": f1}, "clf")
            nbtrack.register_model(tracker.search_runs(max_results=1)[0].id, "clf", NAME)
        nbtrack.transition_stage(NAME, 1, "Production")
        promotion = nbtrack.promote(NAME, 2, "Production", require=["metrics.f1 >= production.metrics.f1"])
        assert promotion.version.stage == "Production" and promotion.archived == (1,)
        text = str(promotion)
        assert text.startswith(
            "fraud <x> & co version 2 -> Production (archived version 1)\nPASS  metrics.f1 >= production.metrics.f1"
        )
        bundle = promotion._repr_mimebundle_()
        assert "fraud &lt;x&gt; &amp; co version 2" in bundle["text/html"] and "<x>" not in bundle["text/html"]
        assert bundle[PROMOTION_MIME]["gates"][0]["passed"] is True and bundle[PROMOTION_MIME]["archived"] == [1]
    finally:
        api.use(None)
