"""Provenance: git state from real repositories, interpreter, packages, host, safe environment."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from nbtrack import provenance
from nbtrack.provenance import (
    DIFF_LIMIT,
    git_info,
    host_info,
    invalidate_packages,
    is_secret_name,
    looks_like_secret,
    packages,
    python_info,
    safe_environment,
    start_git_probe,
    strip_credentials,
)


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch, tmp_path):
    """Commits work on a fresh machine, and no user or system config leaks in."""
    config = tmp_path / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.com")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    (path / "train.py").write_text("lr = 0.1\n")
    git(path, "add", "train.py")
    git(path, "commit", "-q", "-m", "first")
    return path


def test_clean_repository(repo):
    info = git_info(repo)
    assert info == {
        "commit": git(repo, "rev-parse", "HEAD"),
        "branch": "main",
        "dirty": False,
        "diff": "",
        "diff_truncated": False,
        "remote_url": None,
    }


def test_edited_tracked_file_is_dirty_with_a_diff(repo):
    (repo / "train.py").write_text("lr = 0.2\n")
    info = git_info(repo)
    assert info["dirty"] is True
    assert "-lr = 0.1\n+lr = 0.2\n" in info["diff"]
    assert info["diff_truncated"] is False


def test_staged_change_is_in_the_diff_against_head(repo):
    (repo / "train.py").write_text("lr = 0.3\n")
    git(repo, "add", "train.py")
    assert "+lr = 0.3" in git_info(repo)["diff"]


def test_untracked_files_do_not_make_the_tree_dirty(repo):
    (repo / "data.csv").write_text("1,2\n")
    assert git_info(repo)["dirty"] is False


def test_detached_head_has_no_branch(repo):
    git(repo, "checkout", "-q", "--detach")
    info = git_info(repo)
    assert info["branch"] is None
    assert info["commit"] == git(repo, "rev-parse", "HEAD")


def test_repository_without_commits(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    git(tmp_path, "add", "a.py")
    info = git_info(tmp_path)
    assert (info["commit"], info["branch"], info["dirty"], info["diff"]) == (None, "main", True, "")


def test_a_file_path_means_its_directory(repo):
    assert git_info(repo / "train.py")["commit"] == git(repo, "rev-parse", "HEAD")


def test_huge_diff_is_truncated_at_a_line_boundary(repo):
    (repo / "big.txt").write_text("line\n")
    git(repo, "add", "big.txt")
    git(repo, "commit", "-q", "-m", "big")
    (repo / "big.txt").write_text("changed line of text\n" * 30_000)
    info = git_info(repo)
    assert info["diff_truncated"] is True
    assert 0 < len(info["diff"].encode()) <= DIFF_LIMIT
    assert info["diff"].endswith("changed line of text\n")


def test_remote_url_credentials_are_stripped(repo):
    git(repo, "remote", "add", "origin", "https://alice:ghp_secret123@github.com/org/repo.git")
    assert git_info(repo)["remote_url"] == "https://github.com/org/repo.git"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:token@host.com/a/b.git", "https://host.com/a/b.git"),
        ("https://ghp_abc@github.com/a/b", "https://github.com/a/b"),
        ("http://u:p@host:8080/r?token=x#frag", "http://host:8080/r"),
        ("ssh://git@github.com/a/b.git", "ssh://git@github.com/a/b.git"),
        ("ssh://git:pw@github.com/a/b.git", "ssh://github.com/a/b.git"),
        ("git@github.com:a/b.git", "git@github.com:a/b.git"),
        ("/srv/git/repo.git", "/srv/git/repo.git"),
        ("https://[::1]:3000/r", "https://[::1]:3000/r"),
    ],
)
def test_strip_credentials(url, expected):
    assert strip_credentials(url) == expected


def test_not_a_repository(tmp_path):
    assert git_info(tmp_path) is None
    assert git_info(tmp_path / "missing" / "dir") is None


def test_git_missing(monkeypatch, repo):
    monkeypatch.setenv("PATH", "")
    assert git_info(repo) is None


@pytest.fixture
def slow_git(tmp_path, monkeypatch) -> None:
    """A `git` on PATH that hangs, to prove timeouts hold."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.skipif(sys.platform == "win32", reason="shell script as fake git")
def test_git_timeout_returns_none(slow_git, tmp_path):
    started = time.monotonic()
    assert git_info(tmp_path, timeout=0.2) is None
    assert time.monotonic() - started < 5


def test_git_probe_runs_in_the_background(repo):
    probe = start_git_probe(repo)
    assert probe.result(timeout=10) == git_info(repo)
    assert probe.done()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="shell script as fake git")
def test_git_probe_result_gives_up_after_its_timeout(slow_git, tmp_path):
    probe = start_git_probe(tmp_path, timeout=1.0)
    assert probe.result(timeout=0.01) is None
    assert not probe.done()
    assert probe.result(timeout=10) is None and probe.done()


def test_python_info():
    info = python_info()
    assert set(info) == {"version", "implementation", "executable", "platform"}
    assert info["executable"] == sys.executable
    assert info["version"].startswith(f"{sys.version_info.major}.{sys.version_info.minor}.")


def test_host_info():
    info = host_info()
    assert set(info) == {"hostname", "user", "cwd", "pid"}
    assert info["pid"] == os.getpid() and info["cwd"] == os.getcwd()


def test_packages_are_normalized_sorted_and_cached(monkeypatch):
    fake = [("Scikit_Learn", "1.5"), ("zope.interface", "6.0"), ("numpy", "2.0"), ("numpy", "1.0"), (None, "0")]
    calls = []

    def distributions():
        calls.append(1)
        return [SimpleNamespace(metadata={"Name": name}, version=version) for name, version in fake]

    monkeypatch.setattr(provenance.metadata, "distributions", distributions)
    invalidate_packages()
    try:
        found = packages()
        assert list(found.items()) == [("numpy", "2.0"), ("scikit-learn", "1.5"), ("zope-interface", "6.0")]
        found["numpy"] = "tampered"
        assert packages()["numpy"] == "2.0"
        assert len(calls) == 1
        invalidate_packages()
        packages()
        assert len(calls) == 2
    finally:
        invalidate_packages()


def test_real_packages_include_pytest():
    assert packages()["pytest"] == pytest.__version__


SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "GITHUB_TOKEN": "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5",
    "DB_PASSWORD": "hunter2",
    "NBTRACK_API_KEY": "plain",
    "NBTRACK_AUTH_HEADER": "Bearer x",
    "NBTRACK_DB_PASSWD": "x",
    "nbtrack_token": "x",
    "JUPYTERHUB_API_TOKEN": "x",
}


def test_secrets_never_come_out():
    environ = {
        **SECRETS,
        "NBTRACK_STORE": "/data/.nbtrack",
        "NBTRACK_REMOTE": "https://bob:hunter2@tracker.example.com",
        "NBTRACK_UPLOAD": "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5",
        "VIRTUAL_ENV": "/home/u/.venvs/ml-py311",
        "CUDA_VISIBLE_DEVICES": "GPU-8f2a1c3e-0b5d-4e6f-9a7b-1c2d3e4f5a6b",
        "OMP_NUM_THREADS": "4",
        "HOME": "/home/u",
        "PATH": "/usr/bin",
    }
    assert safe_environment(environ) == {
        "CUDA_VISIBLE_DEVICES": "GPU-8f2a1c3e-0b5d-4e6f-9a7b-1c2d3e4f5a6b",
        "NBTRACK_STORE": "/data/.nbtrack",
        "OMP_NUM_THREADS": "4",
        "VIRTUAL_ENV": "/home/u/.venvs/ml-py311",
    }


def test_safe_environment_reads_os_environ_by_default(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CONDA_DEFAULT_ENV", "ml")
    found = safe_environment()
    assert found["CONDA_DEFAULT_ENV"] == "ml"
    assert not set(found) & set(SECRETS)
    assert not set(found.values()) & set(SECRETS.values())


@pytest.mark.parametrize(
    "name", [*SECRETS, "PRIVATE_KEY_PATH", "SESSION_COOKIE", "Api_Key", "GOOGLE_APPLICATION_CREDENTIALS"]
)
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["CUDA_VISIBLE_DEVICES", "JPY_SESSION_NAME", "NBTRACK_STORE", "OMP_NUM_THREADS"])
def test_ordinary_names(name):
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    "value",
    [
        "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
        "AKIAIOSFODNN7EXAMPLE",
        "xoxb-1234567890-abcdefghij",
        "sk-proj-abcdefghijklmnopqrstuvwx",
        "hf_abcdefghijklmnopqrstuvwxyz012345",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig",
        "-----BEGIN RSA PRIVATE KEY-----",
        "postgres://user:pw@db:5432/x",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
        "k3J9xQ2mZ7pL4vR8tW1yB6nC",
    ],
)
def test_secret_looking_values(value):
    assert looks_like_secret(value)


@pytest.mark.parametrize(
    "value",
    [
        "/home/DataScience/Experiments2024/ResNet50_v2/notebooks",
        "/opt/conda/envs/ml-py311",
        "/usr/lib/python3.11/site-packages:/home/u/src/proj2024",
        "GPU-8f2a1c3e-0b5d-4e6f-9a7b-1c2d3e4f5a6b",
        "expandable_segments:True,max_split_size_mb:128",
        "resnet50-lr1e-3-bs64-ep100-seed42",
        "EfficientNetB0Imagenet21k",
        "Untitled-Copy3.ipynb",
        "https://tracker.example.com:8443/api",
        "0,1,2,3",
        "12345678901234567890",
    ],
)
def test_ordinary_values(value):
    assert not looks_like_secret(value)
