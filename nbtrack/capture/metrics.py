"""Which names are metrics, and what a metric-like name holding a sequence of scores records.

Patterns are fnmatch patterns matched against the lower-cased name; a pattern starting with
``!`` excludes the names it matches (``!*scorer*``), whatever the other patterns say.
"""

from __future__ import annotations

import fnmatch
import math
import numbers
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

#: Metric names as people write them, and the obvious non-metrics that look like them
#: (functions, scorers, weights, sklearn's own ``error_score`` setting, ``accumulate_steps``).
DEFAULT_METRIC_PATTERNS: tuple[str, ...] = (
    "score", "*score*", "acc", "acc*", "*_acc", "*accuracy*",
    "f1", "f1*", "*_f1", "*_f1_*", "auc", "auc*", "*_auc", "roc_auc*",
    "*loss*", "*error*", "*precision*", "*recall*",
    "mse", "mse_*", "*_mse", "*rmse*", "mae", "mae_*", "*_mae", "mape", "*_mape",
    "r2", "r2_*", "*_r2", "mcc", "*_mcc", "kappa*", "*_kappa", "*silhouette*", "*perplexity*",
    "p_value*", "pvalue*", "*_p_value", "*_pvalue", "p_val", "pval", "pval_*", "*_pval",
    "!*scorer*", "!scoring*", "!*_fn", "!*_func", "!*_function", "!*_weight", "!*_weights", "!weight_*", "!*_type", "!*_name",
    "!error_score", "!accum*", "!account*", "!accel*", "!accept*", "!access*",
)  # fmt: skip

#: longest Python list summarised as NAME.mean/std (NumPy arrays have no limit: they are fast)
MAX_LIST_SCORES = 100_000


@lru_cache(maxsize=16)
def metric_matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """One compiled regex for the including patterns and one for the excluding ones."""
    include = [p.lower() for p in patterns if not p.startswith("!")]
    exclude = [p[1:].lower() for p in patterns if p.startswith("!")]
    if not include:
        return lambda name: False
    match = re.compile("|".join(fnmatch.translate(p) for p in include)).match
    if not exclude:
        return lambda name: match(name) is not None
    refuse = re.compile("|".join(fnmatch.translate(p) for p in exclude)).match
    return lambda name: match(name) is not None and refuse(name) is None


def score_summary(value: Any) -> tuple[float, float, int] | None:
    """(mean, std, length) of a 1-D sequence of real numbers (``cross_val_score``'s array, a list
    of fold scores), std with ddof=0 like NumPy's ``.std()``; None for anything else."""
    module = type(value).__module__.partition(".")[0]
    if module in ("numpy", "pandas"):
        dtype = getattr(value, "dtype", None)
        if getattr(value, "ndim", None) != 1 or getattr(dtype, "kind", "") not in "iuf" or not len(value):
            return None
        array = value.to_numpy() if module == "pandas" else value
        return float(array.mean()), float(array.std()), len(array)
    if not isinstance(value, (list, tuple)) or not value or len(value) > MAX_LIST_SCORES:
        return None
    numbers_ = [_real(v) for v in value]
    if any(v is None for v in numbers_):
        return None
    mean = math.fsum(numbers_) / len(numbers_)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in numbers_) / len(numbers_)) if math.isfinite(mean) else math.nan
    return mean, std, len(numbers_)


def _real(value: Any) -> float | None:
    if type(value) is float:
        return value
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        value = item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)
