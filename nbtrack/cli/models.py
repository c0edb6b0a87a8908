"""``nbtrack models ls | show | history | at | promote | alias | rename | rm | restore``: the registry for CI/CD and terminals.

Exit codes: 0 success; 1 usage error, model/version not found, transition refused, gate
failed (nothing changed); 2 store error.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import sys

from ..commands import COMMENT
from ..commands.registry import PROMOTE, target_stage
from ..display.models import ModelDetails, ModelHistory, ModelList, ModelState, PromotionView, gate_report
from ..errors import GateFailedError, UsageError


def register(sub) -> None:
    models = sub.add_parser("models", help="registered models: list, show, history, promote, aliases, rename, delete")
    cmds = models.add_subparsers(dest="models_command", metavar="SUBCOMMAND")

    ls = cmds.add_parser("ls", help="list registered models")
    ls.add_argument("pattern", nargs="?", help="name glob (with * ? [) or substring")
    ls.add_argument("--deleted", action="store_true", help="list the deleted models instead")
    ls.set_defaults(handler=cmd_ls)

    show = cmds.add_parser("show", help="show a model's versions, or one version")
    show.add_argument("name")
    show.add_argument("version", nargs="?", help="version number, stage, 'latest' or alias")
    show.set_defaults(handler=cmd_show)

    history = cmds.add_parser("history", help="the model's audit trail: who changed what, when, from, to")
    history.add_argument("name")
    history.add_argument("--json", action="store_true", help="print the events as JSON")
    history.set_defaults(handler=cmd_history)

    at = cmds.add_parser("at", help="which version held each stage and alias at a past time (replays the audit trail)")
    at.add_argument("name")
    at.add_argument(
        "--time",
        "-t",
        required=True,
        help="ISO time (local unless it has an offset, e.g. 2026-05-01T12:00) or epoch seconds",
    )
    at.set_defaults(handler=cmd_at)

    PROMOTE.add_to(cmds).set_defaults(handler=cmd_promote)

    alias = cmds.add_parser("alias", help="point an alias (champion, challenger, ...) at a version, or delete it")
    alias.add_argument("name")
    alias.add_argument("alias")
    alias.add_argument("version", nargs="?", help="version number (omit with --delete)")
    alias.add_argument("--delete", action="store_true", help="remove the alias")
    COMMENT.add_to(alias)
    alias.set_defaults(handler=cmd_alias)

    rename = cmds.add_parser("rename", help="give a model a new name (versions, aliases and history follow it)")
    rename.add_argument("name")
    rename.add_argument("new_name")
    COMMENT.add_to(rename)
    rename.set_defaults(handler=cmd_rename)

    rm = cmds.add_parser("rm", help="delete a version, or the whole model (soft: restorable, kept in the audit trail)")
    rm.add_argument("name")
    rm.add_argument("version", nargs="?", help="version number (omit to delete the model)")
    COMMENT.add_to(rm)
    rm.set_defaults(handler=cmd_lifecycle)

    restore = cmds.add_parser("restore", help="bring back a deleted version, or a deleted model")
    restore.add_argument("name")
    restore.add_argument("version", nargs="?", help="version number (omit to restore the model)")
    COMMENT.add_to(restore)
    restore.set_defaults(handler=cmd_lifecycle)
    models.set_defaults(handler=lambda args: models.print_help() or 1)


def open_registry(args):
    """A registry over the store of ``--store`` (never creates a store as a side effect)."""
    from ..registry import Registry

    return Registry.open(args.store, create=False)


def cmd_ls(args) -> int:
    models = ModelList(open_registry(args).search_models(args.pattern, deleted=args.deleted))
    print(str(models) if models or not args.deleted else "no deleted models")
    return 0


def cmd_show(args) -> int:
    registry = open_registry(args)
    if args.version is None:
        print(str(ModelDetails(registry.get_model(args.name))))
        return 0
    from ..registry.uris import selector_ref

    version = registry.resolve(selector_ref(args.name, args.version))
    fields = [
        ("model", version.name),
        ("version", version.version),
        ("stage", version.stage),
        ("aliases", ", ".join(version.aliases)),
        ("uri", version.uri),
        ("run", version.run_id),
        ("artifact", version.artifact),
        ("sha256", version.sha256),
        ("created", dt.datetime.fromtimestamp(version.created).isoformat(sep=" ", timespec="seconds")),
        ("by", version.created_by or ""),
        ("description", version.description or ""),
        ("tags", ", ".join(f"{k}={v}" for k, v in version.tags.items())),
    ]
    print("\n".join(f"{k}: {v}" for k, v in fields))
    return 0


def cmd_history(args) -> int:
    history = ModelHistory(open_registry(args).history(args.name))
    if args.json:
        json.dump(history.record(), sys.stdout, indent=2, default=str)
        print()
    else:
        print(str(history))
    return 0


def cmd_at(args) -> int:
    print(str(ModelState(open_registry(args).state_at(args.name, parse_time(args.time)))))
    return 0


def cmd_promote(args) -> int:
    registry = open_registry(args)
    stage = target_stage(args, "nbtrack models promote NAME VERSION --to STAGE")
    try:
        result = registry.promote(
            args.name,
            args.version,
            stage,
            require=args.require,
            archive_existing=not args.no_archive,
            comment=args.comment,
            strict=args.strict,
            require_policy=False if args.no_policy else None,
        )
    except GateFailedError as exc:
        print(gate_report(exc.evaluations), file=sys.stderr)
        print(
            f"nbtrack: gate failed: {args.name!r} version {args.version} stays {registry.get_model_version(args.name, args.version).stage}; nothing was changed",
            file=sys.stderr,
        )
        return exc.exit_code
    view = PromotionView(result)
    if result.evaluations:
        print(gate_report(result.evaluations))
    print(view.headline())
    return 0


def cmd_alias(args) -> int:
    registry = open_registry(args)
    if args.delete:
        if args.version is not None:
            raise UsageError("--delete takes no version: nbtrack models alias NAME ALIAS --delete")
        registry.delete_alias(args.name, args.alias, args.comment)
        print(f"{args.name}@{args.alias} deleted")
        return 0
    if args.version is None:
        raise UsageError("say which version: nbtrack models alias NAME ALIAS VERSION (or --delete)")
    registry.set_alias(args.name, args.alias, args.version, args.comment)
    print(f"{args.name}@{args.alias} -> version {args.version}")
    return 0


def cmd_rename(args) -> int:
    open_registry(args).rename_model(args.name, args.new_name, args.comment)
    print(f"{args.name} renamed to {args.new_name}; URIs now use models:/{args.new_name}/...")
    return 0


def cmd_lifecycle(args) -> int:
    """``rm`` and ``restore``: of the whole model, or of one version when one is given."""
    registry = open_registry(args)
    deleting = args.models_command == "rm"
    if args.version is None:
        (registry.delete_model if deleting else registry.restore_model)(args.name, args.comment)
        what, stage = f"model {args.name}", ""
    else:
        change = registry.delete_model_version if deleting else registry.restore_model_version
        version = change(args.name, args.version, args.comment)
        what, stage = f"{args.name} version {version.version}", f" ({version.stage})"
    target = shlex.quote(args.name) + ("" if args.version is None else f" {args.version}")
    print(f"{what} deleted; undo with `nbtrack models restore {target}`" if deleting else f"{what} restored{stage}")
    return 0


def parse_time(text: str) -> float:
    """Epoch seconds from ``1767225600``, ``2026-01-01``, ``2026-01-01T12:00:00`` (local) or with an offset."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--time {text!r}: use ISO 8601 (2026-05-01T12:00, local time unless an offset is given) or epoch seconds"
        ) from None
    return moment.timestamp()
