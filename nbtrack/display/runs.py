"""Rich views of runs: the list behind ``%track ls`` / ``search_runs`` and the ``%track show`` page.

Each view has ``text/plain``, escaped ``text/html`` and a versioned nbtrack JSON MIME
type, so a saved notebook renders on GitHub without widgets and tools can read the data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from ..compare import param_column_rank
from ..entities import PurgeReport, Run
from ..fingerprint import describe as describe_input
from ..policy import POLICY_TAG
from . import format as fmt
from .html import STYLE, badge, esc, table, text_table
from .view import View

RUNS_MIME = "application/vnd.nbtrack.runs.v1+json"
RUN_MIME = "application/vnd.nbtrack.run.v1+json"
MAX_COLUMNS = 8
#: rows a displayed run list shows; the others are counted ("950 more runs in this list")
SHOWN_ROWS = 50


def receipt_badge(run: Run) -> tuple[str, str]:
    """(text, css) of the reproducibility badge: "clean", "N warnings", "unchecked" (no notebook
    to check the history against), "verified" / "differs" after a rerun, or ""."""
    parts = []
    outline = run.receipt_outline  # not the receipt: a listing does not read every run's receipt
    if outline is not None:
        problems = outline["kinds"]
        if outline["checked"] is False and all(kind == "notebook_unknown" for kind in problems):
            parts.append(("unchecked", "warn"))  # no notebook to check against (a terminal, an unknown runner)
        else:
            parts.append(
                ("clean", "clean") if not problems else (f"{len(problems)} warning{'s' * (len(problems) != 1)}", "warn")
            )
    if run.tags.get("nbtrack.verified") == "true":
        parts.append(("verified", "clean"))
    elif run.tags.get("nbtrack.verified") == "false":
        parts.append(("differs", "warn"))
    return (" · ".join(p[0] for p in parts), parts[0][1]) if parts else ("", "")


def run_record(run: Run) -> dict[str, Any]:
    """JSON-able summary of a run (NaN/inf as strings, since JSON has none)."""
    return {
        "id": run.id,
        "name": run.name,
        "experiment": run.experiment,
        "status": run.status,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "duration": run.duration,
        "parent_id": run.parent_id,
        "params": {k: _json_safe(v) for k, v in run.params.items()},
        "metrics": {k: _json_safe(m.last) for k, m in run.metrics.items()},
        "tags": run.tags,
        "notebook": run.notebook_path,
        "badge": receipt_badge(run)[0],
        "deleted_time": run.deleted_time,
    }


def changed_runs(verb: str, run_ids: list[str]) -> str:
    """One line naming the runs a delete or restore changed: ``deleted 2 runs: 3f2a9c1d, 77b0e2aa``."""
    return f"{verb} {len(run_ids)} run{'s' * (len(run_ids) != 1)}: {', '.join(i[:8] for i in run_ids)}"


def purge_summary(report: PurgeReport) -> str:
    """What a purge freed (or, dry run, would free): runs, blobs and their bytes."""
    runs, blobs = len(report.runs), report.blobs
    verb = "would remove" if report.dry_run else "removed"
    return (
        f"{verb} {runs} deleted run{'s' * (runs != 1)} and {blobs} unreferenced blob{'s' * (blobs != 1)} "
        f"({fmt.size(report.bytes)})"
    )


class RunList(list):
    """A list of :class:`~nbtrack.entities.Run` that displays as a table.

    ``search_runs`` returns one; ``.to_pandas()`` gives a DataFrame (pandas optional). The table
    shows the first :attr:`shown` runs and says how many more the list holds, and whether more
    runs matched than the search returned (:attr:`truncated`): a cell result stays small however
    many runs a store has.
    """

    #: rows the table shows (None: every run of the list, as ``nbtrack runs ls`` prints them)
    shown: int | None = SHOWN_ROWS
    #: the search stopped at its limit: more runs match than the list holds
    truncated = False
    #: how to get every match, said when :attr:`truncated`
    all_hint = "search_runs(..., max_results=None) returns every one"

    @classmethod
    def limited(cls, runs: list[Run], limit: int | None, **attributes: Any) -> RunList:
        """The first ``limit`` of ``runs`` (fetched with ``limit + 1``, so it knows whether more matched)."""
        listed = cls(runs if limit is None else runs[:limit])
        listed.truncated = limit is not None and len(runs) > limit
        for name, value in attributes.items():
            setattr(listed, name, value)
        return listed

    def to_pandas(self):
        import pandas as pd

        rows = []
        for run in self:
            row = {
                "run_id": run.id,
                "name": run.name,
                "experiment": run.experiment,
                "status": run.status,
                "start_time": run.start_time,
                "end_time": run.end_time,
                "duration": run.duration,
            }
            row.update({f"params.{k}": v for k, v in run.params.items()})
            row.update({f"metrics.{k}": m.last for k, m in run.metrics.items()})
            row.update({f"tags.{k}": v for k, v in run.tags.items()})
            rows.append(row)
        frame = pd.DataFrame(rows)
        if rows:  # one conversion per column: per value, pandas spends ~0.3 ms on each
            for column in ("start_time", "end_time"):
                frame[column] = pd.to_datetime(frame[column].astype("float64"), unit="s")
        return frame

    def _visible(self) -> list[Run]:
        """The runs the table shows: nothing is formatted for the others."""
        return self[: self.shown] if self.shown is not None else list(self)

    def footer(self) -> str:
        """``950 more runs in this list (...)`` and/or that more runs match; "" when the table shows everything."""
        hidden = len(self) - len(self._visible())
        parts = []
        if hidden:
            parts.append(
                f"{hidden:,} more run{'s' * (hidden != 1)} in this list of {len(self):,} "
                "(index or slice it, .to_pandas(), or nbtrack.dashboard() to browse)"
            )
        if self.truncated:
            parts.append(f"more runs match than the {len(self):,} returned: {self.all_hint}")
        return "; ".join(parts)

    def _columns(self, runs: list[Run]) -> tuple[list[str], list[str]]:
        params = sorted(_common_keys((r.params for r in runs), None), key=param_column_rank)[:MAX_COLUMNS]
        metrics = _common_keys((r.metrics for r in runs), MAX_COLUMNS)
        return params, metrics

    # Column order: what a comparison reads first (metrics, then params), then when and how.
    _LEAD = ["run", "name", "status"]
    _STATUS, _RECEIPT = 2, -1

    def _rows(self, runs: list[Run], params: list[str], metrics: list[str]) -> list[list[Any]]:
        deleted = self._shows_deleted(runs)
        return [
            [run.short_id, run.name or "", run.status]
            + [fmt.value(run.metrics[k].last) if k in run.metrics else "" for k in metrics]
            + [fmt.value(run.params.get(k)) for k in params]
            + [fmt.timestamp(run.start_time), fmt.duration(run.duration)]
            + ([fmt.timestamp(run.deleted_time)] if deleted else [])
            + [receipt_badge(run)[0]]
            for run in runs
        ]

    def _headers(self, runs: list[Run], params: list[str], metrics: list[str]) -> list[str]:
        tail = ["start", "duration", *(["deleted"] if self._shows_deleted(runs) else []), "receipt"]
        return [*self._LEAD, *(f"metrics.{k}" for k in metrics), *(f"params.{k}" for k in params), *tail]

    @staticmethod
    def _shows_deleted(runs: list[Run]) -> bool:
        """A listing of deleted runs says when each was deleted."""
        return any(run.deleted_time is not None for run in runs)

    def _table(self) -> tuple[list[Run], list[str], list[list[Any]], list[str]]:
        runs = self._visible()
        params, metrics = self._columns(runs)
        return runs, self._headers(runs, params, metrics), self._rows(runs, params, metrics), metrics

    def __str__(self) -> str:
        return self._text(self._table()) if self else "no runs"

    def _text(self, parts: tuple) -> str:
        footer = self.footer()
        return text_table(parts[1], parts[2]) + (f"\n{footer}" if footer else "")

    def _repr_html_(self) -> str:
        return self._html(self._table()) if self else "<p>no runs</p>"

    def _html(self, parts: tuple) -> str:
        runs, headers, cell_rows, metrics = parts
        rows = []
        for run, cells in zip(runs, cell_rows):
            text, css = receipt_badge(run)
            escaped = [esc(c) for c in cells]
            escaped[self._STATUS] = badge(run.status, run.status)
            escaped[self._RECEIPT] = badge(text, css) if text else ""
            rows.append(escaped)
        numeric = set(range(len(self._LEAD), len(self._LEAD) + len(metrics)))
        footer = self.footer()
        return (
            STYLE + table(headers, rows, numeric=numeric, raw_cells=True) + (f"<p>{esc(footer)}</p>" if footer else "")
        )

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        if not self:
            return {"text/plain": "no runs", "text/html": "<p>no runs</p>", RUNS_MIME: {"runs": []}}
        shared = self._table()  # rows are formatted once for both renderings
        data = {"runs": [run_record(r) for r in shared[0]]}
        if len(shared[0]) < len(self) or self.truncated:
            data.update(listed=len(self), truncated=self.truncated)
        return {"text/plain": self._text(shared), "text/html": self._html(shared), RUNS_MIME: data}

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        # IPython pretty-prints list subclasses itself unless told otherwise
        printer.text(str(self))

    def __repr__(self) -> str:
        return f"<RunList of {len(self)} runs>"


class RunDetails(View):
    """Everything about one run: the ``%track show`` view."""

    mime = RUN_MIME

    def __init__(
        self, run: Run, cells: list | None = None, cell_runs: list | None = None, policy_fix: str | None = None
    ):
        self.run = run
        #: how to make the run comply with the team policy, shown beside its verdict
        self.policy_fix = policy_fix
        self.cells = cells or []
        #: (id, name, status, start) of every run of the same cell, this one included
        self.cell_runs = cell_runs or []

    def _sections(self) -> list[tuple[str, list[tuple[str, Any]]]]:
        run = self.run
        overview = [
            ("id", run.id),
            ("name", run.name or ""),
            ("experiment", run.experiment),
            ("status", run.status),
            *([("deleted", fmt.timestamp(run.deleted_time))] if run.deleted_time is not None else []),
            ("started", fmt.timestamp(run.start_time)),
            ("duration", fmt.duration(run.duration)),
            ("parent", run.parent_id or ""),
            ("host", run.host or ""),
            ("pid", run.pid or ""),
            ("notebook", run.provenance.get("notebook_path") or "unknown"),
            ("found by", run.provenance.get("path_method") or ""),
            ("git commit", run.provenance.get("git_commit") or ""),
            ("receipt", receipt_badge(run)[0] or "n/a"),
            *(
                [("policy", run.tags[POLICY_TAG] + (f" (fix: {self.policy_fix})" if self.policy_fix else ""))]
                if POLICY_TAG in run.tags
                else []
            ),
        ]
        sections = [("Run", overview)]
        if run.params:
            sections.append(("Params", [(k, fmt.value(v)) for k, v in sorted(run.params.items())]))
        if run.metrics:
            sections.append(
                (
                    "Metrics",
                    [
                        (
                            k,
                            f"{fmt.value(m.last)} (step {m.step}, min {fmt.value(m.min)}, max {fmt.value(m.max)}, {m.count} points)",
                        )
                        for k, m in sorted(run.metrics.items())
                    ],
                )
            )
        if run.tags:
            sections.append(("Tags", sorted(run.tags.items())))
        if run.inputs:
            sections.append(("Inputs", [(name, describe_input(print_)) for name, print_ in sorted(run.inputs.items())]))
        if run.artifacts:
            sections.append(
                (
                    "Artifacts",
                    [(a.name, f"{a.size} bytes, {a.media_type}, sha256 {a.sha256[:12]}") for a in run.artifacts],
                )
            )
        if run.receipt and run.receipt.get("problems"):
            sections.append(
                ("Receipt warnings", [(p.get("kind", ""), p.get("message", "")) for p in run.receipt["problems"]])
            )
        if run.note:
            sections.append(("Note", [("", run.note)]))
        if len(self.cell_runs) > 1:
            sections.append(
                (
                    "Runs of this cell",
                    [
                        (
                            f"{i}.",
                            f"{rid[:8]} {name or ''} {status} {fmt.timestamp(start)}"
                            + (" (this run)" if rid == run.id else ""),
                        )
                        for i, (rid, name, status, start) in enumerate(self.cell_runs, start=1)
                    ],
                )
            )
        return sections

    def __str__(self) -> str:
        lines = []
        for title, items in self._sections():
            lines.append(f"{title}:")
            # user text is inert and its line breaks indented: it cannot pose as a section of its own
            lines += [
                f"  {fmt.inert(str(k), 'line')}: {_indented(v, 4)}" if k else f"  {_indented(v, 4)}" for k, v in items
            ]
        if self.cells:
            lines.append("Cells:")
            for cell in self.cells:
                lines.append(f"  [{cell.execution_count or ' '}] " + _indented(cell.source, 6))
        if self.run.error:
            lines += ["Error:", fmt.inert(self.run.error.rstrip())]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        deleted = " " + badge("deleted", "warn") if self.run.deleted_time is not None else ""
        parts = [STYLE, f"<h4>Run {esc(self.run.label)} {badge(self.run.status, self.run.status)}{deleted}</h4>"]
        for title, items in self._sections():
            parts.append(f"<b>{esc(title)}</b>" + table(["", ""], items))
        if self.cells:
            parts.append(
                "<b>Cells</b>"
                + "".join(f"<pre>[{esc(c.execution_count or ' ')}] {esc(c.source)}</pre>" for c in self.cells)
            )
        if self.run.error:
            parts.append(f"<b>Error</b><pre>{esc(self.run.error)}</pre>")
        return "".join(parts)

    def record(self) -> dict[str, Any]:
        return run_record(self.run)


class ExperimentList(View):
    """Experiments with their run counts: ``%track experiment`` and ``nbtrack experiments``."""

    mime = "application/vnd.nbtrack.experiments.v1+json"

    def __init__(self, rows: list[tuple[str, int, float | None]], current: str | None = None):
        self.rows, self.current = rows, current

    def _cells(self) -> list[list[str]]:
        return [
            [("* " if name == self.current else "  ") + name, str(count), fmt.timestamp(latest)]
            for name, count, latest in self.rows
        ]

    def __str__(self) -> str:
        return text_table(["experiment", "runs", "latest run"], self._cells()) if self.rows else "no experiments"

    def _repr_html_(self) -> str:
        return STYLE + table(["experiment", "runs", "latest run"], self._cells(), numeric={1})

    def record(self) -> list[dict[str, Any]]:
        return [{"name": n, "runs": c, "latest": latest, "current": n == self.current} for n, c, latest in self.rows]


def _common_keys(mappings: Iterable[dict], limit: int | None) -> list[str]:
    """The most frequent keys first (ties alphabetical), at most ``limit``."""
    counts: dict[str, int] = {}
    for mapping in mappings:
        for key in mapping:
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts, key=lambda k: (-counts[k], k))[:limit]


def _json_safe(value: Any) -> Any:
    if value is None or type(value) in (int, str, bool):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def _indented(value: Any, depth: int) -> str:
    """Text for a terminal: control characters escaped, later lines indented by ``depth``."""
    return fmt.inert(str(value)).replace("\n", "\n" + " " * depth)
