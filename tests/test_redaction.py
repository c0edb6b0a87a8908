"""Secrets never reach the record: one redaction rule for captured params, API params, tags,
the one-line summary and the importer; ML names such as ``max_tokens`` stay untouched."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output

from nbtrack.redaction import REDACTED, REDACTED_TAG, has_secret_shape, is_secret, is_secret_name, redact

# One of each kind, as a cell literal would hold it. The marker strings must appear nowhere.
SECRETS = {
    "api_key": "sk-proj-Zq81plantedOPENAIkey000000",
    "password": "hunter2-planted-password",
    "token": "ghp_plantedGithubToken000000000000000",
    "db_url": "postgresql://admin:plantedDbPw@db.example.com:5432/prod",
    "aws_id": "AKIAPLANTEDAWS000000",
    "slack": "xoxb-planted-slack-000000",
    "session": "eyJhbGciOiJIUzI1NiJ9.eyJwbGFudGVkIjoiand0In0.plantedJwtSignature",
    "deploy_pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIplantedPemBody\n-----END RSA PRIVATE KEY-----",
    "gho": "gho_plantedOauthToken00000000000000000",
    "fine_grained": "github_pat_plantedFineGrained000000000000",
    "client_secret": "plain-planted-client-secret",
}
MARKERS = [
    "Zq81planted",
    "hunter2-planted",
    "plantedGithub",
    "plantedDbPw",
    "AKIAPLANTED",
    "xoxb-planted",
    "eyJwbGFudGVk",
    "plantedPemBody",
    "plantedOauth",
    "plantedFineGrained",
    "planted-client-secret",
]
MLFLOW_FIXTURE = Path(__file__).parent / "fixtures" / "mlflow"
# ordinary ML names and values that must come through as they are
ORDINARY = {
    "max_tokens": 512,
    "tokenizer": "bpe-32k",
    "n_tokens": 1024,
    "token_count": 77,
    "tokens_per_batch": 4096,
    "pad_token": "<pad>",
    "lr": 0.1,
    "model": "gpt-small",
    "run_ref": "9f86d081884c7d659a2feaa0c55ad015",
}


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "db_password",
        "DB_PASSWD",
        "passphrase",
        "secret",
        "client_secret",
        "token",
        "hf_token",
        "GITHUB_TOKEN",
        "api_key",
        "apiKey",
        "OPENAI_API_KEY",
        "apikey",
        "credentials",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "private_key",
        "aws_access_key_id",
        "AWS_SECRET_ACCESS_KEY",
        "auth",
        "session_cookie",
        "connection_string",
    ],
)
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "max_tokens",
        "tokenizer",
        "n_tokens",
        "token_count",
        "tokens_per_batch",
        "max_new_tokens",
        "pad_token",
        "eos_token",
        "token_type",
        "num_tokens",
        "key",
        "sort_key",
        "passes",
        "learning_rate",
        "keyword",
        "monkey",
    ],
)
def test_ordinary_ml_names(name):
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    "value",
    [v for k, v in SECRETS.items() if k not in ("password", "client_secret")]
    + ["ASIAPLANTEDAWS000000", "xoxp-1234567890-abc", "https://u:p@h/x"],
)
def test_known_shapes(value):
    assert has_secret_shape(value) and is_secret("anything", value)


@pytest.mark.parametrize(
    "value",
    [
        "9f86d081884c7d659a2feaa0c55ad015",
        "s3://bucket/key",
        "https://example.com:8443/x",
        "risk-adjusted-return-model-v2",
        "git@github.com:org/repo.git",
        "<pad>",
        "sklearn",
    ],
)
def test_ordinary_values_are_not_shapes(value):
    assert not has_secret_shape(value)


@pytest.mark.parametrize("value", [0, 1, 512, -0.5, 3.14, True, None, float("nan")])
def test_a_number_is_never_a_secret(value):
    assert not is_secret("password", value) and not is_secret("token", value)


def test_nested_and_empty_values():
    assert is_secret("config", {"db": {"password": "x"}})
    assert is_secret("urls", ["https://ok.example.com", "https://u:pw@h"])
    assert not is_secret("config", {"max_tokens": 10, "tokenizer": "bpe"})
    assert not is_secret("password", "")  # nothing to hide
    cyclic: list = []
    cyclic.append(cyclic)
    assert not is_secret("x", cyclic)  # not looked into beyond a depth; values.py refuses it
    assert redact({"api_key": "k", "lr": 0.1}) == ({"api_key": REDACTED, "lr": 0.1}, ["api_key"])


def _literal_cell(secrets: dict) -> str:
    return "\n".join(f"{k} = {v!r}" for k, v in {**secrets, **ORDINARY}.items()) + "\naccuracy = 0.9\n"


def _record_text(tracker, inputs=()) -> str:
    """Everything the store holds about runs except the code the user wrote (cell sources, the
    execution history's inputs and the notebook snapshot keep cells as written, as the .ipynb
    on disk does): params, tags, receipts, provenance, cell outputs, artifacts."""
    conn = tracker.store.conn
    parts = []
    for table in ("runs", "params", "tags", "run_cells", "artifacts"):
        parts += [json.dumps([str(v) for v in row]) for row in conn.execute(f"SELECT * FROM {table}")]
    code = {r[0] for r in conn.execute("SELECT source_sha256 FROM run_cells")} | {
        r[0] for r in conn.execute("SELECT snapshot_sha256 FROM runs WHERE snapshot_sha256 IS NOT NULL")
    }
    for (sha,) in conn.execute("SELECT sha256 FROM blobs"):
        text = tracker.store.blobs.get(sha).decode("utf-8", "replace")
        if sha not in code and text.strip() not in {i.strip() for i in inputs}:
            parts.append(text)
    return "\n".join(parts)


def _assert_clean(text: str) -> None:
    found = [m for m in MARKERS if m in text]
    assert not found, found


def test_planted_secrets_never_reach_params_tags_summary_or_store(shell, tmp_path, monkeypatch):
    # outside any git repository: a dirty tree's `git diff` is recorded, and it is code as written
    monkeypatch.chdir(tmp_path)
    api_secrets = {f"api_{k}" if k in ("gho", "aws_id") else k: v for k, v in SECRETS.items()}
    with capture_output() as out:
        shell.ok("%%track leak\n" + _literal_cell(SECRETS))
        shell.ok("%track tag password=" + repr(SECRETS["password"]))
        shell.ok("%track tag note=" + repr(SECRETS["db_url"]))
        shell.ok(
            "import nbtrack\nwith nbtrack.start_run('api', params="
            + repr(api_secrets)
            + ", tags="
            + repr(SECRETS)
            + "):\n    nbtrack.log_params({'token': "
            + repr(SECRETS["token"])
            + ", 'tokenizer': 'bpe'})\n"
            "    nbtrack.set_tag('github_token', " + repr(SECRETS["fine_grained"]) + ")\n"
            "    nbtrack.log_param('aws', " + repr(SECRETS["aws_id"]) + ")"
        )
    with capture_output() as show:
        shell.ok("%track show")
    shown, cells = show.stdout.split("\nCells:")  # the cells are shown as written, like the .ipynb
    assert "Zq81planted" in cells and f"api_key: {REDACTED}" in shown
    tracker = shell.tracker
    tracker.flush()
    cell_run, api_run = sorted(tracker.search_runs(), key=lambda r: r.start_time)
    cell_run, api_run = tracker.get_run(cell_run.id), tracker.get_run(api_run.id)
    assert {k: cell_run.params[k] for k in SECRETS} == dict.fromkeys(SECRETS, REDACTED)
    assert {k: cell_run.params[k] for k in ORDINARY} == ORDINARY
    assert cell_run.tags[REDACTED_TAG] == ",".join(sorted({*SECRETS, "note"}))  # password is both a param and a tag
    assert cell_run.tags["password"] == cell_run.tags["note"] == REDACTED
    assert set(api_run.tags[REDACTED_TAG].split(",")) == {*api_secrets, *SECRETS, "github_token", "aws"}
    assert api_run.params["tokenizer"] == "bpe" and api_run.params["aws"] == REDACTED
    assert f"api_key={REDACTED}" in out.stdout  # the summary line prints the redacted value
    _assert_clean(out.stdout + out.stderr + shown)
    _assert_clean(json.dumps([cell_run.params, cell_run.tags, api_run.params, api_run.tags]))
    _assert_clean(_record_text(tracker, set(shell.ip.history_manager.input_hist_raw)))


def test_tag_runs_on_ended_runs_redacts_and_keeps_earlier_names(tracker):
    with tracker.start_run("a", params={"password": "x1"}) as run:
        pass
    tracker.tag_runs([run.id], {"deploy_token": "y2"})
    tags = tracker.get_run(run.id).tags
    assert tags["deploy_token"] == REDACTED and tags[REDACTED_TAG] == "deploy_token,password"


def test_redaction_can_be_turned_off(shell, tracker):
    with tracker.start_run("raw", params={"password": "kept-on-purpose"}, redact=False) as run:
        tracker.set_tag("token", "ghp_keptOnPurpose0000000000000000000")
    stored = tracker.get_run(run.id)
    assert stored.params["password"] == "kept-on-purpose" and stored.tags["token"].startswith("ghp_kept")
    assert REDACTED_TAG not in stored.tags
    shell.ok(
        "import nbtrack\nwith nbtrack.start_run('raw-api', params={'password': 'api-on-purpose'}, redact=False): pass"
    )
    assert tracker.search_runs("name = 'raw-api'")[0].params["password"] == "api-on-purpose"
    shell.ok("%config TrackMagics.redact = False")
    with capture_output() as out:
        shell.ok("%%track\npassword = 'shown-on-purpose'")
    assert "password=shown-on-purpose" in out.stdout
    shell.ok("%config TrackMagics.redact = True")
    with capture_output() as out:
        shell.ok("%%track\npassword = 'hidden-again'")
    assert "hidden-again" not in out.stdout and f"password={REDACTED}" in out.stdout


def test_import_mlflow_redacts_params_and_tags(tracker, tmp_path):
    from nbtrack.importers import import_mlflow

    source = tmp_path / "mlflow"
    shutil.copytree(MLFLOW_FIXTURE, source)
    conn = sqlite3.connect(source / "mlflow.db")
    (uuid,) = conn.execute("SELECT run_uuid FROM runs WHERE name = 'gbm'").fetchone()
    conn.execute("INSERT INTO params (key, value, run_uuid) VALUES ('password', ?, ?)", (SECRETS["password"], uuid))
    conn.execute("INSERT INTO tags (key, value, run_uuid) VALUES ('deploy', ?, ?)", (SECRETS["token"], uuid))
    conn.commit()
    conn.close()
    import_mlflow(tracker, source / "mlflow.db", artifacts=False)
    run = tracker.get_run(uuid)
    assert run.params["password"] == REDACTED and run.params["lr"] == 0.1
    assert run.tags["deploy"] == REDACTED and run.tags[REDACTED_TAG] == "deploy,password"
    _assert_clean(_record_text(tracker))


@pytest.mark.slow
def test_a_real_kernels_saved_notebook_outputs_hold_no_secret(tmp_path, store_path):
    """The one-line summary is a cell output, so the .ipynb saves it: it must print <redacted>."""
    import nbformat
    from nbclient import NotebookClient

    from nbtrack.tracking import Tracker

    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext nbtrack"),
        nbformat.v4.new_code_cell("%%track secrets\n" + _literal_cell(SECRETS)),
        nbformat.v4.new_code_cell("%track tag deploy_token=" + repr(SECRETS["token"]) + "\n%track show"),
    ]
    path = tmp_path / "leak.ipynb"
    NotebookClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    nbformat.write(nb, path)
    saved = nbformat.read(path, as_version=4)
    shown = []  # %track show lists the cells' code as written, like the notebook itself: the rest is checked
    for output in (o for cell in saved.cells for o in cell.get("outputs", [])):
        data = output.get("data", {})
        shown += [
            output.get("text", ""),
            data.get("text/plain", "").split("\nCells:")[0],
            data.get("text/html", "").split("<b>Cells</b>")[0],
        ]
    assert f"api_key={REDACTED}" in "".join(shown) and "&lt;redacted&gt;" in "".join(shown)
    _assert_clean("".join(shown))
    assert "Zq81planted" in saved.cells[1].source  # the code is kept as the user wrote it
    tracker = Tracker.open(store_path)
    try:
        (run,) = tracker.search_runs()
        assert run.params["api_key"] == run.tags["deploy_token"] == REDACTED
        _assert_clean(json.dumps([run.params, run.tags]))
    finally:
        tracker.close()
