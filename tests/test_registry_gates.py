"""The gate grammar: what parses, what is refused with a position, and how values are read."""

from __future__ import annotations

import pytest

from nbtrack.entities import MetricSummary, Run
from nbtrack.errors import UsageError
from nbtrack.registry.gates import Binary, Negate, Ref, evaluate, parse_requirement


def run(metrics: dict[str, float] | None = None, params: dict | None = None) -> Run:
    summaries = {k: MetricSummary(k, v, 0, 0.0, v, v, 1) for k, v in (metrics or {}).items()}
    return Run(
        "a" * 32,
        None,
        "Default",
        "FINISHED",
        0.0,
        1.0,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        params=params or {},
        metrics=summaries,
    )


@pytest.mark.parametrize(
    ("text", "op", "left", "right"),
    [
        (
            "metrics.f1 >= production.metrics.f1",
            ">=",
            Ref(None, "metrics", "f1", "metrics.f1"),
            Ref("production", "metrics", "f1", "production.metrics.f1"),
        ),
        ("Staging.metrics.f1 < 1e-3", "<", Ref("staging", "metrics", "f1", "Staging.metrics.f1"), 0.001),
        (
            "metrics.`val/f1` = champion.metrics.`val/f1`",
            "=",
            Ref(None, "metrics", "val/f1", "metrics.`val/f1`"),
            Ref("champion", "metrics", "val/f1", "champion.metrics.`val/f1`"),
        ),
        ("params.model != 'gbm'", "!=", Ref(None, "params", "model", "params.model"), "gbm"),
        (
            "metrics.loss.train <= -(0.5 - 1) * 2",
            "<=",
            Ref(None, "metrics", "loss.train", "metrics.loss.train"),
            Binary("*", Negate(Binary("-", 0.5, 1.0)), 2.0),
        ),
        # the query language's tokens: doubled-quote escapes, backquoted keys with backquotes, <>, booleans
        ("params.team = 'it''s'", "=", Ref(None, "params", "team", "params.team"), "it's"),
        (
            "metrics.`a``b` <> params.use_bias",
            "<>",
            Ref(None, "metrics", "a`b", "metrics.`a``b`"),
            Ref(None, "params", "use_bias", "params.use_bias"),
        ),
        ("params.use_bias == true", "==", Ref(None, "params", "use_bias", "params.use_bias"), True),
        (
            "metrics.f1 >= production.metrics.f1 -0.01",
            ">=",
            Ref(None, "metrics", "f1", "metrics.f1"),
            Binary("-", Ref("production", "metrics", "f1", "production.metrics.f1"), 0.01),
        ),
    ],
)
def test_requirements_parse(text, op, left, right):
    requirement = parse_requirement(text)
    assert (requirement.op, requirement.left, requirement.right) == (op, left, right)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "non-empty"),
        ("metrics.f1", "expected a comparison"),
        ("metrics.f1 >= ", "ends too early"),
        ("f1 >= 0.5", "is not a reference"),
        ("production.f1 >= 0.5", "is not a reference"),
        ("metrics.f1 >= 0.5 and metrics.auc > 0.7", "several --require"),
        ("metrics.f1 >= (0.5", "missing ')'"),
        ("metrics.f1 >= 0.5 ; drop table runs", "unexpected character ';' at position 18"),
        ("params.model == 'gbm", "unterminated string"),
        ("metrics.f1 >= null", "unexpected 'null' at position 14"),
        ("metrics.f1 + 1", "expected a comparison"),
    ],
)
def test_bad_requirements_are_refused_with_a_reason(text, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_requirement(text)


def test_evaluation_reads_candidate_and_holder_values():
    holders = {"production": (4, run({"f1": 0.9}))}
    result = evaluate(parse_requirement("metrics.f1 >= production.metrics.f1 - 0.05"), run({"f1": 0.86}), holders.get)
    assert (result.passed, result.left, result.right) == (True, 0.86, pytest.approx(0.85))
    assert result.values == {"metrics.f1": 0.86, "production.metrics.f1": 0.9}
    assert result.holders == {"production": 4}


def test_params_compare_as_stored_types():
    candidate = run({"f1": 0.5}, {"depth": 5, "model": "gbm"})
    assert evaluate(parse_requirement("params.depth <= 6"), candidate, {}.get).passed
    assert evaluate(parse_requirement("params.model == 'gbm'"), candidate, {}.get).passed
    assert not evaluate(parse_requirement("params.model == 'rf'"), candidate, {}.get).passed


def test_nan_metrics_fail():
    result = evaluate(parse_requirement("metrics.f1 > 0"), run({"f1": float("nan")}), {}.get)
    assert not result.passed and "NaN" in result.note


def test_inputs_compare_content_digests(tracker):
    """``inputs.X == production.inputs.X``: the challenger was evaluated on the holder's very data."""
    import numpy as np

    made = {}
    for name, data in (("champion", np.arange(5.0)), ("same", np.arange(5.0)), ("other", np.arange(6.0))):
        with tracker.start_run(name) as active:
            tracker.log_input(data, "X_test")
        made[name] = tracker.get_run(active.id)
    holders = {"production": (1, made["champion"])}
    gate = parse_requirement("inputs.X_test == production.inputs.X_test")
    assert gate.left == Ref(None, "inputs", "X_test", "inputs.X_test")
    assert evaluate(gate, made["same"], holders.get).passed
    failed = evaluate(gate, made["other"], holders.get)
    assert not failed.passed and failed.values["inputs.X_test"] == made["other"].inputs["X_test"]["digest"]
    missing = evaluate(parse_requirement("inputs.X_train == production.inputs.X_train"), made["same"], holders.get)
    assert not missing.passed and "has no input 'X_train'" in missing.note


def test_descriptions_round_numbers_unless_rounding_would_hide_the_difference():
    from nbtrack.registry.gates import GateEvaluation

    shown = GateEvaluation(
        "metrics.f1 >= 0.81", True, ">=", 0.8291571753986332, 0.81, {"metrics.f1": 0.8291571753986332}
    ).describe()
    assert shown == "PASS  metrics.f1 >= 0.81  ->  0.829157 >= 0.81   [metrics.f1 = 0.829157]"
    close = GateEvaluation("metrics.f1 >= production.metrics.f1", False, ">=", 0.82915717, 0.82915718).describe()
    assert close == "FAIL  metrics.f1 >= production.metrics.f1  ->  0.82915717 >= 0.82915718"
