"""Tracking URIs: which nbtrack store an MLflow ``tracking_uri`` means, or why none."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse

from .exceptions import MlflowException


def store_path(uri: str | os.PathLike | None) -> str | None:
    """A local path, ``file:`` or ``sqlite:`` URI -> the store path; a server URI -> a clear error.

    ``sqlite:///mlflow.db`` names the nbtrack database file to use (an existing MLflow database
    is refused by the store: import it with ``nbtrack import mlflow`` instead).
    """
    if uri is None:
        return None
    text = os.fspath(uri)
    parsed = urlparse(text)
    if text.split(":", 1)[0].lower() in _SERVICES:  # "databricks", "databricks-uc", "uc": not folders
        raise _not_local(text)
    if parsed.scheme in ("", "file") or (len(parsed.scheme) == 1 and text[1:2] == ":"):  # a path (or a Windows drive)
        return unquote(parsed.path) if parsed.scheme == "file" else text
    if parsed.scheme == "sqlite":
        path = text[len("sqlite:///") :] if text.startswith("sqlite:///") else ""
        if not path:
            raise MlflowException(
                f"{text!r}: write a SQLite URI as sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        return path
    raise _not_local(text)


#: tracking URIs MLflow reads as services, though they have no scheme
_SERVICES = ("databricks", "databricks-uc", "uc")


def _not_local(text: str) -> MlflowException:
    return MlflowException(
        f"nbtrack.mlflow tracks into a local nbtrack store, not {text!r}; set_tracking_uri takes a local path or sqlite:/// URI. "
        "To share runs with an MLflow tracking server, log locally and run `nbtrack push` (see the README, 'Working in a team')"
    )
