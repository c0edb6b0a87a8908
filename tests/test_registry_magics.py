"""%track register / stage / models in a real InteractiveShell, and the escaped registry displays."""

from __future__ import annotations

import pytest

from nbtrack.display.models import ModelDetails, ModelHistory, ModelList, VersionComparisonView
from nbtrack.registry import Registry

EVIL = "<script>alert('x')</script>"


def test_register_stage_and_list_from_magics(shell, capsys):
    shell.ok("%%track\nimport nbtrack\nf1 = 0.91\nnbtrack.log_model({'w': 1}, 'clf')")
    shell.ok("%track register --name fraud")
    shell.ok("%track stage fraud 1 Production --comment 'first ship'")
    out = capsys.readouterr()
    assert "registered 'fraud' version 1" in out.out and "nbtrack: fraud version 1 -> Production" in out.out, out
    listing = shell.ok("%track models").result
    assert isinstance(listing, ModelList) and [m.name for m in listing] == ["fraud"]
    details = shell.ok("%track models fraud").result
    assert isinstance(details, ModelDetails) and details.model.versions[0].stage == "Production"
    registry = Registry(shell.tracker.store)
    assert registry.history("fraud")[-1].comment == "first ship"
    assert registry.load_model("models:/fraud/Production") == {"w": 1}


def test_magic_errors_are_one_line_and_change_nothing(shell, capsys):
    shell.ok("%%track\nimport nbtrack\nf1 = 0.5\nnbtrack.log_model(1, 'clf')")
    shell.ok("%track register --name fraud")
    shell.ok("%track stage fraud 1 Production --require 'metrics.f1 > 0.9'")
    err = capsys.readouterr().err
    assert err.startswith("GateFailedError: gate failed") and "0.5 > 0.9" in err and "Traceback" not in err
    assert Registry(shell.tracker.store).get_model_version("fraud", 1).stage == "None"
    shell.ok("%track stage fraud 7 Production")
    assert "NotFoundError: model 'fraud' has no version 7" in capsys.readouterr().err


def test_register_needs_a_name(shell, capsys):
    shell.ok("%track register abcd")
    assert "--name" in capsys.readouterr().err


@pytest.fixture
def evil_registry(tracker):
    registry = Registry(tracker.store, runs=tracker.runs, who=EVIL)
    for depth in (1, 2):
        with tracker.start_run(EVIL) as run:
            tracker.log_metric(EVIL, 0.5 * depth)
            tracker.log_param(EVIL, f"{EVIL}{depth}")
        registry.register_model(run, {"d": depth}, "m<b>", description=EVIL, tags={EVIL: EVIL})
    registry.set_description("m<b>", EVIL)
    registry.set_alias("m<b>", "champion", 1, comment=EVIL)
    registry.set_alias("m<b>", "challenger", 2)
    return registry


def test_every_registry_view_escapes_user_text(evil_registry):
    views = [
        ModelList(evil_registry.search_models()),
        ModelDetails(evil_registry.get_model("m<b>")),
        ModelHistory(evil_registry.history("m<b>")),
        VersionComparisonView(evil_registry.compare_versions("m<b>", "champion", "challenger")),
    ]
    for view in views:
        bundle = view._repr_mimebundle_()
        assert "<script>" not in bundle["text/html"] and "&lt;script&gt;" in bundle["text/html"], type(view).__name__
        assert "m&lt;b&gt;" in bundle["text/html"] or isinstance(view, ModelHistory)
        assert EVIL in bundle["text/plain"] or isinstance(view, ModelList)
        assert any(key.startswith("application/vnd.nbtrack.") for key in bundle)


def test_comparison_view_shows_deltas(evil_registry):
    text = str(VersionComparisonView(evil_registry.compare_versions("m<b>", 1, 2)))
    assert "+0.5" in text and "v1 (champion) vs v2 (challenger)" in text
