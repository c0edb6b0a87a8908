"""``nbtrack artifacts ls RUN`` and ``nbtrack artifacts get RUN [NAME] [-o DEST]``."""

from __future__ import annotations

import sys
from pathlib import Path

from ..display import format as fmt
from ..display.html import text_table
from ..errors import UsageError
from . import open_tracker


def register(sub) -> None:
    artifacts = sub.add_parser("artifacts", help="list a run's artifacts and download them")
    cmds = artifacts.add_subparsers(dest="artifacts_command", metavar="SUBCOMMAND")

    ls = cmds.add_parser("ls", help="a run's artifacts: name, size, media type, sha256")
    ls.add_argument("run", help="run id (unique prefix of 4+ characters) or name")
    ls.set_defaults(handler=cmd_ls)

    get = cmds.add_parser("get", help="write one artifact, or all of them, to files (checked against their sha256)")
    get.add_argument("run", help="run id (unique prefix of 4+ characters) or name")
    get.add_argument("name", nargs="?", help="the artifact (default: all of them, under DEST keeping their names)")
    get.add_argument(
        "--output",
        "-o",
        default=None,
        metavar="DEST",
        help="file for one artifact ('-' for stdout), folder for all (default: the artifact's own name / the run's short id)",
    )
    get.set_defaults(handler=cmd_get)
    artifacts.set_defaults(handler=lambda args: artifacts.print_help() or 1)


def cmd_ls(args) -> int:
    run = open_tracker(args).get_run(args.run)
    rows = [[a.name, fmt.size(a.size), a.media_type, a.sha256[:12]] for a in run.artifacts]
    print(
        text_table(["name", "size", "media type", "sha256"], rows) if rows else f"run {run.short_id} has no artifacts"
    )
    return 0


def cmd_get(args) -> int:
    tracker = open_tracker(args)
    run = tracker.get_run(args.run)
    if args.name is None:
        if args.output == "-":
            raise UsageError("'-o -' writes one artifact to stdout; name it")
        folder = Path(args.output or run.short_id)
        written = tracker.download_artifacts(run.id, folder)
        print(f"{len(written)} artifacts of run {run.short_id} written under {folder}")
        return 0
    data = tracker.artifact_bytes(run.id, args.name)
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    target = Path(args.output) if args.output else Path(Path(args.name).name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    print(f"{args.name} ({fmt.size(len(data))}) written to {target}")
    return 0
