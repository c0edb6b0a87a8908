"""nbtrack.lab_protocol: validation of the lab extension's comm messages."""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys

import nbformat
import pytest

from nbtrack import lab_protocol as lp


def make_push(**overrides):
    """A message exactly as labextension/src/push.ts builds it."""
    msg = {
        "type": "notebook",
        "protocol": 1,
        "reason": "execute",
        "path": "experiments/train.ipynb",
        "cells": [
            {
                "id": "0b6c1f0e-8a44-4c1e-9f0e-1c2d3e4f5a6b",
                "cell_type": "code",
                "source": "lr = 0.1\nepochs = 3",
                "metadata": {"tags": ["parameters"]},
                "execution_count": 4,
            },
            {"id": "md-1", "cell_type": "markdown", "source": "# Train", "metadata": {}, "execution_count": None},
            {"id": "c_2", "cell_type": "code", "source": "fit(lr)", "metadata": {}, "execution_count": None},
            {"id": "raw1", "cell_type": "raw", "source": "raw", "metadata": {}, "execution_count": None},
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
        "scheduled_cell_ids": ["c_2"],
        "sent_at": 1_750_000_000_123,
    }
    msg.update(overrides)
    return msg


def test_constants():
    assert lp.COMM_TARGET == "nbtrack.notebook"
    assert lp.PROTOCOL == 1


def test_parse_push_fields():
    push = lp.parse_push(make_push(), received_at=12.5)
    assert push.path == "experiments/train.ipynb"
    assert push.reason == "execute"
    assert push.scheduled_cell_ids == ("c_2",)
    assert push.sent_at_ms == 1_750_000_000_123
    assert push.received_at == 12.5
    assert push.cell_ids == ("0b6c1f0e-8a44-4c1e-9f0e-1c2d3e4f5a6b", "md-1", "c_2", "raw1")
    assert push.cells[0] == {
        "id": "0b6c1f0e-8a44-4c1e-9f0e-1c2d3e4f5a6b",
        "cell_type": "code",
        "source": "lr = 0.1\nepochs = 3",
        "metadata": {"tags": ["parameters"]},
        "execution_count": 4,
    }
    # non-code cells carry no execution_count (nbformat v4 shape)
    assert "execution_count" not in push.cell("md-1")
    assert push.cell("nope") is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        push.path = "x"  # type: ignore[misc]


def test_parse_push_copies_input():
    msg = make_push()
    push = lp.parse_push(msg)
    msg["cells"][0]["metadata"]["tags"].append("mutated")
    msg["metadata"]["kernelspec"]["name"] = "mutated"
    assert push.cells[0]["metadata"] == {"tags": ["parameters"]}
    assert push.metadata["kernelspec"]["name"] == "python3"


def test_received_at_defaults_to_now():
    import time

    before = time.time()
    push = lp.parse_push(make_push())
    assert before <= push.received_at <= time.time()


def test_connect_push_without_scheduled_ids():
    msg = make_push(reason="connect")
    del msg["scheduled_cell_ids"]
    push = lp.parse_push(msg)
    assert push.reason == "connect"
    assert push.scheduled_cell_ids == ()


def test_source_as_list_of_lines_is_joined():
    msg = make_push()
    msg["cells"][0]["source"] = ["a = 1\n", "b = 2"]
    assert lp.parse_push(msg).cells[0]["source"] == "a = 1\nb = 2"


def test_round_trip_is_a_valid_nbformat_notebook():
    push = lp.parse_push(make_push())
    nb_dict = lp.to_notebook_node_dict(push)
    nbformat.validate(nb_dict, version=4)
    node = nbformat.from_dict(nb_dict)
    nbformat.validate(node)
    # through the JSON writer and reader too
    text = nbformat.writes(node, version=4)
    again = nbformat.reads(text, as_version=4)
    assert [c.id for c in again.cells] == list(push.cell_ids)
    assert [c.source for c in again.cells] == [c["source"] for c in push.cells]
    assert again.cells[0].execution_count == 4
    assert again.cells[0].outputs == []
    assert "outputs" not in again.cells[1]
    assert again.metadata.kernelspec.name == "python3"
    # and back: the notebook's cells re-parse to the same push cells
    repush = lp.parse_push(make_push(cells=[dict(c) for c in nb_dict["cells"]]))
    assert repush.cells == push.cells


def test_empty_notebook_is_valid():
    msg = make_push(reason="connect", cells=[], metadata={})
    nbformat.validate(lp.to_notebook_node_dict(lp.parse_push(msg)), version=4)


def test_message_survives_json():
    msg = json.loads(json.dumps(make_push()))
    assert lp.parse_push(msg).cells == lp.parse_push(make_push()).cells


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda m: m.update(type="run_ended"), "type"),
        (lambda m: m.update(protocol=2), "protocol 2 is not supported"),
        (lambda m: m.update(protocol="1"), "protocol"),
        (lambda m: m.update(reason="save"), "reason"),
        (lambda m: m.update(path=""), "path"),
        (lambda m: m.pop("path"), "path"),
        (lambda m: m.update(nbformat=3), "nbformat"),
        (lambda m: m.update(nbformat_minor=4), "nbformat_minor"),
        (lambda m: m.update(metadata=[]), "metadata"),
        (lambda m: m.update(cells={}), "cells"),
        (lambda m: m["cells"].append("x"), "cells[4]"),
        (lambda m: m["cells"][1].pop("id"), "cells[1].id"),
        (lambda m: m["cells"][1].update(id="has space"), "cells[1].id"),
        (lambda m: m["cells"][1].update(id="x" * 65), "cells[1].id"),
        (lambda m: m["cells"][2].update(id="md-1"), "unique"),
        (lambda m: m["cells"][0].update(cell_type="heading"), "cells[0].cell_type"),
        (lambda m: m["cells"][0].update(source=None), "cells[0].source"),
        (lambda m: m["cells"][0].update(metadata="x"), "cells[0].metadata"),
        (lambda m: m["cells"][0].update(execution_count=-1), "execution_count"),
        (lambda m: m["cells"][0].update(execution_count=True), "execution_count"),
        (lambda m: m.pop("scheduled_cell_ids"), "scheduled_cell_ids"),
        (lambda m: m.update(scheduled_cell_ids=[1]), "scheduled_cell_ids[0]"),
        (lambda m: m.update(sent_at="now"), "sent_at"),
        (lambda m: m.update(sent_at=float("nan")), "sent_at"),
    ],
)
def test_malformed_push_raises_clear_value_error(mutate, needle):
    msg = copy.deepcopy(make_push())
    mutate(msg)
    with pytest.raises(ValueError, match="nbtrack lab push") as info:
        lp.parse_push(msg)
    assert needle in str(info.value)


@pytest.mark.parametrize("data", [None, [], "notebook", 3])
def test_non_object_raises(data):
    with pytest.raises(ValueError, match="JSON object"):
        lp.parse_push(data)


def test_unknown_keys_are_ignored():
    msg = make_push(future_field={"x": 1})
    msg["cells"][0]["attachments"] = {}
    push = lp.parse_push(msg)
    assert "attachments" not in push.cells[0]


def test_scheduled_and_dispatch():
    sched = {"type": "scheduled", "protocol": 1, "path": "a.ipynb", "scheduled_cell_ids": ["c1"], "sent_at": 5}
    parsed = lp.parse_message(sched, received_at=1.0)
    assert parsed == lp.ScheduledCells(path="a.ipynb", scheduled_cell_ids=("c1",), sent_at_ms=5, received_at=1.0)
    assert isinstance(lp.parse_message(make_push()), lp.NotebookPush)
    assert lp.parse_message({"type": "from_the_future"}) is None
    with pytest.raises(ValueError, match="scheduled_cell_ids"):
        lp.parse_scheduled({**sched, "scheduled_cell_ids": "c1"})
    with pytest.raises(ValueError, match="type"):
        lp.parse_push(sched)


def test_run_ended_message():
    assert lp.run_ended("r1", "FINISHED") == {"type": "run_ended", "run_id": "r1", "status": "FINISHED"}
    assert lp.run_ended(3, "FAILED", experiment="e")["experiment"] == "e"
    with pytest.raises(ValueError):
        lp.run_ended(None, "FINISHED")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        lp.run_ended("r", "")


@pytest.mark.slow
def test_module_is_pure():
    code = (
        "import sys, nbtrack.lab_protocol\n"
        "bad = [m for m in ('IPython', 'ipykernel', 'nbformat', 'ipywidgets', 'matplotlib') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
