"""Artifact names and payloads: what a logged file is called and how objects become bytes.

Names are keys in the store, never paths we write to, but they are also what a user
gets back on download, so they must be safe relative POSIX paths (checked again on the
way out: a store may come from someone else).
"""

from __future__ import annotations

import io
import json
import mimetypes
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import UsageError
from ..values import PICKLE_MEDIA_TYPE, model_bytes, model_candidates  # noqa: F401  (re-exported: the tracker's payload helpers)

MAX_NAME_LENGTH = 512


def check_artifact_name(name: Any) -> str:
    """A relative POSIX path without ``..``, absolute roots, backslashes or control characters."""
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"artifact name must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise UsageError(f"artifact name is {len(name)} characters; the limit is {MAX_NAME_LENGTH}")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"artifact name {name!r} contains a lone surrogate character that cannot be stored") from None
    if "\\" in name or any(ord(ch) < 32 for ch in name):
        raise UsageError(f"artifact name {name!r} contains a backslash or control character")
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("~"):
        raise UsageError(f"artifact name {name!r} must be a relative path")
    if any(part in ("..", ".", "") for part in name.split("/")):  # before parts[0]: "." has no parts
        raise UsageError(f"artifact name {name!r} must not contain '.', '..' or empty segments")
    if ":" in path.parts[0]:
        raise UsageError(f"artifact name {name!r} must be a relative path")
    return str(path)


def media_type(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name)
    if guessed:
        return guessed
    if name.endswith((".pkl", ".pickle")):
        return PICKLE_MEDIA_TYPE
    return "application/octet-stream"


def dict_bytes(data: Any) -> bytes:
    try:
        return json.dumps(data, indent=2, sort_keys=True, allow_nan=True, default=_reject).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise UsageError(f"log_dict needs JSON-serializable data: {exc}") from None
    except RecursionError:
        raise UsageError("log_dict data is nested too deeply (or contains itself)") from None


def dict_payload(data: Any, name: str) -> tuple[bytes, str]:
    """(bytes, media type) of a dict logged as ``name``: YAML for ``.yml``/``.yaml`` (as MLflow writes them), else JSON."""
    if name.lower().endswith((".yml", ".yaml")):
        try:
            import yaml
        except ImportError:
            raise UsageError(
                f"logging {name!r} as YAML needs PyYAML (pip install pyyaml); or give it a .json name"
            ) from None
        try:
            return yaml.safe_dump(data, indent=2, default_flow_style=False, sort_keys=False, allow_unicode=True).encode(
                "utf-8"
            ), "application/yaml"
        except yaml.YAMLError as exc:
            raise UsageError(f"cannot write {name!r} as YAML: {exc}") from None
    return dict_bytes(data), "application/json"


def figure_png(figure: Any, dpi: int = 100) -> bytes:
    """PNG bytes of a matplotlib Figure (duck-typed: anything with ``savefig``)."""
    if not hasattr(figure, "savefig"):
        raise UsageError(f"log_figure needs a matplotlib Figure, got {type(figure).__name__}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _reject(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """``runs:/RUN/NAME`` -> (run ref, artifact name); NAME may contain slashes."""
    rest = uri[len("runs:/") :].lstrip("/") if uri.startswith("runs:/") else ""
    run_ref, _, name = rest.partition("/")
    if not run_ref or not name:
        raise UsageError(f"{uri!r} is not a run URI; write runs:/RUN_ID/ARTIFACT, e.g. runs:/3f2a1b0c/model")
    return run_ref, name


def write_artifact(folder: str | Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``folder/name`` (creating subfolders), never outside ``folder``."""
    target = Path(folder) / check_artifact_name(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target
