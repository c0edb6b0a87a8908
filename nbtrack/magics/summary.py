"""The one-line summary printed after a tracked cell."""

from __future__ import annotations

from ..compare import param_column_rank
from ..display import format as fmt
from ..display.runs import receipt_badge
from ..entities import FINISHED, SYSTEM_TAG_PREFIX, Run
from ..policy import POLICY_TAG, VIOLATIONS
from ..tracking.lost import LOST_POINTS_TAG

MAX_ITEMS = 6
#: said when a finished run has no metric, so a thin record is noticed at once
NO_METRICS = "no metrics captured (name a result acc/score/loss/..., or use --metrics NAME or nbtrack.log_metric)"
#: the system tag the hooks set (estimators left with random_state=None), shown as "unseeded NAMES"
UNSEEDED_TAG = SYSTEM_TAG_PREFIX + "unseeded"


def summary_line(run: Run, nth_of_cell: int = 1, policy_fix: str | None = None) -> str:
    """``nth_of_cell`` > 1 says this cell has been run (and tracked) before: a re-run, not a new experiment.
    ``policy_fix`` is how to make a run that breaks the team policy comply (``%track tag team=churn``)."""
    again = f" (run {nth_of_cell} of this cell)" if nth_of_cell > 1 else ""
    parts = [
        f"nbtrack: run {run.short_id}"
        + (f" '{run.name}'" if run.name else "")
        + f" {run.status} in {fmt.duration(run.duration)}{again}"
    ]
    if run.params:
        ranked = sorted(run.params, key=lambda key: (param_column_rank(key), key))  # the user's own names first
        parts.append("params " + _items({key: run.params[key] for key in ranked}))
    if run.metrics:
        parts.append("metrics " + _items({k: m.last for k, m in run.metrics.items()}))
    elif run.status == FINISHED:
        parts.append(NO_METRICS)
    if run.inputs:  # names only: the fingerprints are in %track show
        parts.append("data " + _names(sorted(run.inputs)))
    unseeded = run.tags.get(UNSEEDED_TAG)
    if unseeded:  # what makes a rerun differ
        parts.append("unseeded " + _names(unseeded.split(", ")))
    badge = receipt_badge(run)[0]
    if badge:
        parts.append(badge)
    if LOST_POINTS_TAG in run.tags:  # never a clean FINISHED for a run that lost data
        parts.append(f"{run.tags[LOST_POINTS_TAG]} logged values NOT recorded")
    note = policy_note(run, policy_fix)
    if note:
        parts.append(note)
    return fmt.inert(" · ".join(parts), "line")  # one line whatever the names and values hold


def policy_note(run: Run, fix: str | None) -> str:
    """``policy: team missing (fix: %track tag team=churn)`` for a run the policy check found wanting, else ""."""
    verdict = run.tags.get(POLICY_TAG, "")
    if not verdict.startswith(VIOLATIONS):
        return ""
    return "policy " + verdict + (f" (fix: {fix})" if fix else "")


def _items(mapping: dict) -> str:
    shown = [f"{k}={fmt.truncate(fmt.value(v), 24)}" for k, v in list(mapping.items())[:MAX_ITEMS]]
    more = len(mapping) - MAX_ITEMS
    return ", ".join(shown) + (f", +{more} more" if more > 0 else "")


def _names(names: list[str]) -> str:
    return ", ".join(names[:MAX_ITEMS]) + (f", +{len(names) - MAX_ITEMS} more" if len(names) > MAX_ITEMS else "")


def run_summary(tracker, run) -> str:
    """The line printed after a tracked cell: :func:`summary_line` with the run's number among its cell's runs."""
    nth = len(tracker.cell_runs(run.cell_key)) if run.cell_key else 1
    return summary_line(run, nth, tracker.policy.fix(run))
