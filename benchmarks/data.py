"""The runs every backend stores: deterministic, so each backend searches the same data.

Each run has 5 params, 2 tags and 3 metrics with 3 steps each. ``model`` cycles through
four values and ``f1`` is spread evenly over [0, 1), so the benchmark filter
``params.model = 'gbm' and metrics.f1 > 0.8`` matches 5% of the runs.
"""

from __future__ import annotations

FILTER = "params.model = 'gbm' and metrics.f1 > 0.8"
MODELS = ("gbm", "rf", "xgb", "logreg")
STEPS = 3


def params(i: int) -> dict:
    return {
        "model": MODELS[i % 4],
        "lr": round(0.001 * (1 + i % 50), 4),
        "depth": 2 + i % 8,
        "n_estimators": 100 + 10 * (i % 20),
        "seed": i,
    }


def tags(i: int) -> dict:
    return {"team": "churn" if i % 2 else "fraud", "dataset": f"v{i % 3}"}


def metrics(i: int) -> dict:
    """Final values; step s of a metric has value * (s + 1) / STEPS."""
    f1 = (i * 0.6180339887) % 1.0
    return {"f1": f1, "auc": (f1 + 0.37) % 1.0, "loss": 1.0 - f1}


def history(i: int) -> list[tuple[int, str, float]]:
    """(step, key, value) points, the last step carrying the final value."""
    return [(step, key, value * (step + 1) / STEPS) for step in range(STEPS) for key, value in metrics(i).items()]


def expected_matches(n: int) -> int:
    return sum(1 for i in range(n) if MODELS[i % 4] == "gbm" and metrics(i)["f1"] > 0.8)
