"""Which notebook is this kernel running? Answered in DESIGN.md's order of trust.

explicit override (``%track notebook PATH``, then ``NBTRACK_NOTEBOOK``) > the JupyterLab
extension's push > VS Code's ``__vsc_ipynb_file__`` > the Jupyter server's
``/api/sessions`` looked up by kernel id (rename-proof) > ``__session__`` /
``JPY_SESSION_NAME`` (stale after a rename until restart) > nbval's
``PYTEST_CURRENT_TEST`` > unknown. Each answer carries the method that won; runs store both.

Everything here is pure except :class:`ServerLookup`, which talks HTTP to a local
Jupyter server with a short timeout and caches its answer per kernel.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXPLICIT_MAGIC = "%track notebook"
EXPLICIT_ENV = "NBTRACK_NOTEBOOK"
LAB = "lab extension"
VSCODE = "vscode"
SERVER = "jupyter server"
SESSION = "session name"
NBVAL = "nbval"
CONTENT = "content match"
UNKNOWN = "unknown"
#: every method, most trusted first
METHODS = (EXPLICIT_MAGIC, EXPLICIT_ENV, LAB, VSCODE, SERVER, SESSION, NBVAL, CONTENT, UNKNOWN)
#: the content match reads at most this many notebooks of at most this size
CONTENT_MAX_FILES, CONTENT_MAX_BYTES = 50, 20 * 1024 * 1024

SERVER_TIMEOUT = 0.3
SERVER_REFRESH = 60.0
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class NotebookPath:
    path: str | None
    method: str


def resolve(
    *,
    override: str | None = None,
    pushed: str | None = None,
    user_ns: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    server: Callable[[], str | None] | None = None,
    cwd: str | None = None,
    executed: tuple[str, ...] = (),
) -> NotebookPath:
    """The notebook path and the method that found it. ``server`` is only called when needed."""
    user_ns = user_ns or {}
    environ = os.environ if environ is None else environ
    cwd = cwd or _cwd()
    candidates: list[tuple[str, Callable[[], str | None]]] = [
        (EXPLICIT_MAGIC, lambda: override),
        (EXPLICIT_ENV, lambda: environ.get(EXPLICIT_ENV)),
        (LAB, lambda: pushed),
        (VSCODE, lambda: _str(user_ns.get("__vsc_ipynb_file__"))),
        (SERVER, server or (lambda: None)),
        (SESSION, lambda: _str(user_ns.get("__session__")) or environ.get("JPY_SESSION_NAME")),
        (NBVAL, lambda: nbval_path(environ.get("PYTEST_CURRENT_TEST"), cwd)),
        (CONTENT, lambda: content_match(cwd, executed)),
    ]
    for method, find in candidates:
        found = find()
        if found:
            return NotebookPath(_absolute(found, cwd), method)
    return NotebookPath(None, UNKNOWN)


def nbval_path(current_test: str | None, cwd: str | None) -> str | None:
    """``tests/nb.ipynb::Cell 3 (call)`` -> the notebook file (nbval runs the kernel in its folder)."""
    if not current_test or "::" not in current_test:
        return None
    candidate = current_test.split("::", 1)[0]
    if not candidate.endswith(".ipynb"):
        return None
    for option in (candidate, os.path.join(cwd or "", os.path.basename(candidate))):
        if os.path.isfile(option):
            return option
    return candidate


def content_match(folder: str | None, executed: tuple[str, ...]) -> str | None:
    """The one notebook in the kernel's folder holding every cell this kernel has executed.

    For runners that tell the kernel nothing (``jupyter execute``, nbconvert, nbclient,
    papermill): they start the kernel in the notebook's folder. Not a guess: a notebook is
    only taken when it contains all the executed sources and no other notebook there does.
    """
    wanted = {s.strip() for s in executed if s.strip()}
    if not folder or not wanted:
        return None
    matches = []
    for path in sorted(Path(folder).glob("*.ipynb"))[:CONTENT_MAX_FILES]:
        sources = _cell_sources(path)
        if sources is not None and wanted <= sources:
            matches.append(str(path))
    return matches[0] if len(matches) == 1 else None


def _cell_sources(path: Path) -> frozenset[str] | None:
    try:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key not in _SOURCES_CACHE:
            if stat.st_size > CONTENT_MAX_BYTES:
                return None
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
            _SOURCES_CACHE.clear() if len(_SOURCES_CACHE) > 4 * CONTENT_MAX_FILES else None
            _SOURCES_CACHE[key] = frozenset(
                ("".join(c["source"]) if isinstance(c.get("source"), list) else str(c.get("source", ""))).strip()
                for c in cells
                if isinstance(c, dict) and c.get("cell_type") == "code"
            )
        return _SOURCES_CACHE[key]
    except (OSError, ValueError, AttributeError, TypeError, KeyError):
        return None


_SOURCES_CACHE: dict[tuple, frozenset[str]] = {}


def absolute_push_path(path: str, server_roots: list[str], cwd: str | None = None) -> str:
    """The lab extension sends a server-relative path; make it absolute.

    Tries each local server's root dir, then the kernel's working directory (JupyterLab
    starts kernels in the notebook's folder); falls back to the path as given.
    """
    if os.path.isabs(path):
        return path
    cwd = cwd or _cwd() or ""
    options = [os.path.join(root, path) for root in server_roots] + [os.path.join(cwd, os.path.basename(path))]
    return next((option for option in options if os.path.isfile(option)), path)


def kernel_id_from_connection_file(connection_file: str | None) -> str | None:
    name = os.path.basename(connection_file or "")
    if name.startswith("kernel-") and name.endswith(".json"):
        return name[len("kernel-") : -len(".json")]
    return None


class ServerLookup:
    """Asks local Jupyter servers which notebook owns ``kernel_id``; caches the answer (also a miss).

    Server url, token and root dir come from ``jpserver-*.json`` in the Jupyter runtime
    dir. Only 127.0.0.1/localhost URLs are contacted, each with ``timeout`` seconds.
    """

    def __init__(
        self,
        kernel_id: str | None,
        runtime_dir: str | None = None,
        timeout: float = SERVER_TIMEOUT,
        refresh: float = SERVER_REFRESH,
    ):
        self.kernel_id = kernel_id
        self.runtime_dir = runtime_dir
        self.timeout = timeout
        self.refresh = refresh
        self._cached: tuple[float, str | None] | None = None
        self._roots: list[str] | None = None

    def __call__(self) -> str | None:
        if not self.kernel_id:
            return None
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > self.refresh:
            self._cached = (now, self._lookup())
        return self._cached[1]

    def _lookup(self) -> str | None:
        for info in self._servers():
            try:
                path = self._ask(info)
            except Exception:  # a dead server, a bad token, a timeout: try the next one
                continue
            if path:
                return path
        return None

    def roots(self) -> list[str]:
        """Root dirs of the local servers (reads the runtime files only, no HTTP)."""
        if self._roots is None:
            try:
                self._roots = [
                    str(s.get("root_dir") or s.get("notebook_dir"))
                    for s in self._servers()
                    if s.get("root_dir") or s.get("notebook_dir")
                ]
            except OSError:
                self._roots = []
        return self._roots

    def _servers(self) -> list[dict]:
        directory = Path(self.runtime_dir or _runtime_dir())
        try:
            files = sorted(directory.glob("jpserver-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[:5]
        except OSError:  # a server file vanished between glob and stat
            return []
        servers = []
        for file in files:
            try:
                info = json.loads(file.read_text())
            except (OSError, ValueError):
                continue
            if urllib.parse.urlsplit(str(info.get("url", ""))).hostname in _LOCAL_HOSTS:
                servers.append(info)
        return servers

    def _ask(self, info: dict) -> str | None:
        url = str(info["url"]).rstrip("/") + "/api/sessions"
        request = urllib.request.Request(url, headers={"Authorization": f"token {info.get('token', '')}"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (local URL checked above)
            sessions = json.loads(response.read(2_000_000))
        for session in sessions:
            if (session.get("kernel") or {}).get("id") == self.kernel_id and session.get("path"):
                root = info.get("root_dir") or info.get("notebook_dir") or ""
                return os.path.join(root, session["path"])
        return None


def _runtime_dir() -> str:
    from jupyter_core.paths import jupyter_runtime_dir

    return jupyter_runtime_dir()


def _absolute(path: str, cwd: str | None) -> str:
    return os.path.normpath(os.path.join(cwd or "", os.path.expanduser(path)))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:
        return None
