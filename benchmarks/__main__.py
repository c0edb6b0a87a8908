"""``python -m benchmarks``: measure every workload and (re)write benchmarks/RESULTS.md."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from . import machine, report, runner
from .spec import BY_ID, PROFILES, WORKLOADS

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--profile", choices=PROFILES, default="full", help="workload sizes (smoke: tiny, for tests)")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved repetitions per workload (default 5)")
    parser.add_argument("--only", default="", metavar="ID,ID", help=f"workload ids to run: {', '.join(BY_ID)}")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md", help="markdown file to write ('-' for stdout)")
    parser.add_argument("--keep", action="store_true", help="keep the stores the workloads wrote (prints where)")
    args = parser.parse_args(argv)

    workloads = [BY_ID[i.strip()] for i in args.only.split(",") if i.strip()] if args.only else list(WORKLOADS)
    workdir = Path(tempfile.mkdtemp(prefix="nbtrack-bench-"))
    try:
        results = runner.run(
            workloads, args.profile, max(1, args.repeat), workdir, progress=lambda m: print(m, file=sys.stderr)
        )
    finally:
        if args.keep:
            print(f"stores kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    command = "python -m benchmarks" + (f" {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    text = report.render(workloads, results, machine.describe(), args.profile, max(1, args.repeat), command)
    if str(args.out) == "-":
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
