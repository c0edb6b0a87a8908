"""``mlflow.models``: model signatures (kept as JSON beside a logged model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModelSignature:
    inputs: Any = None
    outputs: Any = None
    params: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": self.inputs, "outputs": self.outputs, "params": self.params}


def infer_signature(model_input: Any = None, model_output: Any = None, params: dict | None = None) -> ModelSignature:
    """Column names and types (or array shape and dtype) of the input and output."""
    return ModelSignature(_describe(model_input), _describe(model_output), params)


def _describe(data: Any) -> Any:
    if data is None:
        return None
    dtypes = getattr(data, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):
        return [{"name": str(name), "type": str(kind)} for name, kind in dtypes.items()]
    if hasattr(data, "dtype") and hasattr(data, "shape"):
        return {"type": "tensor", "dtype": str(data.dtype), "shape": [-1, *list(data.shape)[1:]]}
    return {"type": type(data).__name__}
