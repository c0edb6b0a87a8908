"""``%%track`` overhead late in a long kernel session (issue 19): a trivial tracked cell after
``executed`` cells, with a notebook on disk so that the hidden-state receipt really checks the
whole history against it.

Measured in a fresh interpreter of its own (``python -m benchmarks.session EXECUTED CELLS DIR``
prints the seconds), so the thousands of cells it runs never lengthen the shared shell of the
other ``%%track`` workloads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from . import cells

NOTEBOOK_CELLS = 100


def overhead_after(executed: int, pairs: int, workdir: Path, snapshot: bool = False) -> float:
    """Seconds of ``%%track`` overhead (median of ``pairs``) after ``executed`` cells, in a new process;
    ``snapshot``: with the notebook snapshot and the execution history stored, as by default."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("NBTRACK_STORE", "NBTRACK_NOTEBOOK")}
    args = [str(executed), str(pairs), str(workdir), "snapshot" if snapshot else "no-snapshot"]
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.session", *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return float(out.stdout.strip().splitlines()[-1])


def _measure(executed: int, pairs: int, workdir: Path, snapshot: bool) -> float:
    os.environ["NBTRACK_STORE"] = str(workdir / "store")
    notebook = workdir / "session.ipynb"
    cells.write_notebook(notebook, NOTEBOOK_CELLS, "session")
    os.environ["NBTRACK_NOTEBOOK"] = str(notebook)
    shell = cells.make_shell()
    assert shell.run_cell("%load_ext nbtrack").success
    for i in range(executed):  # every cell distinct: nothing can be reused by source
        shell.run_cell(f"value_{i} = {i}\nlast = value_{i} + 1", store_history=True)
    line = "%%track --quiet" if snapshot else "%%track --quiet --no-snapshot"
    return cells.overhead(shell, line + "\n" + cells.TRIVIAL_CELL, pairs)


if __name__ == "__main__":
    devnull = open(os.devnull, "w")
    real, sys.stdout = sys.stdout, devnull  # the cells' output is not the answer
    value = _measure(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == "snapshot")
    sys.stdout = real
    print(value)
