"""nbtrack: experiment tracking and a model registry that live inside the notebook.

``import nbtrack`` stays cheap (no IPython, ipywidgets, matplotlib or sqlite-utils):
the API functions are loaded on first attribute access.
"""

from __future__ import annotations

from .version import __version__

_API = (
    "set_experiment",
    "start_run",
    "end_run",
    "active_run",
    "log_param",
    "log_params",
    "log_metric",
    "log_metrics",
    "set_tag",
    "set_tags",
    "set_note",
    "log_artifact",
    "log_text",
    "log_dict",
    "log_figure",
    "log_model",
    "log_input",
    "get_run",
    "list_artifacts",
    "load_artifact",
    "load_text",
    "load_dict",
    "download_artifacts",
    "search_runs",
    "delete_run",
    "restore_run",
    "metric_history",
    "plot_history",
    "flush",
    "set_store",
    "register_model",
    "transition_stage",
    "set_alias",
    "delete_alias",
    "get_model_version",
    "search_models",
    "load_model",
    "promote",
    "compare_versions",
    "model_history",
    "rename_model",
    "delete_model",
    "delete_model_version",
    "restore_model",
    "restore_model_version",
    "dashboard",
    "diff_runs",
    "rerun",
    "import_mlflow",
)
__all__ = [*_API, "load_ipython_extension", "unload_ipython_extension", "__version__"]


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'nbtrack' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython) -> None:
    """``%load_ext nbtrack``: register the ``%track`` magics and the cell hooks."""
    from .extension import load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext nbtrack``: remove everything ``load`` registered."""
    from .extension import unload

    unload(ipython)
