"""The Registry tab: models, their versions, stage and alias controls, the audit trail, registering.

CSS classes: ``nbtrack-registry-tab``, ``nbtrack-model-select`` (Dropdown of models),
``nbtrack-versions-table`` (version, stage, aliases, source run, key metrics),
``nbtrack-version-select`` (the version the controls act on), ``nbtrack-stage-select``,
``nbtrack-stage-comment``, ``nbtrack-stage-require`` (an optional promotion gate),
``nbtrack-stage-apply``, ``nbtrack-version-delete``; the confirmation before Production or a deletion:
``nbtrack-stage-confirm-box`` (hidden unless pending), ``nbtrack-stage-confirm``,
``nbtrack-stage-cancel``; aliases: ``nbtrack-alias-name``, ``nbtrack-alias-set``,
``nbtrack-alias-delete``; ``nbtrack-compare-production`` (compare the version against
Production in the Compare tab); registering: ``nbtrack-register-name``,
``nbtrack-register-artifact``, ``nbtrack-register-run``; ``nbtrack-model-history``.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as w

from ..display import format as fmt
from ..display.html import STYLE, badge, esc
from ..display.models import STAGE_STYLE, ModelHistory
from ..entities import ARCHIVED, PRODUCTION, STAGING
from ..errors import UsageError
from .common import button, classed, confirm_row, on_value
from .controller import DashboardController


class RegistryView:
    def __init__(self, controller: DashboardController, show_compare: Callable[[], None] = lambda: None):
        self.controller = controller
        self.registry = r = controller.registry
        self._writing = False
        c = controller
        self.model = classed(w.Dropdown(description="model"), "nbtrack-model-select")
        on_value(self.model, r.select_model, c, lambda: self._writing)
        self.versions = classed(w.HTML(), "nbtrack-versions-table")
        self.version = classed(
            w.Dropdown(description="version", layout=w.Layout(width="160px")), "nbtrack-version-select"
        )
        self.stage = classed(
            w.Dropdown(
                options=[STAGING, PRODUCTION, ARCHIVED],
                value=STAGING,
                description="stage",
                layout=w.Layout(width="200px"),
            ),
            "nbtrack-stage-select",
        )
        self.comment = classed(
            w.Text(placeholder="comment (recorded in the audit trail of the next change)"), "nbtrack-stage-comment"
        )
        on_value(self.comment, r.set_comment, c, lambda: self._writing)
        self.require = classed(
            w.Text(
                placeholder="gate (optional), e.g. metrics.f1 >= production.metrics.f1", layout=w.Layout(width="420px")
            ),
            "nbtrack-stage-require",
        )
        apply = button(
            "Apply stage",
            "nbtrack-stage-apply",
            lambda: r.request_stage(self._version(), self.stage.value, require=self.require.value),
            c,
        )
        delete = button("Delete version", "nbtrack-version-delete", lambda: r.request_delete(self._version()), c)
        self.confirm_box, self.confirm_text = confirm_row("nbtrack-stage", r.confirm, r.cancel, c)
        self.alias = classed(
            w.Text(placeholder="alias, e.g. champion", layout=w.Layout(width="200px")), "nbtrack-alias-name"
        )
        aliases = w.HBox(
            [
                self.alias,
                button("Set alias", "nbtrack-alias-set", lambda: r.set_alias(self.alias.value, self._version()), c),
                button("Delete alias", "nbtrack-alias-delete", lambda: r.delete_alias(self.alias.value), c),
                button("Compare with Production", "nbtrack-compare-production", lambda: self._compare(show_compare), c),
            ]
        )
        self.register_name = classed(w.Text(placeholder="model name"), "nbtrack-register-name")
        self.register_artifact = classed(
            w.Text(placeholder="artifact (optional, e.g. models/clf.pkl)"), "nbtrack-register-artifact"
        )
        register = button(
            "Register the selected run",
            "nbtrack-register-run",
            lambda: r.register_selected(self.register_name.value, self.register_artifact.value),
            c,
        )
        self.history = classed(w.HTML(), "nbtrack-model-history")
        self.widget = classed(
            w.VBox(
                [
                    w.HTML(STYLE + STAGE_STYLE),
                    self.model,
                    self.versions,
                    w.HBox([self.version, self.stage, self.comment]),
                    w.HBox([self.require, apply, delete]),
                    self.confirm_box,
                    aliases,
                    w.HTML("<b>Register</b>"),
                    w.HBox([self.register_name, self.register_artifact, register]),
                    w.HTML("<b>History</b>"),
                    self.history,
                ]
            ),
            "nbtrack-registry-tab",
        )
        controller.subscribe(self.update)
        self.render()

    def _version(self) -> int:
        if self.version.value is None:
            raise UsageError("choose a model version first (register a run if there is none)")
        return int(self.version.value)

    def _compare(self, show_compare: Callable[[], None]) -> None:
        self.registry.compare_with_production(self._version())
        show_compare()

    def update(self, topics: set[str]) -> None:
        if "registry" in topics:
            self.render()

    def render(self) -> None:
        r = self.registry
        rows = r.version_rows()
        self._writing = True
        try:
            self.model.options = [m.name for m in r.models]
            self.model.value = r.model
            chosen = self.version.value
            self.version.options = [(f"v{row.version.version}", row.version.version) for row in rows]
            numbers = [row.version.version for row in rows]
            self.version.value = chosen if chosen in numbers else (numbers[-1] if numbers else None)
            self.comment.value = r.comment  # empty again once a change recorded it
        finally:
            self._writing = False
        self.versions.value = self._versions_html(rows)
        self.confirm_text.value = esc(r.pending.describe()) if r.pending else ""
        self.confirm_box.layout.display = None if r.pending else "none"
        self.history.value = ModelHistory(r.history())._repr_html_() if r.model else "<p>no models registered yet</p>"

    def _versions_html(self, rows) -> str:
        if not rows:
            return "<p>no versions</p>"
        body = []
        for row in rows:
            v, run = row.version, row.run
            metrics = ", ".join(f"{k}={fmt.value(value)}" for k, value in self.registry.key_metrics(run))
            source = f"{run.label} ({run.short_id})" if run else v.run_id[:8]
            body.append(
                f"<tr><td class=num>{v.version}</td><td>{badge(v.stage, v.stage)}</td><td>{esc(', '.join(v.aliases))}</td>"
                f"<td>{esc(source)}</td><td>{esc(metrics)}</td><td>{esc(fmt.timestamp(v.created))}</td></tr>"
            )
        head = "".join(
            f"<th>{h}</th>" for h in ("version", "stage", "aliases", "source run", "key metrics", "registered")
        )
        return f'<table class="nbtrack-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
