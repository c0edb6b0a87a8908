"""The ``nbtrack`` command line: runs ls/show/export, store info, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from nbtrack.cli import main


@pytest.fixture
def populated(tracker, store_path):
    for name, model, f1 in [("gbm", "gbm", 0.91), ("rf", "rf", 0.85), ("lr", "lr", 0.70)]:
        with tracker.start_run(name, tags={"team": "churn"}, params={"model": model, "depth": 3}):
            tracker.log_metric("f1", f1)
    tracker.flush()
    return store_path


def run_cli(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_runs_ls_with_query_and_order(populated, capsys):
    code, out, err = run_cli(
        ["--store", str(populated), "runs", "ls", "metrics.f1 > 0.8", "--order-by", "metrics.f1 desc"], capsys
    )
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert "gbm" in lines[2] and "rf" in lines[3] and len(lines) == 4


def test_runs_show(populated, tracker, capsys):
    run = tracker.search_runs("name = 'rf'")[0]
    code, out, _ = run_cli(["--store", str(populated), "runs", "show", run.id[:6]], capsys)
    assert code == 0 and run.id in out and "f1: 0.85" in out and "model: rf" in out


def test_runs_export_csv_and_json(populated, capsys):
    code, out, _ = run_cli(
        ["--store", str(populated), "runs", "export", "--format", "csv", "--order-by", "name"], capsys
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [r["name"] for r in rows] == ["gbm", "lr", "rf"]
    assert rows[0]["params.model"] == "gbm" and float(rows[0]["metrics.f1"]) == 0.91 and rows[0]["tags.team"] == "churn"
    code, out, _ = run_cli(
        ["--store", str(populated), "runs", "export", "--format", "json", "tags.team = 'churn'"], capsys
    )
    records = json.loads(out)
    assert code == 0 and {r["name"] for r in records} == {"gbm", "rf", "lr"} and records[0]["params"]["depth"] == 3


def test_experiments(populated, tracker, capsys):
    tracker.set_experiment("other")
    with tracker.start_run("x"):
        pass
    code, out, _ = run_cli(["--store", str(populated), "experiments"], capsys)
    lines = out.splitlines()
    assert code == 0 and lines[2].split()[:2] == ["other", "1"] and lines[3].split()[:2] == ["Default", "3"]


def test_store_info(populated, capsys):
    code, out, _ = run_cli(["--store", str(populated), "store", "info"], capsys)
    assert code == 0 and "schema version" in out and "runs:" in out and "3" in out


@pytest.mark.parametrize(
    "args, expected",
    [
        (["runs", "show", "ffffffff"], 1),  # not found
        (["runs", "ls", "metrics.f1 >"], 1),  # bad query
        (["runs", "show", "ab"], 1),  # bad id
        (["runs", "frobnicate"], 1),  # usage
    ],
)
def test_exit_codes(populated, capsys, args, expected):
    code, _, err = run_cli(["--store", str(populated), *args], capsys)
    assert code == expected and "nbtrack: " in err and err.count("\n") <= 4


def test_missing_store_is_exit_2(tmp_path, capsys):
    code, _, err = run_cli(["--store", str(tmp_path / "nowhere"), "runs", "ls"], capsys)
    assert code == 2 and "no nbtrack store" in err


@pytest.mark.slow
def test_console_script_entry_point(populated):
    proc = subprocess.run(
        [sys.executable, "-m", "nbtrack", "--store", str(populated), "runs", "ls", "name = 'gbm'"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and "gbm" in proc.stdout


def _commands(parser, path=()):
    """(path, parser) of every command and sub-command."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _commands(sub, (*path, name))


def test_every_command_takes_store_after_it_too():
    from nbtrack.cli import build_parser

    commands = list(_commands(build_parser()))
    assert {("demo",), ("runs", "ls"), ("models", "promote")} <= {path for path, _ in commands}
    missing = [" ".join(path) for path, sub in commands if "--store" not in sub._option_string_actions]
    assert missing == []


@pytest.mark.parametrize("where", ["after", "both"])
def test_store_after_the_command_is_the_store_used(populated, tmp_path, capsys, where):
    before = ["--store", str(tmp_path / "elsewhere")] if where == "both" else []
    code, out, err = run_cli([*before, "runs", "ls", "name = 'gbm'", "--store", str(populated)], capsys)
    assert code == 0 and err == "" and "gbm" in out
    code, out, _ = run_cli(["store", "info", "-s", str(populated)], capsys)
    assert code == 0 and str(populated) in out
