"""``nbtrack models ...`` through the real ``main([...])`` and once through a real subprocess."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

from nbtrack.cli import main
from nbtrack.registry import Registry


@pytest.fixture
def registry(tracker, clock):
    """Model 'fraud' with versions 1..3 (f1 0.80, 0.85, 0.83); version 1 in Production."""
    registry = Registry(tracker.store, runs=tracker.runs, clock=clock)
    for f1 in (0.80, 0.85, 0.83):
        with tracker.start_run() as run:
            tracker.log_metric("f1", f1)
            tracker.log_model({"f1": f1}, "clf")
        registry.register_model(run, "clf", "fraud")
    clock.now += 100
    registry.transition_stage("fraud", 1, "Production")
    return registry


def cli(store_path, *argv: str) -> int:
    return main(["--store", str(store_path), *argv])


def stages(registry) -> dict[int, str]:
    return {v.version: v.stage for v in registry.get_model("fraud").versions}


def test_promote_with_a_passing_gate(registry, store_path, capsys):
    code = cli(
        store_path,
        "models",
        "promote",
        "fraud",
        "2",
        "--to",
        "Production",
        "--require",
        "metrics.f1 >= production.metrics.f1",
        "--require",
        "metrics.f1 > 0.5",
        "-c",
        "better f1",
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "PASS  metrics.f1 >= production.metrics.f1  ->  0.85 >= 0.8" in out and "(archived version 1)" in out
    assert stages(registry) == {1: "Archived", 2: "Production", 3: "None"}
    event = registry.history("fraud")[-1]
    assert (event.comment, [g["passed"] for g in event.details["gate"]]) == ("better f1", [True, True])


def test_promote_with_a_failing_gate_exits_1_and_changes_nothing(registry, store_path, capsys):
    registry.transition_stage("fraud", 2, "Production")
    before = (stages(registry), len(registry.history("fraud")))
    code = cli(
        store_path,
        "models",
        "promote",
        "fraud",
        "3",
        "--to",
        "Production",
        "--require",
        "metrics.f1 > 0.5",
        "--require",
        "metrics.f1 >= production.metrics.f1",
    )
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0] == "PASS  metrics.f1 > 0.5  ->  0.83 > 0.5   [metrics.f1 = 0.83]"
    assert lines[1] == (
        "FAIL  metrics.f1 >= production.metrics.f1  ->  0.83 >= 0.85   "
        "[metrics.f1 = 0.83, production.metrics.f1 = 0.85; production is version 2]"
    )
    assert "version 3 stays None; nothing was changed" in lines[2]
    assert (stages(registry), len(registry.history("fraud"))) == before


@pytest.mark.slow
def test_a_failing_gate_in_a_real_subprocess(registry, store_path):
    script = "import sys; from nbtrack.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "--store",
            str(store_path),
            "models",
            "promote",
            "fraud",
            "2",
            "--to",
            "Production",
            "--require",
            "metrics.f1 >= 0.99",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "FAIL  metrics.f1 >= 0.99  ->  0.85 >= 0.99" in proc.stderr
    assert stages(registry) == {1: "Production", 2: "None", 3: "None"}


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["models", "promote", "nobody", "1", "--to", "Production"], 1, "no registered model named 'nobody'"),
        (["models", "promote", "fraud", "9", "--to", "Production"], 1, "has no version 9"),
        (["models", "promote", "fraud", "1", "--to", "Production"], 1, "already in Production"),
        (["models", "promote", "fraud", "1", "--to", "None"], 1, "cannot go from Production back to None"),
        (["models", "promote", "fraud", "2", "--to", "Production", "--no-archive"], 1, "holds Production"),
        (["models", "promote", "fraud", "2", "--to", "Production", "--require", "f1 > 0"], 1, "is not a reference"),
        (["models", "at", "fraud", "--time", "yesterday"], 1, "ISO 8601"),
        (["models", "alias", "fraud", "champion"], 1, "say which version"),
    ],
)
def test_usage_and_not_found_exit_1(registry, store_path, capsys, argv, code, message):
    before = (stages(registry), len(registry.history("fraud")))
    assert cli(store_path, *argv) == code
    assert message in capsys.readouterr().err
    assert (stages(registry), len(registry.history("fraud"))) == before


def test_store_errors_exit_2(tmp_path, capsys):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "nbtrack.db").write_bytes(b"not a database at all, not even close")
    assert main(["--store", str(tmp_path / "junk"), "models", "ls"]) == 2
    assert "not an nbtrack store" in capsys.readouterr().err


def test_ls_show_alias_history(registry, store_path, capsys):
    assert cli(store_path, "models", "alias", "fraud", "champion", "1", "-c", "current best") == 0
    assert cli(store_path, "models", "alias", "fraud", "challenger", "2") == 0
    assert cli(store_path, "models", "ls") == 0
    assert cli(store_path, "models", "show", "fraud") == 0
    assert cli(store_path, "models", "show", "fraud", "champion") == 0
    out = capsys.readouterr().out
    assert "fraud  3" in out and "champion=1" in out and "uri: models:/fraud/1" in out
    assert cli(store_path, "models", "alias", "fraud", "challenger", "--delete") == 0
    assert cli(store_path, "models", "history", "fraud", "--json") == 0
    events = json.loads(capsys.readouterr().out.split("\n", 1)[1])["events"]
    assert [(e["action"], e["key"], e["from"], e["to"]) for e in events[-3:]] == [
        ("set_alias", "champion", None, "1"),
        ("set_alias", "challenger", None, "2"),
        ("delete_alias", "challenger", "2", None),
    ]


def test_at_replays_three_promotions(registry, store_path, clock, capsys):
    times = [clock.now]  # version 1 was promoted at this time by the fixture
    for version in (2, 3):
        clock.now += 100
        registry.transition_stage("fraud", version, "Production")
        times.append(clock.now)
    holders = []
    for moment in (times[0] - 1, times[0], times[1] - 0.5, times[1], times[2] + 50):
        iso = dt.datetime.fromtimestamp(moment).isoformat()
        assert cli(store_path, "models", "at", "fraud", "--time", iso) == 0
        line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("Production"))
        holders.append(line.split()[-1])
    assert holders == ["-", "1", "1", "2", "3"]
    assert cli(store_path, "models", "at", "fraud", "--time", str(times[1])) == 0
    assert "Archived       1" in capsys.readouterr().out
