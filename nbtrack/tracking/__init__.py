"""Tracking service: the active-run state machine and buffered logging."""

from .tracker import DEFAULT_EXPERIMENT, DEFAULT_MAX_RESULTS, ActiveRun, Tracker

__all__ = ["ActiveRun", "DEFAULT_EXPERIMENT", "DEFAULT_MAX_RESULTS", "Tracker"]
