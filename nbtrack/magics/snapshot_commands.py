"""``%track notebook | receipt | restore``: the notebook path, the hidden-state receipt, snapshots back to files."""

from __future__ import annotations

import argparse
import os

from ..errors import UsageError
from ..snapshot import storage
from .parser import subcommand


def _session(ctx):
    session = ctx.session.notebook if ctx.session is not None else None
    if session is None:
        raise UsageError("notebook snapshots are not active; load the extension with %load_ext nbtrack")
    return session


def _notebook_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", help="the notebook file this kernel runs (omit to show what nbtrack uses)")
    parser.add_argument("--clear", action="store_true", help="forget the path set here; detect it again")


@subcommand(
    "notebook", "set or show the notebook path recorded with runs: %track notebook [PATH] [--clear]", _notebook_args
)
def notebook(ctx, args):
    session = _session(ctx)
    if args.clear:
        session.override = None
    elif args.path:
        session.override = os.path.abspath(os.path.expanduser(args.path))
    found = session.notebook_path()
    ctx.say(f"nbtrack: notebook {found.path or '(unknown)'} (found by {found.method})")


def _run_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", nargs="?", help="run id (unique prefix of 4+ characters) or name; default: the last run")


@subcommand("receipt", "list why a run may not reproduce top to bottom (hidden state)", _run_arg)
def receipt(ctx, args):
    run = ctx.tracker.get_run(args.run or ctx.last_run_id())
    if run.receipt is None:
        ctx.say(f"nbtrack: run {run.short_id} has no receipt")
        return
    problems = run.receipt.get("problems", [])
    lines = [f"nbtrack: run {run.short_id} receipt: {'clean' if not problems else f'{len(problems)} problem(s)'}"]
    lines += [f"  - {p.get('kind')}: {p.get('message')}" for p in problems]
    ctx.say("\n".join(lines))


def _restore_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run id (unique prefix of 4+ characters) or name")
    parser.add_argument(
        "--to", dest="to", default=None, help="file to write (default: <run id>.ipynb in the working directory)"
    )
    parser.add_argument(
        "--as-executed", action="store_true", help="write the execution history (cells in the order they ran) instead"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")


@subcommand(
    "restore", "write a run's notebook snapshot (or, --as-executed, its execution history) to a file", _restore_args
)
def restore(ctx, args):
    tracker = ctx.tracker
    run = tracker.get_run(args.run)
    target = args.to or f"{run.short_id}{'-executed' if args.as_executed else ''}.ipynb"
    written = storage.write_notebook(tracker.blobs, run, target, args.as_executed, args.force)
    ctx.say(f"nbtrack: wrote {written}")
