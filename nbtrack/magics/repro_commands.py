"""``%track diff | rerun``: what changed between two runs, and whether a run reproduces.

``%track rerun`` executes the run's notebook in a separate kernel (nbclient), so it
neither needs nor blocks this one; progress prints cell by cell as it goes.
"""

from __future__ import annotations

import argparse

from ..display.diff import RunDiffView
from ..display.rerun import RerunReport
from ..repro.diff import diff_runs
from ..repro.rerun import add_rerun_options, nested_rerun, rerun
from ..repro.tolerance import Tolerance
from .parser import subcommand


def _diff_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", help="the run before (id, unique prefix of 4+ characters, or name)")
    parser.add_argument("b", nargs="?", help="the run after (default: the last run of this session)")
    parser.add_argument(
        "--outputs", action="store_true", help="also compare what each executed cell printed, displayed or raised"
    )


@subcommand(
    "diff",
    "what changed between two runs: params, metrics, cells (unified diffs), packages, git commit; --outputs adds cell outputs",
    _diff_args,
)
def diff(ctx, args):
    return RunDiffView(diff_runs(ctx.tracker, args.a, args.b or ctx.last_run_id(), outputs=args.outputs))


def _rerun_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", nargs="?", help="run id (unique prefix of 4+ characters) or name; default: the last run")
    add_rerun_options(parser)


@subcommand(
    "rerun",
    "re-execute a run's notebook in a fresh kernel; mark it verified if its metrics and cell outputs reproduce",
    _rerun_args,
)
def rerun_command(ctx, args):
    if nested_rerun():
        ctx.say(f"nbtrack: {nested_rerun()}")
        return None
    result = rerun(
        ctx.tracker,
        args.run or ctx.last_run_id(),
        tolerance=Tolerance(args.rtol, args.atol),
        timeout=args.timeout,
        kernel_name=args.kernel,
        as_executed=args.as_executed,
        output=args.output,
        progress=lambda number, total, title: ctx.say(f"  [{number}/{total}] {title}"),
    )
    return RerunReport(result)
