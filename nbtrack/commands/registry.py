"""The model registry's operations, declared once for ``%track`` and ``nbtrack models``."""

from __future__ import annotations

from ..errors import UsageError
from . import COMMENT, Command, arg

STAGES = "None, Staging, Production or Archived"

#: move a version to a stage behind gates: ``Registry.promote``, ``nbtrack.promote``,
#: ``%track promote``, ``nbtrack models promote`` (``stage``: the magic's older name)
PROMOTE = Command(
    "promote",
    "move a version to a stage, optionally behind gates",
    (
        arg("name", help="registered model name"),
        arg("version", help="version number"),
        arg("stage", nargs="?", default=None, help=f"the stage: {STAGES} (or give it with --to)"),
        arg("--to", default=None, metavar="STAGE", help=f"the stage: {STAGES}"),
        arg(
            "--require",
            "-r",
            action="append",
            default=[],
            metavar="EXPR",
            help="gate, e.g. 'metrics.f1 >= production.metrics.f1' or 'metrics.auc > 0.9', or 'policy' (the team policy); "
            "repeatable (all must pass)",
        ),
        arg(
            "--strict",
            action="store_true",
            help="a gate naming a missing holder (no Production yet, unset alias) fails instead of passing",
        ),
        arg("--no-archive", action="store_true", help="refuse instead of archiving the current Production version"),
        arg(
            "--no-policy",
            action="store_true",
            help="skip the team policy check (on by default for Production when a policy exists); recorded in the audit trail",
        ),
        COMMENT,
    ),
    aliases=("stage",),
)


def target_stage(args, usage: str) -> str:
    """The stage ``promote`` moves to: the STAGE argument or ``--to`` (one of them, or both alike)."""
    if args.stage is not None and args.to is not None and args.stage != args.to:
        raise UsageError(f"two stages given ({args.stage!r} and --to {args.to!r}); give one: {usage}")
    stage = args.to if args.to is not None else args.stage
    if stage is None:
        raise UsageError(f"say which stage ({STAGES}): {usage}")
    return stage


__all__ = ["PROMOTE", "STAGES", "target_stage"]
