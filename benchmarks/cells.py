"""``%%track`` overhead in a real IPython ``InteractiveShell``: tracked cell minus the same cell untracked.

Samples alternate tracked and untracked cells so that both see the same machine state; a
sample is the difference of the two medians.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

TRIVIAL_CELL = "x = 1"


def make_shell():
    """A fresh InteractiveShell with history in memory (as in the test suite)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    InteractiveShell.clear_instance()
    return InteractiveShell.instance(config=config, colors="nocolor")


def overhead(shell, tracked_cell: str, cells: int, before_tracked=None) -> float:
    """Median seconds of ``tracked_cell`` minus median seconds of the trivial cell, ``cells`` pairs."""
    plain, tracked = [], []
    for _ in range(cells):
        plain.append(_timed(shell, TRIVIAL_CELL))
        if before_tracked is not None:
            before_tracked()
        tracked.append(_timed(shell, tracked_cell))
    return statistics.median(tracked) - statistics.median(plain)


def _timed(shell, cell: str) -> float:
    start = time.perf_counter()
    result = shell.run_cell(cell, store_history=True)
    elapsed = time.perf_counter() - start
    if not result.success:
        raise RuntimeError(f"benchmark cell failed: {result.error_before_exec or result.error_in_exec!r}")
    return elapsed


def write_notebook(path: Path, cells: int, token: str) -> None:
    """A ``cells``-cell notebook whose sources contain ``token`` (a new token makes a new snapshot)."""
    sources = [f"# cell {i} of run {token}\nvalue_{i} = {i} * 2\nprint(value_{i})\n" for i in range(cells)]
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            {
                "cell_type": "code",
                "id": f"c{token[:8]}{i:04d}",
                "metadata": {},
                "execution_count": i + 1,
                "source": source,
                "outputs": [{"output_type": "stream", "name": "stdout", "text": f"{i * 2}\n"}],
            }
            for i, source in enumerate(sources)
        ],
    }
    path.write_text(json.dumps(notebook))
