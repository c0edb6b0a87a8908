"""Driving JupyterLab from the tests: notebooks on disk, opening them, running cells, the runs panel.

Waits poll the page's state (kernel status, cell prompts) instead of sleeping; see
JUPYTER_NOTES.md for the traps (the execution indicator is idle while there is no kernel
yet; ``commands.execute`` must never be awaited inside ``page.evaluate``).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import nbformat

from jupyterproc import REPO

SCREENSHOTS = REPO / "docs" / "screenshots"
PANEL_TAB = '.jp-SideBar.jp-mod-left li[data-id="nbtrack-runs-panel"]'

KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const s = w && w.sessionContext;
  const k = s && s.session && s.session.kernel;
  return !!(k && s.isReady && k.status === 'idle' && !s.hasNoKernel);
}"""

ALL_RAN = """(count) => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')];
  return prompts.length === count && prompts.every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()));
}"""


def write_notebook(root: Path, name: str, cells: list[str]) -> Path:
    """A code-only notebook with a python3 kernelspec (else a "Select Kernel" dialog blocks the page)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source, id=uuid.uuid4().hex[:8]) for source in cells]
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def open_notebook(page, lab, name: str) -> None:
    page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    page.wait_for_function(KERNEL_IDLE, polling=250)


def run_all(page, cells: int) -> None:
    """Run every cell (fire and forget, then wait for every prompt to show its count and the kernel to idle)."""
    page.evaluate("() => { void window.jupyterapp.commands.execute('runmenu:run-all'); }")
    page.wait_for_function(ALL_RAN, arg=cells, polling=250)
    page.wait_for_function(KERNEL_IDLE, polling=250)


def cell_errors(page) -> list[str]:
    """Tracebacks shown in the notebook (tests assert there are none, so a failure explains itself)."""
    return page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
    ).all_inner_texts()


def open_runs_panel(page):
    tab = page.locator(PANEL_TAB)
    tab.wait_for()
    if "lm-mod-current" not in (tab.get_attribute("class") or ""):
        tab.click()
    panel = page.locator("#nbtrack-runs-panel")
    panel.wait_for(state="visible")
    return panel


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.25, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy (returned), or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def save_screenshot(page, name: str) -> Path:
    """A README screenshot: ``docs/screenshots/<name>.png`` when missing or when
    ``NBTRACK_SCREENSHOTS=1`` (so ordinary test runs do not rewrite committed images),
    else ``tests/artifacts/screenshots/<name>.png`` to look at."""
    folder = SCREENSHOTS
    if (SCREENSHOTS / f"{name}.png").exists() and os.environ.get("NBTRACK_SCREENSHOTS") != "1":
        folder = REPO / "tests" / "artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    page.screenshot(path=str(target))
    return target
