"""The ``%track diff`` view: a :class:`~nbtrack.repro.diff.RunDiff` as text, escaped HTML and JSON.

Unified cell diffs render in ``<pre class="nbtrack-diff">`` with one escaped ``<span>`` per
line (classes ``nbtrack-add``, ``nbtrack-del``, ``nbtrack-hunk``), so a saved notebook shows
them coloured on GitHub and nbviewer and hostile cell text stays text.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..repro.diff import CellChange, OutputChange, RunDiff
from . import format as fmt
from .html import STYLE, esc
from .runs import _json_safe
from .view import Section, View, sections_html, sections_text

DIFF_MIME = "application/vnd.nbtrack.diff.v1+json"
DIFF_STYLE = (
    "<style>.nbtrack-diff{font-size:12px;line-height:1.35;margin:2px 0 8px;padding:4px;background:#fafafa}"
    ".nbtrack-add{color:#137333;background:#e6f4ea}.nbtrack-del{color:#a50e0e;background:#fce8e6}"
    ".nbtrack-hunk{color:#5f6368}</style>"
)


class RunDiffView(View):
    """Show what changed between two runs; ``.diff`` holds the renderer-neutral model."""

    mime = DIFF_MIME

    def __init__(self, diff: RunDiff):
        self.diff = diff

    def _sections(self) -> list[Section]:
        """What differs, in display order; the text and HTML renderings both walk this list."""
        d = self.diff
        sections = [
            Section(title, ["key", "change", d.a.label, d.b.label], _value_rows(changes))
            for title, changes in (("Params", d.params), ("Metrics", d.metrics), ("Inputs", d.inputs))
            if changes
        ]
        if d.cells:
            sections.append(
                Section(
                    "Cells",
                    text="\n".join(_cell_text(c) for c in d.cells),
                    html="".join(_cell_html(c) for c in d.cells),
                )
            )
        if d.outputs:
            sections.append(
                Section(
                    "Outputs",
                    text="\n".join(_lines_text(_output_heading(o), o.diff) for o in d.outputs),
                    html="".join(_lines_html("nbtrack-output-change", _output_heading(o), o.diff) for o in d.outputs),
                )
            )
        if d.packages:
            sections.append(
                Section(
                    "Packages",
                    ["package", "change", d.a.label, d.b.label],
                    [[p.name, p.kind, p.before or "", p.after or ""] for p in d.packages],
                )
            )
        if d.git:
            sections.append(Section("Git", ["", d.a.label, d.b.label], _git_rows(d)))
        return sections

    def __str__(self) -> str:
        d = self.diff
        parts = [f"Diff {run_title(d.a)} -> {run_title(d.b)}" + (": no differences" if d.identical else "")]
        parts += sections_text(self._sections())
        if d.notes:
            parts.append("\n".join(f"note: {n}" for n in d.notes))
        return "\n\n".join(parts)

    def _repr_html_(self) -> str:
        d = self.diff
        parts = [
            STYLE,
            DIFF_STYLE,
            f'<div class="nbtrack-rundiff"><h4>Diff {esc(run_title(d.a))} &rarr; {esc(run_title(d.b))}</h4>',
        ]
        if d.identical:
            parts.append("<p>no differences</p>")
        parts += sections_html(self._sections())
        parts += [f'<p class="nbtrack-note">{esc(n)}</p>' for n in d.notes]
        return "".join(parts) + "</div>"

    def record(self) -> dict[str, Any]:
        return diff_record(self.diff)

    def __repr__(self) -> str:
        return f"<RunDiffView {self.diff.a.short_id}..{self.diff.b.short_id}>"


def diff_record(diff: RunDiff) -> dict[str, Any]:
    """The JSON payload of :data:`DIFF_MIME` (NaN/inf as strings)."""

    def change(c) -> dict[str, Any]:
        return {k: _json_safe(v) for k, v in asdict(c).items()}

    return {
        "a": {"id": diff.a.id, "name": diff.a.name},
        "b": {"id": diff.b.id, "name": diff.b.name},
        "identical": diff.identical,
        "params": [change(c) for c in diff.params],
        "metrics": [change(c) for c in diff.metrics],
        "inputs": [change(c) for c in diff.inputs],
        "cells": [{**asdict(c), "diff": list(c.diff)} for c in diff.cells],
        "packages": [asdict(p) for p in diff.packages],
        "git": asdict(diff.git) if diff.git else None,
        "notes": list(diff.notes),
        "outputs": [{**asdict(o), "diff": list(o.diff)} for o in diff.outputs],
    }


def run_title(run) -> str:
    """``name (3f2a1b0c)``, or the short id alone; run names are user text: escape when rendering."""
    return f"{run.name} ({run.short_id})" if run.name else run.short_id


def _value_rows(changes) -> list[list[str]]:
    return [[c.key, c.kind, fmt.value(c.before), fmt.value(c.after)] for c in changes]


def _git_rows(diff: RunDiff) -> list[list[str]]:
    git = diff.git
    return [
        [key, fmt.value(git.before.get(key)), fmt.value(git.after.get(key))] for key in ("commit", "branch", "dirty")
    ]


def _cell_heading(change: CellChange) -> str:
    where = {"added": f"cell {_n(change.index_b)}", "removed": f"cell {_n(change.index_a)}"}.get(
        change.kind, f"cell {_n(change.index_a)} -> {_n(change.index_b)}"
    )
    how = f", matched by {change.matched_by}" if change.matched_by else ""
    ident = f" id {change.cell_id}" if change.cell_id else ""
    return f"{change.kind} {change.cell_type} {where}{ident}{how}"


def _output_heading(change: OutputChange) -> str:
    count = f" [{change.execution_count}]" if change.execution_count is not None else ""
    return f"execution {change.index_a + 1} -> {change.index_b + 1}{count}: {change.source_head}"


def _cell_text(change: CellChange) -> str:
    return _lines_text(_cell_heading(change), change.diff)


def _lines_text(heading: str, diff: tuple[str, ...]) -> str:
    return "  " + heading + "".join(f"\n    {line}" for line in diff)


def _cell_html(change: CellChange) -> str:
    return _lines_html(f"nbtrack-cell-change nbtrack-{change.kind}", _cell_heading(change), change.diff)


def _lines_html(css_class: str, heading: str, diff: tuple[str, ...]) -> str:
    lines = "\n".join(f'<span class="{_line_class(i, line)}">{esc(line)}</span>' for i, line in enumerate(diff))
    return f'<div class="{css_class}"><i>{esc(heading)}</i><pre class="nbtrack-diff">{lines}</pre></div>'


def _line_class(index: int, line: str) -> str:
    # the first two lines are the ---/+++ file headers; later ones starting so are edits of "--"/"++" lines
    if index < 2 or line.startswith("@@"):
        return "nbtrack-hunk"
    if line.startswith("+"):
        return "nbtrack-add"
    if line.startswith("-"):
        return "nbtrack-del"
    return "nbtrack-ctx"


def _n(index: int | None) -> str:
    return "?" if index is None else str(index + 1)
