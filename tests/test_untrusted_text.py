"""Untrusted text stays inert: terminal output shows control characters escaped, CSV exports
cannot run as spreadsheet formulas, and ``import mlflow`` copies files only from under its
artifact roots."""

from __future__ import annotations

import csv
import io
import pickle
import shutil
import sqlite3
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output

from nbtrack.cli import main

# an OSC 8 hyperlink, clear screen + cursor home, colour, bell, backspace, lone CR, C1 CSI, RTL override
HOSTILE_NAME = "evil\x1b]8;;https://attacker.example/\x07click\x1b]8;;\x07"
HOSTILE_PARAM = "\x1b[2J\x1b[Hfake prompt$ "
HOSTILE_TAG = "\x1b[31mred\x1b[0m\x08\x08"
HOSTILE_NOTE = "line one\rOVERWRITTEN\nline two \u202etxt.exe\x9b31m"
RAW_CONTROLS = ["\x1b", "\x07", "\x08", "\u202e", "\x9b"]
MLFLOW_FIXTURE = Path(__file__).parent / "fixtures" / "mlflow"


@pytest.fixture
def hostile_store(tracker, store_path):
    # names (keys) refuse C0 controls, but C1 controls and direction overrides get through
    with tracker.start_run(
        HOSTILE_NAME,
        experiment="team\u202egpj.exe\x9b2J",
        params={"p": HOSTILE_PARAM, "lr": 0.1},
        tags={"t": HOSTILE_TAG, "key\u202e": "v"},
    ) as run:
        tracker.log_metric("f1", 0.5)
        tracker.set_note(HOSTILE_NOTE)
    tracker.flush()
    return store_path, run.id


def _cli(args, capsys) -> str:
    assert main(args) == 0
    out = capsys.readouterr()
    return out.out + out.err


def _assert_inert(text: str) -> None:
    assert not [c for c in RAW_CONTROLS if c in text], repr(text)
    assert "\r" not in text.replace("\r\n", "")  # a lone CR would overwrite the line on screen


@pytest.mark.parametrize(
    "command",
    [
        ["runs", "ls"],
        ["runs", "show", "RUN"],
        ["runs", "export", "--format", "csv"],
        ["runs", "export", "--format", "csv", "--raw"],
        ["runs", "export", "--format", "json"],
        ["experiments"],
        ["runs", "show", "\x1b[2Jnope"],
    ],
)
def test_cli_text_output_escapes_control_characters(hostile_store, capsys, command):
    store, run_id = hostile_store
    args = ["--store", str(store), *[run_id if a == "RUN" else a for a in command]]
    code = main(args)
    out = capsys.readouterr()
    assert code == (1 if "nope" in command[-1] else 0)
    _assert_inert(out.out + out.err)
    if command[:2] == ["runs", "show"] and code == 0:
        assert "\\x1b]8;;https://attacker.example/\\x07click" in out.out  # shown, as text
        assert "line one\\x0dOVERWRITTEN" in out.out and "\\u202etxt.exe" in out.out


def test_run_details_keep_user_text_inside_its_section(hostile_store, tracker):
    from nbtrack.display import RunDetails

    run = tracker.get_run(hostile_store[1])
    text = str(RunDetails(run))
    _assert_inert(text)
    assert "\n    line two" in text  # a note's later lines are indented: they cannot pose as a section


def test_tracked_cell_summary_and_show_are_inert(shell):
    with capture_output() as out:
        shell.ok(f"%%track {HOSTILE_NAME.replace(' ', '_')!s}\nmode = {HOSTILE_PARAM!r}\nacc = 0.5")
        shell.ok("%track ls")
        shell.ok("%track show")
    _assert_inert(out.stdout)
    assert "mode=\\x1b[2J\\x1b[Hfake" in out.stdout


def test_inert_keeps_ordinary_text():
    from nbtrack.display.format import inert

    text = "naïve café — 東京 ✓\n\tindented"
    assert inert(text) == text
    assert inert("a\nb\tc", "line") == "a\\x0ab\\x09c"
    assert inert("row\r\n", "stream") == "row\r\n" and inert("a\rb", "stream") == "a\\x0db"


def _export(store, capsys, *extra) -> list[dict]:
    text = _cli(["--store", str(store), "runs", "export", "--format", "csv", *extra], capsys)
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_export_neutralises_formulas_unless_raw(tracker, store_path, capsys):
    formulas = {
        "link": '=HYPERLINK("https://attacker.example","click")',
        "at": "@SUM(A1:A9)",
        "plus": "+1+cmd|' /C calc'!A0",
        "minus": "-2+3",
        "tab": "\tx",
        "cr": "\rx",
    }
    with tracker.start_run(
        "=1+1", params={**formulas, "neg": -0.5, "neg_text": "-0.5", "big": -1e9}, tags={"t": "=cmd()"}
    ) as run:
        tracker.log_metric("loss", -0.25)
        tracker.log_metric("ninf", float("-inf"))
    tracker.flush()
    (row,) = _export(store_path, capsys)
    assert row["name"] == "'=1+1" and row["tags.t"] == "'=cmd()"
    for key, value in formulas.items():
        assert row[f"params.{key}"].startswith("'"), key
    assert row["params.link"] == "'" + formulas["link"]
    # numbers stay numbers: a spreadsheet reads them as values, not formulas
    assert (row["params.neg"], row["params.neg_text"], row["params.big"]) == ("-0.5", "-0.5", "-1000000000.0")
    assert (row["metrics.loss"], row["metrics.ninf"]) == ("-0.25", "-inf")
    (raw,) = _export(store_path, capsys, "--raw")
    assert raw["name"] == "=1+1" and raw["params.link"] == formulas["link"] and raw["params.at"] == "@SUM(A1:A9)"
    assert raw["id"] == row["id"] == run.id


@pytest.fixture
def mlflow_dir(tmp_path) -> Path:
    target = tmp_path / "mlflow-project"
    shutil.copytree(MLFLOW_FIXTURE, target)
    return target


@pytest.fixture
def outside(tmp_path) -> Path:
    folder = tmp_path / "home" / ".ssh"
    folder.mkdir(parents=True)
    (folder / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY----- do not copy me")
    (folder / "model.pkl").write_bytes(pickle.dumps({"not": "yours"}))
    return folder


def _set(db: Path, sql: str, *args) -> None:
    conn = sqlite3.connect(db)
    conn.execute(sql, args)
    conn.commit()
    conn.close()


def _store_holds(tracker, needle: bytes) -> bool:
    return any(
        needle in tracker.store.blobs.get(sha) for (sha,) in tracker.store.conn.execute("SELECT sha256 FROM blobs")
    )


@pytest.mark.parametrize("uri", ["ABS", "file://ABS", "RELATIVE", "mlflow-artifacts:/../../home/.ssh"])
def test_import_mlflow_copies_artifacts_only_from_under_its_roots(tracker, mlflow_dir, outside, uri):
    from nbtrack.importers import import_mlflow

    relative = str(mlflow_dir / "mlruns" / ".." / ".." / "home" / ".ssh")
    recorded = uri.replace("ABS", str(outside)).replace("RELATIVE", relative)
    _set(mlflow_dir / "mlflow.db", "UPDATE runs SET artifact_uri = ? WHERE name = 'logreg'", recorded)
    report = import_mlflow(tracker, mlflow_dir / "mlflow.db", models=False)
    (run,) = [r for r in tracker.search_runs() if r.name == "logreg"]
    assert tracker.get_run(run.id).artifacts == ()
    assert not _store_holds(tracker, b"do not copy me")
    refusal = [w for w in report.warnings if w.startswith(f"run {run.id[:8]}: artifacts not copied: ")]
    assert len(refusal) == 1 and "is outside the artifact roots" in refusal[0] and "--artifacts-root" in refusal[0]
    assert str(mlflow_dir / "mlruns") in refusal[0]  # names the roots it allows
    assert report.artifacts > 0  # the other runs' artifacts, under mlruns, still arrive


def test_import_mlflow_follows_an_outside_folder_given_as_a_root(tracker, mlflow_dir, outside):
    from nbtrack.importers import import_mlflow

    _set(mlflow_dir / "mlflow.db", "UPDATE runs SET artifact_uri = ? WHERE name = 'logreg'", str(outside))
    import_mlflow(tracker, mlflow_dir / "mlflow.db", artifacts_root=outside.parent, models=False)
    (run,) = [r for r in tracker.search_runs() if r.name == "logreg"]
    assert {a.name for a in tracker.get_run(run.id).artifacts} == {"id_rsa", "model.pkl"}  # the user vouched for it


def test_import_mlflow_model_files_only_from_under_its_roots(tracker, mlflow_dir, outside):
    from nbtrack.importers import import_mlflow

    _set(mlflow_dir / "mlflow.db", "UPDATE model_versions SET storage_location = ? WHERE version = 1", str(outside))
    report = import_mlflow(tracker, mlflow_dir / "mlflow.db")
    assert not _store_holds(tracker, pickle.dumps({"not": "yours"}))
    assert any(
        "version 1" in w and "is outside the artifact roots" in w and str(outside) in w for w in report.warnings
    ), report.warnings


def test_import_mlflow_names_the_symbolic_links_it_does_not_follow(tracker, mlflow_dir, outside):
    from nbtrack.importers import import_mlflow

    (run_uuid,) = (
        sqlite3.connect(mlflow_dir / "mlflow.db").execute("SELECT run_uuid FROM runs WHERE name = 'gbm'").fetchone()
    )
    artifacts = mlflow_dir / "mlruns" / "1" / run_uuid / "artifacts"
    (artifacts / "key.txt").symlink_to(outside / "id_rsa")
    (artifacts / "linked").symlink_to(outside, target_is_directory=True)
    report = import_mlflow(tracker, mlflow_dir / "mlflow.db", models=False)
    assert {a.name for a in tracker.get_run(run_uuid).artifacts} == {"cfg.json", "notes/hello.txt"}
    assert not _store_holds(tracker, b"do not copy me")
    named = [w for w in report.warnings if w.startswith(f"run {run_uuid[:8]}: artifact ")]
    assert named == [
        f"run {run_uuid[:8]}: artifact {n} not copied: a symbolic link (it may point anywhere)"
        for n in ("key.txt", "linked")
    ]
