"""``nbtrack diff A B`` and ``nbtrack rerun RUN``: what changed, and whether a run reproduces.

``nbtrack rerun`` exits 0 when the run is verified and 1 when it is not (or cannot be
re-executed), so CI can gate on reproducibility.
"""

from __future__ import annotations

import json
import sys

from . import open_tracker


def register(sub) -> None:
    diff = sub.add_parser("diff", help="what changed between two runs: params, metrics, cells, packages, git commit")
    diff.add_argument("a", help="the run before (id, unique prefix of 4+ characters, or name)")
    diff.add_argument("b", help="the run after")
    diff.add_argument("--json", action="store_true", help="print the application/vnd.nbtrack.diff.v1+json record")
    diff.add_argument(
        "--outputs", action="store_true", help="also compare what each executed cell printed, displayed or raised"
    )
    diff.set_defaults(handler=cmd_diff)

    from ..repro.rerun import add_rerun_options

    rerun = sub.add_parser(
        "rerun", help="re-execute a run's notebook in a fresh kernel; mark it verified if it reproduces"
    )
    rerun.add_argument("run", help="run id (unique prefix of 4+ characters) or name")
    add_rerun_options(rerun)
    rerun.add_argument("--json", action="store_true", help="print the application/vnd.nbtrack.rerun.v1+json record")
    rerun.set_defaults(handler=cmd_rerun)


def cmd_diff(args) -> int:
    from ..display.diff import RunDiffView, diff_record
    from ..repro.diff import diff_runs

    tracker = open_tracker(args)
    try:
        diff = diff_runs(tracker, args.a, args.b, outputs=args.outputs)
    finally:
        tracker.close()
    print(json.dumps(diff_record(diff), indent=2, default=str) if args.json else str(RunDiffView(diff)))
    return 0


def cmd_rerun(args) -> int:
    from ..display.rerun import RerunReport, rerun_record
    from ..repro.rerun import rerun
    from ..repro.tolerance import Tolerance

    def progress(number: int, total: int, title: str) -> None:
        print(f"  [{number}/{total}] {title}", file=sys.stderr if args.json else sys.stdout, flush=True)

    tracker = open_tracker(args)
    try:
        result = rerun(
            tracker,
            args.run,
            tolerance=Tolerance(args.rtol, args.atol),
            timeout=args.timeout,
            kernel_name=args.kernel,
            as_executed=args.as_executed,
            output=args.output,
            progress=progress,
        )
    finally:
        tracker.close()
    print(json.dumps(rerun_record(result), indent=2) if args.json else str(RerunReport(result)))
    return 0 if result.verified else 1
