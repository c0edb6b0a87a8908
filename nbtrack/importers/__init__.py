"""Importers: runs and models tracked elsewhere, brought into an nbtrack store."""

from .mlflow import ImportReport, import_mlflow

__all__ = ["ImportReport", "import_mlflow"]
