"""The inline dashboard: a controller without ipywidgets and thin widget views over it.

``nbtrack.dashboard()`` and ``%track dashboard`` build a :class:`Dashboard`; the CSS
classes browser tests can rely on are listed in :mod:`nbtrack.widgets.app`.
"""

from .app import Dashboard

__all__ = ["Dashboard"]
