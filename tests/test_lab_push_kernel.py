"""The kernel half of "Restart Kernel and Run All" with unsaved edits, in a real ipykernel.

After a restart JupyterLab sends every execute request of Run All at once, before
``%load_ext nbtrack`` has registered the comm target. The lab extension therefore sends the
notebook again, on a new comm, right after the cell that loads nbtrack (see
``labextension/src/controller.ts``). This pins the kernel side of that contract: the shell
channel is handled in order, so a comm_open queued between the loading cell and the tracked
cell is accepted and its push is what the tracked cell's snapshot holds; the one queued before
the loading cell is refused without harm. (The browser test drives the real extension.)
"""

from __future__ import annotations

import json
import os
import time
import uuid

import nbformat
import pytest

from nbtrack.lab_protocol import COMM_TARGET
from nbtrack.snapshot.storage import snapshot_notebook
from nbtrack.tracking import Tracker

pytestmark = pytest.mark.slow  # starts real kernels

pytest.importorskip("ipykernel")
manager = pytest.importorskip("jupyter_client.manager")

ON_DISK = "%%track restarted\nx = 1"
LIVE = "%%track restarted\nx = 1\nz = 3  # typed, never saved"


def _push(path: str, source: str, scheduled: str) -> dict:
    return {
        "type": "notebook",
        "protocol": 1,
        "reason": "execute",
        "path": path,
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "scheduled_cell_ids": [scheduled],
        "sent_at": time.time() * 1000,
        "cells": [
            {"id": "load", "cell_type": "code", "source": "%load_ext nbtrack", "metadata": {}, "execution_count": None},
            {"id": "tracked", "cell_type": "code", "source": source, "metadata": {}, "execution_count": None},
        ],
    }


def _run_all_after_restart(tmp_path, store_path, second_push: bool):
    """Queue Run All as JupyterLab does after a restart; return the tracked run and its snapshot."""
    path = tmp_path / "nb.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext nbtrack", id="load"),
        nbformat.v4.new_code_cell(ON_DISK, id="tracked"),
    ]
    nbformat.write(nb, path)
    # JupyterLab names the notebook to its kernels; without a push nbtrack falls back to that name
    env = {**os.environ, "NBTRACK_STORE": str(store_path), "JPY_SESSION_NAME": str(path)}
    env.pop("NBTRACK_NOTEBOOK", None)
    km, kc = manager.start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:
        session, shell = kc.session, kc.shell_channel

        def comm_open(push):
            shell.send(
                session.msg("comm_open", {"comm_id": uuid.uuid4().hex, "target_name": COMM_TARGET, "data": push})
            )

        def execute(code, cell_id):
            msg = session.msg(
                "execute_request",
                {
                    "code": code,
                    "silent": False,
                    "store_history": True,
                    "user_expressions": {},
                    "allow_stdin": False,
                    "stop_on_error": True,
                },
                metadata={"cellId": cell_id},
            )
            shell.send(msg)
            return msg["header"]["msg_id"]

        # everything queued at once, as Run All after a restart does
        comm_open(_push(str(path), LIVE, "load"))  # before the target exists: refused
        first = execute("%load_ext nbtrack", "load")
        if second_push:
            comm_open(_push(str(path), LIVE, "tracked"))  # the extension's second push
        last = execute(LIVE, "tracked")
        replies = {}
        deadline = time.monotonic() + 120
        while last not in replies:
            assert time.monotonic() < deadline, "no execute reply"
            reply = kc.get_shell_msg(timeout=120)
            replies[reply["parent_header"].get("msg_id")] = reply["content"]
        assert replies[first]["status"] == "ok" and replies[last]["status"] == "ok", replies
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    assert ON_DISK == nbformat.read(path, as_version=4).cells[1].source  # the edit is only in the pushes
    tracker = Tracker.open(store_path)
    try:
        (run,) = tracker.search_runs("name = 'restarted'")
        return run, snapshot_notebook(tracker.store.blobs, run)
    finally:
        tracker.close()


def test_a_push_queued_right_after_the_loading_cell_reaches_the_tracked_cell(tmp_path, store_path):
    run, snapshot = _run_all_after_restart(tmp_path, store_path, second_push=True)
    assert run.params.get("z") == 3
    assert [c["source"] for c in snapshot["cells"]][1] == LIVE
    assert run.provenance["path_method"] == "lab extension"
    assert json.loads(json.dumps(run.provenance["snapshot"]))["source"] == "lab extension"


def test_without_it_the_push_sent_before_the_load_is_lost(tmp_path, store_path):
    """Why the extension sends twice: the first push reached a kernel without the comm target."""
    run, snapshot = _run_all_after_restart(tmp_path, store_path, second_push=False)
    assert run.params.get("z") == 3  # the edit ran ...
    assert [c["source"] for c in snapshot["cells"]][1] == ON_DISK  # ... but only the saved file was there to snapshot
    assert run.provenance["snapshot"]["source"] == "disk"
