"""``nbtrack demo``: the churn story, executed headless into a local store.

It runs ``churn_quickstart.ipynb`` cell by cell in a fresh kernel (nbclient), tracking into
the store that the usual discovery finds (or ``--store``), prints the comparison and the
registry state, and leaves the executed notebook next to the store to open in JupyterLab.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

DEMO_NOTEBOOK = "churn_quickstart.ipynb"
#: the example's team policy (nbtrack.policy), found by the kernel from the notebook's folder
DEMO_POLICY = "pyproject.toml"


def register(sub) -> None:
    demo = sub.add_parser("demo", help="run the churn example notebook headless into a local store")
    demo.add_argument(
        "--output", "-o", default="nbtrack-demo", help="folder for the executed notebook (default ./nbtrack-demo)"
    )
    demo.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    demo.set_defaults(handler=cmd_demo)


def example_path(name: str = DEMO_NOTEBOOK) -> Path:
    """The example notebook: from the source checkout, else from the installed package."""
    checkout = Path(__file__).resolve().parents[2] / "example_notebooks" / name
    if checkout.is_file():
        return checkout
    packaged = Path(__file__).resolve().parents[1] / "examples" / name
    if packaged.is_file():
        return packaged
    from ..errors import NotFoundError

    raise NotFoundError(f"the example notebook {name} is not installed; reinstall nbtrack")


def cmd_demo(args) -> int:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from ..tracking import resolve_store

    location = resolve_store(args.store)
    out_dir = Path(args.output).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / DEMO_NOTEBOOK
    shutil.copyfile(example_path(), target)
    if not (out_dir / DEMO_POLICY).exists():  # the policy travels with the notebook; a folder's own is kept
        shutil.copyfile(example_path(DEMO_POLICY), out_dir / DEMO_POLICY)
    notebook = nbformat.read(target, as_version=4)
    env = {**os.environ, "NBTRACK_STORE": str(location.directory), "JPY_SESSION_NAME": str(target)}
    print(f"nbtrack demo: executing {target.name} into the store {location.directory}")
    client = NotebookClient(
        notebook, timeout=args.timeout, kernel_name="python3", resources={"metadata": {"path": str(out_dir)}}
    )
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    started = time.time()
    # the kernel's own stderr is only ipykernel's "running over TCP" notice; cell errors arrive as outputs
    with client.setup_kernel(env=env, stderr=subprocess.DEVNULL):
        for number, cell in enumerate(code_cells, start=1):
            index = notebook.cells.index(cell)
            title = cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ""
            print(f"  [{number:>2}/{len(code_cells)}] {title}", flush=True)
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as exc:
                nbformat.write(notebook, target)
                print(
                    f"nbtrack demo: cell {number} failed; the partly executed notebook is {target}\n{exc}",
                    file=sys.stderr,
                )
                return 1
            _echo_tracking_lines(cell)
    nbformat.write(notebook, target)
    print(f"done in {time.time() - started:.1f} s\n")
    _print_results(location.directory)
    print(f"\nOpen it in JupyterLab:  jupyter lab {os.path.relpath(target)}")
    print(f"Inspect from the shell: nbtrack --store {location.directory} runs ls")
    return 0


def _echo_tracking_lines(cell) -> None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            for line in output.get("text", "").splitlines():
                if line.startswith("nbtrack: run"):
                    print(f"         {line}")


def _print_results(store_dir: Path) -> None:
    from ..display import RunList
    from ..registry import Registry
    from ..tracking import Tracker

    tracker = Tracker.open(store_dir)
    try:
        runs = RunList(tracker.search_runs("experiment = 'churn'", "metrics.f1 desc", 10))
        print("Runs of experiment 'churn', best F1 first:")
        print(str(runs))
        registry = Registry.of(tracker)
        print("\nModel registry:")
        for model in registry.search_models():
            print(f"  {model.name}")
            for version in model.versions:
                aliases = f" @{', @'.join(version.aliases)}" if version.aliases else ""
                print(f"    v{version.version}  {version.stage:<10} run {version.run_id[:8]}{aliases}")
    finally:
        tracker.close()
    sys.stdout.flush()
