"""One notebook session: what a ``%load_ext nbtrack`` owns while it is loaded, in one object.

The extension builds one :class:`Session` per load (:mod:`nbtrack.extension`). It holds:

- ``config``: the :class:`~nbtrack.magics.TrackMagics` instance, whose traits are the
  configuration (``%config TrackMagics.<trait>``); the magics themselves only parse and dispatch;
- the one :class:`~nbtrack.tracking.Tracker` (opened on first use, so ``%config
  TrackMagics.store`` can come first) and the one :class:`~nbtrack.registry.Registry` over it;
- ``problems``: the notebook's error policy (logging never raises store errors into a cell, a
  refused write pauses logging until the next cell, one ``nbtrack:`` line per cell), installed
  into the plain API so ``nbtrack.log_metric`` in a cell follows it too;
- ``hooks``: the cell hooks and their state (the pending cell, the ``%track start`` span, the last run);
- the listeners plugins register (``cell_listeners``, ``tracker_listeners``) and the plugins
  themselves, e.g. ``notebook`` (snapshots, notebook path, receipts).

Hooks, magics and plugins reach each other through the session, never through module globals
or each other's private attributes; unloading the extension closes the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import api
from .tracking import Tracker

if TYPE_CHECKING:
    from .registry import Registry


class Session:
    """Everything one extension load owns at run time (see the module docstring)."""

    def __init__(self, shell, config) -> None:
        self.shell = shell
        #: the configuration: an object with the TrackMagics traits (store, experiment, quiet, snapshot, ...)
        self.config = config
        #: how tracking problems reach the user in this notebook (lenient: never raised into cells)
        self.problems = api.ProblemPolicy(lenient=True)
        #: the cell hooks and their state; set by the extension
        self.hooks: Any = None
        #: callables(tracker) run when a tracker is opened (plugins wire their run-end listeners here)
        self.tracker_listeners: list[Callable[[Tracker], None]] = []
        #: objects with optional ``before_cell(info)`` / ``after_cell(result, run)`` (snapshot history, lab push)
        self.cell_listeners: list[Any] = []
        #: the plugins attached to this session, in attach order
        self.plugins: list[Any] = []
        #: the notebook plugin (snapshots, notebook path, receipts) once attached
        self.notebook: Any = None
        self._tracker: Tracker | None = None
        self._registry: Registry | None = None

    # -- services ---------------------------------------------------------------------------------
    @property
    def tracker(self) -> Tracker:
        """The tracker, opened on first use on the configured store and experiment."""
        if self._tracker is None:
            config = self.config
            tracker = Tracker.open(config.store or None, config.experiment)
            tracker.redact = config.redact
            tracker.report = self.problems.report
            self._tracker = tracker
            api.use(tracker)
            for callback in list(self.tracker_listeners):
                callback(tracker)
        return self._tracker

    @property
    def open_tracker(self) -> Tracker | None:
        """The tracker if one is open (None before first use and after a store switch)."""
        return self._tracker

    @property
    def registry(self) -> Registry:
        """The session's one registry, over the tracker's store (buffered points flushed first:
        gates and comparisons read metrics)."""
        tracker = self.tracker
        tracker.flush()
        if self._registry is None:
            from .registry import Registry

            self._registry = Registry.of(tracker)
        return self._registry

    # -- configuration changes ----------------------------------------------------------------------
    def store_changed(self) -> None:
        """The configured store changed: close the tracker; the next use opens the new store."""
        self.close()

    def experiment_changed(self, name: str) -> None:
        if self._tracker is not None:
            self._tracker.set_experiment(name)

    def redact_changed(self, redact: bool) -> None:
        if self._tracker is not None:
            self._tracker.redact = redact

    # -- lifecycle ----------------------------------------------------------------------------------
    def install(self) -> None:
        """Make this session the plain API's target and error policy."""
        api.install(lambda: self.tracker, self.problems, self.registry_for)

    def registry_for(self, tracker: Tracker) -> Registry | None:
        """The session's registry when ``tracker`` is the session's (the plain API asks), else None."""
        return self.registry if tracker is self._tracker else None

    def uninstall(self) -> None:
        """The plain API goes back to its own tracker and a strict error policy."""
        api.install(None)

    def close(self) -> None:
        """Close the tracker (and the registry over it); the session can open another later."""
        self._registry = None
        if self._tracker is not None:
            api.use(None)
            self._tracker.close()
            self._tracker = None


__all__ = ["Session"]
