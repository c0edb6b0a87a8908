"""``mlflow.exceptions``: MLflow's error class, so ``except MlflowException`` keeps working."""

from __future__ import annotations

from ..errors import UsageError


class MlflowException(UsageError):
    """What MLflow raises; an nbtrack :class:`~nbtrack.errors.UsageError` too (one line in a notebook)."""

    def __init__(self, message: str, error_code: str = "INVALID_PARAMETER_VALUE"):
        super().__init__(message)
        self.message = message
        self.error_code = error_code


class RestException(MlflowException):
    pass
