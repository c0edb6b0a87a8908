"""Escaped HTML building blocks. Every piece of user text goes through :func:`esc`."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from .format import inert

STYLE = """<style>
.nbtrack-table{border-collapse:collapse;font-size:12px;font-family:var(--jp-ui-font-family,sans-serif)}
.nbtrack-table th,.nbtrack-table td{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left;white-space:nowrap}
.nbtrack-table th{background:#f4f4f4}
.nbtrack-table td.num{text-align:right;font-variant-numeric:tabular-nums}
.nbtrack-best{font-weight:bold;background:#e6f4ea}
.nbtrack-badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px}
.nbtrack-FINISHED{background:#e6f4ea;color:#137333}.nbtrack-FAILED{background:#fce8e6;color:#a50e0e}
.nbtrack-RUNNING{background:#e8f0fe;color:#174ea6}.nbtrack-KILLED{background:#fef7e0;color:#8a5a00}
.nbtrack-clean{background:#e6f4ea;color:#137333}.nbtrack-warn{background:#fef7e0;color:#8a5a00}
</style>"""


def esc(text: Any) -> str:
    """HTML-escaped text (quotes too). Most cells are numbers and plain words: those skip
    ``html.escape``'s five replacements (a 10,000-cell table renders noticeably faster)."""
    text = "" if text is None else str(text)
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return html.escape(text, quote=True)
    return text


def badge(text: str, css: str) -> str:
    return f'<span class="nbtrack-badge nbtrack-{esc(css)}">{esc(text)}</span>'


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: set[int] | None = None, raw_cells: bool = False
) -> str:
    """An HTML table. Cells are escaped unless ``raw_cells`` (then callers pass pre-escaped HTML)."""
    numeric = numeric or set()
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = ' class="num"' if i in numeric else ""
            cells.append(f"<td{css}>{cell if raw_cells else esc(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="nbtrack-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table aligned by column, for terminals and the text/plain fallback.

    Control characters and line breaks in cells are shown escaped (:func:`~.format.inert`):
    user text can neither drive the terminal nor break the table into lines of its own."""
    cells = [[inert(str(h), "line") for h in headers]] + [
        ["" if c is None else inert(str(c), "line") for c in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
