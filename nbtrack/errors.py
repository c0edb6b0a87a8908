"""The error hierarchy.

Every error nbtrack raises on purpose derives from :class:`NbtrackError`, so callers
(magics, the CLI, the dashboard) can show a one-line message instead of a traceback.
Messages say what went wrong *and* what to do next.
"""

from __future__ import annotations


class NbtrackError(Exception):
    """Base class of every deliberate nbtrack error."""

    #: process exit code used by the CLI
    exit_code = 1

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of printing a traceback: user mistakes get one line.
        return [f"{type(self).__name__}: {self}"]


class UsageError(NbtrackError, ValueError):
    """The caller passed something nbtrack cannot accept (bad k=v, bad value, bad name)."""


class QueryError(UsageError):
    """A filter or order-by expression could not be parsed.

    ``position`` is the 0-based character offset of the problem in ``query``.
    """

    def __init__(self, message: str, query: str = "", position: int | None = None):
        self.query = query
        self.position = position
        self.reason = message
        if position is not None and query:
            pointer = " " * position + "^"
            message = f"{message} at position {position}\n  {query}\n  {pointer}"
        super().__init__(message)


class NotFoundError(NbtrackError, LookupError):
    """A run, experiment, model, version or artifact does not exist."""


class AmbiguousIdError(UsageError):
    """A run id prefix matches more than one run."""


class RunStateError(UsageError):
    """An operation needs an active run (or a run in another state)."""


class StoreError(NbtrackError):
    """The store cannot be opened or written (locked, read-only, disk full, corrupt)."""

    exit_code = 2


class NotAStoreError(StoreError):
    """The file exists but is not an nbtrack store (corrupt, or another application's database)."""


class SchemaTooNewError(StoreError):
    """The store was written by a newer nbtrack; refusing protects it from an old writer."""


class IntegrityError(StoreError):
    """Stored content does not match its recorded sha256 (a tampered or damaged blob)."""


class RegistryError(UsageError):
    """A model registry operation is not allowed (bad transition, Production held, gate failed)."""


class GateFailedError(RegistryError):
    """A promotion gate evaluated to false; nothing was changed."""

    def __init__(self, message: str, evaluations: list | None = None):
        super().__init__(message)
        self.evaluations = evaluations or []


class PolicyError(UsageError):
    """The team policy file (``pyproject.toml`` or ``.nbtrack/policy.toml``) cannot be read:
    the message names the file, the line and the key. Like an unreadable store, a check that
    cannot run exits 2 (``nbtrack check``)."""

    exit_code = 2
