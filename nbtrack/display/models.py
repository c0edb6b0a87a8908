"""Rich views of the model registry: model lists, one model's versions, its history, a past state, A/B deltas.

Like the run views, each has ``text/plain``, escaped ``text/html`` and a versioned nbtrack
JSON MIME type; every model name, description, tag, comment and user name is escaped.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from typing import Any

from ..entities import ModelVersion, RegisteredModel, RegistryEvent, RegistryState
from ..registry import GateEvaluation, Promotion, VersionComparison
from . import format as fmt
from .html import STYLE, badge, esc, table, text_table
from .view import View as _View

MODELS_MIME = "application/vnd.nbtrack.models.v1+json"
MODEL_MIME = "application/vnd.nbtrack.model.v1+json"
HISTORY_MIME = "application/vnd.nbtrack.model-history.v1+json"
STATE_MIME = "application/vnd.nbtrack.model-state.v1+json"
COMPARISON_MIME = "application/vnd.nbtrack.model-comparison.v1+json"
PROMOTION_MIME = "application/vnd.nbtrack.promotion.v1+json"

STAGE_STYLE = """<style>
.nbtrack-Production{background:#e6f4ea;color:#137333}.nbtrack-Staging{background:#e8f0fe;color:#174ea6}
.nbtrack-Archived{background:#f1f3f4;color:#5f6368}.nbtrack-None{background:#fff;color:#5f6368;border:1px solid #ddd}
</style>"""


def _version_record(v: ModelVersion) -> dict[str, Any]:
    return {
        "name": v.name,
        "version": v.version,
        "stage": v.stage,
        "run_id": v.run_id,
        "artifact": v.artifact,
        "sha256": v.sha256,
        "aliases": list(v.aliases),
        "description": v.description,
        "tags": v.tags,
        "created": v.created,
        "created_by": v.created_by,
    }


def _model_record(m: RegisteredModel) -> dict[str, Any]:
    return {
        "name": m.name,
        "description": m.description,
        "tags": m.tags,
        "aliases": m.aliases,
        "versions": [_version_record(v) for v in m.versions],
        "created": m.created,
        "updated": m.updated,
        "deleted_time": m.deleted_time,
        "deleted_versions": list(m.deleted_versions),
    }


class ModelList(list, _View):
    """Registered models as a table: ``%track models``, ``nbtrack models ls``, ``search_models``."""

    mime = MODELS_MIME
    _headers = ["model", "versions", "latest", "Production", "Staging", "aliases", "description"]

    def _shows_deleted(self) -> bool:
        """A listing of deleted models says when each was deleted."""
        return any(m.deleted_time is not None for m in self)

    @property
    def headers(self) -> list[str]:
        return self._headers + (["deleted"] if self._shows_deleted() else [])

    def _rows(self) -> list[list[Any]]:
        rows = [
            [
                m.name,
                len(m.versions),
                m.latest.version if m.latest else "",
                ", ".join(str(v.version) for v in m.in_stage("Production")),
                ", ".join(str(v.version) for v in m.in_stage("Staging")),
                ", ".join(f"{a}={v}" for a, v in m.aliases.items()),
                fmt.truncate(m.description or ""),
            ]
            for m in self
        ]
        if self._shows_deleted():
            for row, m in zip(rows, self):
                row.append("" if m.deleted_time is None else fmt.timestamp(m.deleted_time))
        return rows

    def __str__(self) -> str:
        return text_table(self.headers, self._rows()) if self else "no registered models"

    def _repr_html_(self) -> str:
        return STYLE + table(self.headers, self._rows(), numeric={1, 2}) if self else "<p>no registered models</p>"

    def record(self) -> Any:
        return {"models": [_model_record(m) for m in self]}

    def __repr__(self) -> str:
        return f"<ModelList of {len(self)} models>"


class ModelDetails(_View):
    """One model with every version, its stage, aliases, run and tags: ``%track models NAME``."""

    mime = MODEL_MIME
    _headers = ["version", "stage", "aliases", "run", "artifact", "sha256", "created", "by", "description", "tags"]

    def __init__(self, model: RegisteredModel):
        self.model = model

    def _cells(self, v: ModelVersion) -> list[Any]:
        return [
            v.version,
            v.stage,
            ", ".join(v.aliases),
            v.run_id[:8],
            v.artifact,
            v.sha256[:12],
            fmt.timestamp(v.created),
            v.created_by or "",
            fmt.truncate(v.description or ""),
            ", ".join(f"{k}={t}" for k, t in v.tags.items()),
        ]

    def _head(self) -> list[str]:
        m = self.model
        lines = [f"Model {m.name}"]
        if m.description:
            lines.append(f"  description: {m.description}")
        if m.tags:
            lines.append("  tags: " + ", ".join(f"{k}={v}" for k, v in m.tags.items()))
        if m.deleted_versions:
            lines.append(self._deleted_line())
        return lines

    def _deleted_line(self) -> str:
        m = self.model
        numbers = ", ".join(str(v) for v in m.deleted_versions)
        return (
            f"  deleted versions: {numbers} (restore one with `nbtrack models restore {shlex.quote(m.name)} VERSION`)"
        )

    def __str__(self) -> str:
        rows = [self._cells(v) for v in self.model.versions]
        return "\n".join(self._head() + [text_table(self._headers, rows)])

    def _repr_html_(self) -> str:
        m = self.model
        parts = [STYLE, STAGE_STYLE, f"<h4>Model {esc(m.name)}</h4>"]
        if m.description:
            parts.append(f"<p>{esc(m.description)}</p>")
        if m.tags:
            parts.append("<p>" + " ".join(badge(f"{k}={v}", "tag") for k, v in m.tags.items()) + "</p>")
        if m.deleted_versions:
            parts.append(f"<p>{esc(self._deleted_line().strip())}</p>")
        rows = []
        for v in m.versions:
            cells = [esc(c) for c in self._cells(v)]
            cells[1] = badge(v.stage, v.stage)
            rows.append(cells)
        parts.append(table(self._headers, rows, numeric={0}, raw_cells=True))
        return "".join(parts)

    def record(self) -> Any:
        return _model_record(self.model)


class ModelHistory(list, _View):
    """A model's audit trail, oldest first: ``nbtrack models history NAME``."""

    mime = HISTORY_MIME
    _headers = ["#", "time", "who", "action", "version", "key", "from", "to", "comment"]

    def _rows(self) -> list[list[Any]]:
        return [
            [
                e.seq,
                fmt.timestamp(e.time),
                e.who,
                e.action,
                e.version or "",
                e.key or "",
                e.from_value or "",
                e.to_value or "",
                _comment(e),
            ]
            for e in self
        ]

    def __str__(self) -> str:
        return text_table(self._headers, self._rows()) if self else "no events"

    def _repr_html_(self) -> str:
        return STYLE + table(self._headers, self._rows(), numeric={0, 4}) if self else "<p>no events</p>"

    def record(self) -> Any:
        return {
            "events": [
                {
                    "seq": e.seq,
                    "time": e.time,
                    "who": e.who,
                    "action": e.action,
                    "version": e.version,
                    "key": e.key,
                    "from": e.from_value,
                    "to": e.to_value,
                    "comment": e.comment,
                    "details": e.details,
                }
                for e in self
            ]
        }


def _comment(event: RegistryEvent) -> str:
    parts = [event.comment] if event.comment else []
    gate = event.details.get("gate")
    if gate:
        parts.append("gate: " + " and ".join(g["requirement"] for g in gate))
    return "; ".join(parts)


class ModelState(_View):
    """Which version held each stage and alias at one moment: ``nbtrack models at NAME --time T``."""

    mime = STATE_MIME

    def __init__(self, state: RegistryState):
        self.state = state

    def _rows(self) -> list[list[str]]:
        s = self.state
        rows = [
            [stage, ", ".join(str(v) for v in s.holders(stage)) or "-"]
            for stage in ("Production", "Staging", "Archived", "None")
        ]
        return rows + [[f"@{alias}", str(version)] for alias, version in s.aliases.items()]

    def _title(self) -> str:
        deleted = " (deleted at that time)" if self.state.deleted else ""
        return f"Model {self.state.model} at {fmt.timestamp(self.state.time)}{deleted}"

    def __str__(self) -> str:
        return self._title() + "\n" + text_table(["stage / alias", "versions"], self._rows())

    def _repr_html_(self) -> str:
        return STYLE + f"<h4>{esc(self._title())}</h4>" + table(["stage / alias", "versions"], self._rows())

    def record(self) -> Any:
        s = self.state
        return {
            "model": s.model,
            "time": s.time,
            "stages": {str(v): st for v, st in s.stages.items()},
            "aliases": s.aliases,
            "deleted": s.deleted,
        }


class VersionComparisonView(_View):
    """Champion vs challenger: metric deltas (b - a) and the params that differ."""

    mime = COMPARISON_MIME

    def __init__(self, comparison: VersionComparison):
        self.comparison = comparison

    def __getattr__(self, name: str) -> Any:  # .metrics, .params, .metric(key) of the comparison
        if name == "comparison":
            raise AttributeError(name)
        return getattr(self.comparison, name)

    def _labels(self) -> tuple[str, str]:
        a, b = self.comparison.a, self.comparison.b
        return (
            f"v{a.version}" + (f" ({', '.join(a.aliases)})" if a.aliases else ""),
            f"v{b.version}" + (f" ({', '.join(b.aliases)})" if b.aliases else ""),
        )

    def _metric_rows(self) -> list[list[str]]:
        return [
            [m.key, fmt.value(m.a), fmt.value(m.b), "" if m.delta is None else f"{m.delta:+.4g}"]
            for m in self.comparison.metrics
        ]

    def _param_rows(self) -> list[list[str]]:
        return [
            [p.key, "(missing)" if p.a_missing else fmt.value(p.a), "(missing)" if p.b_missing else fmt.value(p.b)]
            for p in self.comparison.changed_params
        ]

    def _input_rows(self) -> list[list[str]]:
        return [
            [i.key, i.a or "(missing)", i.b or "(missing)", "same data" if i.same else "differs"]
            for i in self.comparison.inputs
        ]

    def __str__(self) -> str:
        la, lb = self._labels()
        lines = [
            f"Model {self.comparison.a.name}: {la} vs {lb}",
            "Metrics:",
            text_table(["metric", la, lb, "delta"], self._metric_rows()) if self.comparison.metrics else "  none",
        ]
        lines += [
            "Changed params:",
            text_table(["param", la, lb], self._param_rows()) if self.comparison.changed_params else "  none",
        ]
        if self.comparison.inputs:
            lines += ["Data inputs:", text_table(["input", la, lb, ""], self._input_rows())]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        la, lb = self._labels()
        parts = [STYLE, f"<h4>Model {esc(self.comparison.a.name)}: {esc(la)} vs {esc(lb)}</h4>"]
        parts.append(
            table(["metric", la, lb, "delta"], self._metric_rows(), numeric={1, 2, 3})
            if self.comparison.metrics
            else "<p>no metrics</p>"
        )
        parts.append(
            "<b>Changed params</b>"
            + (table(["param", la, lb], self._param_rows()) if self.comparison.changed_params else "<p>none</p>")
        )
        if self.comparison.inputs:
            parts.append("<b>Data inputs</b>" + table(["input", la, lb, ""], self._input_rows()))
        return "".join(parts)

    def record(self) -> Any:
        c = self.comparison
        return {
            "a": _version_record(c.a),
            "b": _version_record(c.b),
            "metrics": [{"key": m.key, "a": _safe(m.a), "b": _safe(m.b), "delta": _safe(m.delta)} for m in c.metrics],
            "params": [{"key": p.key, "a": _safe(p.a), "b": _safe(p.b), "changed": p.changed} for p in c.params],
            "inputs": [{"key": i.key, "a": i.a, "b": i.b, "same": i.same} for i in c.inputs],
        }


class PromotionView(_View):
    """What a promotion did: the version's new stage, who was archived, every gate with its values.

    Attributes of the :class:`~nbtrack.registry.Promotion` (``.version``, ``.evaluations``,
    ``.archived``) read through, so code can keep using the result.
    """

    mime = PROMOTION_MIME

    def __init__(self, promotion: Promotion):
        self.promotion = promotion

    def __getattr__(self, name: str) -> Any:
        if name == "promotion":
            raise AttributeError(name)
        return getattr(self.promotion, name)

    def headline(self) -> str:
        v = self.promotion.version
        archived = (
            f" (archived version {', '.join(map(str, self.promotion.archived))})" if self.promotion.archived else ""
        )
        return f"{v.name} version {v.version} -> {v.stage}{archived}"

    def __str__(self) -> str:
        gates = gate_report(self.promotion.evaluations)
        return self.headline() + (f"\n{gates}" if gates else "")

    def _repr_html_(self) -> str:
        rows = [
            [
                "PASS" if e.passed else "FAIL",
                e.requirement,
                f"{fmt.value(e.left)} {e.op} {fmt.value(e.right)}" if e.op else "",
                e.note,
            ]
            for e in self.promotion.evaluations
        ]
        gates = table(["gate", "requirement", "evaluated", "note"], rows) if rows else ""
        return STYLE + f"<p><b>{esc(self.headline())}</b></p>" + gates

    def record(self) -> Any:
        v = self.promotion.version
        return {
            "model": v.name,
            "version": v.version,
            "stage": v.stage,
            "archived": list(self.promotion.archived),
            "gates": [e.to_dict() for e in self.promotion.evaluations],
        }


def gate_report(evaluations: Sequence[GateEvaluation]) -> str:
    """One line per evaluated requirement, for the CLI and the magics."""
    return "\n".join(e.describe() for e in evaluations)


def _safe(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    return value
