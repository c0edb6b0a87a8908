"""Commands declared once for the magic and the CLI (issue 15, point 5)."""

from __future__ import annotations

import argparse

import pytest

from nbtrack.commands.registry import PROMOTE


def _options(parser: argparse.ArgumentParser) -> dict[str, tuple]:
    return {a.dest: (tuple(a.option_strings), a.nargs, a.default, a.help) for a in parser._actions if a.dest != "help"}


def _magic_parser(name: str, parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    import nbtrack.magics  # noqa: F401  registers every subcommand
    from nbtrack.magics.parser import line_parser

    sub = next(a for a in (parser or line_parser())._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def _cli_parser(*path: str, parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    from nbtrack.cli import build_parser

    parser = parser or build_parser()
    for name in path:
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    return parser


def test_promote_has_the_same_arguments_in_the_magic_and_the_cli():
    magic, cli = _options(_magic_parser("promote")), _options(_cli_parser("models", "promote"))
    cli.pop("store")  # every CLI command takes --store (the magic has %track store)
    assert magic == cli
    assert {"strict", "comment", "require", "no_archive", "to", "stage"} <= set(magic)
    # the older names reach the same declaration
    from nbtrack.cli import build_parser
    from nbtrack.magics.parser import line_parser

    magic_root, cli_root = line_parser(), build_parser()
    assert _magic_parser("stage", magic_root) is _magic_parser("promote", magic_root)
    assert _cli_parser("models", "stage", parser=cli_root) is _cli_parser("models", "promote", parser=cli_root)
    assert PROMOTE.name == "promote" and "stage" in PROMOTE.aliases


@pytest.mark.parametrize("command", ["alias", "rename", "rm", "restore", "promote"])
def test_comment_is_the_one_shared_declaration(command):
    options = _options(_cli_parser("models", command))
    assert options["comment"] == (("--comment", "-c"), None, None, "why (kept in the audit trail)")


@pytest.fixture
def fraud(shell):
    shell.ok(
        "%%track --quiet\nfrom sklearn.dummy import DummyClassifier\nclf = DummyClassifier()\nimport nbtrack\nnbtrack.log_model(clf, 'clf')\nf1 = 0.8"
    )
    shell.ok("%track register --name fraud --artifact clf")
    return shell


def test_the_magic_takes_strict_like_the_cli(fraud, capsys):
    """``--strict``: a gate naming a missing holder fails; it existed only in the CLI before."""
    fraud.ok("%track promote fraud 1 Production --require 'metrics.f1 >= production.metrics.f1' --strict")
    captured = capsys.readouterr()
    assert "GateFailedError" in captured.err
    fraud.ok("%track stage fraud 1 --to Production --require 'metrics.f1 >= production.metrics.f1'")
    assert "Production" in capsys.readouterr().out


def test_two_different_stages_are_refused(fraud, capsys):
    fraud.ok("%track promote fraud 1 Staging --to Production")
    assert "two stages given" in capsys.readouterr().err
