"""Where a run came from: git state, interpreter, packages, host and a safe slice of the environment.

Everything here is best-effort and never raises: a run must start even without git, on a
read-only disk or in a container without a passwd entry. Secrets are kept out by an
allowlist of environment variables *and* the redaction rule of :mod:`nbtrack.redaction`
(secret names, credential shapes, random-looking tokens) applied on top of it.

The git probe can run while the cell runs, hiding its latency behind the user's code::

    probe = start_git_probe(cwd)          # when the run starts
    ...                                    # the cell runs
    git = probe.result(timeout=0.0)        # when the run ends (None while git is still busy)

Git results are deliberately not cached: editing a tracked file changes neither
``.git/HEAD``, the refs nor ``.git/index``, so no cheap file-stat key can tell a clean
tree from a dirty one; only ``git status`` (which stats the tracked files) can.
"""

from __future__ import annotations

import getpass
import os
import platform
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .redaction import is_secret_name, looks_like_secret

__all__ = [
    "DIFF_LIMIT",
    "ENV_ALLOWED_PREFIXES",
    "ENV_ALLOWLIST",
    "GitProbe",
    "git_info",
    "host_info",
    "invalidate_packages",
    "is_secret_name",
    "looks_like_secret",
    "packages",
    "python_info",
    "safe_environment",
    "start_git_probe",
    "strip_credentials",
]

#: ``git diff HEAD`` output kept per run, in bytes; the rest is cut at a line boundary
DIFF_LIMIT = 256 * 1024
_STATUS_LIMIT = 1024 * 1024  # status is read only for its header and "any change?"

# GIT_OPTIONAL_LOCKS=0: `git status` must not take .git/index.lock to refresh the index,
# or it would race with the user's own git commands (see git(1), GIT_OPTIONAL_LOCKS).
_GIT_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}

#: environment variables worth recording (exact names), before secret filtering
ENV_ALLOWLIST = frozenset({
    "CONDA_DEFAULT_ENV", "CONDA_PREFIX", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHASHSEED",
    "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "PYTORCH_CUDA_ALLOC_CONF",
    "JPY_SESSION_NAME", "JUPYTER_CONFIG_DIR", "JUPYTERHUB_USER", "SLURM_JOB_ID",
    "SLURM_ARRAY_TASK_ID", "LANG", "TZ",
})  # fmt: skip
#: prefixes of environment variables worth recording, before secret filtering
ENV_ALLOWED_PREFIXES = ("NBTRACK_",)


def git_info(path: str | os.PathLike[str], timeout: float = 2.0) -> dict[str, Any] | None:
    """The git state of the repository containing ``path`` (a directory or a file).

    Returns ``{"commit", "branch", "dirty", "diff", "diff_truncated", "remote_url"}``:
    ``commit`` is None before the first commit, ``branch`` None on a detached HEAD,
    ``dirty`` True when tracked files differ from HEAD (untracked files are ignored, so
    a data directory next to the notebook does not slow every run down), ``diff`` is
    ``git diff HEAD`` cut to :data:`DIFF_LIMIT` bytes, ``remote_url`` the origin URL
    without credentials. None when ``path`` is not in a repository, git is missing or
    ``git status`` takes longer than ``timeout`` seconds.
    """
    folder = Path(path)
    if not folder.is_dir():
        folder = folder.parent
    status = _git(folder, timeout, _STATUS_LIMIT, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    if status is None:
        return None
    info = _parse_status(status[0].decode("utf-8", "replace"))
    diff, truncated = "", False
    if info["dirty"] and info["commit"]:
        diff, truncated = _diff(folder, timeout)
    remote = _git(folder, timeout, 64 * 1024, "config", "--get", "remote.origin.url")
    remote_url = remote[0].decode("utf-8", "replace").strip() if remote else ""
    return {**info, "diff": diff, "diff_truncated": truncated, "remote_url": strip_credentials(remote_url) or None}


def _git(folder: Path, timeout: float, limit: int, *args: str) -> tuple[bytes, bool] | None:
    """Run git, keeping at most ``limit`` bytes of stdout: ``(output, truncated)``.

    None when git is missing, fails, or runs past ``timeout``. A Popen with a bounded
    read (instead of ``subprocess.run``) keeps a multi-gigabyte diff out of memory.
    """
    try:
        proc = subprocess.Popen(
            ["git", "--no-pager", *args],
            cwd=folder,
            env={**os.environ, **_GIT_ENV},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    timed_out = threading.Event()
    timer = threading.Timer(timeout, lambda: (timed_out.set(), proc.kill()))  # type: ignore[func-returns-value]
    timer.start()
    try:
        assert proc.stdout is not None
        output = proc.stdout.read(limit + 1)
    finally:
        timer.cancel()
        proc.kill()  # no-op when git already exited; stops it when we stopped reading
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
    truncated = len(output) > limit
    if timed_out.is_set() or (proc.returncode != 0 and not truncated):
        return None
    return output[:limit], truncated


def _parse_status(text: str) -> dict[str, Any]:
    """commit, branch and dirtiness from ``git status --porcelain=v2 --branch``."""
    headers = {}
    dirty = False
    for line in text.splitlines():
        if line.startswith("# "):
            key, _, value = line[2:].partition(" ")
            headers[key] = value
        elif line:
            dirty = True
    commit = headers.get("branch.oid")
    branch = headers.get("branch.head")
    return {
        "commit": None if commit in (None, "(initial)") else commit,
        "branch": None if branch in (None, "(detached)") else branch,
        "dirty": dirty,
    }


def _diff(folder: Path, timeout: float) -> tuple[str, bool]:
    """``git diff HEAD`` as text, cut at the last full line within :data:`DIFF_LIMIT`."""
    result = _git(folder, timeout, DIFF_LIMIT, "diff", "HEAD", "--no-color", "--no-ext-diff", "--no-textconv")
    if result is None:
        return "", False
    output, truncated = result
    if truncated:
        output = output[: output.rfind(b"\n") + 1]
    return output.decode("utf-8", "replace"), truncated


def strip_credentials(url: str) -> str:
    """Drop credentials from a remote URL: ``https://user:token@host/x`` -> ``https://host/x``.

    For http(s) and other schemes the whole user part goes (a token is often the user
    name: ``https://ghp_xxx@github.com``); ssh keeps its user name (``git@``) but no
    password. Query strings go too. scp-like ``git@host:org/repo`` has no room for a
    password and is kept as is.
    """
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.hostname is None:
        return url
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    if parts.scheme in ("ssh", "git+ssh", "ssh+git") and parts.username and parts.password is None:
        host = f"{parts.username}@{host}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class GitProbe:
    """:func:`git_info` running in a daemon thread, started early and read later.

    A daemon thread never delays interpreter exit, and git itself is killed after the
    probe's timeout, so an abandoned probe cannot hang around.
    """

    def __init__(self, path: str | os.PathLike[str], timeout: float = 2.0):
        self._value: dict[str, Any] | None = None
        self._thread = threading.Thread(target=self._run, args=(path, timeout), name="nbtrack-git-probe", daemon=True)
        self._thread.start()

    def _run(self, path: str | os.PathLike[str], timeout: float) -> None:
        self._value = git_info(path, timeout)

    def done(self) -> bool:
        """True once the git calls have finished."""
        return not self._thread.is_alive()

    def result(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The :func:`git_info` result; None if not a repository or still running after ``timeout``."""
        self._thread.join(timeout)
        return None if self._thread.is_alive() else self._value


def start_git_probe(path: str | os.PathLike[str], timeout: float = 2.0) -> GitProbe:
    """Start :func:`git_info` for ``path`` in the background; read it with ``probe.result()``."""
    return GitProbe(path, timeout)


def python_info() -> dict[str, str]:
    """Interpreter version, implementation, executable and platform."""
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
    }


def packages() -> dict[str, str]:
    """Installed distributions as ``{normalized name: version}``, sorted by name.

    Scanning site-packages takes tens of milliseconds, so the result is cached for the
    process; call :func:`invalidate_packages` after ``%pip install``. Names are
    normalized as in PEP 503 (``Scikit_Learn`` -> ``scikit-learn``); when a
    distribution is installed twice, the first on ``sys.path`` (the one imported) wins.
    """
    return dict(_packages())


def invalidate_packages() -> None:
    """Forget the cached :func:`packages` result (after installing or removing packages)."""
    _packages.cache_clear()


@lru_cache(maxsize=1)
def _packages() -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:  # broken metadata (a half-removed install) has no name
            found.setdefault(re.sub(r"[-_.]+", "-", name).lower(), dist.version)
    return tuple(sorted(found.items()))


def host_info() -> dict[str, Any]:
    """Host name, user name, working directory and process id (None where unknowable)."""
    return {"hostname": socket.gethostname(), "user": _user(), "cwd": _cwd(), "pid": os.getpid()}


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # containers running as a uid without a passwd entry
        return None


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the working directory was deleted
        return None


def safe_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allowlisted environment variables minus anything that looks secret, sorted.

    A variable is kept only when its name is in :data:`ENV_ALLOWLIST` or starts with
    one of :data:`ENV_ALLOWED_PREFIXES`, its name is not secret (:func:`is_secret_name`)
    and its value does not look like a credential (:func:`looks_like_secret`).
    """
    environ = os.environ if environ is None else environ
    return {
        name: value
        for name, value in sorted(environ.items())
        if (name in ENV_ALLOWLIST or name.startswith(ENV_ALLOWED_PREFIXES))
        and not is_secret_name(name)
        and not looks_like_secret(value)
    }
