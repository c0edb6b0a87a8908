"""Re-execute the example notebooks in place, so the outputs committed for GitHub and nbviewer
readers show what the current nbtrack prints. Tracks into a throw-away store.

    .venv/bin/python scripts/regenerate_examples.py [NAME.ipynb ...]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[1] / "example_notebooks"


def regenerate(path: Path, store: str) -> None:
    notebook = nbformat.read(path, as_version=4)
    env = {**os.environ, "NBTRACK_STORE": store, "JPY_SESSION_NAME": str(path), "MPLBACKEND": "Agg"}
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}})
    with client.setup_kernel(env=env, stderr=subprocess.DEVNULL):
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
    notebook.metadata.pop("widgets", None)  # widget state is session-bound; the static fallback shows instead
    nbformat.write(notebook, path)
    print(f"regenerated {path.name}")


def main(names: list[str]) -> None:
    store = tempfile.mkdtemp(prefix="nbtrack-regenerate-")
    for name in names or sorted(p.name for p in EXAMPLES.glob("*.ipynb")):
        regenerate(EXAMPLES / name, store)


if __name__ == "__main__":
    main(sys.argv[1:])
