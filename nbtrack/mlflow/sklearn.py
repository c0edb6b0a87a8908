"""``mlflow.sklearn``: log and load scikit-learn models as pickles on nbtrack runs."""

from __future__ import annotations

from typing import Any

from .models_io import ModelInfo, load, log_model as _log_model


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    *,
    name: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    serialization_format: str = "cloudpickle",
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    conda_env: Any = None,
    metadata: Any = None,
    **kwargs: Any,
) -> ModelInfo:
    """Pickle ``sk_model`` as the run's artifact ``models/<name>.pkl``; returns its ``runs:/`` URI."""
    return _log_model(
        sk_model, "sklearn", artifact_path, name, signature, registered_model_name, {"serialization_format": "pickle"}
    )


def load_model(model_uri: str, dst_path: str | None = None) -> Any:
    """The scikit-learn model itself (its sha256 checked before unpickling: load from stores you trust)."""
    return load(model_uri)


def save_model(*args: Any, **kwargs: Any) -> None:
    from .exceptions import MlflowException

    raise MlflowException(
        "nbtrack keeps models in its store: use sklearn.log_model inside a run, then load_model('runs:/ID/NAME')"
    )


def __getattr__(name: str):
    from .models_io import not_in_flavor

    if name.startswith("__"):
        raise AttributeError(name)
    raise not_in_flavor("sklearn", name)
