"""When two recorded values count as the same: exact for ints, bools, strings and JSON; close for floats.

A re-execution of deterministic code gives bit-identical floats on the same machine, but
summing in another order (threads, a BLAS build) moves the last few bits; ``rtol=1e-9``
absorbs that without hiding a real change. :data:`EXACT` is the exact rule the diff and every
comparison use (:func:`nbtrack.compare.same`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..compare import same
from ..errors import UsageError


@dataclass(frozen=True)
class Tolerance:
    """``rtol``/``atol`` as in :func:`math.isclose`, applied when either value is a float.

    >>> Tolerance().same(0.1 + 0.2, 0.3)
    True
    """

    rtol: float = 1e-9
    atol: float = 0.0

    def __post_init__(self) -> None:
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0 or math.isinf(value):
                raise UsageError(f"{name} must be a finite number >= 0, got {value!r}")

    def same(self, x: Any, y: Any) -> bool:
        """NaN equals NaN and an infinity equals itself (a run that logged NaN reproduced it)."""
        if not (_number(x) and _number(y)) or (isinstance(x, int) and isinstance(y, int)):
            return same(x, y)  # the comparison model's exact rule (bools, text, containers, ints)
        fx, fy = float(x), float(y)
        if math.isnan(fx) or math.isnan(fy):
            return math.isnan(fx) and math.isnan(fy)
        if math.isinf(fx) or math.isinf(fy):
            return fx == fy
        return math.isclose(fx, fy, rel_tol=self.rtol, abs_tol=self.atol)


EXACT = Tolerance(0.0, 0.0)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
