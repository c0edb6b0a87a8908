"""``mlflow.data``: datasets for ``log_input``, recorded as nbtrack data inputs (a fingerprint, not the data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Dataset:
    """A pandas or NumPy dataset with a name (MLflow's ``PandasDataset``/``NumpyDataset``)."""

    df: Any
    name: str
    source: str = ""
    targets: str | None = None

    @property
    def digest(self) -> str:
        from ..fingerprint import fingerprint

        return fingerprint(self.df)["digest"][:8]

    @property
    def features(self) -> Any:
        return self.df


def from_pandas(
    df: Any,
    source: Any = None,
    targets: str | None = None,
    name: str | None = None,
    digest: str | None = None,
    predictions: str | None = None,
) -> Dataset:
    return Dataset(df, name or "dataset", "" if source is None else str(source), targets)


def from_numpy(
    features: Any, source: Any = None, targets: Any = None, name: str | None = None, digest: str | None = None
) -> Dataset:
    return Dataset(features, name or "dataset", "" if source is None else str(source))
