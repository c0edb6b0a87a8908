"""One backend in its own warm process, driven by the runner over a JSON-lines pipe.

``python -m benchmarks.worker BACKEND WORKDIR`` reads ``{"op": "prepare"|"measure", "workload": id,
"size": {...}}`` lines on stdin and answers one JSON line each. Anything the workloads print
(IPython's output, run summaries) goes to /dev/null, so the protocol channel stays clean.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import traceback
from pathlib import Path


def backend_class(name: str):
    if name == "nbtrack":
        from .backend_nbtrack import NbtrackBackend

        return NbtrackBackend
    if name == "mlflow":
        from .backend_mlflow import MlflowBackend

        return MlflowBackend
    from .backend_sqlite import SqliteBackend

    return SqliteBackend


def handle(backend, request: dict) -> dict:
    """One request; statuses: ok (with value), na (workload does not apply), unavailable (with reason), error."""
    workload, size, op = request["workload"], request["size"], request["op"]
    measure = getattr(backend, f"measure_{workload}", None)
    if measure is None:
        return {"status": "na"}
    try:
        if op == "prepare":
            available = getattr(backend, f"available_{workload}", None)
            reason = available(size) if available else None
            if reason:
                return {"status": "unavailable", "reason": reason}
            prepare = getattr(backend, f"prepare_{workload}", None)
            if prepare:
                prepare(size)
            measure(size)  # warm-up: first-call imports and caches are not what we measure
            return {"status": "ok"}
        gc.collect()
        return {"status": "ok", "value": measure(size)}
    except Exception as exc:
        traceback.print_exc()
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}"}


def main(argv: list[str]) -> None:
    name, workdir = argv[0], Path(argv[1])
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")
    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)
    backend = backend_class(name)(workdir)
    channel.write(json.dumps({"status": "ready"}) + "\n")
    for line in sys.stdin:
        channel.write(json.dumps(handle(backend, json.loads(line))) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
