"""The renderer base: every display object is text, escaped HTML and a JSON record, written once here.

A view lists its content as :class:`Section` objects; :func:`sections_text` and
:func:`sections_html` render the same list, so the text and HTML renderings cannot drift apart
(the HTML side escapes every user string through :func:`~.html.table` / :func:`~.html.esc`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .html import table, text_table


class View:
    """``_repr_mimebundle_`` for a display object: ``str(self)``, ``_repr_html_()`` and ``record()``
    under the view's own MIME type ``mime``."""

    mime = ""

    def record(self) -> Any:
        raise NotImplementedError

    def _repr_html_(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return {"text/plain": str(self), "text/html": self._repr_html_(), self.mime: self.record()}


@dataclass(frozen=True)
class Section:
    """A titled table (``headers``/``rows``; ``numeric`` columns right-aligned in HTML), or a titled
    block rendered by the caller (``text`` and ``html``, the HTML already escaped)."""

    title: str
    headers: Sequence[str] = ()
    rows: Sequence[Sequence[Any]] = ()
    numeric: set[int] = field(default_factory=set)
    text: str | None = None
    html: str | None = None


def sections_text(sections: Iterable[Section]) -> list[str]:
    """``Title:`` then the aligned table (or the block), one string per section."""
    return [f"{s.title}:\n" + (s.text if s.text is not None else text_table(s.headers, s.rows)) for s in sections]


def sections_html(sections: Iterable[Section]) -> list[str]:
    """``<b>Title</b>`` then the escaped table (or the block), one string per section."""
    return [
        f"<b>{s.title}</b>" + (s.html if s.html is not None else table(s.headers, s.rows, numeric=s.numeric or None))
        for s in sections
    ]
