"""Stages and the transitions allowed between them.

==============  ======  =======  ==========  ========
from \\ to       None    Staging  Production  Archived
==============  ======  =======  ==========  ========
None            no (1)  yes      yes (3)     yes
Staging         no (2)  no (1)   yes (3)     yes
Production      no (2)  yes      no (1)      yes
Archived        no (2)  yes      yes (3,4)   no (1)
==============  ======  =======  ==========  ========

1. A transition to the stage a version already has is refused: it would record an event
   that changes nothing.
2. "None" only means "registered, never staged"; a version never returns to it. Retire a
   version with Archived instead, so the history keeps saying what happened to it.
3. Production is held by at most one version. With ``archive_existing=True`` (the default)
   the current holder moves to Archived in the same transaction; with ``False`` the
   promotion is refused while another version holds Production.
4. Archived -> Production is a rollback to a known model, which is allowed on purpose.
"""

from __future__ import annotations

from ..entities import ARCHIVED, PRODUCTION, STAGE_NONE, STAGES, STAGING
from ..errors import RegistryError, UsageError

#: (from, to) pairs that are allowed; see the module docstring for the reasons.
ALLOWED_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    (src, dst) for src in STAGES for dst in STAGES if src != dst and dst != STAGE_NONE
)


def normalize_stage(text: str) -> str:
    """``"production"`` -> ``"Production"``; refuses anything that is not a stage."""
    for stage in STAGES:
        if isinstance(text, str) and text.strip().lower() == stage.lower():
            return stage
    raise UsageError(f"unknown stage {text!r}; use one of {', '.join(STAGES)}")


def check_transition(name: str, version: int, current: str, target: str) -> None:
    if current == target:
        raise RegistryError(f"model {name!r} version {version} is already in {target}; nothing to do")
    if (current, target) not in ALLOWED_TRANSITIONS:
        raise RegistryError(
            f"model {name!r} version {version} cannot go from {current} back to None; archive it with stage Archived instead"
        )


__all__ = [
    "ALLOWED_TRANSITIONS",
    "ARCHIVED",
    "PRODUCTION",
    "STAGES",
    "STAGE_NONE",
    "STAGING",
    "check_transition",
    "normalize_stage",
]
