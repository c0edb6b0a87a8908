"""What a model name, an alias and a version reference may look like.

Names end up in URIs (``models:/Name/3``, ``models:/Name@champion``) and in the artifact
name ``models/<name>.pkl``, so ``/``, ``@`` and ``:`` are refused. Aliases also name the
holder in gate expressions (``champion.metrics.f1``), so they must be identifiers that
cannot be mistaken for a stage, a version number or ``latest``.
"""

from __future__ import annotations

import re

from ..entities import STAGES
from ..errors import UsageError
from ..values import check_key

_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
RESERVED_ALIASES = frozenset({s.lower() for s in STAGES} | {"latest", "metrics", "params"})


def check_model_name(name: object) -> str:
    name = check_key(name, "model name")
    bad = sorted({ch for ch in name if ch in "/@:\\"})
    if bad or name != name.strip() or name in (".", ".."):
        raise UsageError(
            f"model name {name!r} must not contain {' '.join(bad) or 'surrounding spaces or dot names'}; try letters, digits, '-', '_', '.'"
        )
    return name


def check_alias(alias: object) -> str:
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise UsageError(
            f"alias {alias!r} must start with a letter or '_' and contain only letters, digits, '_' and '-'"
        )
    if alias.lower() in RESERVED_ALIASES:
        raise UsageError(
            f"alias {alias!r} is reserved (stage names, 'latest', 'metrics', 'params'); pick another, e.g. 'champion'"
        )
    return alias


def check_version(version: object) -> int:
    if isinstance(version, bool):
        raise UsageError(f"version must be a positive integer, got {version!r}")
    if isinstance(version, str) and version.strip().isdigit():
        version = int(version)
    if not isinstance(version, int) or version < 1:
        raise UsageError(f"version must be a positive integer, got {version!r}")
    return version
