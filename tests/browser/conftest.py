"""Fixtures for the real-browser tests: one ``jupyter lab`` and one headless Chromium per session.

Skipped (with the reason) only when Chromium or the built lab extension is missing; CI
installs both (``scripts/setup``). A failing test leaves ``tests/artifacts/<test>.png``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jupyterproc import LABEXTENSION, REPO, JupyterProcess

ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1280, "height": 800}
#: JupyterLab user settings for the test server: no news toast, no autosave (test (d) needs unsaved edits)
USER_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def chromium_path() -> str | None:
    return next(
        (
            p
            for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
            if p and Path(p).exists()
        ),
        None,
    )


def _missing() -> str | None:
    if chromium_path() is None:
        return "Chromium is not installed (apt-get install chromium; scripts/setup does it as root)"
    if not (LABEXTENSION / "package.json").exists() or not list((LABEXTENSION / "static").glob("remoteEntry.*.js")):
        return f"the lab extension is not built at {LABEXTENSION} (cd labextension && jlpm install && jlpm build)"
    return None


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    process = JupyterProcess("lab", tmp_path_factory.mktemp("jupyter-lab"), USER_SETTINGS)
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture(scope="session")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, lab, request):
    """A fresh browser context; records dialogs in ``page.dialogs``; screenshot on failure; kernels shut down after."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.dialogs = []

    def on_dialog(dialog):
        page.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            try:
                page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
            except Exception as exc:  # the page may be the thing that broke
                print(f"no screenshot: {exc}")
        context.close()
        for session in lab.request("GET", "/api/sessions")[1]:
            lab.request("DELETE", f"/api/sessions/{session['id']}")
