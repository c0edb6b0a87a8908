"""The query language: tokenizer positions, parse trees, SQL semantics on a real store, errors, fuzzing."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nbtrack.errors import QueryError
from nbtrack.query import (
    MAX_COMPARISONS,
    MAX_DEPTH,
    Compare,
    Field,
    InList,
    IsNull,
    Literal,
    Not,
    Or,
    OrderItem,
    compile_filter,
    compile_order_by,
    parse,
    parse_order_by,
    tokenize,
)
from nbtrack.store import RunRepository, Store

NAN = float("nan")


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).replace(tzinfo=timezone.utc).timestamp()


def _run(repo: RunRepository, experiment: str, **fields) -> int:
    fields.setdefault("uuid", uuid.uuid4().hex)
    return repo.insert_run(dict(experiment_id=repo.experiment_id(experiment), **fields))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Four runs covering typed params, aggregates, NaN, missing keys and every attribute.

    a: FINISHED, all params, f1 0.5 -> 0.95 -> 0.9     b: FAILED, f1 0.7, a key named `loss.min`
    c: RUNNING child of a, nothing logged, no name      d: KILLED, other experiment, f1 NaN, lr as text
    """
    s = Store.open(tmp_path_factory.mktemp("query") / ".nbtrack")
    repo = RunRepository(s)
    start_a, start_b, start_c, start_d = (
        _epoch(t) for t in ("2026-11-02T00:00:00", "2026-10-01T00:00:00", "2026-11-05T00:00:00", "2025-01-01T00:00:00")
    )
    ids = {
        "a": _run(
            repo,
            "default",
            uuid="ab12" + "0" * 28,
            name="a",
            status="FINISHED",
            start_time=start_a,
            end_time=start_a + 3,
        ),
        "b": _run(repo, "default", name="b", status="FAILED", start_time=start_b, end_time=start_b + 30),
    }
    ids["c"] = _run(
        repo,
        "default",
        status="RUNNING",
        start_time=start_c,
        heartbeat=start_c + 100,
        parent_id=ids["a"],
        notebook_path="nb.ipynb",
        cell_key="cell-1",
    )
    ids["d"] = _run(repo, "other", name="d", status="KILLED", start_time=start_d, end_time=start_d + 1)
    a, b, d = ids["a"], ids["b"], ids["d"]
    repo.write_batch(
        a,
        params=[
            ("lr", "float", 0.1),
            ("model", "str", "gbm"),
            ("n", "int", 100),
            ("flag", "bool", 1),
            ("layers", "json", "[64, 32]"),
        ],
        tags=[("team", "churn"), ("epoch", "5")],
        metrics=[(a, "f1", step, value, start_a) for step, value in enumerate([0.5, 0.95, 0.9])]
        + [(a, "val/loss", 0, 0.25, start_a), (a, "train.acc", 0, 0.8, start_a), (a, "loss", 0, 2.0, start_a)],
    )
    repo.write_batch(
        b,
        params=[("lr", "float", 0.01), ("model", "str", "rf"), ("n", "int", 50), ("flag", "bool", 0)],
        tags=[("team", "fraud")],
        metrics=[(b, "f1", 0, 0.7, start_b), (b, "loss.min", 0, 3.0, start_b)],
    )
    repo.write_batch(
        d,
        params=[("lr", "str", "0.5"), ("model", "str", "xgb"), ("opt", "null", None)],
        metrics=[(d, "f1", 0, NAN, start_d)],
    )
    uuids = {label: repo.uuid_of(row_id) for label, row_id in ids.items()}
    yield repo, uuids
    s.close()


def matches(store, query: str) -> set[str]:
    repo, uuids = store
    labels = {u: label for label, u in uuids.items()}
    where, args = compile_filter(query)
    found = {labels[run.id] for run in repo.search(where, args)}
    assert repo.count(where, args) == len(found)
    return found


def ordered(store, order: str | None, query: str | None = None) -> list[str]:
    repo, uuids = store
    labels = {u: label for label, u in uuids.items()}
    where, args = compile_filter(query)
    order_sql, order_args = compile_order_by(order)
    # ORDER BY follows WHERE in the statement, so its parameters follow the WHERE ones.
    return [labels[run.id] for run in repo.search(where, [*args, *order_args], order_sql)]


ALL = {"a", "b", "c", "d"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("metrics.f1 = 0.9", {"a"}),
        ("metrics.f1 == 0.9", {"a"}),
        ("metrics.f1 != 0.9", {"b"}),
        ("metrics.f1 <> 0.9", {"b"}),
        ("metrics.f1 < 0.9", {"b"}),
        ("metrics.f1 <= 0.9", {"a", "b"}),
        ("metrics.f1 > 0.7", {"a"}),
        ("metrics.f1 >= 0.7", {"a", "b"}),
        ("params.model like 'g%'", {"a"}),
        ("params.model LIKE 'G_M'", {"a"}),
        ("params.model not like 'g%'", {"b", "d"}),
        ("params.model in ('rf', 'xgb')", {"b", "d"}),
        ("params.model not in ('rf', 'xgb')", {"a"}),
        ("params.model is null", {"c"}),
        ("params.model is not null", {"a", "b", "d"}),
        ("params.model != 'gbm'", {"b", "d"}),
        ("not params.model = 'gbm'", {"b", "c", "d"}),
        ("status = 'FINISHED' and params.lr > 0.05", {"a"}),
        ("status = 'failed' OR status = 'Killed'", {"b", "d"}),
        ("not status = 'FINISHED'", {"b", "c", "d"}),
        ("not (status = 'FINISHED' or params.model = 'rf')", {"c", "d"}),
        ("not not status = 'RUNNING'", {"c"}),
        (
            "metrics.f1 > 0.8 and (params.model = 'gbm' or params.model in ('rf', 'xgb')) and tags.team = 'churn' and status = 'FINISHED'",
            {"a"},
        ),
    ],
)
def test_operators(store, query, expected):
    assert matches(store, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("params.lr > 0.05", {"a"}),  # d's lr is the text '0.5': SQLite sorts text above numbers
        ("params.lr < 1", {"a", "b"}),
        ("params.lr = '0.5'", {"d"}),
        ("params.lr in (0.1, '0.5')", {"a", "d"}),
        ("params.lr not in (0.1, '0.5')", {"b"}),
        ("params.n in (50, 'xgb')", {"b"}),  # the text group must stay inside the key's condition
        ("params.n = 100", {"a"}),
        ("params.n = 100.0", {"a"}),
        ("params.n = '100'", set()),
        ("params.n >= 1e2", {"a"}),
        ("params.n > -1", {"a", "b"}),
        ("params.n < 99999999999999999999999", {"a", "b"}),
        ("params.flag = true", {"a"}),
        ("params.flag = FALSE", {"b"}),
        ("params.flag != true", {"b"}),
        ("params.flag = 1", set()),
        ("params.n = true", set()),
        ("params.layers = '[64, 32]'", {"a"}),
        ("params.opt is null", ALL),
        ("params.opt = 'x'", set()),
        ("params.opt != 'x'", set()),
    ],
)
def test_params_compare_by_type(store, query, expected):
    assert matches(store, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("metrics.f1.last = 0.9", {"a"}),
        ("metrics.f1.min = 0.5", {"a"}),
        ("metrics.f1.max > 0.94", {"a"}),
        ("metrics.f1.count = 3", {"a"}),
        ("metrics.f1.count = 1", {"b", "d"}),
        ("metrics.f1.step = 2", {"a"}),
        ("metrics.f1.MIN < 0.6", {"a"}),
        ("metrics.`val/loss` < 1", {"a"}),
        ("metrics.`val/loss`.max = 0.25", {"a"}),
        ("metrics.train.acc > 0.5", {"a"}),
        ("metrics.loss.min = 2", {"a"}),
        ("metrics.`loss.min` = 3", {"b"}),
        ("metrics.loss.`min` = 3", {"b"}),
        ("metrics.f1 = true", set()),
    ],
)
def test_metric_aggregates_and_keys(store, query, expected):
    assert matches(store, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("metrics.nope > 0", set()),
        ("metrics.nope != 0", set()),
        ("metrics.nope is null", ALL),
        ("metrics.nope.count is not null", set()),
        ("params.nope = 'x'", set()),
        ("tags.nope != 'x'", set()),
        ("not tags.nope = 'x'", ALL),
        ("tags.nope is null", ALL),
        ("metrics.f1 is null", {"c", "d"}),  # c has no f1, d's is NaN
        ("metrics.f1 is not null", {"a", "b"}),
        ("metrics.f1.count is not null", {"a", "b", "d"}),
        ("name = 'x' or name is null", {"c"}),
        ("not name = 'a'", {"b", "c", "d"}),
    ],
)
def test_missing_keys_and_nan(store, query, expected):
    assert matches(store, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tags.team = 'churn'", {"a"}),
        ("tags.team like 'ch%'", {"a"}),
        ("tags.team in ('churn', 'fraud')", {"a", "b"}),
        ("tags.epoch = 5", {"a"}),
        ("tags.epoch = '5'", {"a"}),
    ],
)
def test_tags(store, query, expected):
    assert matches(store, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("id = 'ab12'", {"a"}),
        ("id = 'AB12'", {"a"}),
        ("id = 'ab120000000000000000000000000000'", {"a"}),
        ("id = 'ab120000000000000000000000000000ff'", set()),
        ("id != 'ab12'", {"b", "c", "d"}),
        ("id in ('ab12', 'ffff')", {"a"}),
        ("id like 'ab12%'", {"a"}),
        ("parent = 'ab12'", {"c"}),
        ("parent != 'ab12'", set()),
        ("parent is null", {"a", "b", "d"}),
        ("parent is not null", {"c"}),
        ("name = 'a'", {"a"}),
        ("name like 'A%'", {"a"}),
        ("name is null", {"c"}),
        ("experiment = 'other'", {"d"}),
        ("notebook = 'nb.ipynb'", {"c"}),
        ("notebook is null", {"a", "b", "d"}),
        ("cell = 'cell-1'", {"c"}),
        ("duration < 5", {"a", "d"}),
        ("duration > 50", {"c"}),  # running: measured to the last heartbeat
        ("end_time is null", {"c"}),
        ("start_time > '2026-11-01'", {"a", "c"}),
        ("start_time > '2026-11-01T00:00:00Z'", {"a", "c"}),
        ("start_time < '2026-11-02T01:00:00+02:00'", {"b", "d"}),
        ("start_time >= '2026-11-02 00:00'", {"a", "c"}),
        (f"start_time >= {_epoch('2026-11-02T00:00:00'):.0f}", {"a", "c"}),
        ("end_time < '2026-01-01'", {"d"}),
        ("status in ('running', 'KILLED')", {"c", "d"}),
        ("status not in ('RUNNING')", {"a", "b", "d"}),
        ("status like 'fin%'", {"a"}),
    ],
)
def test_attributes(store, query, expected):
    assert matches(store, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (r"name like 'a\%'", set()),
        (r"name like 'a%'", {"a"}),
        ('params.model = "gbm"', {"a"}),
        ("params.`model` = 'gbm'", {"a"}),
        ("Params.model = 'gbm'", {"a"}),
        ("params.Model = 'gbm'", set()),  # keys are case-sensitive
    ],
)
def test_like_escapes_quotes_and_case(store, query, expected):
    assert matches(store, query) == expected


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("metrics.f1 desc", ["a", "b", "d", "c"]),  # NaN (d) and missing (c) last; ties newest id first
        ("metrics.f1 asc", ["b", "a", "d", "c"]),
        ("metrics.f1", ["b", "a", "d", "c"]),
        ("metrics.f1.count desc, name", ["a", "b", "d", "c"]),
        ("params.lr", ["b", "a", "d", "c"]),  # numbers before text, missing last
        ("params.lr DESC", ["d", "a", "b", "c"]),
        ("name desc", ["d", "b", "a", "c"]),
        ("end_time desc", ["a", "b", "d", "c"]),
        ("start_time", ["d", "b", "a", "c"]),
        ("status, metrics.f1 desc", ["b", "a", "d", "c"]),
        ("tags.team desc, name", ["b", "a", "d", "c"]),
        ("parent", ["c", "d", "b", "a"]),
        ("", ["c", "a", "b", "d"]),  # newest first
        (None, ["c", "a", "b", "d"]),
    ],
)
def test_order_by_sorts_nulls_last(store, order, expected):
    assert ordered(store, order) == expected


def test_order_by_combines_with_filter_parameters(store):
    assert ordered(store, "metrics.f1 desc", "params.model in ('gbm', 'rf')") == ["a", "b"]


@pytest.mark.parametrize(
    "query",
    ["name = ''; DROP TABLE runs; --'", "name = 'x''; DROP TABLE runs; --'", 'name = "\'); DROP TABLE runs; --"'],
)
def test_injected_values_are_data(store, query):
    repo, _ = store
    try:
        where, args = compile_filter(query)
    except QueryError:
        pass
    else:
        assert "DROP" not in where
        assert repo.search(where, args) == []
    assert repo.count() == 4


@pytest.mark.parametrize("field", ["params", "tags", "metrics"])
def test_injected_keys_are_data(store, field):
    repo, _ = store
    where, args = compile_filter(f"{field}.`x'); DROP TABLE runs; --` = 1")
    assert "DROP" not in where
    assert "x'); DROP TABLE runs; --" in args
    assert repo.search(where, args) == []
    assert repo.count() == 4


@given(key=st.text(min_size=1), value=st.text())
@settings(max_examples=200, deadline=None)
def test_user_text_never_becomes_sql(key, value):
    from nbtrack.interop.mlflow_mapping import SYSTEM_TAGS

    assume(key not in SYSTEM_TAGS)  # MLflow's system tags name run fields (tested in test_mlflow_filters.py)
    quoted_key = "`" + key.replace("`", "``") + "`"
    quoted_value = "'" + value.replace("'", "''") + "'"
    try:
        where, args = compile_filter(f"params.{quoted_key} = {quoted_value} or tags.{quoted_key} like {quoted_value}")
    except QueryError:  # lone surrogates cannot be stored, so they cannot be queried
        return
    assert args == [key, value, key, value]
    assert where.count("?") == len(args)


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("metrics.f1 >", 12, "expected a value after '>'"),
        ("stauts = 'FINISHED'", 0, "unknown attribute 'stauts' (did you mean 'status'?)"),
        ("name = 'abc", 7, "unterminated string"),
        ("metrics.`val = 1", 8, "unterminated backquoted key"),
        ("(status = 'FINISHED'", 20, "expected ')' to close the '(' at position 0"),
        ("metrics.f1 0.8", 11, "expected an operator"),
        ("params. = 1", 7, "expected a key after 'params.'"),
        ("metrics.val/loss < 1", 11, "must be backquoted"),
        ("status = 'FINISHED' and", 23, "expected a field"),
        ("status = 'FINISHED' foo", 20, "expected 'and', 'or' or the end"),
        ("params.x in ()", 13, "expected a value in the list"),
        ("params.x in ('a' 'b')", 17, "expected ',' or ')'"),
        ("params.x in 'a'", 12, "expected '(' after 'in'"),
        ("params.x in ('a', null)", 18, "use 'is null'"),
        ("status = null", 9, "use 'is null'"),
        ("name ! 'x'", 5, "did you mean '!='"),
        ("metrics.f1 > 1e", 13, "malformed number"),
        ("metrics.f1 > - 1", 13, "expected a number after '-'"),
        ("status is 'x'", 10, "expected 'null' or 'not null'"),
        ("name not = 'x'", 9, "expected 'like' or 'in' after 'not'"),
        ("name like 5", 10, "expected a quoted pattern"),
        ("metrix.f1 = 1", 0, "unknown field prefix 'metrix' (did you mean 'metrics'?)"),
        ("status.x = 1", 0, "has no sub-fields"),
        ("metrics > 1", 0, "'metrics' needs a key"),
        ("`x` = 1", 0, "a backquoted key must follow"),
        ("name = 'a' and metrics.`` > 1", 23, "empty backquoted key"),
        ("x = '\ud800'", 5, "not valid text"),
        ("and", 0, "expected a field"),
        ("   ", 0, "the query is empty"),
        # found while compiling to SQL
        ("metrics.f1 > 'high'", 13, "metrics are numbers"),
        ("metrics.f1 like 'x'", 11, "metrics are numbers"),
        ("start_time > 'yesterday'", 13, "expected an ISO date"),
        ("start_time like '2026%'", 11, "is a number"),
        ("duration > '5'", 11, "duration is a number"),
        ("status = 'DONE'", 9, "unknown status 'DONE'"),
        ("name = 5", 7, "name is text: quote the value"),
        ("id = ''", 5, "an empty run id"),
        ("metrics.f1 > metrics.f2", 13, "not with another field"),
    ],
)
def test_error_positions(query, position, message):
    with pytest.raises(QueryError) as info:
        compile_filter(query) if query.strip() else parse(query)
    assert info.value.position == position
    assert message in info.value.reason
    assert info.value.query == query


@pytest.mark.parametrize(
    ("order", "position", "message"),
    [
        ("metrics.f1 up", 11, "expected ',', 'asc', 'desc'"),
        ("metrics.f1 desc,", 16, "expected a field"),
        ("nam", 0, "did you mean 'name'?"),
        ("metrics.f1 > 1", 11, "expected ','"),
    ],
)
def test_order_by_error_positions(order, position, message):
    with pytest.raises(QueryError) as info:
        compile_order_by(order)
    assert (info.value.position, message in info.value.reason) == (position, True)


def test_blank_filter_compiles_to_nothing():
    assert compile_filter(None) == ("", [])
    assert compile_filter(" \n") == ("", [])


def test_tokens_report_positions():
    tokens = tokenize("metrics.`a b` >= -1.5e3 AND name = 'it''s'")
    assert [(t.kind, t.value, t.position) for t in tokens[1:]] == [
        ("operator", ">=", 14),
        ("number", -1500.0, 17),
        ("keyword", "and", 24),
        ("name", tokens[4].value, 28),
        ("operator", "=", 33),
        ("string", "it's", 35),
        ("end", None, 42),
    ]
    assert [(p.text, p.quoted) for p in tokens[0].value] == [("metrics", False), ("a b", True)]
    assert tokens[0].end == 13


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("metrics.loss.min < 1", Compare(Field("metric", "loss", "min"), "<", Literal(1))),
        ("metrics.`loss.min` == 1", Compare(Field("metric", "loss.min", "last"), "=", Literal(1))),
        ("params.a <> true", Compare(Field("param", "a"), "!=", Literal(True))),
        ("tags.t not in ('x', 2)", InList(Field("tag", "t"), (Literal("x"), Literal(2)), negated=True)),
        ("NOT status IS NOT NULL", Not(IsNull(Field("attribute", "status"), negated=True))),
        (
            "name like 'a%' or cell = \"c\"",
            Or(
                (
                    Compare(Field("attribute", "name"), "like", Literal("a%")),
                    Compare(Field("attribute", "cell"), "=", Literal("c")),
                )
            ),
        ),
    ],
)
def test_parse_tree(query, tree):
    assert parse(query) == tree


def test_parse_scoped_fields_for_promotion_gates():
    tree = parse("metrics.f1 >= production.metrics.f1", scopes=["production"])
    assert tree == Compare(Field("metric", "f1", "last"), ">=", Field("metric", "f1", "last", scope="production"))
    with pytest.raises(QueryError, match="unknown field prefix 'production'"):
        parse("metrics.f1 >= production.metrics.f1")


def test_parse_order_by():
    assert parse_order_by("metrics.f1 DESC, params.lr asc, start_time") == (
        OrderItem(Field("metric", "f1", "last"), descending=True),
        OrderItem(Field("param", "lr")),
        OrderItem(Field("attribute", "start_time")),
    )


def test_nesting_is_limited(store):
    deepest = "(" * MAX_DEPTH + "status = 'FINISHED'" + ")" * MAX_DEPTH
    assert matches(store, deepest) == {"a"}
    assert matches(store, "not " * (MAX_DEPTH - 1) + "status = 'FINISHED'") == {"b", "c", "d"}  # an odd count
    with pytest.raises(QueryError) as info:
        parse("(" + deepest + ")")
    assert info.value.position == MAX_DEPTH
    with pytest.raises(QueryError) as info:
        parse("not " * (MAX_DEPTH + 1) + "status = 'FINISHED'")
    assert info.value.position == 4 * MAX_DEPTH


def test_long_and_deep_queries_stay_within_sqlite_limits(store):
    """SQLite's parser stack and its 1000-level expression depth must never be the ones to refuse."""
    chain = " or ".join(f"params.n = {i}" for i in range(MAX_COMPARISONS))
    assert matches(store, chain) == {"a", "b"}
    with pytest.raises(QueryError, match="use 'in"):
        compile_filter(chain + " or params.n = -1")
    nested = (
        "".join(f"metrics.f1.min > 0 {'and' if i % 2 else 'or'} (" for i in range(MAX_DEPTH))
        + "metrics.f1 > 0"
        + ")" * MAX_DEPTH
    )
    assert matches(store, nested) == {"a", "b"}
    _, uuids = store
    pasted = ", ".join(f"'z{uuid.uuid4().hex[: n % 32]}'" for n in range(2000))  # 'z': matches no hex id
    assert matches(store, f"id in ({pasted}, '{uuids['b']}', '{uuids['c'][:5]}')") == {"b", "c"}
    assert matches(store, f"id not in ({pasted}, '{uuids['b']}')") == ALL - {"b"}


@given(st.text(max_size=200))
@settings(max_examples=500, deadline=None)
def test_fuzz_only_query_errors_escape(text):
    for compile_ in (compile_filter, compile_order_by, parse):
        try:
            compile_(text)
        except QueryError:
            pass


_FRAGMENTS = [
    "metrics.f1",
    "metrics.f1.min",
    "metrics.`a/b`.count",
    "params.lr",
    "params.model",
    "tags.team",
    "id",
    "name",
    "status",
    "start_time",
    "end_time",
    "duration",
    "experiment",
    "notebook",
    "parent",
    "cell",
    "=",
    "==",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "like",
    "not",
    "in",
    "is",
    "null",
    "and",
    "or",
    "(",
    ")",
    ",",
    "'gbm'",
    "'FINISHED'",
    "'2026-11-01'",
    "'ab'",
    "'%\\'",
    "''",
    "0",
    "-1.5",
    "1e3",
    "true",
    "false",
    "desc",
    "asc",
]


def test_fuzz_compiled_sql_always_runs(store):
    """Token soup: whatever compiles must also execute, without an SQLite error."""
    repo, _ = store

    @given(st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=12).map(" ".join))
    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def check(text):
        for compile_, run in (
            (compile_filter, repo.count),
            (compile_order_by, lambda sql, args: repo.search("", args, sql)),
        ):
            try:
                sql, args = compile_(text)
            except QueryError:
                continue
            run(sql, args)

    check()


def test_inputs_match_by_content_digest_prefix(tracker):
    """``inputs.NAME`` reads the data fingerprints in each run's provenance document."""
    import numpy as np

    for name, data in (("a", np.arange(3.0)), ("b", np.arange(4.0)), ("a2", np.arange(3.0))):
        with tracker.start_run(name):
            tracker.log_input(data, "X")
    with tracker.start_run("none"):
        pass
    digest = tracker.get_run("a").inputs["X"]["digest"]
    names = lambda query: sorted(r.name for r in tracker.search_runs(query))  # noqa: E731
    assert names(f"inputs.X = '{digest[:8]}'") == ["a", "a2"]  # same data, whichever run
    assert names(f"inputs.X = '{digest.upper()}'") == ["a", "a2"]
    assert names(f"inputs.X != '{digest[:8]}'") == ["b"]  # has the input, other data
    assert names(f"inputs.X in ('{digest[:6]}', 'ffff')") == ["a", "a2"]
    assert names("inputs.X is null") == ["none"] and names("inputs.Y is not null") == []
    for query, message in (
        ("inputs.X > 'abcd'", "compare it with =, != or in"),
        ("inputs.X = 3", r"4\+ hex characters"),
        ("inputs.X = 'xyz1'", r"4\+ hex characters"),
        ("inputs.X like 'ab%'", "compare it with =, != or in"),
    ):
        with pytest.raises(QueryError, match=message):
            tracker.search_runs(query)
