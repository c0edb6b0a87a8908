"""The ``nbtrack`` command line: ``nbtrack runs ls``, ``nbtrack store info``, ...

Each command group lives in its own module exposing ``register(subparsers)``; exit
codes are 0 on success, 1 for usage errors and things not found, 2 for store errors.
Every text a command writes passes :class:`InertStream`: names, params, tags and notes come
from whoever wrote the store, and a terminal must show their control characters, not obey them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import NbtrackError

#: modules with a ``register(subparsers)`` function, in help order
COMMAND_MODULES = ["runs", "artifacts", "store_info", "models", "snapshot", "repro", "importers", "check", "demo"]


class _Parser(argparse.ArgumentParser):
    """Every command and sub-command also takes the global options, so ``nbtrack demo --store PATH``
    works as users type it; given there, they override the same options given before the command."""

    def __init__(self, *args, command: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if command:  # SUPPRESS: not given after the command leaves the value given before it
            self.add_argument("--store", "-s", default=argparse.SUPPRESS, help=STORE_HELP)

    def error(self, message: str):
        self.print_usage(sys.stderr)
        print(f"nbtrack: error: {message}", file=sys.stderr)
        raise SystemExit(1)


STORE_HELP = "store directory (default: NBTRACK_STORE, nearest .nbtrack/, git root, cwd)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nbtrack", description="Experiment tracking and a model registry for Jupyter notebooks.", command=False
    )
    parser.add_argument("--store", "-s", default=None, help=STORE_HELP)
    from ..version import __version__

    parser.add_argument("--version", action="version", version=f"nbtrack {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors and --help: report the code instead of exiting the caller
        return int(exc.code or 0)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 1
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = InertStream(stdout), InertStream(stderr)
    try:
        result = args.handler(args)
    except NbtrackError as exc:
        print(f"nbtrack: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `nbtrack runs ls | head`
        return 0
    finally:
        sys.stdout, sys.stderr = stdout, stderr
    return int(result or 0)


class InertStream:
    """A text stream that writes control characters escaped (:func:`nbtrack.display.format.inert`).

    Newlines, tabs and CRLF line ends pass; ESC, OSC, backspace, a lone CR, C1 controls and
    bidirectional overrides are written as ``\\x1b``-style text. Binary output (``artifacts get
    -o -``) goes through ``.buffer`` untouched, as asked for.
    """

    def __init__(self, stream):
        from ..display.format import inert  # here, not at the top: `nbtrack --help` stays quick

        self._stream, self._inert = stream, inert

    def write(self, text: str) -> int:
        return self._stream.write(self._inert(text, "stream"))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def open_tracker(args):
    """The tracker for CLI commands (never creates a store as a side effect of reading)."""
    from ..tracking import Tracker

    return Tracker.open(args.store, create=getattr(args, "create", False))
