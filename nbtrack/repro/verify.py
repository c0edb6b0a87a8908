"""Did a re-execution reproduce a run? Finding the rerun's counterpart and checking each value.

Matching (first rule that finds a run wins; among several, the earliest started):

1. the same cell key (``runs.cell_key``: the cell id the kernel was told, else the id of the
   notebook cell the receipt located the execution in, as under nbclient; ``src:<hash>`` of the
   cell body only when no notebook with cell ids is known);
2. the same recorded ``%%track`` cell body (a JupyterLab run keyed by cell id re-executed
   under nbclient, which sends no ids);
3. the same run name.

Every metric (its latest value) and every param of the original is checked against the
match with a :class:`~nbtrack.repro.tolerance.Tolerance`; a key only one side has
"differs" too (status ``missing`` / ``new``). When the original recorded data inputs
(:mod:`nbtrack.fingerprint`), each is checked too, by its exact content digest: a rerun
that trained on different data did not reproduce the run, whatever its metrics say.

The outputs of the run's own cells (the executions from the one the run started in to the
one it ended in, from the stored execution histories) are checked too, paired in execution
order: their text (streams without nbtrack's own lines, ``text/plain`` results, errors) line
by line, numbers within the tolerance, everything else exactly. A grid search that prints
``{'C': 1}`` where the original printed ``{'C': 100}`` differs even when it logged no metric.

Metrics and outputs are the *outcomes*: params and inputs say what went in, so a run whose
checks compare no outcome cannot be verified (:func:`outcomes_compared`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..entities import Run
from ..fingerprint import paired as paired_inputs
from .tolerance import Tolerance

REPRODUCED, DIFFERS, MISSING, NEW = "reproduced", "differs", "missing", "new"
METRIC, PARAM, INPUT, OUTPUT = "metric", "param", "input", "output"
OUTCOMES = (METRIC, OUTPUT)
#: the address in a default repr (``<... at 0x7f3a...>``): new in every process
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
#: a number in printed text, compared with the tolerance (ints exactly)
_NUMBER = re.compile(r"([-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)")


@dataclass(frozen=True)
class Check:
    """One metric, param, data input or cell output: the original value, the rerun's, and the verdict."""

    kind: str  # "metric" | "param" | "input" (values: descriptions; compared by digest) | "output" (values: first differing line)
    key: str
    original: Any
    rerun: Any
    status: str  # reproduced | differs | missing (rerun lacks it) | new (only the rerun has it)

    @property
    def ok(self) -> bool:
        return self.status == REPRODUCED

    @property
    def field(self) -> str:
        """The query field naming this value (``metrics.acc``), as in the ``nbtrack.differs`` tag."""
        return f"{self.kind}s.{self.key}"


def match(original: Run, candidates: Sequence[Run], cell_sources: dict[str, str]) -> tuple[Run | None, str | None]:
    """(the rerun's run matching ``original``, "cell" | "cell source" | "name"), or (None, None).

    ``cell_sources`` maps run ids (original and candidates) to their recorded cell body.
    """
    ordered = sorted(candidates, key=lambda r: r.start_time)
    rules = (
        ("cell", lambda r: original.cell_key is not None and r.cell_key == original.cell_key),
        (
            "cell source",
            lambda r: cell_sources.get(original.id) is not None and cell_sources.get(r.id) == cell_sources[original.id],
        ),
        ("name", lambda r: original.name is not None and r.name == original.name),
    )
    for how, rule in rules:
        found = [r for r in ordered if rule(r)]
        if found:
            named = [r for r in found if r.name == original.name]
            return (named or found)[0], how
    return None, None


def checks(
    original: Run, rerun: Run, tolerance: Tolerance, outputs: tuple[list, list] | None = None
) -> tuple[Check, ...]:
    """Metrics first, then params, then data inputs, each sorted by key, then cell outputs.

    ``outputs``: the (label, text) of each of the run's cells, original and rerun (None: the
    original stored no history, so outputs cannot be compared).
    """
    metrics_a = {k: m.last for k, m in original.metrics.items()}
    metrics_b = {k: m.last for k, m in rerun.metrics.items()}
    found = _compare(METRIC, metrics_a, metrics_b, tolerance) + _compare(
        PARAM, original.params, rerun.params, tolerance
    )
    found += _input_checks(original.inputs, rerun.inputs) if original.inputs else ()
    return found + (output_checks(*outputs, tolerance) if outputs is not None else ())


def outcomes_compared(found: Sequence[Check]) -> bool:
    """Whether any metric or cell output was compared: without one, "verified" would mean nothing."""
    return any(check.kind in OUTCOMES for check in found)


def output_checks(
    before: Sequence[tuple[str, str]], after: Sequence[tuple[str, str]], tolerance: Tolerance
) -> tuple[Check, ...]:
    """One check per cell that printed something on either side, paired in execution order."""
    found = []
    for index in range(max(len(before), len(after))):
        label_a, text_a = before[index] if index < len(before) else (None, None)
        label_b, text_b = after[index] if index < len(after) else (None, None)
        if not (text_a or text_b):
            continue
        key = label_a or label_b
        if text_a is None or text_b is None:
            found.append(
                Check(OUTPUT, key, _first_line(text_a), _first_line(text_b), NEW if text_a is None else MISSING)
            )
            continue
        lines_a, lines_b = text_a.splitlines(), text_b.splitlines()
        differing = next((i for i, (a, b) in enumerate(zip(lines_a, lines_b)) if not same_line(a, b, tolerance)), None)
        if differing is None and len(lines_a) != len(lines_b):
            differing = min(len(lines_a), len(lines_b))
        if differing is None:
            found.append(Check(OUTPUT, key, _first_line(text_a), _first_line(text_b), REPRODUCED))
        else:
            found.append(Check(OUTPUT, key, _line_at(lines_a, differing), _line_at(lines_b, differing), DIFFERS))
    return tuple(found)


def _line_at(lines: list[str], index: int) -> str:
    return lines[index] if index < len(lines) else "(no more output)"


def same_line(a: str, b: str, tolerance: Tolerance) -> bool:
    """Text equal outside numbers, numbers equal within ``tolerance`` (``1`` vs ``100`` differs);
    object addresses in default reprs (``<Line2D at 0x7f3a...>``) are not numbers, and ignored."""
    if a == b:
        return True
    parts_a, parts_b = _NUMBER.split(_ADDRESS.sub(" at 0x", a)), _NUMBER.split(_ADDRESS.sub(" at 0x", b))
    if len(parts_a) != len(parts_b):
        return False
    for index, (x, y) in enumerate(zip(parts_a, parts_b)):
        if index % 2 == 0:
            if x != y:
                return False
        elif not tolerance.same(_parse(x), _parse(y)):
            return False
    return True


def _parse(number: str) -> int | float:
    return float(number) if any(c in number for c in ".eE") else int(number)


def _first_line(text: str | None) -> str | None:
    return None if text is None else next((line for line in text.splitlines() if line.strip()), "")


def _input_checks(before: dict[str, dict], after: dict[str, dict]) -> tuple[Check, ...]:
    return tuple(
        Check(INPUT, name, a, b, NEW if a is None else MISSING if b is None else REPRODUCED if same else DIFFERS)
        for name, a, b, same in paired_inputs(before, after)
    )


def _compare(kind: str, before: dict[str, Any], after: dict[str, Any], tolerance: Tolerance) -> tuple[Check, ...]:
    found = []
    for key in sorted(set(before) | set(after)):
        if key not in after:
            found.append(Check(kind, key, before[key], None, MISSING))
        elif key not in before:
            found.append(Check(kind, key, None, after[key], NEW))
        else:
            status = REPRODUCED if tolerance.same(before[key], after[key]) else DIFFERS
            found.append(Check(kind, key, before[key], after[key], status))
    return tuple(found)
