"""All state and actions of the dashboard, without ipywidgets: tests drive this class directly.

The widget views only lay out and wire: they call an action, then redraw from the
controller's state when it announces a change (:meth:`DashboardController.subscribe`).
Actions raise on bad input, so callers see the real exception; the views call them through
:meth:`DashboardController.attempt`, which turns any exception into the status line
(``ipywidgets``' ``Button.click`` would otherwise swallow it into a log record nobody reads).

Runs are paged in SQL (``LIMIT`` on the filtered, sorted query: keyset paging in the default
order, ``OFFSET`` otherwise); only the visible page and the selected runs are ever loaded with
their params, metrics and tags.

Deleting asks first: :meth:`DashboardController.request_delete` records a
:class:`PendingDelete` that the view shows, and only :meth:`DashboardController.confirm_delete`
deletes, so one stray click changes nothing. The table shows either live or deleted runs
(:meth:`DashboardController.set_show_deleted`); deleted ones can be restored from there.

Live runs can be annotated: :meth:`DashboardController.tag_selected` takes ``key=value`` as
``%track tag`` does, and tags starting with ``nbtrack.`` stay nbtrack's own.

>>> controller = DashboardController(tracker, "metrics.f1 > 0.8")   # doctest: +SKIP
>>> controller.sort_by("metrics.f1"); controller.toggle(controller.runs[0].id, True)   # doctest: +SKIP
>>> controller.comparison().metric("f1").best                       # doctest: +SKIP
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..compare import Comparison, compare_runs, param_column_rank
from ..display.dashboard import FIXED_COLUMNS, DashboardView
from ..display.format import truncate
from ..entities import MetricPoint, Run
from ..errors import NbtrackError, QueryError, UsageError
from ..registry import Registry
from ..tracking.reading import Cursor
from ..tracking import Tracker
from ..tracking.tracker import SYSTEM_TAG_PREFIX
from ..values import parse_assignment, tag_value
from .catalog import ColumnKeys, column_keys
from .registry_controller import PRODUCTION_PREFIX, RegistryController

#: columns that cannot be sorted in SQL (they combine several values)
UNSORTABLE = frozenset({"tags", "receipt"})
_ATTRIBUTE_FIELDS = {"name": "name", "status": "status", "start": "start_time", "duration": "duration"}
DEFAULT_PARAM_COLUMNS = 4
DEFAULT_METRIC_COLUMNS = 4


@dataclass(frozen=True)
class PendingDelete:
    """A deletion waiting for confirmation: the selected runs, and how many live runs nested under them go too."""

    run_ids: tuple[str, ...]
    nested: int

    def describe(self) -> str:
        nested = f" and {_plural(self.nested)} nested under them" if self.nested else ""
        return f"Delete {_plural(len(self.run_ids))}{nested}?"


@dataclass(frozen=True)
class Status:
    """The dashboard's status line: the last action's outcome. ``kind`` is "info" or "error"."""

    text: str = ""
    kind: str = "info"


class DashboardController:
    """State of one dashboard: filter, sort, page, columns, selection, baseline, status."""

    #: selecting more runs than this is refused (charts and tables stop being readable)
    max_compare = 50

    def __init__(
        self,
        tracker: Tracker,
        query: str | None = None,
        *,
        page_size: int = 25,
        registry: Registry | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.tracker = tracker
        self.page_size = max(1, int(page_size))
        self.clock = clock
        self.opened_at = clock()
        self.query = ""
        self.filter_error: QueryError | None = None
        self.sort_column = "start"
        self.descending = True
        self.page_index = 0
        self.runs: list[Run] = []
        self.total = 0
        self.new_since_open = 0
        self._selected: dict[str, str] = {}  # run id -> label, in selection order
        self.baseline: str | None = None
        #: the table lists deleted runs instead of live ones
        self.show_deleted = False
        #: the selection and baseline of the other listing, back when the user switches back
        self._other_selection: tuple[dict[str, str], str | None] = ({}, None)
        #: the other listing's columns (None: its defaults, from its own keys)
        self._other_columns: list[str] | None = None
        self.pending_delete: PendingDelete | None = None
        self.show_all_params = False
        #: chart choices of the Compare tab (None: the first that fits)
        self.chart = {"history": None, "parallel": None, "scatter_param": None, "scatter_metric": None}
        self.status = Status()
        self.last_traceback: str | None = None
        self._listeners: list[Callable[[set[str]], None]] = []
        #: the store's change stamp when the runs were last read (see :meth:`show_tab`)
        self._runs_stamp: tuple[int, int] | None = None
        #: (page index, listing, first, last) of the loaded page, where the next or previous page continues
        self._edges: tuple[int, tuple, Cursor, Cursor] | None = None
        self.keys: ColumnKeys = column_keys(tracker)
        self.columns: list[str] = self._default_columns()
        #: the Registry tab's state and actions (over the tracker's store unless a Registry is given)
        tracker.flush()  # buffered points written first, so they do not make the Registry tab look stale
        self.registry = RegistryController(registry or Registry.of(tracker), self)
        if query and query.strip():
            self.set_filter(query)
        else:
            self._load()

    # -- events --------------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[set[str]], None]) -> None:
        """``callback(topics)`` after each change; topics: runs, filter, columns, selection, compare, refresh, status, registry, delete."""
        self._listeners.append(callback)

    def changed(self, *topics: str) -> None:
        for callback in list(self._listeners):
            callback(set(topics))

    def attempt(self, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``action``; any exception becomes an error status instead of escaping (returns None)."""
        try:
            return action(*args, **kwargs)
        except Exception as exc:  # the status line is the one place a dashboard user can see errors
            self.last_traceback = traceback.format_exc()
            text = str(exc) if isinstance(exc, NbtrackError) else f"{type(exc).__name__}: {exc}"
            if isinstance(exc, QueryError):
                text = f"filter: {exc.reason}" + (f" (at position {exc.position})" if exc.position is not None else "")
            self.set_status(text, "error")
            return None

    def set_status(self, text: str, kind: str = "info") -> None:
        self.status = Status(text, kind)
        self.changed("status")

    # -- filter, sort, paging -----------------------------------------------------------------------
    def set_filter(self, text: str | None) -> None:
        """Apply a query in the core grammar (see :mod:`nbtrack.query`); a QueryError leaves the old filter."""
        text = text or ""
        try:
            self.tracker.check_filter(text)  # as typed: error positions point into the user's text
        except QueryError as exc:
            self.filter_error = exc
            self.changed("filter")
            raise
        self.filter_error = None
        self.query, self.page_index = text.strip(), 0
        self._load()
        self._announce_total()

    def sort_by(self, column: str, descending: bool | None = None) -> None:
        """Sort by ``column``; choosing the current column again flips the direction."""
        if column in UNSORTABLE:
            raise UsageError(f"the {column!r} column cannot be sorted; sort by a single tags.<key> column instead")
        _order_text(column, False)  # refuses unknown columns before any state changes
        if descending is None:
            descending = (not self.descending) if column == self.sort_column else column == "start"
        self.sort_column, self.descending, self.page_index = column, descending, 0
        self._load()

    @property
    def page_count(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def set_page(self, index: int) -> None:
        self.page_index = min(max(0, int(index)), self.page_count - 1)
        self._load()

    def next_page(self) -> None:
        self.set_page(self.page_index + 1)

    def previous_page(self) -> None:
        self.set_page(self.page_index - 1)

    def refresh(self) -> None:
        """Re-read the store: runs logged since the dashboard opened appear without a rebuild."""
        self.tracker.flush()
        self.tracker.mark_dead_runs()
        self._reload_keys()
        self.registry.reload()
        self.changed("columns", "refresh")
        self.set_status(
            f"{_plural(self.new_since_open)} logged since the dashboard opened; {self._listing(matching=True)}"
        )

    def _reload_keys(self) -> None:
        """Re-read the column keys and the page: keys may have come or gone since they were read."""
        self.keys = column_keys(self.tracker, deleted=self.show_deleted)
        # a column whose every run was deleted (or untagged) is gone from the chooser, so it leaves the table too
        self.columns = self._fitting(self.columns)
        self._load()

    def _fitting(self, columns: list[str] | None) -> list[str]:
        """``columns`` that the current keys offer; None gives the defaults."""
        if columns is None:
            return self._default_columns()
        available = set(self.available_columns())
        return [column for column in columns if column in available]

    def is_new(self, run: Run) -> bool:
        return run.start_time > self.opened_at

    def _announce_total(self) -> None:
        self.set_status(self._listing(matching=bool(self.query)))

    def _listing(self, matching: bool = False) -> str:
        """``1 run`` / ``3 deleted runs match``: the count of what the table lists."""
        count = _plural(self.total, "deleted run" if self.show_deleted else "run")
        return count + (" matches" if self.total == 1 else " match") if matching else count

    def show_tab(self, tab: str) -> bool:
        """The view shows ``tab`` ("runs", "compare", "registry"): re-read it if the store changed since it
        was drawn (cells run after the dashboard's, other processes). Returns whether it reloaded."""
        if tab not in ("runs", "registry"):
            return False
        self.tracker.flush()
        if tab == "registry":
            return self.registry.shown()
        if self.tracker.change_stamp() == self._runs_stamp:
            return False
        self._reload_keys()
        self.changed("columns")
        return True

    def _load(self) -> None:
        self.tracker.flush()
        self._runs_stamp = (
            self.tracker.change_stamp()
        )  # before reading: a write in between means one more reload, never a miss
        tracker, query = self.tracker, self.query
        self.total = tracker.count_runs(query, deleted=self.show_deleted)
        self.page_index = min(self.page_index, self.page_count - 1)
        self.runs = self._page(query, _order_text(self.sort_column, self.descending))
        # new runs are live ones in either listing: Refresh tells a user browsing deleted runs what was logged meanwhile
        self.new_since_open = tracker.count_runs(query, started_after=self.opened_at)
        self.changed("runs")

    def _page(self, query: str, order_by: str) -> list[Run]:
        """The page's runs. In the default order the next and previous page continue from the
        loaded one's first or last run, and the last page reads from the oldest end (keyset
        paging, as fast on page 4,000 as on page 1); other moves and orders use OFFSET.
        """
        tracker, index, size = self.tracker, self.page_index, self.page_size
        listing = (query, order_by, self.show_deleted)
        keyset: dict[str, Any] = {}
        if index > 0 and tracker.pages_by_keyset(order_by):
            edges = self._edges if self._edges is not None and self._edges[1] == listing else None
            if index == self.page_count - 1:
                keyset, size = {"from_oldest": True}, self.total - index * size
            elif edges is not None and edges[0] == index - 1:
                keyset = {"after": edges[3]}
            elif edges is not None and edges[0] == index + 1:
                keyset = {"before": edges[2]}
        page = tracker.runs_page(
            query,
            order_by,
            limit=size,
            offset=0 if keyset else index * self.page_size,
            deleted=self.show_deleted,
            **keyset,
        )
        self._edges = (index, listing, page.first, page.last) if page.runs else None
        return page.runs

    # -- columns ------------------------------------------------------------------------------------
    def available_columns(self) -> list[str]:
        return [
            *FIXED_COLUMNS,
            *(f"params.{k}" for k in self.keys.params),
            *(f"metrics.{k}" for k in self.keys.metrics),
            *(f"tags.{k}" for k in self.keys.tags),
        ]

    def set_columns(self, columns: Iterable[str]) -> None:
        columns = list(columns)
        unknown = [c for c in columns if c not in set(self.available_columns())]
        if unknown:
            raise UsageError(f"unknown column{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))}")
        self.columns = columns
        self.changed("columns", "runs")

    def _default_columns(self) -> list[str]:
        """What a comparison needs first: name and status, then metrics and params, then the rest."""
        leading, trailing = FIXED_COLUMNS[:2], FIXED_COLUMNS[2:]
        params = sorted(self.keys.params, key=param_column_rank)[:DEFAULT_PARAM_COLUMNS]
        return [
            *leading,
            *(f"metrics.{k}" for k in self.keys.metrics[:DEFAULT_METRIC_COLUMNS]),
            *(f"params.{k}" for k in params),
            *trailing,
        ]

    # -- selection ------------------------------------------------------------------------------------
    @property
    def selected_ids(self) -> list[str]:
        return list(self._selected)

    def toggle(self, run_id: str, selected: bool) -> None:
        """Select or unselect one run (selections survive paging, sorting and filtering)."""
        self._mark(run_id, selected)
        self.changed("selection")

    def select_page(self, selected: bool = True) -> None:
        try:
            for run in self.runs:
                self._mark(run.id, selected)
        finally:  # runs marked before a refusal stay marked, and the views must show them
            self.changed("selection")

    def _mark(self, run_id: str, selected: bool) -> None:
        self.pending_delete = None  # the confirmation named other runs than the selection now holds
        if not selected:
            self._selected.pop(run_id, None)
            if self.baseline == run_id:
                self.baseline = None
            return
        if run_id in self._selected:
            return
        if len(self._selected) >= self.max_compare:
            raise UsageError(f"at most {self.max_compare} runs can be compared; unselect some first")
        on_page = next((run for run in self.runs if run.id == run_id), None)
        self._selected[run_id] = (on_page or self.tracker.get_run(run_id)).label

    def clear_selection(self) -> None:
        self._selected.clear()
        self.baseline, self.pending_delete = None, None
        self.changed("selection", "delete")

    def selected_runs(self) -> list[Run]:
        return [self.tracker.get_run(run_id) for run_id in self._selected]

    # -- deleting and restoring ---------------------------------------------------------------------
    def request_delete(self) -> PendingDelete:
        """Ask before deleting the selection; :meth:`confirm_delete` deletes, :meth:`cancel_delete` forgets.

        Any change of the selection drops the question, so a confirmation always deletes the runs it named.
        """
        run_ids = tuple(self._selection_for("delete", deleted=False))
        self.pending_delete = PendingDelete(run_ids, len(self.tracker.deletion_of(*run_ids)) - len(run_ids))
        self.changed("delete")
        return self.pending_delete

    def confirm_delete(self) -> list[str]:
        if self.pending_delete is None:
            raise UsageError("nothing to confirm; select runs and click Delete first")
        self.pending_delete = None
        try:
            return self.delete_selected()
        finally:  # a refusal drops the question too: the status line says why
            self.changed("delete")

    def cancel_delete(self) -> None:
        self.pending_delete = None
        self.changed("delete")
        self.set_status("nothing deleted")

    def delete_selected(self) -> list[str]:
        """Delete the selected runs and the runs nested under them, at once (the views ask first,
        through :meth:`request_delete`); a refusal of any run deletes none of them."""
        run_ids = self._selection_for("delete", deleted=False)
        deleted = self.tracker.delete_run(*run_ids)  # one transaction, checked before anything changes
        self._forget(deleted)
        self.set_status(
            f"deleted {_plural(len(deleted))} ({len(deleted) - len(run_ids)} nested under the selected ones); "
            "to undo, tick 'show deleted runs', select them and click Restore selected"
        )
        return deleted

    def restore_selected(self) -> list[str]:
        """Bring the selected deleted runs back, with the nested runs deleted together with them."""
        run_ids = self._selection_for("restore", deleted=True)
        restored = self.tracker.restore_run(*run_ids)
        self._forget(restored)
        self.set_status(
            f"restored {_plural(len(restored))} ({len(restored) - len(run_ids)} nested under the selected ones)"
        )
        return restored

    def set_show_deleted(self, show: bool) -> None:
        """List deleted runs (to restore them) or live ones; each listing keeps its own selection,
        so a look at the deleted runs does not lose the runs chosen for comparison."""
        if bool(show) == self.show_deleted:
            return
        (self._selected, self.baseline), self._other_selection = self._other_selection, (self._selected, self.baseline)
        self.show_deleted, self.pending_delete, self.page_index = bool(show), None, 0
        # each listing has its own keys (deleted runs may have params no live run has) and columns
        self.keys = column_keys(self.tracker, deleted=self.show_deleted)
        self.columns, self._other_columns = self._fitting(self._other_columns), self.columns
        self._load()
        self.changed("selection", "compare", "delete", "columns")
        self._announce_total()

    # -- tags and notes -------------------------------------------------------------------------------
    def tag_selected(self, text: str) -> list[str]:
        """Tag every selected run with ``key=value`` (parsed like ``%track tag``), all or none."""
        run_ids = self._selection_for("tag", deleted=False)
        key, value = parse_assignment(text)
        _refuse_system_tag(key)
        value = tag_value(value, key)
        tagged = self.tracker.tag_runs(run_ids, {key: value})
        self._annotated(f"tagged {_plural(len(tagged))} {truncate(key)}={truncate(value)}")
        return tagged

    def untag_selected(self, key: str) -> int:
        """Remove tag ``key`` from the selected runs; returns how many had it."""
        run_ids = self._selection_for("untag", deleted=False)
        key = key.strip()
        _refuse_system_tag(key)
        if "=" in key:
            raise UsageError(
                f"to remove a tag type its key only (e.g. {key.split('=', 1)[0].strip() or 'stage'}), not key=value"
            )
        removed = self.tracker.untag_runs(run_ids, key)  # checks the key
        missing = f"; {len(run_ids) - removed} of the selected had no such tag" if removed < len(run_ids) else ""
        self._annotated(f"removed tag {truncate(key)} from {_plural(removed)}{missing}")
        return removed

    @property
    def note_run_id(self) -> str | None:
        """The run the Note box edits: the only selected run of the live listing, else None."""
        return self.selected_ids[0] if len(self._selected) == 1 and not self.show_deleted else None

    def note_of(self, run_id: str) -> str:
        return self.tracker.get_run(run_id).note or ""

    def set_note(self, run_id: str, text: str) -> None:
        """Replace the note of ``run_id``, which must be the one selected run: the Note box was
        filled from that run, so a note typed for one run never lands on another."""
        if len(self._selected) != 1:
            raise UsageError(f"select exactly one run to write its note ({_plural(len(self._selected))} selected)")
        (selected,) = self._selection_for("write notes on", deleted=False)
        if run_id != selected:
            raise UsageError("the note was typed for another run than the selected one; select that run to save it")
        self.tracker.note_run(run_id, text)
        label = self._selected[run_id]
        self._annotated(f"saved the note of run {label}" if text.strip() else f"cleared the note of run {label}")

    def _annotated(self, status: str) -> None:
        """After tags or a note changed: the table, the column chooser and the comparison show them."""
        self._reload_keys()
        self.changed("columns", "compare")
        self.set_status(status)

    def _selection_for(self, action: str, deleted: bool) -> list[str]:
        if self.show_deleted != deleted:
            where = "untick" if self.show_deleted else "tick"
            raise UsageError(f"{where} 'show deleted runs' to {action} runs")
        if not self._selected:
            raise UsageError(f"select runs to {action} first")
        return self.selected_ids

    def _forget(self, run_ids: Iterable[str]) -> None:
        """Runs that left the listing leave the selection and the comparison too."""
        for run_id in run_ids:
            self._mark(run_id, False)
        self._load()
        self.changed("selection", "compare")

    # -- comparison ---------------------------------------------------------------------------------
    def baseline_options(self) -> list[tuple[str, str | None]]:
        """(label, value) choices: no baseline, each selected run, each model's Production version."""
        options: list[tuple[str, str | None]] = [("no baseline", None)]
        options += [(f"run {label}", run_id) for run_id, label in self._selected.items()]
        options += [(f"{name} Production", PRODUCTION_PREFIX + name) for name in self.registry.models_in_production()]
        return options

    def set_baseline(self, choice: str | None) -> None:
        if choice is not None and choice not in {value for _, value in self.baseline_options()}:
            raise UsageError(f"{choice!r} is not a selected run or a model with a Production version")
        self.baseline = choice
        self.changed("compare")

    def set_show_all_params(self, show_all: bool) -> None:
        self.show_all_params = bool(show_all)
        self.changed("compare")

    def comparison(self) -> Comparison:
        """The selected runs compared (baseline first when one is chosen)."""
        runs = self.selected_runs()
        baseline, label = self._baseline_run()
        if not runs and baseline is None:
            raise UsageError("select runs in the Runs tab to compare them")
        return compare_runs(runs, baseline=baseline, baseline_label=label)

    def _baseline_run(self) -> tuple[Run | None, str | None]:
        if self.baseline is None:
            return None, None
        if self.baseline.startswith(PRODUCTION_PREFIX):
            return self.registry.production_run(self.baseline[len(PRODUCTION_PREFIX) :])
        return self.tracker.get_run(self.baseline), None

    def set_chart(self, name: str, value: str | None) -> None:
        """Choose the metric (or param) a chart shows: history, parallel, scatter_param, scatter_metric."""
        if name not in self.chart:
            raise UsageError(f"unknown chart setting {name!r}; use one of {', '.join(self.chart)}")
        self.chart[name] = value
        self.changed("compare")

    def chart_choice(self, comparison: Comparison, name: str) -> str | None:
        """The chosen key of a chart if the comparison has it, else the first that fits."""
        metrics = [row.key for row in comparison.metrics]
        if name == "scatter_param":
            candidates = [row.key for row in comparison.param_rows()] or [row.key for row in comparison.params]
        else:
            candidates = metrics
        chosen = self.chart[name]
        return chosen if chosen in candidates else (candidates[0] if candidates else None)

    def figures(self, comparison: Comparison) -> dict[str, Any]:
        """The Compare tab's matplotlib Figures: ``bars:<metric>`` per metric, history, parallel, scatter."""
        from .. import plotting  # matplotlib is imported only when charts are drawn

        figures: dict[str, Any] = {
            f"bars:{row.key}": plotting.metric_bars(comparison, row.key) for row in comparison.metrics
        }
        history = self.chart_choice(comparison, "history")
        if history is not None:
            figures["history"] = plotting.metric_histories(self.histories(comparison, history), history)
        parallel = self.chart_choice(comparison, "parallel")
        if parallel is not None and comparison.params:
            figures["parallel"] = plotting.parallel_coordinates(comparison, parallel)
        param, metric = self.chart_choice(comparison, "scatter_param"), self.chart_choice(comparison, "scatter_metric")
        if param is not None and metric is not None:
            figures["scatter"] = plotting.param_scatter(comparison, param, metric)
        return figures

    def histories(self, comparison: Comparison, key: str) -> dict[str, list[MetricPoint]]:
        """Each compared run's history of metric ``key``, by run label."""
        return {c.label: self.tracker.metric_history(c.run.id, key) for c in comparison.columns}

    # -- the static fallback -------------------------------------------------------------------------
    def static_view(self, charts: bool = True) -> DashboardView:
        """What the dashboard shows, as escaped HTML tables (+ PNG charts of the comparison)."""
        from ..display.compare import ComparisonView

        comparison = None
        if self._selected:
            model = self.comparison()
            histories = {row.key: self.histories(model, row.key) for row in model.metrics[:3]} if charts else None
            comparison = ComparisonView(model, histories, show_all=self.show_all_params, charts=charts)
        return DashboardView(self.runs, self.columns, self.total, self.query, comparison, deleted=self.show_deleted)


def _plural(count: int, noun: str = "run") -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


def _refuse_system_tag(key: str) -> None:
    """nbtrack's own tags record what it checked (rerun links, verification): edited by hand they would lie."""
    if key.startswith(SYSTEM_TAG_PREFIX):
        raise UsageError(
            f"tags starting with {SYSTEM_TAG_PREFIX!r} are written by nbtrack itself (e.g. {SYSTEM_TAG_PREFIX}rerun_of); "
            "they cannot be set or removed from the dashboard"
        )


def quote_key(key: str) -> str:
    """A key as one backquoted segment of the query grammar (```` `` ```` for a backquote)."""
    return "`" + key.replace("`", "``") + "`"


def _order_text(column: str, descending: bool) -> str:
    """The order-by text (query grammar) for a table column."""
    kind, _, key = column.partition(".")
    if column in _ATTRIBUTE_FIELDS:
        field = _ATTRIBUTE_FIELDS[column]
    elif kind in ("params", "metrics", "tags") and key:
        field = f"{kind}.{quote_key(key)}"
    else:
        raise UsageError(f"cannot sort by {column!r}")
    return f"{field} {'desc' if descending else 'asc'}"
