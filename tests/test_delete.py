"""Deleting runs: soft deletion hidden from every listing, restore, purge of every per-run row,
and garbage collection of the blobs nothing references (never one a live run needs)."""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import timedelta

import nbformat
import pytest

from nbtrack.cli import main
from nbtrack.errors import RegistryError, RunStateError
from nbtrack.registry import Registry
from nbtrack.snapshot import storage
from nbtrack.store.blobs import INLINE_LIMIT
from nbtrack.store.gc import BLOB_COLUMNS
from nbtrack.store.runs import RUN_TABLES

BIG = INLINE_LIMIT + 1  # bytes: a blob stored as a file under blobs/


def _run(tracker, name, experiment="Default", **params):
    with tracker.start_run(name, experiment=experiment, params={"shared": 1, **params}, tags={"team": "t"}) as run:
        tracker.log_metric("loss", 0.5)
    return run.id


def _ids(runs):
    return {run.id for run in runs}


def _healthy(tracker):
    conn = tracker.store.conn
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def _blobs(tracker) -> set[str]:
    return {row[0] for row in tracker.store.query("SELECT sha256 FROM blobs")}


def _files(tracker) -> set[str]:
    root = tracker.store.blobs.directory
    return {p.name for p in root.glob("*/*")} if root.is_dir() else set()


# -- what deletion hides, and what it does not ------------------------------------------------------
def test_a_deleted_run_vanishes_from_every_listing_and_count(tracker, tmp_path):
    from nbtrack.server.runs import list_runs, scope
    from nbtrack.widgets.catalog import column_keys
    from nbtrack.widgets.controller import DashboardController

    keep = _run(tracker, "keep")
    with tracker.start_run(
        "gone", experiment="other", params={"only_gone": 1}, tags={"gone_tag": "x"}, cell_key="cell-1"
    ) as gone:
        tracker.log_metric("gone_metric", 1.0)
    notebook = tmp_path / "nb.ipynb"
    for run_id in (keep, gone.id):
        tracker.runs.update_run(tracker.runs.resolve(run_id), {"notebook_path": str(notebook)})
    tracker.delete_run(gone.id)

    assert _ids(tracker.search_runs()) == {keep} and tracker.runs.count() == 1
    assert _ids(tracker.search_runs("experiment = 'other'")) == set()
    assert _ids(tracker.search_runs(deleted=True)) == {gone.id} and tracker.runs.count(deleted=True) == 1
    assert dict((name, count) for name, count, _ in tracker.runs.experiment_summaries()) == {"Default": 1, "other": 0}
    keys = column_keys(tracker)
    assert (keys.params, keys.metrics, keys.tags) == (("shared",), ("loss",), ("team",))
    assert tracker.runs.cell_runs("cell-1") == []
    assert DashboardController(tracker).total == 1
    panel = list_runs(scope(str(tmp_path), "nb.ipynb"))
    assert [r["id"] for r in panel["runs"]] == [keep]

    run = tracker.get_run(gone.id[:8])  # still found by id, marked deleted
    assert run.deleted_time is not None and run.params == {"only_gone": 1}
    assert tracker.get_run("gone").id == gone.id  # and by name, when no live run has it
    assert tracker.get_run(keep).deleted_time is None


def test_deleting_a_parent_deletes_its_nested_runs_and_restore_brings_them_back(tracker):
    with tracker.start_run("parent") as parent:
        with tracker.start_run("child") as child:
            with tracker.start_run("grandchild") as grandchild:
                pass
    other = _run(tracker, "other")
    assert tracker.delete_run("parent") == [parent.id, child.id, grandchild.id]
    times = {tracker.get_run(i).deleted_time for i in (parent.id, child.id, grandchild.id)}
    assert len(times) == 1 and None not in times  # one transaction, one time
    assert _ids(tracker.search_runs()) == {other}

    assert tracker.restore_run(parent.id) == [parent.id, child.id, grandchild.id]
    assert _ids(tracker.search_runs()) == {parent.id, child.id, grandchild.id, other}
    tracker.delete_run("parent")
    assert tracker.restore_run(child.id, parent.id) == [parent.id, child.id, grandchild.id]  # each once


def test_restore_brings_back_only_the_runs_deleted_together(tracker):
    with tracker.start_run("parent") as parent:
        with tracker.start_run("early") as early:
            pass
        with tracker.start_run("late") as late:
            pass
    tracker.delete_run(early.id)
    tracker.delete_run(parent.id)
    with pytest.raises(
        RunStateError, match=f"run {early.id[:8]} is nested under run {parent.id[:8]}, which is deleted too"
    ):
        tracker.restore_run(early.id)
    assert tracker.restore_run(parent.id) == [parent.id, late.id]
    assert tracker.get_run(early.id).deleted_time is not None  # deleted on its own, earlier: stays deleted
    assert tracker.restore_run(early.id) == [early.id]


def test_refusals_change_nothing(tracker):
    with tracker.start_run("model-run") as registered:
        tracker.log_model({"w": 1}, "clf")
    Registry(tracker.store, tracker.runs).register_model(registered.id, "clf", name="churn")
    Registry(tracker.store, tracker.runs).register_model(registered.id, "clf", name="churn")
    finished = _run(tracker, "finished")
    active = tracker.start_run("active")

    with pytest.raises(RunStateError, match=f"run {active.id[:8]} is RUNNING; end it before deleting it"):
        tracker.delete_run(finished, active.id)  # all or nothing
    with pytest.raises(
        RunStateError, match=r"is the source of model 'churn' version 1; the registry's audit trail keeps it"
    ):
        tracker.delete_run(registered.id)
    assert tracker.get_run(finished).deleted_time is None and len(tracker.search_runs()) == 3

    tracker.end_run(run=active)
    nested = tracker.start_run("nested", parent=active)  # still running under a run that ended
    with pytest.raises(RunStateError, match=f"run {nested.id[:8]} is RUNNING \\(nested under a run being deleted\\)"):
        tracker.delete_run(active)
    tracker.end_run(run=nested)

    tracker.delete_run(finished)
    with pytest.raises(RunStateError, match="is already deleted; restore it"):
        tracker.delete_run(finished)
    with pytest.raises(RegistryError, match="is deleted; restore it"):
        Registry(tracker.store, tracker.runs).register_model(finished, {"w": 2}, name="churn")
    with pytest.raises(RunStateError, match="is not deleted"):
        tracker.restore_run(registered.id)
    with pytest.raises(RunStateError, match="is not deleted; delete it first"):
        tracker.purge(runs=[registered.id])


# -- purge -------------------------------------------------------------------------------------------
def _rich_run(tracker, name, artifact: bytes):
    """A run with rows in every per-run table."""
    with tracker.start_run(name, params={"lr": 0.1}, tags={"t": "v"}) as run:
        for step in range(5):
            tracker.log_metric("loss", 1 / (step + 1), step=step)
        tracker.log_bytes(artifact, "data.bin")
        tracker.record_cell(f"lr = 0.1  # {name}", execution_count=1, cell_id="c1", outputs=[{"text": name}])
    return tracker.runs.resolve(run.id), run.id


def _rows_per_table(tracker, row_id):
    return {
        table: tracker.store.query(f"SELECT count(*) FROM {table} WHERE run_id = ?", (row_id,))[0][0]
        for table in RUN_TABLES
    }


def test_every_table_with_run_rows_is_purged_and_every_blob_column_is_followed(tracker):
    """Drift guards: a new per-run table or blob column must be known to the purge."""
    conn = tracker.store.conn
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    columns = {(t, c[1]) for t in tables for c in conn.execute(f'PRAGMA table_info("{t}")')}
    assert {t for t, c in columns if c == "run_id"} == {*RUN_TABLES, "model_versions"}  # versions refuse deletion
    assert {(t, c) for t, c in columns if c.endswith("sha256") and t != "blobs"} == set(BLOB_COLUMNS)


def test_purge_removes_every_row_of_the_purged_run_and_nothing_else(tracker):
    gone_row, gone = _rich_run(tracker, "gone", b"gone bytes")
    kept_row, kept = _rich_run(tracker, "kept", b"kept bytes")
    before = _rows_per_table(tracker, kept_row)
    assert all(_rows_per_table(tracker, gone_row).values())  # the test covers every table
    tracker.delete_run(gone)
    report = tracker.purge()
    assert report.runs == (gone,) and report.blobs == 3  # its artifact, cell source and cell outputs
    assert set(_rows_per_table(tracker, gone_row).values()) == {0}
    assert tracker.store.query("SELECT count(*) FROM runs WHERE id = ?", (gone_row,))[0][0] == 0
    assert _rows_per_table(tracker, kept_row) == before
    assert [p.value for p in tracker.metric_history(kept, "loss")] == [1, 0.5, 1 / 3, 0.25, 0.2]
    assert tracker.artifact_bytes(kept, "data.bin") == b"kept bytes"
    assert tuple(tracker.store.query("SELECT runs, blobs, bytes FROM purges")[0]) == (1, 3, report.bytes)
    _healthy(tracker)


def test_purge_selects_by_age_or_by_name(tracker):
    old, new = _run(tracker, "old"), _run(tracker, "new")
    tracker.delete_run(old, new)
    tracker.runs.set_deleted([tracker.runs.resolve(old)], time.time() - 10 * 86400)
    assert tracker.purge(older_than=timedelta(days=5)).runs == (old,)
    assert tracker.search_runs(deleted=True)[0].id == new
    assert tracker.purge(runs=[new]).runs == (new,)


def test_a_purged_runs_row_id_is_never_given_to_a_new_run(tracker):
    """Without AUTOINCREMENT, SQLite reuses the highest freed rowid: late writers holding a row id
    (git provenance, a magic's last run) would then reach a newer run."""
    first, second = _run(tracker, "first"), _run(tracker, "second")
    highest = tracker.runs.resolve(second)
    tracker.delete_run(second)
    tracker.purge(runs=[second])
    tracker.delete_run(first)
    assert tracker.purge(runs=[first], dry_run=True).dry_run  # a dry run records nothing
    assert [r[0] for r in tracker.store.query("SELECT last_run_id FROM purges")] == [highest]
    with tracker.start_run("third") as third:
        pass
    assert third.row_id == highest + 1


def test_gc_removes_exactly_the_unreferenced_blobs(tracker):
    shared, mine_small, mine_big, live_big = b"shared", b"only the deleted run", bytes(BIG), bytes([1]) * BIG
    with tracker.start_run("live") as live:
        tracker.log_bytes(shared, "shared.bin")
        tracker.log_bytes(live_big, "big.bin")
    with tracker.start_run("gone") as gone:
        tracker.log_bytes(shared, "shared.bin")
        tracker.log_bytes(mine_small, "small.bin")
        tracker.log_bytes(mine_big, "big.bin")
    orphan = tracker.store.blobs.put(b"nothing names me")
    folder = tracker.store.blobs.directory / "ab"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ("ab" * 32)).write_bytes(b"a file without a row")  # left by a rolled-back put
    (folder / ".tmp-123").write_bytes(b"half written")
    blobs = tracker.store.blobs
    doomed = {blobs.put(mine_small), blobs.put(mine_big), orphan}
    before, files_before = _blobs(tracker), _files(tracker)
    tracker.delete_run(gone.id)

    dry = tracker.purge(dry_run=True)
    assert (dry.runs, dry.blobs, dry.dry_run) == ((gone.id,), 5, True)
    assert (_blobs(tracker), _files(tracker)) == (before, files_before) and tracker.get_run(gone.id)

    report = tracker.purge()
    assert (
        (report.runs, report.blobs, report.bytes)
        == (dry.runs, dry.blobs, dry.bytes)
        == ((gone.id,), 5, len(mine_small) + BIG + 16 + 20 + 12)
    )
    assert before - _blobs(tracker) == doomed
    assert _files(tracker) == {blobs.put(live_big)}
    assert (
        tracker.artifact_bytes(live.id, "shared.bin") == shared
        and tracker.artifact_bytes(live.id, "big.bin") == live_big
    )
    assert tracker.purge().blobs == 0  # nothing left to collect
    _healthy(tracker)


def test_a_failing_purge_puts_everything_back(tracker):
    with tracker.start_run("gone") as gone:
        tracker.log_bytes(bytes(BIG), "big.bin")
    tracker.delete_run(gone.id)
    before, files_before = _blobs(tracker), _files(tracker)
    tracker.store.conn.execute(
        "CREATE TEMP TRIGGER no_purges BEFORE INSERT ON main.purges BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="disk trouble"):
        tracker.purge()
    assert (_blobs(tracker), _files(tracker)) == (before, files_before)
    assert tracker.get_run(gone.id).deleted_time is not None
    tracker.store.conn.execute("DROP TRIGGER temp.no_purges")
    assert tracker.purge().runs == (gone.id,) and _files(tracker) == set()


def test_registered_model_blobs_survive_gc(tracker):
    with tracker.start_run("model-run") as run:
        tracker.log_model({"weights": [1, 2]}, "clf")
    registry = Registry(tracker.store, tracker.runs)
    registry.register_model(run.id, "clf", name="churn")
    registry.register_model(run.id, {"weights": [3]}, name="churn")  # pickled by the registry
    tracker.delete_run(_run(tracker, "noise"))
    tracker.purge()
    assert registry.load_model("churn", version=1) == {"weights": [1, 2]}
    assert registry.load_model("churn", version=2) == {"weights": [3]}


# -- live snapshots and histories survive ------------------------------------------------------------
@pytest.fixture
def nb_path(tmp_path, monkeypatch):
    path = tmp_path / "nb.ipynb"
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [nbformat.v4.new_code_cell(s) for s in ["%load_ext nbtrack", "%%track -q\nlr = 0.1"]]
    nbformat.write(nb, path)
    monkeypatch.setenv("NBTRACK_NOTEBOOK", str(path))
    return path


def _last(shell):
    return shell.tracker.get_run(shell.ip._nbtrack_extension.hooks.last_run.id)


def _readable(tracker, run):
    """Every blob of the run loads and verifies: snapshot, chunked history with sources and outputs, environment."""
    blobs = tracker.store.blobs
    history = storage.history_notebook(blobs, run)
    nbformat.validate(storage.writable(history))
    nbformat.validate(storage.writable(storage.snapshot_notebook(blobs, run)))
    assert blobs.get(run.provenance["env_sha256"])
    return [cell["source"] for cell in history["cells"]]


def test_purge_keeps_every_blob_of_a_live_runs_chunked_history(shell, nb_path):
    for i in range(70):  # more than one 64-entry chunk
        shell.ok(f"x{i} = {i}\nprint(x{i})")
    shell.ok("%%track -q first\nlr = 0.1")
    first = _last(shell)
    shell.ok("print('between')")
    shell.ok("%%track -q second\nlr = 0.2")
    second = _last(shell)
    history = storage.load_history(shell.tracker.store.blobs, second.provenance["snapshot"]["history_sha256"])
    assert len(history) > storage.CHUNK_SIZE
    tracker = shell.tracker
    tracker.delete_run(first.id)
    report = tracker.purge()
    assert report.runs == (first.id,) and report.blobs >= 1  # first's own history list
    sources = _readable(tracker, second)
    assert sources[:2] == ["%load_ext nbtrack", "x0 = 0\nprint(x0)"] and sources[-1] == "%%track -q second\nlr = 0.2"
    _healthy(tracker)


def test_a_session_keeps_recording_after_all_its_runs_are_purged(shell, nb_path):
    """The plugin remembers which blobs it stored for each executed cell; after a purge removed
    them, the next run must store them again instead of naming blobs that are gone."""
    for i in range(70):
        shell.ok(f"y{i} = {i}")
    shell.ok("%%track -q doomed\nlr = 0.1")
    doomed = _last(shell)
    tracker = shell.tracker
    tracker.delete_run(doomed.id)
    assert tracker.purge().runs == (doomed.id,)
    assert tracker.store.query("SELECT count(*) FROM blobs")[0][0] == 0  # everything went, environment too
    shell.ok("%%track -q after\nlr = 0.2")
    after = _last(shell)
    sources = _readable(tracker, after)
    assert len(sources) == 73 and sources[1] == "y0 = 0" and sources[-1] == "%%track -q after\nlr = 0.2"
    _healthy(tracker)


@pytest.mark.slow
def test_a_live_run_still_reruns_after_a_purge(tmp_path, store_path, tracker):
    from nbclient import NotebookClient

    from nbtrack.repro.rerun import rerun

    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [
        nbformat.v4.new_code_cell(s)
        for s in ["%load_ext nbtrack", "%%track first\na = 1", "%%track second\nacc = 0.5\nn = 3"]
    ]
    path = tmp_path / "exp.ipynb"
    nbformat.write(nb, path)
    env = {**os.environ, "NBTRACK_STORE": str(store_path), "JPY_SESSION_NAME": str(path)}
    NotebookClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute(
        env=env
    )
    first, second = (tracker.search_runs(f"name = '{name}'")[0] for name in ("first", "second"))
    tracker.delete_run(first.id)
    assert tracker.purge().blobs >= 1
    assert rerun(tracker, second.id).verified


# -- surfaces ---------------------------------------------------------------------------------------
def _cli(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_rm_restore_ls_and_gc(tracker, store_path, capsys):
    store = ["--store", str(store_path)]
    keep, gone = _run(tracker, "keep"), _run(tracker, "gone")
    with tracker.start_run("registered") as registered:
        tracker.log_model({"w": 1}, "clf")
    Registry(tracker.store, tracker.runs).register_model(registered.id, "clf", name="churn")

    assert _cli(capsys, *store, "runs", "rm", "gone") == (
        0,
        f"deleted 1 run: {gone[:8]} (`nbtrack runs restore RUN` brings them back; `nbtrack gc` removes them for good)\n",
        "",
    )
    code, out, _ = _cli(capsys, *store, "runs", "ls")
    assert code == 0 and "keep" in out and "gone" not in out
    code, out, _ = _cli(capsys, *store, "runs", "ls", "--deleted")
    assert code == 0 and "gone" in out and "keep" not in out and "deleted" in out.splitlines()[0]
    code, out, _ = _cli(capsys, *store, "runs", "export", "--format", "json")
    assert code == 0 and "gone" not in out
    code, out, _ = _cli(capsys, *store, "runs", "show", gone[:8])
    assert code == 0 and "deleted: 20" in out
    code, out, _ = _cli(capsys, *store, "store", "info")
    assert "runs:           2" in out and "deleted_runs:   1" in out

    code, _, err = _cli(capsys, *store, "runs", "rm", registered.id[:8])
    assert code == 1 and err == (
        f"nbtrack: run {registered.id[:8]} is the source of model 'churn' version 1; "
        "the registry's audit trail keeps it, so it cannot be deleted\n"
    )
    assert _cli(capsys, *store, "runs", "rm", "ffffffff")[0] == 1
    assert _cli(capsys, *store, "runs", "restore", keep)[0] == 1  # not deleted

    assert (
        _cli(capsys, *store, "gc", "--older-than", "1")[1]
        == "removed 0 deleted runs and 0 unreferenced blobs (0 bytes)\n"
    )
    code, out, _ = _cli(capsys, *store, "gc", "--dry-run")
    assert code == 0 and out.startswith("would remove 1 deleted run and ")
    assert _cli(capsys, *store, "runs", "restore", "gone")[1] == f"restored 1 run: {gone[:8]}\n"
    code, out, _ = _cli(capsys, *store, "runs", "rm", gone, "--purge")
    assert code == 0 and out.startswith("removed 1 deleted run and ")
    assert _cli(capsys, *store, "runs", "show", gone)[0] == 1  # gone for good
    assert _cli(capsys, *store, "gc", "--older-than", "-1")[0] == 1
    _healthy(tracker)


def test_magics_rm_undelete_ls_and_show(shell, capsys):
    shell.ok("%%track -q keep\na = 1")
    shell.ok("%%track -q gone\nb = 2")
    gone = _last(shell)
    capsys.readouterr()
    shell.ok(f"%track rm {gone.id[:8]}")
    assert (
        capsys.readouterr().out
        == f"nbtrack: deleted 1 run: {gone.id[:8]} (`%track undelete {gone.id[:8]}` brings them back)\n"
    )
    assert [r.name for r in shell.ip.run_line_magic("track", "ls")] == ["keep"]
    assert [r.name for r in shell.ip.run_line_magic("track", "ls --deleted")] == ["gone"]
    assert "deleted" in str(shell.ip.run_line_magic("track", f"show {gone.id}"))
    shell.ok("%track store")
    assert "1 runs in 1 experiments, 1 deleted)" in capsys.readouterr().out
    shell.ok(f"%track rm {gone.id[:8]}")
    assert (
        capsys.readouterr().err
        == f"RunStateError: run {gone.id[:8]} is already deleted; restore it first (restore_run, %track undelete or nbtrack runs restore)\n"
    )
    shell.ok("%track tag stage=dev")  # the session's last run is deleted: refused, not written to
    assert (
        capsys.readouterr().err
        == f"UsageError: the last run of this session ({gone.id[:8]}) is deleted; %track undelete {gone.id[:8]} first\n"
    )
    shell.ok("%track undelete gone")
    assert capsys.readouterr().out == f"nbtrack: restored 1 run: {gone.id[:8]}\n"
    assert [r.name for r in shell.ip.run_line_magic("track", "ls")] == ["gone", "keep"]
    shell.ok("%track tag stage=dev")
    assert shell.tracker.get_run(gone.id).tags == {"stage": "dev"}
    shell.tracker.delete_run(gone.id)
    shell.tracker.purge(runs=[gone.id])
    capsys.readouterr()
    shell.ok("%track note purged meanwhile")  # no raw foreign-key error
    assert (
        capsys.readouterr().err
        == f"UsageError: the last run of this session ({gone.id[:8]}) was purged; start a new run\n"
    )


def test_api_delete_and_restore(tracker):
    import nbtrack

    nbtrack.api.use(tracker)
    try:
        run = _run(tracker, "api")
        assert nbtrack.delete_run(run) == [run]
        assert nbtrack.search_runs() == [] and [r.id for r in nbtrack.search_runs(deleted=True)] == [run]
        assert nbtrack.restore_run(run) == [run]
    finally:
        nbtrack.api.use(None)


def test_a_late_git_answer_never_lands_on_a_run_that_reused_a_purged_row_id(tracker, tmp_path, monkeypatch):
    """Git answers after the run ended; if the run was purged meanwhile, its row id may already
    belong to the next run, whose provenance must stay its own (this clobbered snapshots).

    Purges now record the highest row id they removed and new runs are numbered above it, but
    a purge made before schema 0004 recorded none: that store can still reuse a row id, as here."""
    import threading

    class SlowGit:  # git's answer, held until the test releases it
        def __init__(self):
            self.release = threading.Event()

        def done(self):
            return self.release.is_set()

        def result(self, timeout=None):
            self.release.wait(timeout)
            return {"commit": "a" * 40, "dirty": True} if self.release.is_set() else None

    monkeypatch.chdir(tmp_path)  # not a repository: the only git answer is the one held here
    slow = SlowGit()
    with tracker.start_run("purged") as purged:
        pass
    tracker.git.write_later(purged.row_id, purged.id, slow)
    tracker.delete_run(purged.id)
    tracker.purge()
    with tracker.store.atomic() as conn:
        conn.execute("UPDATE purges SET last_run_id = NULL")  # as an nbtrack before 0004 purged
    with tracker.start_run("next") as nxt:
        pass
    assert nxt.row_id == purged.row_id  # SQLite hands the freed row id to the next run
    before = tracker.get_run(nxt.id).provenance
    slow.release.set()
    tracker.git.join()
    after = tracker.get_run(nxt.id)
    assert after.provenance == before and "git" not in after.provenance and after.provenance.get("git_commit") is None
