"""The tracker's parts (issue 15, point 3): one facade over small mixins, typed buffer rows."""

from __future__ import annotations

from nbtrack.store.runs import ParamRow
from nbtrack.tracking import Tracker
from nbtrack.tracking.annotation import Annotation
from nbtrack.tracking.artifact_log import ArtifactLog
from nbtrack.tracking.lost import refusal_lines
from nbtrack.tracking.reading import Reading
from nbtrack.tracking.retention import Retention


def test_each_responsibility_lives_in_its_own_part_and_the_tracker_has_them_all():
    parts = {Annotation: "tag_runs", ArtifactLog: "log_bytes", Retention: "purge", Reading: "search_runs"}
    for part, method in parts.items():
        assert method in vars(part), (part, method)
        assert getattr(Tracker, method) is getattr(part, method)
    assert "log_metric" in vars(Tracker) and "end_run" in vars(Tracker)


def test_buffered_params_are_typed_rows_and_written_as_params(tracker):
    with tracker.start_run("typed") as run:
        tracker.log_param("lr", 0.1)
        tracker.log_metric("loss", 0.5)
        rows = list(tracker.buffer._rows)
        assert [type(r) for r in rows] == [ParamRow, tuple]
        assert rows[0] == ParamRow(run.row_id, "lr", rows[0].type, rows[0].value)
    stored = tracker.get_run(run.id)
    assert stored.params == {"lr": 0.1} and stored.metrics["loss"].last == 0.5


def test_a_four_field_metric_tuple_is_not_mistaken_for_a_param(tracker):
    """Rows are told apart by their type, not their length."""
    param = ParamRow(1, "depth", "int", 3)
    lines = refusal_lines([(param, "why"), ((1, "loss", 7, 1.0, 0.0), "why")], lambda row_id: "r")
    assert lines[0].startswith("param 'depth' of run r") and lines[1].startswith("metric 'loss' step 7 of run r")
