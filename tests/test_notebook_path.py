"""Notebook path resolution in each runner that runs here, and the method each run records."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import nbformat
import pytest

from nbtrack.snapshot import path as nbpath


def _last_run(store_path):
    with sqlite3.connect(store_path / "nbtrack.db") as conn:
        conn.row_factory = sqlite3.Row
        return dict(
            conn.execute(
                "SELECT notebook_path, path_method, snapshot_sha256, provenance, receipt FROM runs "
                "LEFT JOIN run_documents ON run_id = id ORDER BY id DESC LIMIT 1"
            ).fetchone()
        )


def _tracked(shell):
    shell.ok("%%track -q\nlr = 0.1")
    return _last_run_of(shell)


def _last_run_of(shell):
    return shell.tracker.get_run(shell.ip._nbtrack_extension.hooks.last_run.id).provenance


def test_unknown_in_a_plain_shell(shell):
    found = _tracked(shell)
    assert found["path_method"] == "unknown" and "notebook_path" not in found


def test_env_override(shell, monkeypatch, tmp_path):
    monkeypatch.setenv("NBTRACK_NOTEBOOK", str(tmp_path / "a.ipynb"))
    assert _tracked(shell)["path_method"] == nbpath.EXPLICIT_ENV


def test_magic_override_beats_env(shell, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("NBTRACK_NOTEBOOK", str(tmp_path / "a.ipynb"))
    shell.ok(f"%track notebook {tmp_path / 'b.ipynb'}")
    assert "found by %track notebook" in capsys.readouterr().out
    found = _tracked(shell)
    assert (found["notebook_path"], found["path_method"]) == (str(tmp_path / "b.ipynb"), nbpath.EXPLICIT_MAGIC)


@pytest.mark.parametrize("name, method", [("__vsc_ipynb_file__", nbpath.VSCODE), ("__session__", nbpath.SESSION)])
def test_user_namespace_variables(shell, tmp_path, name, method):
    shell.ns[name] = str(tmp_path / "v.ipynb")
    found = _tracked(shell)
    assert (found["notebook_path"], found["path_method"]) == (str(tmp_path / "v.ipynb"), method)


def test_jpy_session_name(shell, monkeypatch, tmp_path):
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "s.ipynb"))
    assert _tracked(shell)["path_method"] == nbpath.SESSION


def test_lab_push_beats_vscode_and_session(shell, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    nb = tmp_path / "pushed.ipynb"
    nb.write_text("{}")
    shell.ns["__vsc_ipynb_file__"] = str(tmp_path / "v.ipynb")
    plugin = shell.ip._nbtrack_extension.session.notebook
    plugin.receive(_push("pushed.ipynb", [("c1", "lr = 0.1")]))
    found = _tracked(shell)
    assert (found["notebook_path"], found["path_method"]) == (str(nb), nbpath.LAB)


def _push(path, cells):
    return {
        "type": "notebook",
        "protocol": 1,
        "reason": "connect",
        "path": path,
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            {"id": i, "cell_type": "code", "source": s, "metadata": {}, "execution_count": None} for i, s in cells
        ],
        "sent_at": 0,
    }


def test_nbval_current_test_and_kernel_id():
    assert nbpath.nbval_path("tests/x.py::test_a (call)", "/") is None
    assert nbpath.nbval_path("nb/missing.ipynb::Cell 0 (call)", "/") == "nb/missing.ipynb"
    assert nbpath.kernel_id_from_connection_file("/run/jupyter/kernel-1a2b-3c.json") == "1a2b-3c"
    assert nbpath.kernel_id_from_connection_file("/tmp/other.json") is None


def test_server_lookup_ignores_remote_servers_and_caches_misses(tmp_path):
    (tmp_path / "jpserver-1.json").write_text(
        json.dumps({"url": "http://example.com:8888/", "token": "t", "root_dir": "/"})
    )
    lookup = nbpath.ServerLookup("abc", runtime_dir=str(tmp_path))
    assert lookup._servers() == [] and lookup() is None and lookup._cached[1] is None


# -- real kernels ------------------------------------------------------------------------------------


def _notebook(tmp_path, name="tiny.ipynb"):
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext nbtrack"),
        nbformat.v4.new_code_cell("%%track -q tiny\nlr = 0.1\nprint(lr)"),
    ]
    path = tmp_path / name
    nbformat.write(nb, path)
    return path, nb


def _execute(nb, cwd, env=None):
    from nbclient import NotebookClient

    client = NotebookClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(cwd)}})
    client.execute(**({"env": env} if env else {}))  # starts and always shuts down its own kernel


@pytest.mark.slow
def test_nbclient_kernel_in_the_notebooks_folder_finds_it_by_content(tmp_path, store_path):
    """`jupyter execute` / nbconvert / nbclient tell the kernel nothing, but start it in the
    notebook's folder: the one notebook there holding every executed cell is taken."""
    path, nb = _notebook(tmp_path)
    (tmp_path / "other.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code", "source": "print(1)"}]}))
    _execute(nb, tmp_path)
    row = _last_run(store_path)
    assert (row["notebook_path"], row["path_method"]) == (str(path), nbpath.CONTENT)
    assert row["snapshot_sha256"] and json.loads(row["receipt"])["clean"] is True


@pytest.mark.slow
def test_nbclient_kernel_elsewhere_without_path_is_unknown(tmp_path, store_path):
    path, nb = _notebook(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _execute(nb, elsewhere)
    row = _last_run(store_path)
    assert (row["notebook_path"], row["path_method"]) == (None, "unknown")
    assert json.loads(row["provenance"])["snapshot"]["history_cells"] == 2


def test_content_match_needs_exactly_one_notebook_with_every_executed_cell(tmp_path):
    for name, sources in [
        ("a.ipynb", ["x = 1", "y = 2"]),
        ("b.ipynb", ["x = 1"]),
        ("c.ipynb", ["x = 1", "y = 2", "z"]),
    ]:
        cells = [{"cell_type": "code", "source": src} for src in sources]
        (tmp_path / name).write_text(json.dumps({"cells": cells}))
    assert nbpath.content_match(str(tmp_path), ("x = 1", "z")) == str(tmp_path / "c.ipynb")
    assert nbpath.content_match(str(tmp_path), ("x = 1", "y = 2")) is None  # a and c both hold them: ambiguous
    assert nbpath.content_match(str(tmp_path), ("w = 0",)) is None


@pytest.mark.slow
def test_nbclient_kernel_with_session_name(tmp_path, store_path):
    path, nb = _notebook(tmp_path)
    _execute(nb, tmp_path, env={**os.environ, "JPY_SESSION_NAME": str(path)})
    row = _last_run(store_path)
    assert (row["notebook_path"], row["path_method"]) == (str(path), nbpath.SESSION)
    assert row["snapshot_sha256"] and json.loads(row["provenance"])["snapshot"]["source"] == "disk"
    assert json.loads(row["receipt"])["clean"] is True


@pytest.mark.slow
def test_nbval(tmp_path, store_path):
    path, _ = _notebook(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", path.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    row = _last_run(store_path)
    assert (row["notebook_path"], row["path_method"]) == (str(path), nbpath.NBVAL)
