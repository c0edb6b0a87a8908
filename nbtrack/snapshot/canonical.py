"""Canonical JSON bytes: one spelling per value, so equal content always hashes equal.

Snapshots and histories are stored content-addressed; without a canonical form the same
notebook serialised twice (different key order, different whitespace) would be two blobs.
"""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8 (not ``\\u`` escapes); non-JSON values become strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode(
        "utf-8", "surrogatepass"
    )


def loads(data: bytes) -> Any:
    return json.loads(data.decode("utf-8", "surrogatepass"))
