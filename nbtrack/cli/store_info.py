"""``nbtrack store info``."""

from __future__ import annotations

from . import open_tracker


def register(sub) -> None:
    store = sub.add_parser("store", help="inspect the store")
    cmds = store.add_subparsers(dest="store_command", metavar="SUBCOMMAND")
    info = cmds.add_parser("info", help="path, schema version and counts")
    info.add_argument("--create", action="store_true", help="create the store if it does not exist")
    info.set_defaults(handler=cmd_info)
    store.set_defaults(handler=lambda args: store.print_help() or 1)


def cmd_info(args) -> int:
    tracker = open_tracker(args)
    summary = tracker.store_summary()
    print(f"store:          {summary.location.directory} (found by {summary.location.how})")
    print(f"database:       {summary.path} ({summary.path.stat().st_size} bytes)")
    print(f"schema version: {summary.schema_version}")
    for key, count in summary.counts.items():
        print(f"{key + ':':<16}{count}")
    return 0
