"""Rich displays: text/plain + escaped text/html + versioned nbtrack JSON for every view."""

from .runs import ExperimentList, RunDetails, RunList, changed_runs, purge_summary, receipt_badge, run_record

__all__ = ["ExperimentList", "RunDetails", "RunList", "changed_runs", "purge_summary", "receipt_badge", "run_record"]
