"""nbtrack's side of every workload, through its public API (``nbtrack.*``, ``%%track``, ``nbtrack.dashboard``)."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from . import cells, data, session
from .timing import cold_import, compacted_size


class NbtrackBackend:
    name = "nbtrack"

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self._stores = 0
        self._runs: dict[int, object] = {}
        self._history = None
        self._shell = None

    # -- helpers ---------------------------------------------------------------------------------
    def _tracker(self, name: str):
        """A new Tracker on a new store, installed as the plain API's target."""
        import nbtrack.api
        from nbtrack.tracking import Tracker

        self._stores += 1
        tracker = Tracker.open(self.workdir / f"{name}-{self._stores}")
        nbtrack.api.use(tracker)
        return tracker

    def _use(self, tracker) -> None:
        import nbtrack.api

        nbtrack.api.use(tracker)

    def _runs_tracker(self, n: int):
        """A store holding ``n`` finished runs of :mod:`benchmarks.data`, written through the Tracker."""
        if n not in self._runs:
            tracker = self._tracker(f"runs{n}")
            for i in range(n):
                run = tracker.start_run(f"run-{i}", params=data.params(i), tags=data.tags(i))
                for step, key, value in data.history(i):
                    tracker.log_metric(key, value, step=step, run=run)
                tracker.end_run(run=run)
            self._runs[n] = tracker
        self._use(self._runs[n])
        return self._runs[n]

    # -- workloads -------------------------------------------------------------------------------
    def measure_import(self, size: dict) -> float:
        return cold_import("import nbtrack", self.workdir)

    def measure_import_api(self, size: dict) -> float:
        return cold_import("import nbtrack; nbtrack.log_metric", self.workdir)

    def prepare_start_end(self, size: dict) -> None:
        self._lifecycle = self._tracker("lifecycle")

    def measure_start_end(self, size: dict) -> float:
        import nbtrack

        self._use(self._lifecycle)
        runs = size["runs"]
        start = time.perf_counter()
        for _ in range(runs):
            nbtrack.start_run()
            nbtrack.end_run()
        return (time.perf_counter() - start) / runs

    def prepare_log_param(self, size: dict) -> None:
        self._params = self._tracker("params")

    def measure_log_param(self, size: dict) -> float:
        import nbtrack

        self._use(self._params)
        calls = size["calls"]
        nbtrack.start_run()
        start = time.perf_counter()
        for i in range(calls):
            nbtrack.log_param(f"p{i}", i)
        elapsed = time.perf_counter() - start
        nbtrack.end_run()
        return elapsed / calls

    def prepare_log_metric(self, size: dict) -> None:
        self._metrics = self._tracker("metric")

    def measure_log_metric(self, size: dict) -> float:
        import nbtrack

        self._use(self._metrics)
        calls = size["calls"]
        nbtrack.start_run()
        start = time.perf_counter()
        for i in range(calls):
            nbtrack.log_metric("loss", 1.0 / (i + 1))
        nbtrack.flush()
        elapsed = time.perf_counter() - start
        nbtrack.end_run()
        return elapsed / calls

    def prepare_batch_points(self, size: dict) -> None:
        self._batch = self._tracker("batch")

    def measure_batch_points(self, size: dict) -> float:
        import nbtrack

        self._use(self._batch)
        keys = [f"m{k}" for k in range(size["keys"])]
        steps = size["points"] // len(keys)
        nbtrack.start_run()
        start = time.perf_counter()
        for step in range(steps):
            nbtrack.log_metrics(dict.fromkeys(keys, step * 1e-3), step=step)
        nbtrack.flush()
        elapsed = time.perf_counter() - start
        nbtrack.end_run()
        return elapsed / (steps * len(keys))

    def prepare_list_runs(self, size: dict) -> None:
        self._runs_tracker(size["runs"])

    def measure_list_runs(self, size: dict) -> float:
        import nbtrack

        self._runs_tracker(size["runs"])
        start = time.perf_counter()
        runs = nbtrack.search_runs()
        bundle = runs._repr_mimebundle_()
        elapsed = time.perf_counter() - start
        assert len(runs) == size["runs"] and "text/html" in bundle
        return elapsed

    prepare_list_runs_pandas = prepare_list_runs

    def measure_list_runs_pandas(self, size: dict) -> float:
        import nbtrack

        self._runs_tracker(size["runs"])
        start = time.perf_counter()
        frame = nbtrack.search_runs().to_pandas()
        elapsed = time.perf_counter() - start
        assert len(frame) == size["runs"]
        return elapsed

    def _search(self, size: dict) -> float:
        import nbtrack

        self._runs_tracker(size["runs"])
        start = time.perf_counter()
        runs = nbtrack.search_runs(data.FILTER)
        elapsed = time.perf_counter() - start
        assert len(runs) == data.expected_matches(size["runs"]), len(runs)
        return elapsed

    prepare_search_1k = prepare_search_10k = prepare_list_runs
    measure_search_1k = measure_search_10k = _search

    def prepare_history(self, size: dict) -> None:
        tracker = self._tracker("history")
        run = tracker.start_run("history")
        for step in range(size["points"]):
            tracker.log_metric("loss", 1.0 / (step + 1), step=step, run=run)
        tracker.end_run(run=run)
        self._history = (tracker, run.id)

    def measure_history(self, size: dict) -> float:
        import nbtrack

        tracker, run_id = self._history
        self._use(tracker)
        start = time.perf_counter()
        points = nbtrack.metric_history(run_id, "loss")
        elapsed = time.perf_counter() - start
        assert len(points) == size["points"]
        return elapsed

    def measure_bytes_per_point(self, size: dict) -> float:
        tracker = self._tracker("bytes")
        run = tracker.start_run("bytes")
        tracker.flush()
        before = compacted_size(tracker.store.path)
        for step in range(size["points"]):
            tracker.log_metric("loss", 1.0 / (step + 1), step=step, run=run)
        tracker.end_run(run=run)
        after = compacted_size(tracker.store.path)
        tracker.close()
        return (after - before) / size["points"]

    # -- %%track ---------------------------------------------------------------------------------
    def _ipython(self):
        if self._shell is None:
            os.environ["NBTRACK_STORE"] = str(self.workdir / "cells")
            self._shell = cells.make_shell()
            result = self._shell.run_cell("%load_ext nbtrack")
            assert result.success, result.error_in_exec
        return self._shell

    def prepare_track_cell(self, size: dict) -> None:
        self._ipython()

    def measure_track_cell(self, size: dict) -> float:
        return cells.overhead(self._ipython(), "%%track --no-snapshot\n" + cells.TRIVIAL_CELL, size["cells"])

    def prepare_track_cell_data(self, size: dict) -> None:
        code = f"import numpy as np, pandas as pd\nframe = pd.DataFrame(np.random.default_rng(0).random(({size['rows']}, 12)))"
        assert self._ipython().run_cell(code).success

    def measure_track_cell_data(self, size: dict) -> float:
        return cells.overhead(self._ipython(), "%%track --no-snapshot --quiet\nx = len(frame)", size["cells"])

    def measure_track_cell_long_session(self, size: dict) -> float:
        return session.overhead_after(size["executed"], size["cells"], self.workdir / "session")

    def measure_track_cell_long_session_snapshot(self, size: dict) -> float:
        return session.overhead_after(size["executed"], size["cells"], self.workdir / "session-snapshot", snapshot=True)

    def _snapshot_missing(self) -> str | None:
        """Snapshots count only if a tracked cell really stores one."""
        from nbtrack.extension import current

        shell = self._ipython()
        self._new_notebook(5)
        shell.run_cell("%%track --quiet\n" + cells.TRIVIAL_CELL)
        session = current(shell).session
        run = session.tracker.get_run(session.hooks.last_run.id)
        if not (run.provenance.get("snapshot_sha256")):
            return "not available yet: `%%track` stores no notebook snapshot in this checkout (nbtrack/snapshot/ has not landed)"
        return None

    def _new_notebook(self, cells_count: int) -> None:
        path = self.workdir / "notebooks" / f"nb-{uuid.uuid4().hex[:8]}.ipynb"
        path.parent.mkdir(exist_ok=True)
        cells.write_notebook(path, cells_count, uuid.uuid4().hex)
        os.environ["NBTRACK_NOTEBOOK"] = str(path)

    def available_track_cell_snapshot_first(self, size: dict) -> str | None:
        return self._snapshot_missing()

    available_track_cell_snapshot_dedup = available_track_cell_snapshot_first

    def measure_track_cell_snapshot_first(self, size: dict) -> float:
        return cells.overhead(
            self._ipython(),
            "%%track\n" + cells.TRIVIAL_CELL,
            size["cells"],
            before_tracked=lambda: self._new_notebook(size["notebook_cells"]),
        )

    def prepare_track_cell_snapshot_dedup(self, size: dict) -> None:
        self._new_notebook(size["notebook_cells"])
        self._ipython().run_cell("%%track --quiet\n" + cells.TRIVIAL_CELL)  # store it once

    def measure_track_cell_snapshot_dedup(self, size: dict) -> float:
        return cells.overhead(self._ipython(), "%%track\n" + cells.TRIVIAL_CELL, size["cells"])

    # -- dashboard -------------------------------------------------------------------------------
    def available_dashboard(self, size: dict) -> str | None:
        import nbtrack

        if not hasattr(nbtrack, "dashboard"):
            return "not available yet: `nbtrack.dashboard()` does not exist in this checkout (nbtrack/widgets/ has not landed)"
        return None

    def prepare_dashboard(self, size: dict) -> None:
        self._runs_tracker(size["runs"])

    def measure_dashboard(self, size: dict) -> float:
        import nbtrack

        self._runs_tracker(size["runs"])
        start = time.perf_counter()
        board = nbtrack.dashboard()
        elapsed = time.perf_counter() - start
        assert board is not None
        return elapsed

    # -- a year of runs (issue 19) ----------------------------------------------------------------
    def _scale(self, size: dict):
        """The tracker over a copy of the cached scale store (benchmarks/scale.py), installed as the API's target."""
        from nbtrack.tracking import Tracker

        from . import scale

        if getattr(self, "_scale_tracker", None) is None:
            directory = scale.store_copy(
                size["runs"], self.workdir / f"scale-{size['runs']}", cache=size["runs"] >= 10_000
            )
            self._scale_tracker = Tracker.open(directory)
        self._use(self._scale_tracker)
        return self._scale_tracker

    def _timed(self, action, check=None) -> float:
        start = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - start
        if check is not None:
            assert check(result), result
        return elapsed

    def measure_scale_first_page(self, size: dict) -> float:
        import nbtrack

        self._scale(size)
        return self._timed(lambda: nbtrack.search_runs(max_results=50), lambda runs: len(runs) == 50)

    def measure_scale_later_page(self, size: dict) -> float:
        tracker = self._scale(size)
        middle = size["runs"] // 2
        cursor = tracker.runs.page(limit=1, offset=middle - 1)[0]
        return self._timed(lambda: tracker.runs.search(limit=50, after=cursor), lambda runs: len(runs) == 50)

    def measure_scale_search(self, size: dict) -> float:
        import nbtrack

        self._scale(size)
        expected = min(1000, data.expected_matches(size["runs"]))
        return self._timed(lambda: nbtrack.search_runs(data.FILTER), lambda runs: len(runs) == expected)

    def measure_scale_search_all(self, size: dict) -> float:
        import nbtrack

        self._scale(size)
        return self._timed(
            lambda: nbtrack.search_runs(data.FILTER, max_results=None),
            lambda runs: len(runs) == data.expected_matches(size["runs"]),
        )

    def measure_scale_list(self, size: dict) -> float:
        import nbtrack

        self._scale(size)
        return self._timed(
            lambda: nbtrack.search_runs()._repr_mimebundle_(), lambda bundle: "more" in bundle["text/plain"]
        )

    def measure_scale_track_ls(self, size: dict) -> float:
        shell = self._ipython()
        session = shell.magics_manager.registry["TrackMagics"].session
        saved, session._tracker = session._tracker, self._scale(size)
        try:
            return self._timed(lambda: shell.run_cell("%track ls"), lambda result: result.success)
        finally:
            session._tracker = saved

    def measure_scale_dashboard(self, size: dict) -> float:
        import nbtrack

        self._scale(size)
        return self._timed(nbtrack.dashboard, lambda board: board.controller.total == size["runs"])

    def _scale_board(self, size: dict):
        import nbtrack

        self._scale(size)
        if getattr(self, "_board", None) is None:
            self._board = nbtrack.dashboard()
        return self._board

    def measure_scale_dashboard_next(self, size: dict) -> float:
        controller = self._scale_board(size).controller
        controller.set_page(min(2000, controller.page_count - 2))
        return self._timed(controller.next_page, lambda _: len(controller.runs) > 0)

    def measure_scale_dashboard_last(self, size: dict) -> float:
        controller = self._scale_board(size).controller
        controller.set_page(0)
        return self._timed(lambda: controller.set_page(controller.page_count - 1), lambda _: len(controller.runs) > 0)

    def measure_scale_export(self, size: dict) -> float:
        import contextlib
        import sys

        from nbtrack.cli import main

        directory = self._scale(size).store.location.directory
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            assert sys.stdout is sink
            elapsed = self._timed(
                lambda: main(["--store", str(directory), "runs", "export", "--format", "csv"]), lambda code: code == 0
            )
        return elapsed / size["runs"]
