"""nbtrack: experiment tracking and a model registry that live inside the notebook."""

__version__ = "0.1.0"


def load_ipython_extension(ipython):  # pragma: no cover - thin shim, tested via %load_ext
    from .extension import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython):  # pragma: no cover
    from .extension import unload_ipython_extension as unload

    unload(ipython)
