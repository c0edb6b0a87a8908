"""Command declarations shared by the ``%track`` magic and the ``nbtrack`` CLI.

An operation's arguments are declared once, here, as a :class:`Command` of :class:`Arg` s; the
magic parser (:mod:`nbtrack.magics.parser`) and the argparse CLI (:mod:`nbtrack.cli`) both build
their parsers from it, so the two faces cannot drift apart (one gaining ``--strict``, the other
not). Each operation has one name, the one the Python API uses (``promote``); older spellings
stay as aliases (``%track stage``).

Pure argparse: no IPython, no store. To add an operation, declare it in a module of this package
and hand it to :func:`nbtrack.magics.parser.subcommand` and/or a CLI ``register``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Arg:
    """One ``parser.add_argument(*flags, **options)``."""

    flags: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(*self.flags, **self.options)


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


@dataclass(frozen=True)
class Command:
    """An operation as the faces offer it: its one name, other names it answers to, help, arguments."""

    name: str
    help: str
    args: tuple[Arg, ...] = ()
    aliases: tuple[str, ...] = ()

    def configure(self, parser: argparse.ArgumentParser) -> None:
        for argument in self.args:
            argument.add_to(parser)

    def add_to(self, subparsers, **options: Any) -> argparse.ArgumentParser:
        """Add this command (and its aliases) to an argparse ``add_subparsers`` object."""
        parser = subparsers.add_parser(self.name, aliases=list(self.aliases), help=self.help, **options)
        self.configure(parser)
        return parser


#: the reason recorded with a change in the registry's audit trail
COMMENT = arg("--comment", "-c", default=None, help="why (kept in the audit trail)")


__all__ = ["Arg", "COMMENT", "Command", "arg"]
