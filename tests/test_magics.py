"""%%track and %track in a real InteractiveShell."""

from __future__ import annotations

import re

import pytest
from IPython.utils.capture import capture_output

from nbtrack.entities import FAILED, FINISHED, KILLED

CELLS = [
    "x = 41\nprint('hello', x)\nx + 1",
    "import sys\nprint('to stderr', file=sys.stderr)\n'value'",
    "from IPython.display import display, HTML\ndisplay(HTML('<b>hi</b>'))\nNone",
    "lr = 0.1\nfor i in range(3):\n    print(i)\n",
    "def f():\n    return 1\nf()",
    "raise ValueError('bad input')",
    "1/0",
    "def broken(:\n    pass",
    "y = [1, 2, 3]\ny",
    # the capture of data inputs and estimators reads the namespace after the cell: still invisible
    "import numpy as np\nglobals().setdefault('frame', np.ones((3, 2)))\nprint(frame.shape)\nfloat(frame.sum())",
    "class Broken:\n    def get_params(self, deep=True):\n        raise RuntimeError('no params')\nmodel = Broken()\n'fitted'",
]


def _observe(shell, code):
    """What the user sees of a cell, with execution counts normalized (the two runs differ only there)."""
    with capture_output() as captured:
        result = shell.run(code)
    error = result.error_before_exec or result.error_in_exec

    def normal(text):
        # execution counts differ between the two runs, and traceback line numbers are one
        # higher in the tracked cell because the user's %%track line is line 1 of that cell
        text = re.sub(r"(Out|In)\[\d+\]", r"\1[N]", text)
        text = re.sub(r"line \d+", "line N", text)
        return "\n".join(l for l in text.splitlines() if not re.match(r"^(---->)?\s*\d+ ", l))

    return (
        normal(captured.stdout),
        normal(captured.stderr),
        [o.data for o in captured.outputs],
        result.result,
        type(error).__name__ if error else None,
        normal(re.sub(r"<ipython-input-[\w-]+>", "<cell>", str(error))) if error else None,
        result.success,
    )


@pytest.mark.parametrize("code", CELLS)
def test_tracking_never_changes_the_cell(shell, code):
    """Same prints, same displays, same Out value, same exception, with and without %%track."""
    plain = _observe(shell, code)
    tracked = _observe(shell, "%%track --quiet\n" + code)
    assert tracked == plain


def test_traceback_line_numbers_point_into_the_users_cell(shell):
    """The %%track line stays line 1, so tracebacks name the line the user sees in the editor."""
    with capture_output() as tracked:
        shell.run("%%track --quiet\na = 1\nb = 2\n1/0")
    assert "line 4" in tracked.stdout and "----> 4 1/0" in tracked.stdout


def test_params_and_metrics_captured(shell):
    shell.ok(
        "%%track churn-gbm --tag team=churn --params model_obj_name\n"
        "lr = 0.1\ndepth: int = 3\nlayers = [64, 32]\nuse_bias = True\nname = 'gbm'\n"
        "model_obj_name = 'x' + 'y'\n"
        "computed = lr * 2\n"  # not a literal: not captured
        "if False:\n    never = 1\n"  # branch not taken: not captured
        "if True:\n    taken = 'yes'\n"
        "accuracy = 0.91\nval_loss = 0.23\nf1 = 0.88\n"
    )
    run = shell.tracker.get_run(shell.tracker.search_runs(max_results=1)[0].id)
    assert run.name == "churn-gbm" and run.status == FINISHED and run.tags == {"team": "churn"}
    assert run.params == {
        "lr": 0.1,
        "depth": 3,
        "layers": [64, 32],
        "use_bias": True,
        "name": "gbm",
        "model_obj_name": "xy",
        "taken": "yes",
    }
    assert {k: m.last for k, m in run.metrics.items()} == {"accuracy": 0.91, "val_loss": 0.23, "f1": 0.88}


def test_api_calls_inside_cell_log_into_the_cell_run(shell):
    shell.ok(
        "%%track --quiet\nimport nbtrack\nfor epoch in range(3):\n    nbtrack.log_metric('loss', 1 / (epoch + 1))\nnbtrack.set_tag('stage', 'dev')"
    )
    run = shell.tracker.search_runs(max_results=1)[0]
    assert run.metrics["loss"].count == 3 and run.tags["stage"] == "dev"
    assert shell.tracker.active_run() is None


def test_tracked_cell_after_logging_outside_a_run_is_top_level(shell):
    shell.ok("import nbtrack\nnbtrack.log_metric('warmup', 1.0)")  # auto-starts a run that stays open
    shell.ok("%%track --quiet model\nnbtrack.log_metric('f1', 0.9)")
    shell.ok("nbtrack.log_metric('warmup', 2.0)")
    runs = {r.name: r for r in shell.tracker.search_runs()}
    assert runs["model"].parent_id is None and runs["model"].status == FINISHED
    assert set(runs["model"].metrics) == {"f1"}
    auto = shell.tracker.active_run()
    assert auto is not None and auto.name is None
    shell.tracker.end_run()
    assert shell.tracker.get_run(auto.id).metrics["warmup"].count == 2


def test_rerun_makes_new_linked_run(shell):
    cell = "%%track --quiet\nalpha = 1\n"
    shell.ok(cell)
    shell.ok(cell)
    runs = shell.tracker.search_runs()
    assert len(runs) == 2 and runs[0].id != runs[1].id
    assert runs[0].cell_key == runs[1].cell_key is not None


def test_failing_cell_records_failed_run_with_traceback(shell):
    result = shell.run("%%track --quiet\nz = 5\nraise RuntimeError('model diverged')")
    assert isinstance(result.error_in_exec, RuntimeError)
    run = shell.tracker.search_runs(max_results=1)[0]
    assert run.status == FAILED and "model diverged" in run.error and "line 3" in run.error
    assert run.params == {"z": 5}


def test_syntax_error_records_failed_run(shell):
    shell.run("%%track --quiet\ndef broken(:\n    pass")
    run = shell.tracker.search_runs(max_results=1)[0]
    assert run.status == FAILED and "SyntaxError" in run.error


def test_keyboard_interrupt_records_killed(shell):
    result = shell.run("%%track --quiet\nraise KeyboardInterrupt")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert shell.tracker.search_runs(max_results=1)[0].status == KILLED


def test_summary_line(shell):
    with capture_output() as captured:
        shell.ok("%%track demo\nacc = 0.5\nlr = 0.01")
    line = captured.stdout.strip().splitlines()[-1]
    assert line.startswith("nbtrack: run ") and "'demo' FINISHED" in line and "lr=0.01" in line and "acc=0.5" in line
    assert " · data " not in line
    shell.ok("import numpy as np\nX = np.ones((4, 2))\ny = np.zeros(4)")
    with capture_output() as captured:
        shell.ok("%%track fit\nacc = float((X.sum(axis=1) > y).mean())")
    assert " · data X, y · " in captured.stdout  # the names; the fingerprints are in %track show


def test_bad_arguments_one_line_error_and_cell_not_run(shell):
    with capture_output() as captured:
        shell.run("%%track --tag novalue\nran = True")
    assert "ran" not in shell.ns
    assert "expected key=value" in captured.stderr and "Traceback" not in captured.stderr + captured.stdout
    assert shell.tracker.search_runs() == []


def test_span_runs(shell):
    shell.ok("%track start training --tag kind=span")
    shell.ok("epochs = 3")
    shell.ok("import nbtrack\nnbtrack.log_metric('loss', 0.5)")
    shell.ok("%track log auc=0.77 optimizer='adam'")
    shell.ok("%track end")
    run = shell.tracker.search_runs(max_results=1)[0]
    assert run.name == "training" and run.status == FINISHED and run.tags == {"kind": "span"}
    assert run.params == {"epochs": 3, "optimizer": "adam"} and run.metrics["auc"].last == 0.77
    sources = [c.source for c in shell.tracker.runs.cells(shell.tracker.runs.resolve(run.id))]
    assert sources[:2] == ["epochs = 3", "import nbtrack\nnbtrack.log_metric('loss', 0.5)"]


def test_line_magic_subcommands(shell):
    shell.ok("%track experiment churn")
    shell.ok("%%track --quiet first\nacc = 0.7")
    listing = str(shell.ok("%track experiment").result)
    assert "* churn" in listing and " 1 " in listing
    shell.ok("%track tag owner=ana")
    shell.ok("%track note looks promising")
    run = shell.tracker.search_runs(max_results=1)[0]
    assert run.experiment == "churn" and run.tags == {"owner": "ana"} and run.note == "looks promising"
    listing = shell.ok("%track ls metrics.acc > 0.5").result
    assert len(listing) == 1 and "first" in listing._repr_html_()
    details = shell.ok(f"%track show {run.id[:6]}").result
    assert run.id in str(details)


def test_user_errors_are_one_line(shell):
    with capture_output() as captured:
        shell.run("%track show nosuchrun")
        shell.run("%track ls metrics.f1 >")
        shell.run("%track frobnicate")
    lines = [l for l in captured.stderr.splitlines() if l.strip() and not l.startswith(" ")]
    assert len(lines) == 3 and "Traceback" not in captured.stderr + captured.stdout


def test_help_lists_every_subcommand(shell):
    from nbtrack.magics.parser import subcommands

    doc = shell.ip.find_magic("track").__doc__
    for name in subcommands():
        assert f"%track {name}" in doc


def test_reload_registers_nothing_twice(shell):
    shell.ok("%reload_ext nbtrack")
    shell.ok("%reload_ext nbtrack")
    ip = shell.ip
    from nbtrack.hooks import strip_track_line

    assert ip.input_transformers_cleanup.count(strip_track_line) == 1
    assert sum("CellHooks" in repr(cb) for cb in ip.events.callbacks["pre_run_cell"]) == 1
    shell.ok("%%track --quiet\nq = 1")
    assert len(shell.tracker.search_runs()) == 1


def test_unload_removes_everything(shell):
    shell.ok("%unload_ext nbtrack")
    ip = shell.ip
    assert "track" not in ip.magics_manager.magics["line"] and "track" not in ip.magics_manager.magics["cell"]
    assert not any(
        "CellHooks" in repr(cb) for cb in ip.events.callbacks["pre_run_cell"] + ip.events.callbacks["post_run_cell"]
    )
    from nbtrack.hooks import strip_track_line

    assert strip_track_line not in ip.input_transformers_cleanup


def test_config_traits(shell):
    shell.ok("%config TrackMagics.metric_patterns = ['score*']")
    shell.ok("%config TrackMagics.quiet = True")
    with capture_output() as captured:
        shell.ok("%%track\nscore_a = 0.3\nacc = 0.9")
    assert captured.stdout == ""
    run = shell.tracker.search_runs(max_results=1)[0]
    assert set(run.metrics) == {"score_a"} and run.params == {"acc": 0.9}  # literal, no longer a metric name


def test_store_unavailable_warns_and_cell_still_runs(shell, tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    shell.ok(f"%config TrackMagics.store = '{blocker / 'sub'}'")
    with capture_output() as captured:
        result = shell.run("%%track\nvalue = 6 * 7\nvalue")
    assert result.result == 42 and result.success
    assert captured.stderr.count("nbtrack:") == 1 and "not fully recorded" in captured.stderr


def test_quoted_query_and_options(shell):
    shell.ok("%track experiment 'churn team'")
    shell.ok("%%track --quiet 'my run' --tag note='two words'\nf1 = 0.9")
    run = shell.tracker.search_runs(max_results=1)[0]
    assert run.name == "my run" and run.tags == {"note": "two words"} and run.experiment == "churn team"
    listing = shell.ok("%track ls experiment = 'churn team' and name like 'my%' --order-by \"metrics.f1 desc\"").result
    assert [r.id for r in listing] == [run.id]


def test_api_logging_is_paused_after_a_store_refusal_and_resumes_next_cell(shell):
    """In a notebook a refusing store costs one line per cell, never an exception in user code."""
    shell.ok("%%track --quiet\nwarm = 1")
    tracker = shell.tracker
    tracker.store.conn.execute("PRAGMA query_only = ON")
    with capture_output() as captured:
        result = shell.run(
            "import nbtrack\nwith nbtrack.start_run('x'):\n    for i in range(1000):\n        nbtrack.log_metric('m', i)\n    nbtrack.log_text('t', 'a.txt')\n'done'"
        )
    assert result.success and result.result == "done"
    assert captured.stderr.count("nbtrack:") == 1 and "read-only" in captured.stderr
    tracker.store.conn.execute("PRAGMA query_only = OFF")
    shell.ok("nbtrack.log_metric('after', 1.0)\nnbtrack.end_run()")
    assert any("after" in r.metrics for r in tracker.search_runs())


def test_rerun_of_a_cell_is_counted_and_listed(shell):
    cell = "%%track again\nalpha = 1\n"
    shell.ok(cell)
    with capture_output() as captured:
        shell.ok(cell)
    assert "(run 2 of this cell)" in captured.stdout
    details = shell.ok("%track show").result
    text = str(details)
    assert "Runs of this cell:" in text and "(this run)" in text and text.count(" again FINISHED ") == 2


def test_ipython_config_file_settings_apply(ip, tmp_path):
    """``c.TrackMagics.<trait>`` in ipython_config.py reaches the magics (the shell's config)."""
    from nbtrack.extension import current

    ip.config.TrackMagics.quiet = True
    ip.config.TrackMagics.experiment = "from-config"
    assert ip.run_cell("%load_ext nbtrack").success
    with capture_output() as captured:
        assert ip.run_cell("%%track\nacc = 0.5").success
    assert captured.stdout == ""
    assert current(ip).magics.tracker.search_runs()[0].experiment == "from-config"
