"""Finding the store directory, the way git finds ``.git``.

Order: explicit argument > ``NBTRACK_STORE`` > nearest ``.nbtrack/`` from the working
directory upwards > a new ``.nbtrack/`` at the git root > a new one in the working directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STORE_DIRNAME = ".nbtrack"
DB_FILENAME = "nbtrack.db"
ENV_VAR = "NBTRACK_STORE"


@dataclass(frozen=True)
class StoreLocation:
    directory: Path
    how: str  # "argument", "environment", "ancestor", "git root", "working directory"
    db_file: str = DB_FILENAME

    @property
    def db_path(self) -> Path:
        return self.directory / self.db_file

    @property
    def blob_dir(self) -> Path:
        return self.directory / "blobs"


def resolve_store(explicit: str | os.PathLike | None = None, cwd: str | os.PathLike | None = None) -> StoreLocation:
    """Where the store is (or will be created). Creates nothing."""
    if explicit is not None:
        return _explicit(Path(explicit), "argument")
    env = os.environ.get(ENV_VAR)
    if env:
        return _explicit(Path(env), "environment")
    start = Path(cwd if cwd is not None else os.getcwd()).resolve()
    for folder in (start, *start.parents):
        candidate = folder / STORE_DIRNAME
        if candidate.is_dir():
            return StoreLocation(candidate, "ancestor")
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return StoreLocation(folder / STORE_DIRNAME, "git root")
    return StoreLocation(start / STORE_DIRNAME, "working directory")


def _explicit(path: Path, how: str) -> StoreLocation:
    """Accept the store directory, a project folder holding ``.nbtrack/``, or a database file."""
    path = path.expanduser().resolve()
    if path.is_file() or (path.suffix in (".db", ".sqlite", ".sqlite3") and path.parent.is_dir() and not path.exists()):
        return StoreLocation(path.parent, how, path.name)  # a database file, existing or to be created
    if path.name != STORE_DIRNAME and (path / STORE_DIRNAME).is_dir():
        return StoreLocation(path / STORE_DIRNAME, how)
    return StoreLocation(path, how)
