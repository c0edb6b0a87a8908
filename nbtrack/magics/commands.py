"""The core ``%track`` subcommands: runs spanning cells, tags, logging, listing, the store."""

from __future__ import annotations

import argparse

from ..display import ExperimentList, RunDetails, RunList, changed_runs
from ..errors import UsageError
from ..values import parse_assignment
from .parser import subcommand


def _start_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="run name")
    parser.add_argument("--experiment", "-e", help="experiment to record into")
    parser.add_argument("--tag", "-t", action="append", default=[], metavar="K=V", help="tag the run; repeatable")


@subcommand(
    "start", "start a run that spans the next cells (each executed cell is recorded) until %track end", _start_args
)
def start(ctx, args):
    tags = dict(parse_assignment(t) for t in args.tag)
    run = ctx.tracker.start_run(args.name, experiment=args.experiment, tags=tags, kind="span")
    ctx.hooks.begin_span(run)
    ctx.say(
        f"nbtrack: run {run.short_id}{' ' + repr(args.name) if args.name else ''} started; every cell until `%track end` is part of it"
    )


def _end_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", default="FINISHED", choices=["FINISHED", "FAILED", "KILLED"], help="final status")


@subcommand("end", "end the run started by %track start", _end_args)
def end(ctx, args):
    run = ctx.hooks.end_span(args.status)
    ctx.say(ctx.summary(run))


def _name_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="experiment name (omit to print the current one)")


@subcommand(
    "experiment",
    "set the experiment new runs go into; without a name, list experiments (* marks the current one)",
    _name_arg,
)
def experiment(ctx, args):
    if not args.name:
        return ExperimentList(ctx.tracker.experiment_summaries(), ctx.tracker.experiment)
    ctx.tracker.set_experiment(args.name)
    ctx.say(f"nbtrack: experiment {ctx.tracker.experiment!r}")
    return None


def _pairs_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pairs", nargs="+", metavar="K=V")


@subcommand("tag", "set tags on the active run (or the last run of this session)", _pairs_arg)
def tag(ctx, args):
    pairs = dict(parse_assignment(p) for p in args.pairs)
    run = ctx.target_run()
    ctx.tracker.set_tags(pairs, run=run)
    status = ctx.policy_status(run) if run.ended else None  # its verdict was checked again
    if status:
        ctx.say(status)


@subcommand(
    "log",
    "log metrics (numbers) or params (anything else) on the active run: %track log f1=0.9 model='gbm'",
    _pairs_arg,
)
def log(ctx, args):
    from ..values import is_metric_like

    run = ctx.target_run()
    for key, value in (parse_assignment(p) for p in args.pairs):
        if is_metric_like(value):
            ctx.tracker.log_metric(key, value, run=run)
        else:
            ctx.tracker.log_param(key, value, run=run)
    ctx.tracker.flush()


def _query_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", nargs="*", help="filter, e.g. metrics.f1 > 0.8 and params.model = 'gbm'")
    parser.add_argument("--order-by", "-o", default=None, help="e.g. 'metrics.f1 desc'")
    parser.add_argument("--limit", "-n", type=int, default=50, help="at most this many runs (default 50)")
    parser.add_argument("--experiment", "-e", default=None, help="only this experiment")
    parser.add_argument("--deleted", action="store_true", help="the deleted runs instead of the live ones")


@subcommand("ls", "list runs as a table: %track ls [QUERY] [--order-by ...] [--limit N] [--deleted]", _query_args)
def ls(ctx, args):
    query = " ".join(args.query) or None
    fetch = None if args.limit is None else args.limit + 1  # one more tells whether more match
    return RunList.limited(
        ctx.tracker.search_runs(query, args.order_by, fetch, args.experiment, args.deleted),
        args.limit,
        shown=None,
        all_hint="%track ls --limit N shows more",
    )


def _run_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run", nargs="?", help="run id (a unique prefix of 4+ characters) or name; default: the last run"
    )


@subcommand("show", "show one run: params, metrics, tags, artifacts, provenance, receipt, cells", _run_arg)
def show(ctx, args):
    ref = args.run or ctx.last_run_id()
    run = ctx.tracker.get_run(ref)
    cells = ctx.tracker.cells(run)
    return RunDetails(
        run, cells, ctx.tracker.cell_runs(run.cell_key) if run.cell_key else None, ctx.tracker.policy.fix(run)
    )


def _runs_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run id (a unique prefix of 4+ characters) or name")


@subcommand(
    "rm",
    "delete runs and their nested runs: hidden from listings until %track undelete (nbtrack gc removes them for good)",
    _runs_arg,
)
def rm(ctx, args):
    deleted = ctx.tracker.delete_run(*args.runs)
    ctx.say(f"nbtrack: {changed_runs('deleted', deleted)} (`%track undelete {' '.join(args.runs)}` brings them back)")


# not "restore": that name writes a run's notebook snapshot to a file
@subcommand("undelete", "bring deleted runs back, with the nested runs deleted together with them", _runs_arg)
def undelete(ctx, args):
    ctx.say(f"nbtrack: {changed_runs('restored', ctx.tracker.restore_run(*args.runs))}")


def _note_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", nargs="+", help="note text")


@subcommand("note", "attach a free-text note to the active (or last) run", _note_args)
def note(ctx, args):
    ctx.tracker.set_note(" ".join(args.text), run=ctx.target_run())


def _store_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", help="switch to the store at PATH (created if missing)")


@subcommand("store", "show the store in use, or switch to another: %track store [PATH]", _store_args)
def store(ctx, args):
    if args.path:
        if ctx.hooks.span_active():
            raise UsageError("end the active run (%track end) before switching stores")
        ctx.switch_store(args.path)
    summary = ctx.tracker.store_summary()
    counts = summary.counts
    runs, deleted, experiments = counts["runs"], counts["deleted_runs"], counts["experiments"]
    ctx.say(
        f"nbtrack store: {summary.location.directory} (found by {summary.location.how}; "
        f"schema {summary.schema_version}; {runs} runs in {experiments} experiments"
        + (f", {deleted} deleted" if deleted else "")
        + ")"
    )
