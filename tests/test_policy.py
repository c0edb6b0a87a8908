"""The team policy (nbtrack.policy): files, defaults, verdicts on runs, summaries and fixes."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from IPython.utils.capture import capture_output

from nbtrack import policy
from nbtrack.errors import PolicyError
from nbtrack.policy import POLICY_TAG, PolicyFinder

PYPROJECT = textwrap.dedent("""\
    [project]
    name = "churn"

    [tool.nbtrack.tags]
    team = { required = true, one_of = ["churn", "fraud"], help = "the owning team" }
    data_version = { required = true, pattern = "^v\\\\d+$" }
    owner = { default = "git:user.name" }
    proj = { refuse = "use `project`" }

    [tool.nbtrack.model_tags]
    validation_status = { required = true, one_of = ["passed"] }
    """)
#: the same rules as .nbtrack/policy.toml writes them
POLICY_TOML = PYPROJECT.split("[tool.nbtrack.tags]", 1)[1].replace("[tool.nbtrack.model_tags]", "[model_tags]")
POLICY_TOML = "[tags]" + POLICY_TOML


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A git repository with user.name set and a pyproject policy; the working directory is a folder inside it."""
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "config", "user.name", "Ada Lovelace"], check=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    monkeypatch.chdir(root / "notebooks")
    return root


# -- reading policy files ------------------------------------------------------------------------
def test_pyproject_policy_is_found_from_a_subfolder(project):
    found = PolicyFinder().find()
    assert found.source == project / "pyproject.toml"
    assert sorted(found.tags) == ["data_version", "owner", "proj", "team"]
    assert found.model_tags["validation_status"].one_of == ("passed",)


def test_store_policy_file_wins_over_pyproject(project, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "policy.toml").write_text("[tags]\nstage = { required = true }\n")
    assert sorted(PolicyFinder().find(store_dir=store).tags) == ["stage"]


def test_dot_nbtrack_policy_toml_in_an_ancestor(tmp_path, monkeypatch):
    (tmp_path / "repo" / ".nbtrack").mkdir(parents=True)
    (tmp_path / "repo" / "sub").mkdir()
    (tmp_path / "repo" / ".nbtrack" / "policy.toml").write_text(POLICY_TOML)
    monkeypatch.chdir(tmp_path / "repo" / "sub")
    assert sorted(PolicyFinder().find().tags) == ["data_version", "owner", "proj", "team"]


def test_pyproject_without_nbtrack_rules_is_no_policy(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.nbtrack]\nother = 1\n')
    monkeypatch.chdir(tmp_path)
    assert PolicyFinder().find() is None


def test_finder_reparses_only_when_the_file_changes(project):
    finder = PolicyFinder()
    first = finder.find()
    assert finder.find() is first  # cached: same path, mtime and size
    (project / "pyproject.toml").write_text(
        PYPROJECT.replace("[tool.nbtrack.model_tags]", "extra = { required = true }\n\n[tool.nbtrack.model_tags]")
    )
    assert "extra" in finder.find().tags


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[tags]\nteam = { required = true\n", r"policy\.toml: not valid TOML: .*line 2"),
        ("[tags]\n\nteam = { requird = true }\n", r"policy\.toml, line 3: tags\.team: unknown rule 'requird'"),
        (
            '[tags]\nteam = { required = true }\ndv = { pattern = "^v(\\\\d+$" }\n',
            r"policy\.toml, line 3: tags\.dv: pattern .* is not a valid regular expression",
        ),
        ('[tags]\n[tags.dv]\nhelp = "x"\npattern = "["\n', r"policy\.toml, line 4: tags\.dv: pattern"),
        ("[tag]\nteam = { required = true }\n", r"policy\.toml, line 1: unknown table \[tag\]"),
        ('[tags]\nteam = { required = "yes" }\n', r"line 2: tags\.team: required must be true or false"),
        ("[tags]\nteam = { one_of = [1, 2] }\n", r"line 2: tags\.team: one_of must be a non-empty list of strings"),
        (
            '[tags]\nproj = { refuse = "use project", required = true }\n',
            r"line 2: tags\.proj: a refused tag takes no other rule",
        ),
    ],
)
def test_broken_policy_files_name_the_file_line_and_key(tmp_path, text, expected):
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=expected) as caught:
        policy.load(path)
    assert str(path) in str(caught.value)
    assert caught.value.exit_code == 2


def test_broken_pyproject_rule_names_the_dotted_key(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n\n[tool.nbtrack.tags]\nteam = { one_off = ["a"] }\n')
    with pytest.raises(
        PolicyError, match=r"pyproject\.toml, line 5: tool\.nbtrack\.tags\.team: unknown rule 'one_off'"
    ):
        policy.load(path)


# -- checking values ------------------------------------------------------------------------------
def test_verdict_and_fix_name_every_violation(project):
    rules = PolicyFinder().find()
    found = rules.check({"data_version": "x", "proj": "crm"})
    assert policy.verdict(found) == (
        "violations: team missing; data_version 'x' does not match ^v\\d+$; proj is refused: use `project`"
    )
    assert policy.fix_command(found) == "%track tag team=churn data_version=<matching ^v\\d+$>; remove tag proj"
    assert policy.verdict(rules.check({"team": "fraud", "data_version": "v3"})) == "ok"
    assert [v.message for v in rules.check({"team": "Churn", "data_version": "v3"})] == [
        "team 'Churn' not one of churn, fraud"
    ]


def test_defaults_from_git_env_and_literal(project, monkeypatch):
    (project / "pyproject.toml").write_text(
        PYPROJECT.replace(
            "proj = {", 'host = { default = "env:NBTRACK_TEST_HOST" }\nsite = { default = "eu" }\nproj = {'
        )
    )
    monkeypatch.setenv("NBTRACK_TEST_HOST", "gpu-7")
    rules = PolicyFinder().find()
    assert rules.defaults({}) == {"owner": "Ada Lovelace", "host": "gpu-7", "site": "eu"}
    assert rules.defaults({"owner": "me", "site": "us"}) == {"host": "gpu-7"}  # only what is missing


def test_model_description_counts_as_the_description_key(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text("[model_tags]\ndescription = { required = true }\n")
    rules = policy.load(path)
    assert [v.message for v in rules.check_model({}, None)] == ["description missing"]
    assert rules.check_model({}, "gbm on v3 data") == []


# -- runs: defaults at start, the verdict at end and after tag changes ---------------------------------
def test_a_run_breaking_the_policy_is_recorded_with_its_violations(project, tracker):
    with tracker.start_run("baseline", tags={"data_version": "7"}) as run:
        tracker.log_metric("f1", 0.9)
    stored = tracker.get_run(run.id)
    assert stored.status == "FINISHED" and stored.metrics["f1"].last == 0.9  # never lose work
    assert stored.tags["owner"] == "Ada Lovelace"  # the git default, filled at start
    assert stored.tags[POLICY_TAG] == "violations: team missing; data_version '7' does not match ^v\\d+$"
    assert tracker.policy.fix(stored) == "%track tag team=churn data_version=<matching ^v\\d+$>"


def test_policy_in_the_store_folder_and_recheck_after_tagging(tracker, store_path):
    (store_path / "policy.toml").write_text('[tags]\nteam = { required = true, one_of = ["churn"] }\n')
    with tracker.start_run() as run:
        pass
    assert tracker.get_run(run.id).tags[POLICY_TAG] == "violations: team missing"
    tracker.tag_runs([run.id], {"team": "churn"})
    assert tracker.get_run(run.id).tags[POLICY_TAG] == "ok"
    tracker.untag_runs([run.id], "team")
    assert tracker.get_run(run.id).tags[POLICY_TAG] == "violations: team missing"
    tracker.set_tag("team", "fraud", run=tracker.attach(run.id))  # set_tag on an ended run, by id
    assert tracker.get_run(run.id).tags[POLICY_TAG] == "violations: team 'fraud' not one of churn"


def test_no_policy_no_tag(tracker):
    with tracker.start_run(tags={"team": "x"}) as run:
        pass
    assert tracker.get_run(run.id).tags == {"team": "x"}


def test_a_broken_policy_never_stops_a_run(tracker, store_path):
    (store_path / "policy.toml").write_text("[tags]\nteam = { requird = true }\n")
    reported = []
    tracker.report = reported.append
    with tracker.start_run() as run:
        tracker.log_metric("f1", 0.5)
    stored = tracker.get_run(run.id)
    assert stored.status == "FINISHED" and POLICY_TAG not in stored.tags
    assert reported == [
        f"policy not checked: {store_path / 'policy.toml'}, line 2: tags.team: unknown rule 'requird' "
        "(rules are required, one_of, pattern, default, refuse, help)"
    ]


# -- in a notebook: %%track, %track start, %track tag, %track show, %track ls -----------------------
def test_track_cell_summary_says_what_is_missing_and_how_to_fix_it(project, shell):
    with capture_output() as captured:
        shell.ok("%%track baseline --tag data_version=v2\nacc = 0.5")
    line = captured.stdout.strip().splitlines()[-1]
    assert "'baseline' FINISHED" in line and "acc=0.5" in line  # the run is recorded all the same
    assert line.endswith(" · policy violations: team missing (fix: %track tag team=churn)")
    with capture_output() as captured:
        shell.ok("%track tag team=churn")
    assert captured.stdout.strip().endswith(" policy ok")
    run = shell.tracker.get_run(shell.tracker.last_ended_id)
    assert run.tags[POLICY_TAG] == "ok" and run.tags["owner"] == "Ada Lovelace"
    with capture_output() as captured:
        shell.ok("%track show")
    assert "policy: ok" in captured.stdout


def test_track_start_span_gets_defaults_and_a_verdict(project, shell):
    with capture_output() as captured:
        shell.ok("%track start span --tag team=fraud")
        shell.ok("x = 1")
        shell.ok("%track end")
    assert (
        "policy violations: data_version missing (fix: %track tag data_version=<matching ^v\\d+$>)" in captured.stdout
    )
    run = shell.tracker.get_run(shell.tracker.last_ended_id)
    assert run.tags["owner"] == "Ada Lovelace"
    with capture_output() as captured:
        shell.ok("%track show")
    assert (
        "policy: violations: data_version missing (fix: %track tag data_version=<matching ^v\\d+$>)" in captured.stdout
    )


def test_no_policy_summary_and_tag_output_are_unchanged(shell, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with capture_output() as captured:
        shell.ok("%%track plain\nacc = 0.5")
        shell.ok("%track tag team=churn")
    lines = captured.stdout.strip().splitlines()
    assert len(lines) == 1 and "policy" not in lines[0]


# -- finding them: the query grammar, the system tag, %track ls, the dashboard ------------------------
@pytest.fixture
def judged(tracker, store_path):
    """Three runs: one compliant, one not, one made before the policy existed (unchecked)."""
    with tracker.start_run("unchecked") as unchecked:
        pass
    (store_path / "policy.toml").write_text('[tags]\nteam = { required = true, one_of = ["churn"] }\n')
    with tracker.start_run("good", tags={"team": "churn"}) as good:
        pass
    with tracker.start_run("bad") as bad:
        pass
    return {"good": good.id, "bad": bad.id, "unchecked": unchecked.id}


@pytest.mark.parametrize(
    "query, expected",
    [
        ("policy = 'violations'", ["bad"]),
        ("policy = 'OK'", ["good"]),
        ("policy != 'ok'", ["bad"]),
        ("policy in ('ok', 'violations')", ["good", "bad"]),
        ("policy is null", ["unchecked"]),
        ("not policy = 'violations'", ["good", "unchecked"]),
        # the system tag itself is the other way in, for any query language that knows tags
        ("tags.`nbtrack.policy` like 'violations%'", ["bad"]),
        ("tags.`nbtrack.policy` = 'ok'", ["good"]),
    ],
)
def test_query_filter_on_the_policy_verdict(tracker, judged, query, expected):
    assert sorted(r.name for r in tracker.search_runs(query)) == sorted(expected)


def test_policy_filter_refuses_other_values(tracker):
    from nbtrack.errors import QueryError

    with pytest.raises(QueryError, match="policy is 'ok' or 'violations'"):
        tracker.search_runs("policy = 'bad'")


def test_track_ls_and_dashboard_filter_the_violations(judged, shell, store_path):
    with capture_output() as captured:
        shell.ok("%track ls policy = 'violations'")
    assert judged["bad"][:8] in captured.stdout and judged["good"][:8] not in captured.stdout
    from nbtrack.widgets.controller import DashboardController

    controller = DashboardController(shell.tracker)
    controller.set_filter("policy = 'violations'")
    assert [r.id for r in controller.runs] == [judged["bad"]]


# -- promotion gates -----------------------------------------------------------------------------------
@pytest.fixture
def churn_model(tracker, store_path, clock):
    """Model 'churn': v1 from a compliant run, v2 from a run missing ``team``; v1 tagged validation_status=passed.
    The policy lives in the store folder."""
    from nbtrack.registry import Registry

    (store_path / "policy.toml").write_text(
        '[tags]\nteam = { required = true, one_of = ["churn"] }\n\n[model_tags]\nvalidation_status = { required = true, one_of = ["passed"] }\n'
    )
    registry = Registry(tracker.store, runs=tracker.runs, clock=clock)
    for tags in ({"team": "churn"}, {}):
        with tracker.start_run(tags=tags) as run:
            tracker.log_metric("f1", 0.8)
            tracker.log_model({"f1": 0.8}, "clf")
        registry.register_model(run, "clf", "churn")
    registry.set_tag("churn", "validation_status", "passed", version=1)
    return registry


def _state(registry):
    return [(v.version, v.stage) for v in registry.get_model("churn").versions], len(registry.history("churn"))


def test_production_requires_the_policy_by_default_and_refuses_changing_nothing(churn_model, store_path, capsys):
    from nbtrack.cli import main

    before = _state(churn_model)
    code = main(["--store", str(store_path), "models", "promote", "churn", "2", "--to", "Production"])
    err = capsys.readouterr().err
    assert code == 1
    run = churn_model.run_of(churn_model.get_model_version("churn", 2))
    assert (
        f"FAIL  policy   [run {run.short_id} violations: team missing "
        "(fix: tag the run team=churn); version 2 violations: validation_status missing "
        "(fix: tag the version validation_status=passed)]"
    ) in err
    assert "version 2 stays None; nothing was changed" in err
    assert _state(churn_model) == before  # nothing changed, the audit trail untouched


def test_compliant_version_is_promoted_and_the_event_records_the_check(churn_model, store_path, capsys):
    from nbtrack.cli import main

    assert main(["--store", str(store_path), "models", "promote", "churn", "1", "--to", "Production"]) == 0
    event = churn_model.history("churn")[-1]
    assert event.details["policy"] == {"required": True, "source": str(store_path / "policy.toml")}
    assert [(g["requirement"], g["passed"]) for g in event.details["gate"]] == [("policy", True)]


def test_no_policy_flag_skips_the_check_and_is_recorded(churn_model, store_path):
    from nbtrack.cli import main

    assert (
        main(["--store", str(store_path), "models", "promote", "churn", "2", "--to", "Production", "--no-policy"]) == 0
    )
    event = churn_model.history("churn")[-1]
    assert (event.to_value, event.details["policy"]) == (
        "Production",
        {"required": False, "source": str(store_path / "policy.toml"), "disabled_explicitly": True},
    )
    assert "gate" not in event.details


def test_staging_checks_the_policy_only_when_asked(churn_model):
    from nbtrack.errors import GateFailedError

    assert churn_model.promote("churn", 2, "Staging").version.stage == "Staging"
    assert "policy" not in churn_model.history("churn")[-1].details
    churn_model.set_tag("churn", "validation_status", "failed", version=1)
    with pytest.raises(GateFailedError, match="version 1 violations: validation_status 'failed' not one of passed"):
        churn_model.promote("churn", 1, "Staging", require=["policy"])


def test_requiring_a_policy_that_does_not_exist_is_refused(tracker, clock):
    from nbtrack.errors import RegistryError
    from nbtrack.registry import Registry

    registry = Registry(tracker.store, runs=tracker.runs, clock=clock)
    with tracker.start_run() as run:
        tracker.log_model({}, "clf")
    registry.register_model(run, "clf", "m")
    assert registry.promote("m", 1, "Production").version.stage == "Production"  # no policy: as before
    assert "policy" not in registry.history("m")[-1].details
    with pytest.raises(RegistryError, match="requires the team policy, but none was found"):
        registry.promote("m", 1, "Archived", require="policy")


def test_dashboard_promotion_shows_the_policy_refusal(churn_model, tracker):
    from nbtrack.widgets.controller import DashboardController

    controller = DashboardController(tracker, registry=churn_model)
    controller.registry.select_model("churn")
    controller.attempt(controller.registry.request_stage, 2, "Production")
    controller.attempt(controller.registry.confirm)
    assert controller.status.kind == "error"
    assert (
        "gate failed for 'churn' version 2 -> Production, nothing was changed: FAIL  policy" in controller.status.text
    )
    assert "team missing" in controller.status.text
    assert churn_model.get_model_version("churn", 2).stage == "None"
    controller.attempt(controller.registry.request_stage, 2, "Staging", None, "policy")  # typed in the gate box
    assert "validation_status missing" in controller.status.text


# -- nbtrack check, as CI runs it ---------------------------------------------------------------------
CI_SCRIPT = """\
set -u
nbtrack() { "$PYTHON" -c 'import sys; from nbtrack.cli import main; sys.exit(main(sys.argv[1:]))' "$@"; }
nbtrack check "$@"
echo "exit=$?"
"""


def _ci(cwd, *query: str, store=None) -> tuple[int, str]:
    import os
    import sys

    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": os.pathsep.join(sys.path)}
    if store is not None:
        env["NBTRACK_STORE"] = str(store)
    done = subprocess.run(
        ["bash", "-c", CI_SCRIPT, "ci", *query], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    return int(done.stdout.rsplit("exit=", 1)[1].strip()), done.stdout + done.stderr


def test_nbtrack_check_in_a_ci_script(project, tracker, store_path):
    from nbtrack.registry import Registry

    with tracker.start_run("good", tags={"team": "churn", "data_version": "v1"}):
        tracker.log_model({}, "clf")
    with tracker.start_run("bad", tags={"data_version": "7"}) as bad:
        pass
    registry = Registry(tracker.store, runs=tracker.runs)
    registry.register_model(tracker.search_runs("name = 'good'")[0], "clf", "churn")
    registry.promote("churn", 1, "Staging")  # Staging: the default gate does not check; nbtrack check does
    tracker.flush()
    code, out = _ci(project)
    assert code == 1, out
    assert f"run {bad.id[:8]} 'bad': violations: team missing; data_version '7' does not match ^v\\d+$" in out
    assert "model 'churn' version 1 (Staging): violations: validation_status missing" in out
    assert "good" not in out.split("nbtrack check:")[0]
    assert f"1 run(s) and 1 model version(s) break the policy in {project / 'pyproject.toml'}" in out

    code, out = _ci(project, "name = 'good'")  # a query narrows the runs
    assert code == 1 and "run " not in out.split("nbtrack check:")[0]
    tracker.tag_runs([bad.id], {"team": "fraud", "data_version": "v7"})
    registry.set_tag("churn", "validation_status", "passed", version=1)
    code, out = _ci(project)
    assert code == 0, out
    assert "every run and model version complies" in out


def test_nbtrack_check_exit_codes_without_policy_broken_policy_and_unreadable_store(tmp_path, tracker, store_path):
    with tracker.start_run():
        pass
    code, out = _ci(tmp_path)
    assert code == 0 and "no team policy found" in out
    (store_path / "policy.toml").write_text('[tags]\nteam = { pattern = "(" }\n')
    code, out = _ci(tmp_path)
    assert code == 2 and "policy.toml, line 2: tags.team: pattern '(' is not a valid regular expression" in out
    code, out = _ci(tmp_path, store=tmp_path / "nowhere")
    assert code == 2 and "no nbtrack store" in out


# -- other ways runs are made: the API, the MLflow importer -------------------------------------------
def test_the_plain_api_applies_the_policy(project, monkeypatch, store_path):
    import nbtrack
    from nbtrack import api

    api.use(None)
    try:
        with nbtrack.start_run("script", tags={"team": "fraud", "data_version": "v9"}) as run:
            nbtrack.log_metric("auc", 0.7)
        stored = nbtrack.get_run(run.id)
        assert (stored.tags["owner"], stored.tags[POLICY_TAG]) == ("Ada Lovelace", "ok")
    finally:
        api.use(None)


def test_imported_mlflow_runs_are_checked_but_not_defaulted(project, tracker, tmp_path):
    import shutil
    from pathlib import Path

    from nbtrack.importers import import_mlflow

    source = tmp_path / "mlflow-project"
    shutil.copytree(Path(__file__).parent / "fixtures" / "mlflow", source)
    report = import_mlflow(tracker, source / "mlflow.db")
    runs = {r.name: r for r in tracker.search_runs()}
    assert len(runs) >= 10 and len(report.imported) == 11
    # the fixture's gbm run carries team=churn but no data_version; nobody's git name is put on it
    assert runs["gbm"].tags[POLICY_TAG] == "violations: data_version missing"
    assert all("owner" not in r.tags and POLICY_TAG in r.tags for r in runs.values())
