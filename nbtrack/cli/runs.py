"""``nbtrack runs ls | show | export | rm | restore``, ``nbtrack experiments`` and ``nbtrack gc``."""

from __future__ import annotations

import csv
import json
import sys
import textwrap
from datetime import timedelta

from ..display import ExperimentList, RunDetails, RunList, changed_runs, purge_summary, run_record
from ..tracking.reading import TABLE_COLUMNS
from . import open_tracker

#: runs ``nbtrack runs ls`` lists unless given --limit or --all
LS_LIMIT = 50


def register(sub) -> None:
    experiments = sub.add_parser("experiments", help="experiments with their run counts")
    experiments.set_defaults(handler=cmd_experiments)
    runs = sub.add_parser("runs", help="list, show, export, delete and restore runs")
    cmds = runs.add_subparsers(dest="runs_command", metavar="SUBCOMMAND")

    ls = cmds.add_parser("ls", help="list runs matching a query")
    _query_args(ls, limit=LS_LIMIT)
    ls.add_argument("--all", action="store_true", help="every matching run (instead of --limit)")
    ls.set_defaults(handler=cmd_ls)

    show = cmds.add_parser("show", help="show one run")
    show.add_argument("run", help="run id (unique prefix of 4+ characters) or name")
    show.set_defaults(handler=cmd_show)

    export = cmds.add_parser("export", help="export runs as CSV or JSON")
    _query_args(export)
    export.add_argument("--format", "-f", choices=["csv", "json"], default="csv")
    export.add_argument(
        "--raw",
        action="store_true",
        help="CSV: write text cells starting with = + - @ as they are (default: a leading ' so spreadsheets show, not run, them)",
    )
    export.set_defaults(handler=cmd_export)

    rm = cmds.add_parser(
        "rm", help="delete runs (and their nested runs): hidden from listings until restored or purged"
    )
    rm.add_argument("runs", nargs="+", metavar="RUN", help="run id (unique prefix of 4+ characters) or name")
    rm.add_argument("--purge", action="store_true", help="remove them for good now, with the blobs nothing else uses")
    rm.set_defaults(handler=cmd_rm)

    restore = cmds.add_parser("restore", help="bring deleted runs back (with the nested runs deleted with them)")
    restore.add_argument("runs", nargs="+", metavar="RUN", help="run id (unique prefix of 4+ characters) or name")
    restore.set_defaults(handler=cmd_restore)
    runs.set_defaults(handler=lambda args: runs.print_help() or 1)

    gc = sub.add_parser("gc", help="purge deleted runs for good and remove the blobs nothing references")
    gc.add_argument(
        "--older-than", type=float, default=None, metavar="DAYS", help="only runs deleted at least DAYS days ago"
    )
    gc.add_argument("--dry-run", action="store_true", help="say what would be removed; change nothing")
    gc.set_defaults(handler=cmd_gc)


def _query_args(parser, limit: int | None = None) -> None:
    parser.add_argument("query", nargs="*", help="filter, e.g. \"metrics.f1 > 0.8 and params.model = 'gbm'\"")
    parser.add_argument("--order-by", "-o", default=None, help="e.g. 'metrics.f1 desc'")
    parser.add_argument(
        "--limit",
        "-n",
        type=int,
        default=limit,
        help=f"at most this many runs (default {limit})" if limit else "at most this many runs (default: all)",
    )
    parser.add_argument("--experiment", "-e", default=None, help="only this experiment")
    parser.add_argument("--deleted", action="store_true", help="the deleted runs instead of the live ones")


def _search(args) -> RunList:
    tracker = open_tracker(args)
    limit = None if args.all else args.limit
    fetch = None if limit is None else limit + 1  # one more tells whether more match
    runs = tracker.search_runs(" ".join(args.query) or None, args.order_by, fetch, args.experiment, args.deleted)
    return RunList.limited(runs, limit, shown=None, all_hint="--all lists every one, --limit N more")


def cmd_experiments(args) -> int:
    print(str(ExperimentList(open_tracker(args).experiment_summaries())))
    return 0


def cmd_ls(args) -> int:
    print(str(_search(args)))
    return 0


def cmd_show(args) -> int:
    tracker = open_tracker(args)
    run = tracker.get_run(args.run)
    print(str(RunDetails(run, tracker.cells(run))))
    return 0


def cmd_export(args) -> int:
    """Stream the matching runs (every one unless --limit), read a batch at a time: memory stays flat."""
    tracker = open_tracker(args)
    query = " ".join(args.query) or None
    if args.format == "json":
        _json_array(
            (run_record(r) for r in tracker.iter_runs(query, args.order_by, args.limit, args.experiment, args.deleted)),
            sys.stdout,
        )
        return 0
    keys = tracker.run_keys(query, args.experiment, args.deleted)  # the header comes before the first row
    writer = csv.writer(sys.stdout)
    cell = (lambda value: value) if args.raw else spreadsheet_safe
    writer.writerow(
        [
            cell(h)
            for h in [
                *TABLE_COLUMNS,
                *(f"params.{k}" for k in keys["params"]),
                *(f"metrics.{k}" for k in keys["metrics"]),
                *(f"tags.{k}" for k in keys["tags"]),
            ]
        ]
    )
    # rows come straight from the store (no Run objects), cells as run_record gives them in CSV
    for row in tracker.iter_table(keys, query, args.order_by, args.limit, args.experiment, args.deleted):
        writer.writerow([cell(value) for value in row])
    return 0


def _json_array(records, out) -> None:
    """``json.dump(list(records), out, indent=2)`` plus a newline, written record by record."""
    first = True
    for record in records:
        out.write(("[\n" if first else ",\n") + textwrap.indent(json.dumps(record, indent=2, default=str), "  "))
        first = False
    out.write("[]\n" if first else "\n]\n")


def spreadsheet_safe(value):
    """A text cell a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``+``, ``-``, ``@``,
    tab, CR first) gets a leading ``'`` (OWASP's advice). Numbers stay numbers: ``-0.5`` and
    ``-inf`` (a metric, or a param text that is exactly a number) are written as they are."""
    if isinstance(value, str) and value[:1] in _FORMULA_START and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cmd_rm(args) -> int:
    tracker = open_tracker(args)
    deleted = tracker.delete_run(*args.runs)
    if not args.purge:
        print(
            f"{changed_runs('deleted', deleted)} (`nbtrack runs restore RUN` brings them back; `nbtrack gc` removes them for good)"
        )
        return 0
    print(purge_summary(tracker.purge(runs=deleted)))
    return 0


def cmd_restore(args) -> int:
    print(changed_runs("restored", open_tracker(args).restore_run(*args.runs)))
    return 0


def cmd_gc(args) -> int:
    older = None if args.older_than is None else timedelta(days=args.older_than)
    print(purge_summary(open_tracker(args).purge(older_than=older, dry_run=args.dry_run)))
    return 0
