"""Did a re-execution reproduce a run? Finding the rerun's counterpart and checking each value.

Matching (first rule that finds a run wins; among several, the earliest started):

1. the same cell key (``runs.cell_key``: the cell id, or ``src:<hash>`` of the cell body when
   the kernel was not told cell ids, as under nbclient);
2. the same recorded ``%%track`` cell body (a JupyterLab run keyed by cell id re-executed
   under nbclient, which sends no ids);
3. the same run name.

Every metric (its latest value) and every param of the original is checked against the
match with a :class:`~nbtrack.snapshot.tolerance.Tolerance`; a key only one side has
"differs" too (status ``missing`` / ``new``). When the original recorded data inputs
(:mod:`nbtrack.fingerprint`), each is checked too, by its exact content digest: a rerun
that trained on different data did not reproduce the run, whatever its metrics say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..entities import Run
from ..fingerprint import paired as paired_inputs
from .tolerance import Tolerance

REPRODUCED, DIFFERS, MISSING, NEW = "reproduced", "differs", "missing", "new"
METRIC, PARAM, INPUT = "metric", "param", "input"


@dataclass(frozen=True)
class Check:
    """One metric or param: the original value, the rerun's, and the verdict."""

    kind: str  # "metric" | "param" | "input" (values: descriptions; compared by digest)
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
        ("cell source", lambda r: cell_sources.get(original.id) is not None and cell_sources.get(r.id) == cell_sources[original.id]),
        ("name", lambda r: original.name is not None and r.name == original.name),
    )
    for how, rule in rules:
        found = [r for r in ordered if rule(r)]
        if found:
            named = [r for r in found if r.name == original.name]
            return (named or found)[0], how
    return None, None


def checks(original: Run, rerun: Run, tolerance: Tolerance) -> tuple[Check, ...]:
    """Metrics first, then params, then data inputs, each sorted by key."""
    metrics_a = {k: m.last for k, m in original.metrics.items()}
    metrics_b = {k: m.last for k, m in rerun.metrics.items()}
    found = _compare(METRIC, metrics_a, metrics_b, tolerance) + _compare(PARAM, original.params, rerun.params, tolerance)
    return found + (_input_checks(original.inputs, rerun.inputs) if original.inputs else ())


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
