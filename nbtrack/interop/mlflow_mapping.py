"""The one nbtrack <-> MLflow field mapping, used by the importer, the ``nbtrack.mlflow`` module (and push/pull).

nbtrack and MLflow record the same things in a few different shapes; each difference is
decided here once, so the bridges can never disagree:

- run name, user, parent and note are run fields in nbtrack and ``mlflow.*`` system tags in
  MLflow (:data:`FOLDED_TAGS`); the notebook path and git commit are MLflow source tags;
- params are typed in nbtrack and text in MLflow: MLflow text becomes a typed value only when
  that value's text is exactly the same text again (``'0.1'`` -> 0.1, but ``'1e3'``,
  ``'0.10'`` and ``'(1, 2)'`` stay text), so a param always reads back as MLflow showed it;
- times are epoch seconds (floats) in nbtrack and epoch milliseconds (ints) in MLflow;
- stages share their names; MLflow's deleted-version marker is not a stage.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from typing import Any

from ..entities import STAGE_NONE, STAGES
from ..errors import UsageError
from ..values import param_value

RUN_NAME, USER, PARENT, NOTE = "mlflow.runName", "mlflow.user", "mlflow.parentRunId", "mlflow.note.content"
SOURCE_NAME, SOURCE_TYPE, GIT_COMMIT = "mlflow.source.name", "mlflow.source.type", "mlflow.source.git.commit"
#: MLflow tags that are run fields in nbtrack (tag -> field)
FOLDED_TAGS = {RUN_NAME: "name", USER: "user", PARENT: "parent", NOTE: "note"}
#: MLflow tags derived from nbtrack provenance (read-only on the nbtrack side)
SOURCE_TAGS = (SOURCE_NAME, SOURCE_TYPE, GIT_COMMIT)
#: every MLflow system tag nbtrack answers from its own fields (the query dialect folds these too)
SYSTEM_TAGS = (*FOLDED_TAGS, *SOURCE_TAGS)
#: MLflow's marker for a version it deleted but keeps a row for
MLFLOW_DELETED_STAGE = "Deleted_Internal"
_LITERAL_START = tuple("0123456789-+.[{") + ("True", "False", "None")
#: below this an epoch "seconds" value is plausible (year 2286); above it, it is milliseconds
_SECONDS_LIMIT = 1e10


# -- times ---------------------------------------------------------------------------------------
def to_ms(seconds: float | None) -> int | None:
    """nbtrack epoch seconds -> MLflow epoch milliseconds, truncated (the millisecond the moment falls in),
    so ``start_time >= run.info.start_time`` in MLflow's filter dialect matches the run itself."""
    return None if seconds is None else math.floor(seconds * 1000 + 1e-6)


def to_seconds(milliseconds: float | None) -> float | None:
    """MLflow epoch milliseconds -> nbtrack epoch seconds."""
    return None if milliseconds is None else milliseconds / 1000.0


def looks_like_ms(timestamp: float) -> bool:
    """True for a timestamp too large to be epoch seconds (it reads as a date after 2286)."""
    return abs(timestamp) >= _SECONDS_LIMIT


# -- experiments -----------------------------------------------------------------------------------
#: MLflow's Default experiment is "0"; nbtrack's Default experiment answers to that id
DEFAULT_EXPERIMENT_ID = "0"


def experiment_id(row_id: int, name: str, default_name: str = "Default") -> str:
    """The id MLflow code sees for an nbtrack experiment: its number, and "0" for the Default one."""
    return DEFAULT_EXPERIMENT_ID if name == default_name else str(row_id)


# -- params ----------------------------------------------------------------------------------------
def param_text(value: Any) -> str:
    """The text MLflow shows for a param nbtrack keeps typed (MLflow logs ``str(value)``)."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    return str(value)


def param_from_text(text: str) -> Any:
    """The value nbtrack keeps for MLflow param text: typed when it reads back as the same text.

    ``'0.1'`` -> 0.1, ``'5'`` -> 5, ``'True'`` -> True, ``'[1, 2]'`` -> [1, 2], ``'None'`` -> None;
    ``'1e3'``, ``'0.10'``, ``' 5'``, ``'(1, 2)'``, ``'{1, 2}'`` and other text stay the text.
    """
    if not text.startswith(_LITERAL_START):
        return text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if not (isinstance(value, (bool, int, float, list, dict)) or value is None):
        return text
    try:
        param_value(value)
    except UsageError:  # nested sets, bytes, huge text: keep what MLflow showed
        return text
    return value if param_text(value) == text else text


def logged_param(value: Any) -> Any:
    """What nbtrack keeps for ``mlflow.log_param(key, value)``: MLflow keeps ``str(value)``, so the
    same rule as for imported text applies (a tuple, set or object is kept as its text)."""
    if isinstance(value, str):
        return param_from_text(value)
    return param_from_text(str(value))


def params_as_text(params: Mapping[str, Any]) -> dict[str, str]:
    return {key: param_text(value) for key, value in params.items()}


# -- runs -----------------------------------------------------------------------------------------
def system_tags(run: Any) -> dict[str, str]:
    """The ``mlflow.*`` tags MLflow would show for an nbtrack run (``run`` is an entities.Run)."""
    tags: dict[str, str] = {}
    if run.name is not None:
        tags[RUN_NAME] = run.name
    if run.user:
        tags[USER] = run.user
    if run.parent_id:
        tags[PARENT] = run.parent_id
    if run.note:
        tags[NOTE] = run.note
    notebook = run.notebook_path
    if notebook:
        tags[SOURCE_NAME], tags[SOURCE_TYPE] = notebook, "NOTEBOOK"
    commit = run.provenance_columns.get("git_commit")
    if commit:
        tags[GIT_COMMIT] = commit
    return tags


def mlflow_tags(run: Any) -> dict[str, str]:
    """The run's tags as MLflow shows them: its own tags plus the system tags from its fields."""
    return {**run.tags, **system_tags(run)}


def split_folded(tags: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(run fields, other tags): ``mlflow.runName`` etc. become ``name``/``user``/``parent``/``note``."""
    fields = {FOLDED_TAGS[k]: v for k, v in tags.items() if k in FOLDED_TAGS}
    return fields, {k: v for k, v in tags.items() if k not in FOLDED_TAGS}


# -- registry --------------------------------------------------------------------------------------
def stage_from_mlflow(stage: str | None) -> str:
    """MLflow's stage names match nbtrack's ("None", "Staging", ...), case-insensitively; unknown is None."""
    if stage is None:
        return STAGE_NONE
    for known in STAGES:
        if known.lower() == str(stage).lower():
            return known
    return STAGE_NONE


def is_stage(stage: str | None) -> bool:
    return stage is not None and any(known.lower() == str(stage).lower() for known in STAGES)
