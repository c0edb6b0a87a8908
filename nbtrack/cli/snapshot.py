"""``nbtrack snapshot restore RUN -o FILE [--as-executed] [--force]``."""

from __future__ import annotations

from . import open_tracker


def register(sub) -> None:
    snapshot = sub.add_parser("snapshot", help="notebook snapshots of runs")
    cmds = snapshot.add_subparsers(dest="snapshot_command", metavar="SUBCOMMAND")
    restore = cmds.add_parser("restore", help="write a run's notebook snapshot (or its execution history) to a file")
    restore.add_argument("run", help="run id (unique prefix of 4+ characters) or name")
    restore.add_argument("--output", "-o", required=True, help="notebook file to write")
    restore.add_argument(
        "--as-executed", action="store_true", help="the cells in the order they ran, with their outputs"
    )
    restore.add_argument("--force", action="store_true", help="overwrite an existing file")
    restore.set_defaults(handler=cmd_restore)
    snapshot.set_defaults(handler=lambda args: snapshot.print_help() or 1)


def cmd_restore(args) -> int:
    from ..snapshot.storage import write_notebook

    tracker = open_tracker(args)
    print(write_notebook(tracker.blobs, tracker.get_run(args.run), args.output, args.as_executed, args.force))
    return 0
