"""``%track dashboard [QUERY]``: the inline dashboard (Runs, Compare and Registry tabs)."""

from __future__ import annotations

import argparse

from .parser import subcommand


def _dashboard_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "query", nargs="*", help="initial filter, e.g. params.model = 'gbm' (kept verbatim, quotes included)"
    )
    parser.add_argument("--page-size", "-n", type=int, default=25, help="runs per page (default 25)")


@subcommand(
    "dashboard",
    "open the dashboard: runs table, comparison and model registry: %track dashboard [QUERY]",
    _dashboard_args,
)
def dashboard(ctx, args):
    from ..widgets import Dashboard  # ipywidgets only when a dashboard is opened

    return Dashboard(ctx.tracker, " ".join(args.query) or None, page_size=args.page_size, registry=ctx.session.registry)
