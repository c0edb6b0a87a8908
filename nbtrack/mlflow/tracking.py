"""``mlflow.tracking``: ``from nbtrack.mlflow.tracking import MlflowClient``."""

from .client import MlflowClient

__all__ = ["MlflowClient"]
