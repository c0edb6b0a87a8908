"""A chart that displays as a PNG in any frontend.

nbtrack builds figures with matplotlib's object API (no pyplot), so IPython's inline
backend never registers a formatter for them and a bare ``Figure`` shows as
``<Figure size 600x320 with 1 Axes>``. Wrapping it here renders the PNG directly.
"""

from __future__ import annotations

from typing import Any


class Chart:
    """A matplotlib Figure with ``_repr_png_``; ``.figure`` is there to adjust or save it."""

    def __init__(self, figure: Any, title: str = "chart"):
        self.figure = figure
        self.title = title

    def _repr_png_(self) -> bytes:
        from ..plotting import png_bytes

        return png_bytes(self.figure, dpi=100)

    def __repr__(self) -> str:
        return f"<nbtrack chart: {self.title}>"
