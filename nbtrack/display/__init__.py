"""Rich displays: text/plain + escaped text/html + versioned nbtrack JSON for every view."""

from .runs import RunDetails, RunList, receipt_badge, run_record

__all__ = ["RunDetails", "RunList", "receipt_badge", "run_record"]
