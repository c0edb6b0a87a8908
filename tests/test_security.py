"""Security: hostile text is escaped in every HTML view, queries cannot alter SQL, names
cannot write outside the blob store, tampered model blobs are refused, secrets and
(on request) cell outputs never reach the store."""

from __future__ import annotations

import os
import pickle
import re
import sqlite3
import subprocess
import sys
import textwrap
import zlib
from html.parser import HTMLParser

import pytest

from nbtrack.errors import IntegrityError, QueryError, UsageError
from nbtrack.tracking import Tracker

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    '"><script>alert(1)</script>',
    "'><svg onload=alert(1)>",
    "</td></tr></table><marquee>x",
]
MODEL_HOSTILE = [
    "<img src=x onerror=alert(1)>",
    '"><script>alert(1)',
    "'><svg onload=alert(1)>",
]  # model names refuse '/'


class _Markup(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


def assert_escaped(html: str) -> str:
    """Parse the view as a browser would: no element or attribute came from user text.

    Returns the visible text, in which the hostile strings must appear verbatim.
    """
    parser = _Markup()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag not in ("script", "svg", "iframe", "object", "embed", "marquee"), (tag, attrs)
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            assert not (value or "").lower().startswith("javascript:"), (tag, name, value)
        if tag == "img":
            assert dict(attrs).get("src", "").startswith("data:image/"), attrs  # only our own charts
    return "".join(parser.text)


@pytest.fixture
def hostile_tracker(tracker):
    for i, text in enumerate(HOSTILE):
        with tracker.start_run(text, params={text: text, "p": text}, tags={text: text, "t": text}):
            tracker.log_metric(text, 0.5 + i)
            tracker.log_metric("m", float(i))
            tracker.log_text(text, f"a{i}/{text.replace('/', '_')}.txt")
            tracker.set_note(text)
            tracker.record_cell(f"x = {text!r}\nprint(x)", execution_count=1, cell_id=text)
    with pytest.raises(RuntimeError):
        with tracker.start_run("failing"):
            raise RuntimeError(HOSTILE[0])  # the traceback shows in RunDetails
    return tracker


def test_run_views_escape_user_text(hostile_tracker):
    from nbtrack.display.runs import RunDetails, RunList

    runs = RunList(hostile_tracker.search_runs())
    assert len(runs) == len(HOSTILE) + 1
    bundle = runs._repr_mimebundle_()
    text = assert_escaped(bundle["text/html"])
    assert HOSTILE[0] in text and HOSTILE[1] in text  # shown as text, not markup
    for run in runs:
        details = RunDetails(run, hostile_tracker.runs.cells(hostile_tracker.runs.resolve(run.id)))
        assert_escaped(details._repr_html_())


def test_comparison_and_dashboard_views_escape_user_text(hostile_tracker):
    from nbtrack.compare import compare_runs
    from nbtrack.display.compare import ComparisonView
    from nbtrack.display.dashboard import DashboardView

    runs = hostile_tracker.search_runs()
    comparison = ComparisonView(compare_runs(runs, baseline=runs[0]))
    assert_escaped(comparison._repr_html_())
    columns = (
        ["name", "status"]
        + [f"params.{k}" for k in runs[0].params]
        + [f"metrics.{k}" for k in runs[0].metrics]
        + [f"tags.{k}" for k in runs[0].tags]
    )
    dashboard = DashboardView(runs, columns, total=len(runs), query=HOSTILE[1], comparison=comparison)
    assert_escaped(dashboard._repr_html_())


def test_registry_views_escape_user_text(tracker):
    from nbtrack.display.models import ModelDetails, ModelHistory, ModelList, ModelState, VersionComparisonView
    from nbtrack.registry import Registry

    registry = Registry(tracker.store, tracker.runs, who=HOSTILE[0])
    for i, name in enumerate(MODEL_HOSTILE):
        runs = []
        for j in range(2):
            with tracker.start_run(HOSTILE[j], params={HOSTILE[1]: HOSTILE[2]}) as run:
                tracker.log_metric(HOSTILE[0], float(j))
                tracker.log_model({"w": j}, "clf")
            runs.append(run)
        for run in runs:
            registry.register_model(run.id, "clf", name=name, description=HOSTILE[1], tags={HOSTILE[0]: HOSTILE[1]})
        registry.promote(name, 1, "Staging", comment=HOSTILE[0])
        registry.promote(name, 2, "Production", comment=HOSTILE[1])
        registry.set_alias(name, "champion", 2, comment=HOSTILE[3])
        registry.set_description(name, HOSTILE[3])
        registry.set_tag(name, HOSTILE[2], HOSTILE[0])
        registry.set_tag(name, HOSTILE[2], HOSTILE[1], version=1)
    views = [ModelList(registry.search_models())]
    for name in MODEL_HOSTILE:
        views += [
            ModelDetails(registry.get_model(name)),
            ModelHistory(registry.history(name)),
            ModelState(registry.state_at(name, registry.clock() + 1)),
            VersionComparisonView(registry.compare_versions(name, 1, 2)),
        ]
    for view in views:
        html = view._repr_html_()
        assert_escaped(html)
        assert "&lt;img" in html or "&quot;&gt;" in html or "&#x27;&gt;" in html, type(
            view
        ).__name__  # the text is there, escaped
        assert any(h in assert_escaped(html) for h in HOSTILE + MODEL_HOSTILE)


# -- SQL injection through queries ----------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "name = 'x'' OR 1=1 --'",
        "name = 'x' OR 1=1",  # a valid filter: only the runs it names
        "params.`a'; DROP TABLE runs; --` = 1",
        "tags.`t`` OR 1=1 --` = 'x'",
        "metrics.`m); DELETE FROM runs; --` > 0",
        "name like '%'' ; DROP TABLE runs; --'",
        "name = 'a'; DROP TABLE runs",
        "name = 'a' /* comment */",
        "name = 'a' -- comment",
        "status in ('FINISHED'); DELETE FROM runs; --",
    ],
)
def test_queries_cannot_alter_sql(tracker, query):
    for i in range(3):
        with tracker.start_run(f"r{i}", params={"a": i}, tags={"t": "x"}):
            tracker.log_metric("m", float(i))
    before = tracker.store.conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    try:
        found = tracker.search_runs(query)
    except QueryError:
        found = None
    try:
        tracker.search_runs(order_by=query)
    except QueryError:
        pass
    assert tracker.store.conn.execute("SELECT count(*) FROM runs").fetchone()[0] == before
    assert tracker.store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    if found is not None:
        # Hostile text is compared as a value or a key: it matches nothing here, except the
        # plain "or 1=1" filter, which is a real (if silly) condition over these runs.
        assert query == "name = 'x' OR 1=1" or found == [], (query, [r.name for r in found])


# -- names cannot write outside the blob store ------------------------------------------------------

ESCAPES = [
    "../evil.txt",
    "../../evil.txt",
    "/tmp/evil.txt",
    "a/../../evil.txt",
    "./evil",
    "a//b",
    "~/evil",
    "C:\\evil",
    "..\\evil",
    "a/./b",
    "",
    " ",
    "\x00evil",
    "evil\n",
    "..",
    "/",
    ".",
    "./",
    "a/.",
]


@pytest.mark.parametrize("name", ESCAPES)
def test_artifact_names_cannot_escape(tracker, tmp_path, name):
    with tracker.start_run("a"):
        with pytest.raises(UsageError):
            tracker.log_text("x" * 600_000, name)  # large enough to be written as a file
        try:
            artifact = tracker.log_model({"w": 1}, name)
        except UsageError:
            pass
        else:  # models/<name>.pkl: harmless when it stays a relative name below models/
            assert artifact.name.startswith("models/") and ".." not in artifact.name.split("/")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_files_are_only_written_as_sha_names_under_blobs(tracker, store_path):
    with tracker.start_run("a"):
        for name in ("deep/er/file.txt", "x" * 500, "é/ü.bin", "models/clf.pkl"):
            tracker.log_text(name * 100_000, name)
    files = sorted(p.relative_to(store_path).as_posix() for p in store_path.rglob("*") if p.is_file())
    for path in files:
        assert path.startswith("nbtrack.db") or re.fullmatch(r"blobs/[0-9a-f]{2}/[0-9a-f]{64}", path), path


@pytest.mark.parametrize("name", ["../evil", "a/b", "/abs", "C:\\x", "..", "x@y", "a:b"])
def test_model_names_with_paths_refused(tracker, name):
    from nbtrack.registry import Registry

    with tracker.start_run("m") as run:
        tracker.log_model({"w": 1}, "clf")
    with pytest.raises(UsageError):
        Registry(tracker.store, tracker.runs).register_model(run.id, "clf", name=name)


# -- tampered model blobs ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [100, 600_000], ids=["inline", "file"])
def test_load_model_refuses_a_tampered_blob(tracker, size):
    from nbtrack.registry import Registry

    registry = Registry(tracker.store, tracker.runs)
    with tracker.start_run("m") as run:
        tracker.log_model({"payload": "x" * size}, "clf")
    registry.register_model(run.id, "clf", name="clf")
    assert registry.load_model("clf", version=1) == {"payload": "x" * size}
    sha = registry.get_model_version("clf", 1).sha256
    evil = pickle.dumps({"payload": "evil"})
    row = tracker.store.query("SELECT encoding FROM blobs WHERE sha256 = ?", (sha,))[0]
    if row["encoding"] == "file":
        tracker.store.blobs.path_for(sha).write_bytes(evil)
    else:
        with tracker.store.atomic() as conn:
            conn.execute("UPDATE blobs SET data = ?, encoding = 'raw' WHERE sha256 = ?", (evil, sha))
    with pytest.raises(IntegrityError, match="sha256"):
        registry.load_model("clf", version=1)


# -- secrets and sensitive outputs ------------------------------------------------------------------

SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "GITHUB_TOKEN": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "DB_PASSWORD": "hunter2hunter2",
    "POSTGRES_PASSWORD": "pg-secret-value-1",
    "MY_SERVICE_PASSWD": "passwd-value-2",
    "HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyz",
    "NBTRACK_DEBUG_TOKEN": "nbtrack-prefixed-secret",  # allowed prefix, secret name
    "NBTRACK_NOTE": "ghp_zyxwvutsrqponmlkjihgfedcba9876543210",  # allowed name, secret-shaped value
    "DATABASE_URL": "postgres://user:s3cr3tpw@db.example.com/app",
}


def _all_store_bytes(store_path) -> bytes:
    """Every byte in the store folder, plus every blob decompressed (zlib hides plain text)."""
    raw = b"".join(p.read_bytes() for p in store_path.rglob("*") if p.is_file())
    conn = sqlite3.connect(store_path / "nbtrack.db")
    try:
        inflated = [zlib.decompress(data) for (data,) in conn.execute("SELECT data FROM blobs WHERE encoding = 'zlib'")]
    finally:
        conn.close()
    return raw + b"".join(inflated)


@pytest.mark.slow
def test_secret_environment_never_stored(store_path, tmp_path):
    script = textwrap.dedent(
        """
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config
        config = Config(); config.HistoryManager.hist_file = ":memory:"
        ip = InteractiveShell.instance(config=config)
        ip.run_cell("%load_ext nbtrack")
        ip.run_cell("%%track s\\nlr = 0.1\\nimport nbtrack\\nnbtrack.log_metric('m', 1)")
        ip.run_cell("import nbtrack\\nwith nbtrack.start_run('api'):\\n    nbtrack.log_param('x', 1)")
        """
    )
    env = {**os.environ, **SECRETS, "NBTRACK_STORE": str(store_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    tracker = Tracker.open(store_path)
    assert {r.name for r in tracker.search_runs()} == {"s", "api"}
    tracker.close()
    data = _all_store_bytes(store_path)
    for name, value in SECRETS.items():
        assert value.encode() not in data, name
        assert name.encode() not in data or not name.startswith(("AWS", "GITHUB", "DB_", "HF_")), name


@pytest.mark.parametrize("keep", [True, False])
def test_snapshot_outputs_can_be_excluded(shell, store_path, keep):
    marker = "SENSITIVE-PATIENT-RECORD-4711"
    shell.ok(f"%config TrackMagics.snapshot_outputs = {keep}")
    shell.ok(f"%%track leak\nprint({marker[:9]!r} + {marker[9:]!r})\nresult = 1")
    shell.ok(f"{marker[:9]!r} + {marker[9:]!r}")  # an untracked cell's Out[] too
    shell.ok("%%track after\nb = 2")
    shell.tracker.flush()
    found = marker.encode() in _all_store_bytes(store_path)
    assert found == keep  # kept when asked (so this test can see it), never stored when turned off
