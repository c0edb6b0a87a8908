"""README.md documents every %track subcommand and every CLI command (a docs-drift test)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

README = (Path(__file__).parents[1] / "README.md").read_text()


def _cli_commands() -> list[str]:
    from nbtrack.cli import build_parser

    found = []

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    words = f"{prefix} {name}"
                    found.append(words)
                    walk(child, words)

    walk(build_parser(), "nbtrack")
    return found


def _subcommands() -> list[str]:
    import nbtrack.magics  # noqa: F401  registers every subcommand
    from nbtrack.magics.parser import subcommands

    return sorted(subcommands())


@pytest.mark.parametrize("name", _subcommands())
def test_every_track_subcommand_is_in_readme(name):
    assert f"%track {name}" in README


@pytest.mark.parametrize("command", _cli_commands())
def test_every_cli_command_is_in_readme(command):
    """`nbtrack models promote` may be documented as `nbtrack models ls|show|...|promote`."""
    *group, last = command.split()
    pattern = re.escape(" ".join(group)) + r" (?:[\w-]+(?:\\?\|))*" + re.escape(last) + r"\b"
    assert re.search(pattern, README), command


def test_readme_opens_with_the_two_commands():
    block = README.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[0].endswith("nbtrack demo")
    assert commands[1] == "./scripts/setup && .venv/bin/python -m pytest"
    ci = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    assert "./scripts/setup" in ci and ".venv/bin/python -m pytest" in ci
