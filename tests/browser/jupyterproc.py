"""A real ``jupyter server`` / ``jupyter lab`` on 127.0.0.1 for tests: isolated, token auth, own process group.

Everything Jupyter or nbtrack would read from the developer's machine is redirected into
one temporary folder (HOME, the Jupyter config/data/runtime dirs, IPython's dir, the
store), the repository's own server config and built lab extension are installed there,
and :meth:`JupyterProcess.stop` kills the whole process group (server and kernels).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LABEXTENSION = REPO / "nbtrack" / "labextension"
SERVER_CONFIG = REPO / "jupyter-config" / "server-config" / "nbtrack.json"
START_TIMEOUT = 90
#: JupyterLab user settings every test server gets: no news toast (it covers the UI)
QUIET = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False}
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterProcess:
    """``app`` is ``"server"`` or ``"lab"``; ``base`` is the scratch folder that holds everything;
    ``user_settings`` maps ``<plugin>.jupyterlab-settings`` paths to JupyterLab user settings."""

    def __init__(self, app: str, base: Path, user_settings: dict | None = None):
        self.app = app
        self.user_settings = {**QUIET, **(user_settings or {})}
        self.base = Path(base)
        self.root = self.base / "notebooks"
        self.store = self.root / ".nbtrack"
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_path = self.base / f"jupyter-{app}.log"

    # -- lifecycle --------------------------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        dirs = {
            name: self.base / name.lower()
            for name in ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")
        }
        for folder in dirs.values():
            folder.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_", "NBTRACK_"))}
        env.update({k: str(v) for k, v in dirs.items()})
        env.update(NBTRACK_STORE=str(self.store), MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
        # jupyter_core puts a virtualenv's share/jupyter before the user data dir; without this a
        # copy installed into .venv by an earlier `pip install -e .` would shadow the build under test
        env["JUPYTER_PREFER_ENV_PATH"] = "0"
        return env

    def _install(self, env: dict[str, str]) -> None:
        """The repo's server config and lab extension, as a wheel install would place them."""
        config = Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.d"
        config.mkdir(parents=True, exist_ok=True)
        shutil.copy(SERVER_CONFIG, config / SERVER_CONFIG.name)
        # the user data dir comes first on the labextensions path, so this build wins
        extensions = Path(env["JUPYTER_DATA_DIR"]) / "labextensions"
        extensions.mkdir(parents=True, exist_ok=True)
        link = extensions / "nbtrack"
        if not link.exists():
            link.symlink_to(LABEXTENSION, target_is_directory=True)
        for name, value in self.user_settings.items():
            target = Path(env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(value))

    def start(self) -> "JupyterProcess":
        self.root.mkdir(parents=True, exist_ok=True)
        env = self.environment()
        self._install(env)
        command = [
            sys.executable,
            "-m",
            "jupyter",
            self.app,
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
        ]
        if self.app == "lab":
            command.append("--LabApp.expose_app_in_browser=True")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            command, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter {self.app} exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.request("GET", "/api/status")[0] == 200:
                    return self
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"jupyter {self.app} did not answer within {START_TIMEOUT} s:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM the server's group, SIGKILL it after 10 s; then kill any kernel still alive.

        jupyter_client starts each kernel in a session of its own (so interrupts reach the
        kernel's children), so kernels are not in the server's group: they are found as the
        server's children before it stops and killed by their own groups if they outlive it.
        """
        process, self.process = self.process, None
        if process is None:
            return
        kernels = _children(process.pid)
        _kill_group(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid, signal.SIGKILL)
            process.wait()
        for pid in kernels:
            _kill_group(pid, signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""

    # -- HTTP -------------------------------------------------------------------------------------
    def request(self, method: str, path: str, token: bool = True, body: bytes | None = None):
        """(status, parsed JSON or text) for ``path`` on this server, with or without the token."""
        headers = {"Authorization": f"token {self.token}"} if token else {}
        req = urllib.request.Request(self.url + path, method=method, headers=headers, data=body)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        text = raw.decode("utf-8", "replace")
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc; empty elsewhere)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
