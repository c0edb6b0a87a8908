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
    store = tracker.store
    counts = store.query(
        "SELECT (SELECT count(*) FROM experiments) AS experiments, (SELECT count(*) FROM runs WHERE deleted_time IS NULL) AS runs, "
        "(SELECT count(*) FROM runs WHERE deleted_time IS NOT NULL) AS deleted_runs, "
        "(SELECT count(*) FROM metrics) AS metric_points, (SELECT count(*) FROM blobs) AS blobs, "
        "(SELECT coalesce(sum(size), 0) FROM blobs) AS blob_bytes"
    )[0]
    print(f"store:          {store.location.directory} (found by {store.location.how})")
    print(f"database:       {store.path} ({store.path.stat().st_size} bytes)")
    print(f"schema version: {store.schema_version}")
    for key in counts.keys():
        print(f"{key + ':':<16}{counts[key]}")
    return 0
