"""Logging, registering and loading models the MLflow way, as nbtrack run artifacts (pickles).

``sklearn.log_model(model, name="clf")`` stores ``models/clf.pkl`` on the run and answers with
``runs:/RUN_ID/clf``, the URI ``load_model`` and ``register_model`` take. A signature, when
given, is kept beside it as ``models/clf.signature.json``.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from .. import api
from ..tracking.artifacts import parse_runs_uri
from . import entities as ml
from .exceptions import MlflowException


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` returns (MLflow's ``ModelInfo``)."""

    model_uri: str
    artifact_path: str
    run_id: str
    flavors: dict[str, Any] = field(default_factory=dict)
    signature: Any = None
    registered_model_version: int | None = None

    @property
    def name(self) -> str:
        return self.artifact_path


def log_model(
    model: Any,
    flavor: str,
    artifact_path: str | None,
    name: str | None,
    signature: Any = None,
    registered_model_name: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ModelInfo:
    from .client import MlflowClient, artifact_name

    if artifact_path is not None and name is not None and artifact_path != name:
        raise MlflowException("give the model's name once: name= (MLflow 3) or artifact_path= (MLflow 2)")
    label = name or artifact_path or "model"
    artifact_name(None, label)  # checked before anything is written
    tracker = api.tracker()
    from . import _current

    run = _current()
    tracker.log_model(model, label, run=run)
    if signature is not None:
        tracker.log_bytes(
            json.dumps(_signature_dict(signature), default=str, indent=2).encode(),
            f"models/{label}.signature.json",
            "application/json",
            run=run,
        )
    uri = f"runs:/{run.id}/{label}"
    version = None
    if registered_model_name is not None:
        version = register(MlflowClient(), uri, registered_model_name, None).version
    return ModelInfo(uri, label, run.id, {flavor: dict(extra or {})}, signature, version)


def register(client: Any, model_uri: str, name: str, tags: Mapping[str, Any] | None) -> ml.ModelVersion:
    if not isinstance(model_uri, str) or not model_uri.startswith("runs:/"):
        raise MlflowException(
            f"register_model takes runs:/RUN_ID/PATH, got {model_uri!r} (nbtrack registers models logged to its runs)"
        )
    return client.create_model_version(name, model_uri, tags=tags)


def load(model_uri: str) -> Any:
    """The pickled model behind ``runs:/ID/PATH``, ``models:/NAME/VERSION|STAGE|@alias``, checked by sha256."""
    if not isinstance(model_uri, str):
        raise MlflowException(f"model_uri must be a string, got {type(model_uri).__name__}")
    if model_uri.startswith("runs:/"):
        run_ref, name = parse_runs_uri(model_uri)
        return api.tracker().load_model_artifact(run_ref, name)
    if model_uri.startswith("models:/"):
        return api.load_model(model_uri)
    raise MlflowException(
        f"nbtrack loads models from runs:/RUN_ID/PATH or models:/NAME/VERSION URIs, not {model_uri!r}"
    )


def _signature_dict(signature: Any) -> Any:
    to_dict = getattr(signature, "to_dict", None)
    return to_dict() if callable(to_dict) else {"repr": repr(signature)}


class PyFuncModel:
    """``mlflow.pyfunc.load_model``'s result: ``predict(data)`` calls the model's own predict."""

    def __init__(self, model: Any, uri: str):
        self._model = model
        self.model_uri = uri
        if isinstance(model, PythonModel):
            model.load_context(PythonModelContext())

    def predict(self, data: Any, params: dict | None = None) -> Any:
        """``predict(context, data)`` for a PythonModel that takes a context (MLflow 2 style), else ``predict(data)``."""
        model = self._model
        extra = {"params": params} if params else {}
        if _takes_context(model):
            return model.predict(PythonModelContext(), data, **extra)
        return model.predict(data, **extra)

    def unwrap_python_model(self) -> Any:
        return self._model

    def get_raw_model(self) -> Any:
        return self._model

    def __repr__(self) -> str:
        return f"<PyFuncModel {type(self._model).__name__} from {self.model_uri}>"


def _takes_context(model: Any) -> bool:
    try:
        parameters = list(inspect.signature(model.predict).parameters)
    except (TypeError, ValueError, AttributeError):
        return False
    return len(parameters) >= 2 and parameters[0] == "context"


@dataclass(frozen=True)
class PythonModelContext:
    """What ``load_context``/``predict`` receive: nbtrack keeps no pyfunc artifacts or model config."""

    artifacts: dict[str, str] = field(default_factory=dict)
    model_config: dict[str, Any] = field(default_factory=dict)


class PythonModel:
    """Base class of custom models (``mlflow.pyfunc.PythonModel``): override ``predict(context, model_input)``."""

    def load_context(self, context: Any) -> None:
        return None

    def predict(self, context: Any, model_input: Any, params: dict | None = None) -> Any:
        raise NotImplementedError(
            "a PythonModel subclass defines predict(self, context, model_input) or predict(self, model_input)"
        )


def not_in_flavor(module: str, name: str) -> MlflowException | AttributeError:
    """The error for ``mlflow.<module>.<name>`` that nbtrack lacks: autolog says what to do instead."""
    if name == "autolog":
        return MlflowException(
            f"mlflow.{module}.autolog is not part of nbtrack: log params and metrics with log_params/log_metric "
            f"and the model with nbtrack.mlflow.{module}.log_model, or use %%track cells, which record them automatically"
        )
    return AttributeError(
        f"nbtrack.mlflow.{module} has no {name!r}: it covers log_model and load_model for pickled models "
        "(README, 'Coming from MLflow')"
    )
