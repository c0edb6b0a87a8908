"""Fuzzing: every value either round-trips exactly through the store or is refused clearly.

"Clearly" means a :class:`~nbtrack.errors.UsageError` subclass, never a raw sqlite3,
TypeError, OverflowError or UnicodeError. The query parser raises only QueryError,
and whatever it accepts compiles to SQL that SQLite runs.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbtrack.errors import QueryError, UsageError
from nbtrack.query import compile_filter, compile_order_by, parse, tokenize
from nbtrack.registry.gates import parse_requirement
from nbtrack.tracking import Tracker

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

names = st.one_of(
    st.text(min_size=0, max_size=40),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\nb",
            "é",
            "\ud800",
            "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
            "../x",
            "'; DROP TABLE runs; --",
            "a" * 251,
            "k" * 250,
            ".",
            "./",
            "a/.",
            "/",
            "c:x",
            "~x",
        ]
    ),
)
json_leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30))
json_like = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


class Odd:
    def __repr__(self):
        raise RuntimeError("broken repr")


param_values = st.one_of(
    json_like,
    st.tuples(json_leaves, json_leaves),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(["ab" * 30_000, "é" * 40_000, "x" * (64 * 1024), "x" * (64 * 1024 + 1)]),
    st.sampled_from(
        [
            float("nan"),
            float("inf"),
            -float("inf"),
            -0.0,
            1e308,
            5e-324,
            object(),
            Odd(),
            b"bytes",
            {1: "x"},
            {"k": object()},
            [1, {2, 3}],
            complex(1, 2),
            {"a": [float("nan")]},
            "\ud800",
            2**63,
            -(2**63),
            2**63 - 1,
        ]
    ),
)
tag_values = st.one_of(
    st.text(max_size=200),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.sampled_from([object(), b"x", [1], "\ud800", "t" * 70_000]),
)
metric_values = st.one_of(
    st.floats(),
    st.integers(min_value=-(2**2000), max_value=2**2000),
    st.booleans(),
    st.sampled_from(["1.0", None, [1.0], object(), complex(1, 0), float("nan")]),
)
steps = st.one_of(
    st.none(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(), st.sampled_from(["3", True, 2.0, 2.5])
)


def _normalize(value):
    """What a param is expected to read back as: tuples become lists (documented)."""
    if isinstance(value, tuple):
        return [_normalize(v) for v in value]
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    return value


def _same(a, b) -> bool:
    """Exact equality that treats NaN as equal to NaN and tells -0.0 from 0.0 and 1 from 1.0 and True."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


@pytest.fixture(scope="module")
def fuzz_tracker(tmp_path_factory):
    tracker = Tracker.open(tmp_path_factory.mktemp("fuzz") / "store")
    yield tracker
    tracker.close()


def _refused_clearly(call) -> bool:
    """Run ``call``; True when it refused with a UsageError, False when it succeeded."""
    try:
        call()
    except UsageError as exc:
        assert str(exc).strip(), "a refusal must say why"
        return True
    return False


@FUZZ
@given(key=names, value=param_values)
def test_params_round_trip_or_refused(fuzz_tracker, key, value):
    run = fuzz_tracker.start_run("p")
    try:
        refused = _refused_clearly(lambda: fuzz_tracker.log_param(key, value, run=run))
    finally:
        fuzz_tracker.end_run(run=run)
    stored = fuzz_tracker.get_run(run.id).params
    if refused:
        assert stored == {}  # nothing half-stored
        return
    assert list(stored) == [key]
    assert _same(stored[key], _normalize(value)), (value, stored[key])


@FUZZ
@given(key=names, value=tag_values, name=st.one_of(st.none(), names))
def test_tags_and_run_names_round_trip_or_refused(fuzz_tracker, key, value, name):
    try:
        run = fuzz_tracker.start_run(name)
    except UsageError:
        return
    try:
        refused = _refused_clearly(lambda: fuzz_tracker.set_tag(key, value, run=run))
    finally:
        fuzz_tracker.end_run(run=run)
    got = fuzz_tracker.get_run(run.id)
    assert got.name == name
    if refused:
        assert got.tags == {}
        return
    expected = "" if value is None else str(value)
    assert got.tags == {key: expected}


@FUZZ
@given(key=names, points=st.lists(st.tuples(metric_values, steps), min_size=1, max_size=8))
def test_metrics_round_trip_or_refused(fuzz_tracker, key, points):
    run = fuzz_tracker.start_run("m")
    accepted: dict[int, float] = {}
    try:
        for value, step in points:
            before = dict(run.steps)
            try:
                fuzz_tracker.log_metric(key, value, step=step, run=run)
            except UsageError as exc:
                assert str(exc).strip()
                assert run.steps == before  # a refused point changes no step counter
                continue
            logged_step = before.get(key, 0) if step is None else int(step)
            accepted[logged_step] = float(value)  # re-logging a step replaces it
    finally:
        fuzz_tracker.end_run(run=run)
    if not accepted:
        return
    history = fuzz_tracker.metric_history(run.id, key)
    assert [p.step for p in history] == sorted(accepted)
    for point in history:
        # SQLite writes a REAL with no fraction as an integer, so -0.0 reads back as 0.0 (equal in
        # IEEE terms; documented): the sign of a zero metric is the one thing not kept
        expected = accepted[point.step]
        assert _same(point.value, 0.0 if expected == 0 else expected), (point, expected)
    summary = fuzz_tracker.get_run(run.id).metrics[key]
    assert summary.count == len(accepted) and summary.step == max(accepted)


@FUZZ
@given(data=json_like, name=names)
def test_log_dict_round_trips_or_refused(fuzz_tracker, data, name):
    run = fuzz_tracker.start_run("d")
    try:
        refused = _refused_clearly(lambda: fuzz_tracker.log_dict(data, name, run=run))
    finally:
        fuzz_tracker.end_run(run=run)
    if not refused:
        from nbtrack.tracking.artifacts import check_artifact_name

        back = json.loads(fuzz_tracker.artifact_bytes(run.id, check_artifact_name(name)))
        assert _same(back, _normalize(data))


def test_duplicate_keys_last_write_wins(fuzz_tracker):
    with fuzz_tracker.start_run("dup") as run:
        fuzz_tracker.log_params({"a": 1})
        fuzz_tracker.log_param("a", "one")
        fuzz_tracker.set_tags({"t": "x"})
        fuzz_tracker.set_tag("t", "y")
        for value in (1.0, 2.0, 3.0):
            fuzz_tracker.log_metric("m", value, step=7)
    got = fuzz_tracker.get_run(run.id)
    assert got.params == {"a": "one"} and got.tags == {"t": "y"}
    assert [(p.step, p.value) for p in fuzz_tracker.metric_history(run.id, "m")] == [(7, 3.0)]
    assert got.metrics["m"].count == 1


def test_nested_unserializable_param_refused_naming_the_culprit(fuzz_tracker):
    with fuzz_tracker.start_run("nested"):
        with pytest.raises(UsageError, match="set"):
            fuzz_tracker.log_param("cfg", {"a": [1, {"b": {1, 2}}]})
        deep = current = []
        for _ in range(5000):
            current.append([])
            current = current[0]
        with pytest.raises(UsageError):
            fuzz_tracker.log_param("deep", deep)


# -- the query language -----------------------------------------------------------------------------

QUERY_ALPHABET = st.sampled_from(
    list("abcdemnprstxyz_.`'\"()<>=!,%\\ -+0123456789eE\t\n;")
    + [
        "metrics.",
        "params.",
        "tags.",
        "inputs.",
        "'3f2a1b'",
        " and ",
        " or ",
        " not ",
        " in ",
        " like ",
        " is ",
        " null",
        "status",
        "name",
        "start_time",
        "'2026-01-01'",
        "true",
        "false",
        ".min",
        ".max",
        ".count",
        "'",
        "``",
        "\x00",
        "é",
        "\ud800",
        "--",
        "/*",
    ]
)
queries = st.one_of(st.text(max_size=80), st.lists(QUERY_ALPHABET, max_size=30).map("".join))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=queries)
def test_query_parser_raises_only_query_error(fuzz_tracker, text):
    for compile_ in (compile_filter, compile_order_by, tokenize, parse):
        try:
            result = compile_(text)
        except QueryError as exc:
            assert exc.reason and (exc.position is None or 0 <= exc.position <= len(text))
            continue
        if compile_ is compile_filter:
            where, args = result
            if where:
                # Whatever compiles must run: the SQL is well-formed and fully parameterized.
                fuzz_tracker.store.query(
                    f"SELECT count(*) FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE {where}", args
                )
        elif compile_ is compile_order_by:
            order, args = result
            fuzz_tracker.store.query(
                f"SELECT r.id FROM runs r JOIN experiments e ON e.id = r.experiment_id ORDER BY {order} LIMIT 1", args
            )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=queries)
def test_search_runs_raises_only_query_error(fuzz_tracker, text):
    for kwargs in ({"filter": text}, {"order_by": text}):
        try:
            fuzz_tracker.search_runs(**kwargs, max_results=1)
        except QueryError:
            pass


@settings(max_examples=600, deadline=None)
@given(
    text=st.one_of(
        queries,
        st.lists(
            st.sampled_from(["production.", "staging.", "champion.", " >= ", " - ", "*", "/", "(", ")"])
            | QUERY_ALPHABET,
            max_size=30,
        ).map("".join),
    )
)
def test_gate_parser_raises_only_usage_errors(text):
    """Promotion gates share the query tokenizer; any text parses or is refused with a UsageError."""
    try:
        parse_requirement(text)
    except QueryError as exc:
        assert exc.reason and (exc.position is None or 0 <= exc.position <= len(text))
    except UsageError:
        pass


@pytest.mark.parametrize("text", ["(" * 10_000, "-" * 10_000, "metrics.f1 >= " + "-(" * 5_000 + "1"])
def test_pathological_gates_are_refused_not_recursed(text):
    with pytest.raises(UsageError):
        parse_requirement(text)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 10_000,
        "not " * 10_000,
        " or ".join(["name = 'a'"] * 2000),
        "metrics.`" + "x" * 100_000,
        "params.a in (" + ",".join(["1"] * 50_000) + ")",
        "'" * 9_999,
        "name = '\x00'",
    ],
)
def test_pathological_queries(fuzz_tracker, text):
    try:
        fuzz_tracker.search_runs(text)
    except QueryError:
        pass


# -- sequences of logging calls: every accepted value is in the store --------------------------------

# weighted towards values that look fine (so most calls are accepted and later ones build on them),
# with every kind of value the store would refuse mixed in
timestamps = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.sampled_from(
        [float("inf"), -float("inf"), -1.0, 1_700_000_000_000, 10_000_000_000, True, "3", 0, 1e300, 1_700_000_000.5]
    ),
    st.floats(),
    st.integers(min_value=-(2**70), max_value=2**70),
)
metric_keys = st.one_of(st.sampled_from(["loss", "acc", "f1"]), names)
seq_steps = st.one_of(st.none(), st.integers(min_value=0, max_value=20), steps)
calls = st.one_of(
    st.tuples(st.just("log_metric"), metric_keys, metric_values, seq_steps, timestamps),
    st.tuples(st.just("log_metric"), st.sampled_from(["loss", "acc"]), st.floats(), seq_steps, timestamps),
    st.tuples(st.just("log_metrics"), st.dictionaries(metric_keys, metric_values, max_size=3), seq_steps, timestamps),
    st.tuples(st.just("log_metrics"), st.sampled_from([[("loss", 1.0)], "loss", None, 3])),
    st.tuples(
        st.just("log_params"),
        st.dictionaries(st.one_of(st.sampled_from(["lr", "depth"]), names), param_values, max_size=3),
    ),
    st.tuples(
        st.just("set_tags"),
        st.dictionaries(st.one_of(st.sampled_from(["team", "stage"]), names), tag_values, max_size=3),
    ),
    st.tuples(st.just("flush")),
)


class _Model:
    """What the store must hold after a sequence of calls: only what each accepted call logged."""

    def __init__(self):
        self.steps: dict[str, int] = {}
        self.points: dict[tuple[str, int], tuple[float, float | None]] = {}
        self.params: dict = {}
        self.tags: dict = {}

    def metrics(self, metrics: dict, step, timestamp) -> None:
        for key, value in metrics.items():
            at = self.steps.get(key, 0) if step is None else int(step)
            self.steps[key] = max(at + 1, self.steps.get(key, 0))
            self.points[(key, at)] = (float(value), None if timestamp is None else float(timestamp))


@FUZZ
@given(sequence=st.lists(calls, min_size=1, max_size=12))
def test_any_sequence_of_logging_calls_stores_every_accepted_value(fuzz_tracker, sequence):
    run = fuzz_tracker.start_run("seq")
    model = _Model()
    try:
        for call in sequence:
            name, args = call[0], call[1:]
            if name == "flush":
                fuzz_tracker.flush()
                continue
            try:
                if name == "log_metric":
                    key, value, step, timestamp = args
                    fuzz_tracker.log_metric(key, value, step=step, timestamp=timestamp, run=run)
                    model.metrics({key: value}, step, timestamp)
                elif name == "log_metrics":
                    fuzz_tracker.log_metrics(*args, run=run)
                    model.metrics(args[0], *(args[1:] or (None, None)))
                elif name == "log_params":
                    fuzz_tracker.log_params(args[0], run=run)
                    model.params.update(args[0])
                else:
                    fuzz_tracker.set_tags(args[0], run=run)
                    model.tags.update({k: "" if v is None else str(v) for k, v in args[0].items()})
            except UsageError as exc:
                assert str(exc).strip(), "a refusal must say why"
    finally:
        ended = fuzz_tracker.end_run(run=run)
    assert ended.status == "FINISHED" and "nbtrack.lost_points" not in ended.tags
    assert ended.tags == model.tags
    assert ended.params.keys() == model.params.keys()
    for key, value in model.params.items():
        assert _same(ended.params[key], _normalize(value)), (key, value, ended.params[key])
    stored = {
        (key, p.step): (p.value, p.timestamp)
        for key in {k for k, _ in model.points}
        for p in fuzz_tracker.metric_history(run.id, key)
    }
    assert stored.keys() == model.points.keys()
    for point, (value, timestamp) in model.points.items():
        got_value, got_timestamp = stored[point]
        assert _same(got_value, 0.0 if value == 0 else value), (point, value, got_value)
        assert timestamp is None or got_timestamp == timestamp, (point, timestamp, got_timestamp)
