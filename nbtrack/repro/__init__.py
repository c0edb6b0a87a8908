"""Reproducibility checks over stored runs: what changed (:mod:`.diff`), re-executing a run's
snapshot (:mod:`.rerun`) and checking the re-execution against the original (:mod:`.verify`,
with :mod:`.tolerance`).

Built on :mod:`nbtrack.snapshot`, which records and stores what a run executed; this package
only reads it. Pure logic at import (nbclient is imported when a rerun starts).
"""
