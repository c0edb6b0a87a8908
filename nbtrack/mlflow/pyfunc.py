"""``mlflow.pyfunc``: load any model nbtrack stores (a pickle) behind MLflow's ``predict`` interface."""

from __future__ import annotations

from typing import Any

from .models_io import ModelInfo, PyFuncModel, PythonModel, PythonModelContext, load, log_model as _log_model

__all__ = ["ModelInfo", "PyFuncModel", "PythonModel", "PythonModelContext", "load_model", "log_model"]


def load_model(
    model_uri: str, suppress_warnings: bool = False, dst_path: str | None = None, model_config: Any = None
) -> PyFuncModel:
    """``runs:/ID/PATH`` or ``models:/NAME/VERSION`` (stage, ``@alias``); ``.predict(data)`` as in MLflow."""
    return PyFuncModel(load(model_uri), model_uri)


def log_model(
    artifact_path: str | None = None,
    python_model: Any = None,
    *,
    name: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    artifacts: Any = None,
    **kwargs: Any,
) -> ModelInfo:
    """Pickle ``python_model`` (a :class:`PythonModel` or any object with ``predict``) on the active run."""
    from .exceptions import MlflowException

    if python_model is None:
        raise MlflowException("nbtrack's pyfunc.log_model takes python_model= (a picklable object with predict)")
    if artifacts:
        raise MlflowException(
            "pyfunc artifacts= is not supported; log the files with log_artifact and read them back by run id"
        )
    return _log_model(python_model, "python_function", artifact_path, name, signature, registered_model_name)


def __getattr__(name: str):
    from .models_io import not_in_flavor

    if name.startswith("__"):
        raise AttributeError(name)
    raise not_in_flavor("pyfunc", name)
