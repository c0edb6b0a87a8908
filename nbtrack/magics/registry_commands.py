"""``%track register``, ``%track stage``, ``%track models``: the model registry from the notebook."""

from __future__ import annotations

import argparse

from ..commands.registry import PROMOTE, target_stage
from ..display.models import ModelDetails, ModelList, PromotionView
from ..registry import Registry
from .parser import command, subcommand


def _registry(ctx) -> Registry:
    return ctx.session.registry  # flushed first: gates read metrics, buffered points must count


def _register_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", nargs="?", help="run id (unique prefix) or name; default: the active or last run")
    parser.add_argument("--name", "-n", required=True, help="registered model name")
    parser.add_argument(
        "--artifact", "-a", default=None, help="artifact to register (default: the run's only logged model)"
    )
    parser.add_argument("--description", "-d", default=None, help="description of the new version")


@subcommand(
    "register",
    "register a run's logged model as a new version: %track register [RUN] --name NAME [--artifact A]",
    _register_args,
)
def register(ctx, args):
    run = args.run or ctx.last_run_id()
    registry = _registry(ctx)
    version = registry.register_model(run, args.artifact, args.name, description=args.description)
    ctx.say(f"nbtrack: registered {args.name!r} version {version} (models:/{args.name}/{version})")


_PROMOTE_USAGE = "%track promote NAME VERSION STAGE [--comment ...] [--require EXPR] [--strict]"


@command(PROMOTE, _PROMOTE_USAGE)
def promote(ctx, args):
    result = _registry(ctx).promote(
        args.name,
        args.version,
        target_stage(args, _PROMOTE_USAGE),
        require=args.require,
        archive_existing=not args.no_archive,
        comment=args.comment,
        strict=args.strict,
        require_policy=False if args.no_policy else None,
    )
    ctx.say("nbtrack: " + str(PromotionView(result)))


def _models_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="show this model's versions (default: list all models)")


@subcommand("models", "list registered models, or show one: %track models [NAME]", _models_args)
def models(ctx, args):
    registry = _registry(ctx)
    if args.name:
        return ModelDetails(registry.get_model(args.name))
    return ModelList(registry.search_models())
