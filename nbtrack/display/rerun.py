"""The ``%track rerun`` report: each metric and param, original vs rerun, reproduced or differs.

Renders a :class:`~nbtrack.repro.rerun.RerunResult` as text, escaped HTML (the
"verified"/"differs" badge is the one run tables show) and versioned JSON.
"""

from __future__ import annotations

from typing import Any

from ..repro.rerun import NOT_VERIFIABLE, RerunResult
from . import format as fmt
from .diff import run_title
from .html import STYLE, badge, esc, table, text_table
from .runs import _json_safe
from .view import View

RERUN_MIME = "application/vnd.nbtrack.rerun.v1+json"
HEADERS = ["", "key", "original", "rerun", "result"]


class RerunReport(View):
    """What a re-execution showed; ``.result`` holds the renderer-neutral outcome."""

    mime = RERUN_MIME

    def __init__(self, result: RerunResult):
        self.result = result

    def _headline(self) -> str:
        r = self.result
        if r.verified:
            verdict = "verified: every value reproduced"
        elif r.reasons == [NOT_VERIFIABLE]:
            verdict = NOT_VERIFIABLE
        else:
            verdict = "NOT verified: " + "; ".join(r.reasons)
        return f"Rerun of {run_title(r.original)}: {verdict}"

    def _details(self) -> list[str]:
        r = self.result
        ex = r.execution
        lines = [f"executed {ex.cells_run}/{ex.cells_total} code cells of the {r.source} in a fresh kernel"]
        if ex.error:
            lines.append(f"stopped: {ex.error}")
        if r.match is not None:
            lines.append(f"matched rerun run {run_title(r.match)} by {r.matched_by} ({r.match.status})")
        lines.append(
            f"tolerance for floats (metrics, params, numbers in cell outputs): rtol={r.tolerance.rtol:g}, atol={r.tolerance.atol:g}; ints, bools and text exact"
        )
        if r.notebook:
            lines.append(f"executed notebook: {r.notebook}")
        lines += [f"note: {n}" for n in r.notes]
        return lines

    def _rows(self) -> list[list[str]]:
        return [[c.kind, c.key, fmt.value(c.original), fmt.value(c.rerun), c.status] for c in self.result.checks]

    def __str__(self) -> str:
        parts = [self._headline(), *self._details()]
        if self.result.checks:
            parts += ["", text_table(HEADERS, self._rows())]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        r = self.result
        mark = (
            badge("verified", "clean")
            if r.verified
            else badge("not verifiable" if r.reasons == [NOT_VERIFIABLE] else "differs", "warn")
        )
        rows = []
        for check, cells in zip(r.checks, self._rows()):
            escaped = [esc(c) for c in cells]
            escaped[4] = badge(check.status, "clean" if check.ok else "warn")
            rows.append(escaped)
        body = table(HEADERS, rows, numeric={2, 3}, raw_cells=True) if rows else ""
        details = "".join(f"<li>{esc(line)}</li>" for line in self._details())
        return (
            f'{STYLE}<div class="nbtrack-rerun"><h4>{esc(self._headline())} {mark}</h4><ul>{details}</ul>{body}</div>'
        )

    def record(self) -> dict[str, Any]:
        return rerun_record(self.result)

    def __repr__(self) -> str:
        return f"<RerunReport {self.result.original.short_id} verified={self.result.verified}>"


def rerun_record(r: RerunResult) -> dict[str, Any]:
    """The JSON payload of :data:`RERUN_MIME` (NaN/inf as strings)."""
    return {
        "original": r.original.id,
        "verified": r.verified,
        "verifiable": r.verifiable,
        "reasons": r.reasons,
        "differing": r.differing,
        "match": r.match.id if r.match else None,
        "matched_by": r.matched_by,
        "runs": [run.id for run in r.runs],
        "cells_run": r.execution.cells_run,
        "cells_total": r.execution.cells_total,
        "error": r.execution.error,
        "tolerance": {"rtol": r.tolerance.rtol, "atol": r.tolerance.atol},
        "source": r.source,
        "notebook": r.notebook,
        "notes": list(r.notes),
        "checks": [
            {
                "kind": c.kind,
                "key": c.key,
                "original": _json_safe(c.original),
                "rerun": _json_safe(c.rerun),
                "status": c.status,
            }
            for c in r.checks
        ],
    }
