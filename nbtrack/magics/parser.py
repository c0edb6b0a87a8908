"""Argument parsing for ``%track`` subcommands and the ``%%track`` cell magic.

Subcommands register themselves with :func:`subcommand`; the registry feeds both the
parser and the ``%track?`` help, so help can never drift from what is accepted. An operation the
CLI offers too is declared once in :mod:`nbtrack.commands` and registered from there
(``subcommand(*PROMOTE.magic())``-style: name, help, configure, aliases).
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError

Handler = Callable[[Any, argparse.Namespace], Any]


@dataclass(frozen=True)
class Subcommand:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    handler: Handler
    aliases: tuple[str, ...] = ()


_SUBCOMMANDS: dict[str, Subcommand] = {}


def subcommand(
    name: str,
    help: str,
    configure: Callable[[argparse.ArgumentParser], None] | None = None,
    aliases: tuple[str, ...] = (),
):
    """Decorator registering ``handler(context, args)`` as ``%track NAME`` (and ``%track ALIAS``)."""

    def register(handler: Handler) -> Handler:
        _SUBCOMMANDS[name] = Subcommand(name, help, configure or (lambda parser: None), handler, tuple(aliases))
        return handler

    return register


def command(spec, usage: str):
    """Decorator registering a shared :class:`nbtrack.commands.Command` as a subcommand; ``usage``
    is the one-line form shown in ``%track?``."""
    return subcommand(spec.name, f"{spec.help}: {usage}", spec.configure, spec.aliases)


def subcommands() -> dict[str, Subcommand]:
    """Every subcommand by its name (aliases not repeated)."""
    return dict(_SUBCOMMANDS)


def find(name: str) -> Subcommand:
    """The subcommand called ``name`` or answering to it as an alias."""
    found = _SUBCOMMANDS.get(name) or next((s for s in _SUBCOMMANDS.values() if name in s.aliases), None)
    if found is None:
        raise UsageError(f"%track: unknown subcommand {name!r}")
    return found


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting the kernel."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None):
        raise UsageError((message or "").strip() or f"{self.prog}: invalid arguments")


def line_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%track", add_help=False, description="Track experiments from the notebook.")
    sub = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", parser_class=_Parser)
    for item in _SUBCOMMANDS.values():
        child = sub.add_parser(
            item.name, aliases=list(item.aliases), help=item.help, description=item.help, add_help=False
        )
        item.configure(child)
    return parser


def cell_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%%track", add_help=False, description="Run the cell unchanged and record it as a run.")
    parser.add_argument("name", nargs="?", help="run name (default: none; runs are found by id or cell)")
    parser.add_argument("--experiment", "-e", help="experiment to record into (default: the current one)")
    parser.add_argument("--tag", "-t", action="append", default=[], metavar="K=V", help="tag the run; repeatable")
    parser.add_argument("--params", "-p", default="", metavar="A,B", help="also record these names as params")
    parser.add_argument("--metrics", "-m", default="", metavar="F1,AUC", help="also record these names as metrics")
    parser.add_argument("--no-snapshot", action="store_true", help="do not snapshot the notebook for this run")
    parser.add_argument("--quiet", "-q", action="store_true", help="do not print the one-line run summary")
    return parser


def parse(parser: argparse.ArgumentParser, line: str) -> argparse.Namespace:
    """Split like a shell, except that a free-form ``query`` keeps its quotes.

    ``%track ls experiment = 'churn' --order-by "metrics.f1 desc"`` must hand the query
    grammar ``experiment = 'churn'`` (quotes and all) and argparse ``metrics.f1 desc``.
    """
    first = line.split(None, 1)[0] if line.strip() else ""
    keeps_quotes = first in _QUERY_SUBCOMMANDS
    try:
        words = shlex.split(line, posix=not keeps_quotes)
    except ValueError as exc:
        raise UsageError(f"{parser.prog}: {exc}") from None
    args = parser.parse_args(words)
    for name, value in vars(args).items():
        if name == "query":
            continue
        if isinstance(value, str):
            setattr(args, name, _unquote(value))
        elif isinstance(value, list):
            setattr(args, name, [_unquote(v) if isinstance(v, str) else v for v in value])
    return args


#: subcommands whose positional ``query`` is handed to the query grammar verbatim
_QUERY_SUBCOMMANDS = {"ls", "dashboard"}


def _unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"":
        return word[1:-1]
    return word


def names(csv: str) -> list[str]:
    return [n.strip() for n in csv.split(",") if n.strip()]


def help_text() -> str:
    """Full help: the cell magic and every subcommand's usage and options."""
    parts = [cell_parser().format_help().strip(), "", "Line magic subcommands:"]
    parser = line_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, child in actions[0].choices.items() if actions else []:
        if name not in _SUBCOMMANDS:
            continue  # an alias: shown with its command
        also = "".join(f"\n(also: %track {alias})" for alias in _SUBCOMMANDS[name].aliases)
        parts += ["", child.format_help().strip().replace("usage: %track", "%track", 1) + also]
    return "\n".join(parts)
