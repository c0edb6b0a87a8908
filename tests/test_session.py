"""The notebook session (issue 15, point 1): one object built per extension load owns the
configuration, the tracker, the one registry, the hook state, the error policy and the plugins."""

from __future__ import annotations

import nbtrack
from nbtrack.extension import current
from nbtrack.notebook_plugin import NotebookPlugin
from nbtrack.session import Session


def test_one_session_owns_tracker_registry_hooks_and_plugins(shell):
    extension = current(shell.ip)
    session = extension.session
    assert isinstance(session, Session)
    assert extension.magics.session is session and extension.hooks.session is session
    assert session.config is extension.magics  # the traits are the configuration
    assert [type(p) for p in session.plugins] == [NotebookPlugin] and session.notebook is session.plugins[0]
    assert session.cell_listeners == [session.notebook]
    shell.ok("%%track --quiet\nacc = 0.5")
    assert session.open_tracker is shell.tracker
    # the magics, the plain API and the dashboard share the one registry
    assert session.registry is session.registry is nbtrack.api.registry()
    assert not hasattr(extension.magics, "notebook_session") and not hasattr(extension.magics, "_tracker")


def test_reload_builds_a_new_session_and_closes_the_old_one(shell):
    shell.ok("%%track --quiet\nacc = 0.5")
    old = current(shell.ip).session
    old_tracker = old.open_tracker
    shell.ok("%reload_ext nbtrack")
    new = current(shell.ip).session
    assert new is not old and old.open_tracker is None and old.plugins == [] and old.cell_listeners == []
    shell.ok("%%track --quiet\nacc = 0.6")
    tracker = new.open_tracker
    assert tracker is not old_tracker
    # the snapshot plugin listens once, on the new tracker only
    assert [getattr(cb, "__self__", None) for cb in tracker.run_end_listeners] == [new.notebook]
    assert old_tracker.run_end_listeners == []


def test_the_api_error_policy_is_the_sessions(shell):
    session = current(shell.ip).session
    shell.ok("import nbtrack\n%track start\n_ = nbtrack.log_metric('before', 1.0)")
    # a problem reported through the session pauses the plain API for the rest of that cell only
    shell.ok("get_ipython()._nbtrack_extension.session.problems.pause('test pause')\nnbtrack.log_metric('paused', 1.0)")
    shell.ok("nbtrack.log_metric('after', 1.0)\n%track end")
    assert set(shell.tracker.get_run(session.hooks.last_run.id).metrics) == {"before", "after"}


def test_set_store_in_a_notebook_gets_a_registry_over_that_store(shell, tmp_path):
    session = current(shell.ip).session
    shell.ok("%%track --quiet\nacc = 0.5")
    other = nbtrack.set_store(tmp_path / "other")
    try:
        assert nbtrack.api.registry() is not session.registry
    finally:
        other.close()
        nbtrack.api.use(None)
