"""What is measured: the workloads, their sizes per profile, and the targets from issues 8 and 19.

A workload's value is seconds per unit of work (one call, one point, one listing), or bytes
for ``bytes_per_point``. Backends read their sizes from ``Workload.size(profile)``; MLflow is
given smaller loop counts where one of its calls costs milliseconds, which is fine because
each of its calls commits on its own (its per-call cost does not amortize).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BACKENDS = ("nbtrack", "mlflow", "sqlite3")
PROFILES = ("full", "smoke")


@dataclass(frozen=True)
class Target:
    """``value <= limit`` (seconds or bytes), plus optional bounds on the ratios to MLflow and to the floor."""

    limit: float | None = None
    min_speedup_vs_mlflow: float | None = None
    max_ratio_to_floor: float | None = None

    def describe(self, unit: str) -> str:
        from .stats import format_value

        parts = []
        if self.limit is not None:
            parts.append(f"<= {format_value(self.limit, unit)}")
        if self.min_speedup_vs_mlflow is not None:
            parts.append(f">= {self.min_speedup_vs_mlflow:g}x faster than MLflow")
        if self.max_ratio_to_floor is not None:
            parts.append(f"<= {self.max_ratio_to_floor:g}x raw sqlite3")
        return " and ".join(parts)


@dataclass(frozen=True)
class Workload:
    id: str
    title: str
    unit: str  # display unit: "s", "ms", "us" or "B"
    per: str  # what one value is for, e.g. "per call"
    full: dict = field(default_factory=dict)
    smoke: dict = field(default_factory=dict)
    target: Target | None = None
    note: str = ""

    def size(self, profile: str) -> dict:
        return dict(self.full if profile == "full" else self.smoke)


WORKLOADS = (
    Workload(
        "import",
        "cold `import`",
        "s",
        "per import",
        {},
        {},
        Target(limit=0.15),
        "fresh interpreter each sample; time of the import statement only (interpreter start excluded); bytecode cached, as after `pip install`",
    ),
    Workload(
        "import_api",
        "cold `import` + API ready",
        "s",
        "per import",
        {},
        {},
        Target(limit=0.15),
        "nbtrack: `import nbtrack; nbtrack.log_metric` (the first attribute access loads the API); MLflow: `import mlflow`",
    ),
    Workload(
        "start_end",
        "start + end run",
        "ms",
        "per run",
        {"runs": 200, "mlflow_runs": 30},
        {"runs": 3, "mlflow_runs": 2},
        Target(limit=3e-3),
        "`start_run()` then `end_run()`, no params; nbtrack's end_run returns the ended Run",
    ),
    Workload(
        "log_param",
        "`log_param`",
        "us",
        "per call",
        {"calls": 1000, "mlflow_calls": 100},
        {"calls": 5, "mlflow_calls": 3},
        Target(limit=20e-6),
        "distinct keys in one run; floor: one INSERT + COMMIT per call in WAL, synchronous=NORMAL",
    ),
    Workload(
        "log_metric",
        "`log_metric` (10,000 calls incl. final flush)",
        "us",
        "per call",
        {"calls": 10_000, "mlflow_calls": 300},
        {"calls": 20, "mlflow_calls": 3},
        Target(limit=10e-6, min_speedup_vs_mlflow=500),
        "one key, automatic steps; nbtrack includes the final `flush()`; MLflow commits every call (so fewer calls); "
        "floor: one executemany of the same rows",
    ),
    Workload(
        "batch_points",
        "100,000 points in batches",
        "us",
        "per point",
        {"points": 100_000, "keys": 10, "mlflow_points": 10_000},
        {"points": 40, "keys": 4, "mlflow_points": 40},
        Target(max_ratio_to_floor=3),
        "nbtrack: `log_metrics({10 keys}, step=s)` + flush; MLflow: `log_batch` of 1,000 points per call; "
        "floor: one executemany into nbtrack's metrics table",
    ),
    Workload(
        "list_runs",
        "list all 1,000 runs as a table",
        "ms",
        "per listing",
        {"runs": 1000},
        {"runs": 6},
        Target(limit=20e-3),
        "nbtrack: `search_runs()` (1,000 runs) rendered (`_repr_mimebundle_`: text, HTML, JSON of the 50 rows shown, "
        '"950 more"); MLflow: `search_runs()` DataFrame + `_repr_html_()`',
    ),
    Workload(
        "list_runs_pandas",
        "list all 1,000 runs to a pandas DataFrame",
        "ms",
        "per listing",
        {"runs": 1000},
        {"runs": 6},
        None,
        "nbtrack: `search_runs().to_pandas()`; MLflow: `mlflow.search_runs()`",
    ),
    Workload(
        "search_1k",
        "filtered search over 1,000 runs",
        "ms",
        "per search",
        {"runs": 1000},
        {"runs": 6},
        Target(limit=20e-3),
        "`params.model = 'gbm' and metrics.f1 > 0.8` (5% match), full Run objects back (MLflow: `MlflowClient.search_runs`)",
    ),
    Workload(
        "search_10k",
        "filtered search over 10,000 runs",
        "ms",
        "per search",
        {"runs": 10_000},
        {"runs": 12},
        Target(limit=100e-3),
        "same filter and result type as above",
    ),
    Workload(
        "history",
        "read a 100,000-point metric history",
        "ms",
        "per read",
        {"points": 100_000},
        {"points": 50},
        Target(limit=150e-3, max_ratio_to_floor=2),
        "nbtrack: `metric_history()` (a columnar MetricHistory, a sequence of MetricPoints); MLflow: `MlflowClient.get_metric_history()`; floor: SELECT + fetchall",
    ),
    Workload(
        "bytes_per_point",
        "store bytes per metric point",
        "B",
        "per point",
        {"points": 100_000},
        {"points": 50},
        Target(limit=40),
        "file size growth for the 100,000-point history, after a WAL checkpoint and VACUUM; MLflow rows written with its schema",
    ),
    Workload(
        "track_cell",
        "`%%track` overhead, trivial cell",
        "ms",
        "per cell",
        {"cells": 30},
        {"cells": 2},
        Target(limit=5e-3),
        "IPython InteractiveShell; tracked cell time minus the same cell untracked (medians of interleaved pairs); "
        "MLflow: the cell wrapped in `with mlflow.start_run():`",
    ),
    Workload(
        "track_cell_snapshot_first",
        "`%%track` overhead, 100-cell notebook snapshot (first)",
        "ms",
        "per cell",
        {"cells": 5, "notebook_cells": 100},
        {"cells": 1, "notebook_cells": 5},
        Target(limit=30e-3),
        "a new 100-cell notebook each time, so nothing deduplicates",
    ),
    Workload(
        "track_cell_snapshot_dedup",
        "`%%track` overhead, 100-cell notebook snapshot (deduplicated)",
        "ms",
        "per cell",
        {"cells": 10, "notebook_cells": 100},
        {"cells": 1, "notebook_cells": 5},
        Target(limit=30e-3),
        "the same 100-cell notebook again",
    ),
    Workload(
        "track_cell_data",
        "`%%track` overhead, cell reading a 1M-row DataFrame (fingerprinted)",
        "ms",
        "per cell",
        {"cells": 10, "rows": 1_000_000},
        {"cells": 1, "rows": 100},
        Target(limit=100e-3),
        "the cell reads a 1,000,000 x 12 float64 DataFrame (96 MB): its data-input fingerprint hashes an evenly "
        "spaced 200,000-row sample; no snapshot",
    ),
    Workload(
        "track_cell_long_session",
        "`%%track` overhead, trivial cell after 5,000 executed cells",
        "ms",
        "per cell",
        {"executed": 5000, "cells": 15},
        {"executed": 20, "cells": 1},
        Target(limit=5e-3),
        "a fresh kernel session runs 5,000 distinct cells, then tracked/untracked pairs as above, with a 100-cell "
        "notebook on disk so the hidden-state receipt checks the whole history; no snapshot (see the rows above)",
    ),
    Workload(
        "track_cell_long_session_snapshot",
        "`%%track` overhead, 100-cell notebook snapshot after 5,000 executed cells",
        "ms",
        "per cell",
        {"executed": 5000, "cells": 15},
        {"executed": 20, "cells": 1},
        Target(limit=30e-3),
        "as above, with the snapshot (deduplicated) and the 5,000-entry execution history stored on every run",
    ),
    Workload(
        "dashboard",
        "build the dashboard over 10,000 runs",
        "s",
        "per build",
        {"runs": 10_000},
        {"runs": 12},
        Target(limit=1.0),
        "`nbtrack.dashboard()` until its widget tree exists",
    ),
    # issue 19: a year of runs in one store (benchmarks/scale.py: 10 params, 5 metrics x 2 steps, 3 tags,
    # a provenance document and a receipt per run; built once with executemany and cached)
    Workload(
        "scale_first_page",
        "100k runs: first page (50, newest first)",
        "ms",
        "per page",
        {"runs": 100_000},
        {"runs": 120},
        Target(limit=20e-3),
        "`search_runs(max_results=50)`",
    ),
    Workload(
        "scale_later_page",
        "100k runs: a later page (runs 50,001-50,050) by keyset",
        "ms",
        "per page",
        {"runs": 100_000},
        {"runs": 120},
        Target(limit=20e-3),
        "`tracker.runs.search(limit=50, after=<start, id of run 50,000>)`, what the dashboard's next page runs",
    ),
    Workload(
        "scale_search",
        "100k runs: filtered search on params and metrics",
        "ms",
        "per search",
        {"runs": 100_000},
        {"runs": 120},
        Target(limit=100e-3),
        "`search_runs(\"params.model = 'gbm' and metrics.f1 > 0.8\")`: 5,003 match, the default limit returns 1,000 full runs",
    ),
    Workload(
        "scale_search_all",
        "100k runs: the same search, every match",
        "ms",
        "per search",
        {"runs": 100_000},
        {"runs": 120},
        None,
        "`max_results=None`: 5,003 full runs",
    ),
    Workload(
        "scale_list",
        "100k runs: `search_runs()` shown as a cell result",
        "ms",
        "per listing",
        {"runs": 100_000},
        {"runs": 120},
        None,
        "default limit (1,000 runs) + `_repr_mimebundle_()`: a 50-row table saying 950 more, and that more match",
    ),
    Workload(
        "scale_track_ls",
        "100k runs: `%track ls`",
        "ms",
        "per command",
        {"runs": 100_000},
        {"runs": 120},
        Target(limit=50e-3),
        "`run_cell('%track ls')` in an InteractiveShell, display included",
    ),
    Workload(
        "scale_dashboard",
        "100k runs: build the dashboard",
        "ms",
        "per build",
        {"runs": 100_000},
        {"runs": 120},
        Target(limit=300e-3),
        "`nbtrack.dashboard()` until its widget tree exists",
    ),
    Workload(
        "scale_dashboard_next",
        "100k runs: dashboard next page (from page 2,000)",
        "ms",
        "per page change",
        {"runs": 100_000},
        {"runs": 120},
        Target(limit=50e-3),
        "`controller.next_page()` with the widgets redrawn",
    ),
    Workload(
        "scale_dashboard_last",
        "100k runs: dashboard last page",
        "ms",
        "per page change",
        {"runs": 100_000},
        {"runs": 120},
        Target(limit=50e-3),
        "`controller.set_page(last)` from the first page, widgets redrawn",
    ),
    Workload(
        "scale_export",
        "100k runs: `nbtrack runs export --format csv`",
        "us",
        "per run",
        {"runs": 100_000},
        {"runs": 120},
        Target(limit=20e-6),
        "the CLI in-process, output to /dev/null; <= 20 µs per run is >= 50,000 runs/s",
    ),
)

BY_ID = {w.id: w for w in WORKLOADS}
