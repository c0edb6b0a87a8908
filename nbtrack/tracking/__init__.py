"""Tracking service: the active-run state machine and buffered logging."""

from ..store.location import StoreLocation, resolve_store
from .tracker import DEFAULT_EXPERIMENT, DEFAULT_MAX_RESULTS, ActiveRun, Tracker

# Locating a store is part of the service: faces find it here, never in nbtrack.store.
__all__ = ["ActiveRun", "DEFAULT_EXPERIMENT", "DEFAULT_MAX_RESULTS", "StoreLocation", "Tracker", "resolve_store"]
