"""``%track`` / ``%%track``: thin magics that parse arguments, call a service, return a display.

:class:`TrackMagics` is configuration (traits: ``%config TrackMagics.<trait> = ...`` or
``c.TrackMagics.<trait>`` in ipython_config.py) plus dispatch to the subcommands. The runtime
state (tracker, registry, hooks, listeners) lives in the :class:`~nbtrack.session.Session` the
extension builds; the subcommands reach it through the few helpers below.
"""

from __future__ import annotations

import sys

from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Bool, Int, List, Unicode, observe

from ..capture import DEFAULT_METRIC_PATTERNS
from ..errors import NbtrackError, NotFoundError, UsageError
from ..policy import POLICY_TAG
from ..tracking import DEFAULT_EXPERIMENT, Tracker
from ..session import Session
from . import commands  # noqa: F401  (registers the core subcommands)
from . import snapshot_commands  # noqa: F401  (notebook, receipt, restore)
from . import registry_commands  # noqa: F401  (registers %track register / stage / models)
from . import dashboard_commands  # noqa: F401  (registers %track dashboard)
from . import repro_commands  # noqa: F401  (registers %track diff / rerun)
from .parser import find, help_text, line_parser, parse
from .summary import policy_note, run_summary


@magics_class
class TrackMagics(Magics):
    store = Unicode("", help="store directory (empty: NBTRACK_STORE, nearest .nbtrack/, git root, cwd)").tag(
        config=True
    )
    experiment = Unicode(DEFAULT_EXPERIMENT, help="experiment new runs go into").tag(config=True)
    metric_patterns = List(
        Unicode(),
        default_value=list(DEFAULT_METRIC_PATTERNS),
        help="fnmatch patterns of names captured as metrics (a pattern starting with ! excludes)",
    ).tag(config=True)
    capture_params = Bool(True, help="capture top-level literal assignments of %%track cells as params").tag(
        config=True
    )
    capture_inputs = Bool(
        True, help="fingerprint the NumPy arrays and pandas frames a %%track cell reads (shape, dtypes, content digest)"
    ).tag(config=True)
    capture_estimators = Bool(
        True,
        help="record the non-default hyperparameters of scikit-learn-style estimators bound in %%track cells as <name>.<param>",
    ).tag(config=True)
    snapshot = Bool(True, help="snapshot the notebook on every run").tag(config=True)
    snapshot_outputs = Bool(
        True, help="keep cell outputs in snapshots (turn off for notebooks printing sensitive data)"
    ).tag(config=True)
    max_output_bytes = Int(64 * 1024, help="cap on the captured outputs of one cell in the execution history").tag(
        config=True
    )
    quiet = Bool(False, help="do not print the one-line summary after tracked cells").tag(config=True)
    redact = Bool(
        True,
        help="store (and print) secret-looking params and tags as <redacted>: names like password/token/api_key, values like sk-/ghp_/AKIA keys, JWTs, PEM keys, URLs with a password",
    ).tag(config=True)

    def __init__(self, shell=None, **kwargs):
        # set before traitlets applies config values from ipython_config.py: their observers read it
        self.session: Session | None = None
        super().__init__(shell=shell, **kwargs)

    # -- the session's services, for the subcommands --------------------------------------------
    @property
    def tracker(self) -> Tracker:
        return self.session.tracker

    @property
    def hooks(self):
        return self.session.hooks

    def switch_store(self, path: str) -> None:
        self.session.close()
        self.store = path

    @observe("store")
    def _store_changed(self, change) -> None:
        if self.session is not None and change["old"] != change["new"]:
            self.session.store_changed()

    @observe("experiment")
    def _experiment_changed(self, change) -> None:
        if self.session is not None:
            self.session.experiment_changed(change["new"])

    @observe("redact")
    def _redact_changed(self, change) -> None:
        if self.session is not None:
            self.session.redact_changed(change["new"])

    # -- helpers for subcommands ----------------------------------------------------------------
    def say(self, text: str) -> None:
        print(text, file=sys.stdout)

    def summary(self, run) -> str:
        return run_summary(self.tracker, run)

    def policy_status(self, run) -> str | None:
        """``nbtrack: run 3f2a1b0c policy ok`` (or its violations and the fix); None without a policy."""
        stored = self.tracker.get_run(run.id)
        if POLICY_TAG not in stored.tags:
            return None
        note = policy_note(stored, self.tracker.policy.fix(stored)) or f"policy {stored.tags[POLICY_TAG]}"
        return f"nbtrack: run {stored.short_id} {note}"

    def target_run(self):
        """The run ``%track tag | log | note`` write to: the active run, else the last run this
        session recorded, provided it was not deleted or purged since."""
        active = self.tracker.active_run()
        if active is not None:
            return active
        last = self._last_run()
        try:
            deleted = self.tracker.get_run(last.id).deleted_time is not None
        except NotFoundError:
            raise UsageError(f"the last run of this session ({last.id[:8]}) was purged; start a new run") from None
        if deleted:
            raise UsageError(
                f"the last run of this session ({last.id[:8]}) is deleted; %track undelete {last.id[:8]} first"
            )
        return last

    def last_run_id(self) -> str:
        """The run read-only subcommands default to: the active run, else the session's last run."""
        active = self.tracker.active_run()
        return active.id if active is not None else self._last_run().id

    def _last_run(self):
        if self.hooks is not None and self.hooks.last_run is not None:
            return self.hooks.last_run
        raise UsageError("no active run and no run recorded in this session yet")

    # -- the magic --------------------------------------------------------------------------------
    @line_cell_magic
    def track(self, line: str, cell: str | None = None):
        try:
            if cell is not None:
                return self.hooks.run_cell_magic(line, cell)
            args = parse(line_parser(), line)
            if not args.subcommand:
                self.say(help_text())
                return None
            return find(args.subcommand).handler(self, args)
        except NbtrackError as exc:
            # one line, no traceback: user mistakes and store trouble are not bugs in their code
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
            return None


TrackMagics.track.__doc__ = None  # replaced by the full help below, after all subcommands registered


def refresh_help() -> None:
    """Regenerate ``%track?`` from the registered subcommands."""
    TrackMagics.track.__doc__ = "%track / %%track: experiment tracking in the notebook.\n\n" + help_text()


refresh_help()
