"""The benchmark at tiny sizes, so its code cannot rot: every workload produces a well-formed result.

No timing asserts: this only checks that each backend answers each workload with a number
(or says why not) and that the report renders. MLflow takes part only when it is installed.
"""

from __future__ import annotations

import importlib.util
import math

import pytest

from benchmarks import machine, report, runner
from benchmarks.__main__ import main
from benchmarks.spec import BACKENDS, WORKLOADS

pytestmark = pytest.mark.slow  # runs the benchmark workloads

MLFLOW = importlib.util.find_spec("mlflow") is not None


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return runner.run(list(WORKLOADS), "smoke", 2, tmp_path_factory.mktemp("bench"), progress=lambda message: None)


def test_every_workload_has_a_result_for_every_backend(results):
    assert set(results) == {w.id for w in WORKLOADS}
    for workload_id, cells in results.items():
        assert set(cells) == set(BACKENDS)
        for backend, cell in cells.items():
            assert cell.status in ("ok", "na", "unavailable"), (workload_id, backend, cell.reason)


def test_nbtrack_measures_every_workload_twice(results):
    for workload_id, cells in results.items():
        cell = cells["nbtrack"]
        if cell.status == "unavailable":
            assert cell.reason.startswith("not available yet"), cell.reason
            continue
        assert cell.status == "ok", (workload_id, cell.reason)
        assert len(cell.samples) == 2
        assert all(isinstance(v, float) and math.isfinite(v) for v in cell.samples), (workload_id, cell.samples)
        if workload_id.startswith("track_cell"):
            continue  # an overhead is a difference of medians: noise can make it negative
        assert all(v >= 0 for v in cell.samples), (workload_id, cell.samples)


def test_comparison_backends_answer_where_they_apply(results):
    assert results["log_metric"]["sqlite3"].status == "ok"
    assert results["history"]["sqlite3"].status == "ok"
    assert results["import"]["sqlite3"].status == "na"
    expected = "ok" if MLFLOW else "na"
    assert results["search_1k"]["mlflow"].status == expected
    assert results["dashboard"]["mlflow"].status == "na"


def test_report_has_one_row_per_workload_and_the_machine(results):
    text = report.render(
        list(WORKLOADS), results, machine.describe(), "smoke", 2, "python -m benchmarks --profile smoke"
    )
    table = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| Workload")]
    assert len(table) == len(WORKLOADS)
    assert all(line.count(" | ") == 6 for line in table)
    assert "sqlite " in text and "python " in text and "cores " in text


def test_command_line_writes_the_markdown_file(tmp_path):
    out = tmp_path / "RESULTS.md"
    assert main(["--profile", "smoke", "--repeat", "1", "--only", "log_metric,history", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# nbtrack benchmark results") and "`log_metric`" in text
