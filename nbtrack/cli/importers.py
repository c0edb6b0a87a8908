"""``nbtrack import mlflow DB``: bring runs tracked with MLflow into the store (see :mod:`nbtrack.importers.mlflow`)."""

from __future__ import annotations

from . import open_tracker


def register(sub) -> None:
    group = sub.add_parser("import", help="import runs tracked elsewhere (MLflow)")
    sources = group.add_subparsers(dest="import_source", metavar="SOURCE")
    mlflow = sources.add_parser(
        "mlflow", help="an MLflow tracking database (sqlite): runs (same ids), their local artifacts, registered models"
    )
    mlflow.add_argument("database", help="MLflow's backend store file, e.g. mlflow.db or sqlite:///mlflow.db")
    mlflow.add_argument(
        "--artifacts-root",
        default=None,
        metavar="DIR",
        help="where MLflow's mlruns (or a tracking server's artifact root) is now, if the recorded paths no longer exist "
        "(mlruns and mlartifacts next to the database are tried too)",
    )
    mlflow.add_argument("--no-artifacts", action="store_true", help="import runs without their artifacts")
    mlflow.add_argument("--no-models", action="store_true", help="leave MLflow's registered models out")
    mlflow.set_defaults(handler=cmd_import_mlflow, create=True)
    group.set_defaults(handler=lambda args: group.print_help() or 1)


def cmd_import_mlflow(args) -> int:
    from ..importers import import_mlflow

    tracker = open_tracker(args)
    try:
        report = import_mlflow(
            tracker, args.database, args.artifacts_root, artifacts=not args.no_artifacts, models=not args.no_models
        )
    finally:
        tracker.close()
    print(report.summary())
    print(f"into {tracker.location.directory}: see the runs with `nbtrack runs ls`")
    return 0
