"""Shared fixtures: real stores in tmp_path and a real IPython shell with nbtrack loaded."""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

# Fuzz tests (hypothesis) draw the same examples on every run by default, so a CI run is a
# verdict on the code, not on the luck of the draw. Exploring for new failures is a separate
# run: `pytest tests/test_fuzz_values.py tests/test_query.py --hypothesis-profile=explore`
# (a fresh random draw each time; what it finds becomes an explicit example in the tests).
try:
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass
else:
    _hypothesis_settings.register_profile("deterministic", derandomize=True, print_blob=True)
    _hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
    _hypothesis_settings.load_profile(os.environ.get("NBTRACK_HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path):
    """No test may find the developer's real store or notebook by accident."""
    for name in ("NBTRACK_STORE", "NBTRACK_NOTEBOOK", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NBTRACK_STORE", str(tmp_path / "store"))


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def tracker(store_path):
    from nbtrack.tracking import Tracker

    tracker = Tracker.open(store_path)
    yield tracker
    tracker.close()


class CellFailed(AssertionError):
    pass


class Shell:
    """A thin wrapper over a real InteractiveShell with nbtrack loaded."""

    def __init__(self, ip):
        self.ip = ip

    def run(self, code: str):
        return self.ip.run_cell(code, store_history=True)

    def ok(self, code: str):
        result = self.run(code)
        if not result.success:
            raise CellFailed(f"cell failed: {result.error_before_exec or result.error_in_exec!r}\n{code}")
        return result

    @property
    def ns(self):
        return self.ip.user_ns

    @property
    def tracker(self):
        from nbtrack.extension import current

        return current(self.ip).magics.tracker


@pytest.fixture
def ip():
    """A fresh real InteractiveShell (history off), no nbtrack loaded."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(config=config, colors="nocolor")
    yield shell
    from nbtrack.extension import unload

    unload(shell)
    InteractiveShell.clear_instance()


@pytest.fixture
def shell(ip):
    """A real InteractiveShell with ``%load_ext nbtrack`` done."""
    wrapper = Shell(ip)
    wrapper.ok("%load_ext nbtrack")
    return wrapper


class Clock:
    """Event times chosen by the test, so "state at T" needs no sleeping and no timing."""

    def __init__(self, start: float = 1_700_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def python():
    return sys.executable
