"""Tracking changes nothing else in the session: real kernels, tracked and untracked, compared.

A tracked cell may add nbtrack's own modules to the kernel, but it must not import a user's
library (pandas, matplotlib, ...) nor change its settings: importing pandas from a hook, before
it can see IPython, gives it terminal display defaults for the whole session (issue 16).
"""

from __future__ import annotations

import json
import os

import nbformat
import pytest

from nbtrack.tracking.tracker import Tracker

pytest.importorskip("nbclient")

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

#: user-facing libraries a tracked cell must not import when the cell does not
USER_LIBRARIES = (
    "pandas",
    "numpy",
    "matplotlib",
    "matplotlib.pyplot",
    "sklearn",
    "scipy",
    "sqlite_utils",
    "ipywidgets",
    "PIL",
    "seaborn",
    "polars",
    "pyarrow",
    "torch",
)

# Runs after the cell under test: which user libraries are loaded, then (importing them) their settings.
PROBE = f"""
import json, logging, sys, warnings
loaded = sorted(m for m in {USER_LIBRARIES!r} if m in sys.modules)
import matplotlib, numpy, pandas
from pandas._config.config import _registered_options
def _logger(item):
    logger = item[1]
    if not isinstance(logger, logging.Logger):
        return None
    config = (logger.level, logger.propagate, logger.disabled, [type(h).__name__ for h in logger.handlers])
    return None if config == (0, True, False, []) or item[0].startswith("nbtrack") else [item[0], *config]
state = {{
    "pandas": {{k: repr(pandas.get_option(k)) for k in sorted(_registered_options)}},
    "matplotlib_backend": matplotlib.get_backend(),
    "rcParams": {{k: repr(v) for k, v in matplotlib.rcParams.items()}},
    "warnings": [repr(f) for f in warnings.filters],
    "numpy": {{k: repr(v) for k, v in numpy.get_printoptions().items()}},
    "logging": [logging.root.level, [type(h).__name__ for h in logging.root.handlers],
                sorted(filter(None, map(_logger, logging.root.manager.loggerDict.items())))],
    "modules": loaded,
}}
print("STATE" + json.dumps(state))
"""


def _state(tmp_path, store, *cells):
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC})
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (*cells, PROBE)]
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel picks its own backend
    env.update(NBTRACK_STORE=str(store), JPY_SESSION_NAME=str(tmp_path / "exp.ipynb"))
    NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute(
        env=env
    )
    (line,) = [o["text"] for o in nb.cells[-1].outputs if o.get("name") == "stdout"]
    return json.loads(line.split("STATE", 1)[1])


PLAIN = ("", "x = [1, 2, 3]\nprint(sum(x))")
#: the cell reads a NumPy array, which nbtrack fingerprints: that must not bring pandas in
NUMPY = ("import numpy as np\nX = np.arange(12.0).reshape(3, 4)", "score = float(X.sum())\nprint(score)")


@pytest.mark.parametrize(
    ("existing", "cells"),
    [(False, PLAIN), (True, PLAIN), (False, NUMPY)],
    ids=["new-store", "existing-store", "numpy-data"],
)
@pytest.mark.slow
def test_a_tracked_cell_changes_nothing_else_in_the_session(tmp_path, existing, cells):
    store = tmp_path / "store"
    if existing:
        Tracker.open(store).close()
    setup, cell = cells
    untracked = _state(tmp_path, store, setup, cell)
    tracked = _state(tmp_path, store, setup, "%load_ext nbtrack", "%%track\n" + cell)
    (run,) = Tracker.open(store).search_runs()
    assert run.status == "FINISHED" and sorted(run.inputs) == (["X"] if setup else [])  # X was fingerprinted
    for key in untracked:
        assert tracked[key] == untracked[key], key
