"""Start one worker per backend and interleave their samples, so machine drift hits all alike.

Order per repetition: for each workload, every backend takes one sample, in an order that
rotates with the repetition (nbtrack is not always first after an idle pause).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .spec import BACKENDS, Workload

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Cell:
    """One (workload, backend) result: samples, or why there are none."""

    status: str = "na"  # ok | na | unavailable | error
    samples: list[float] = field(default_factory=list)
    reason: str = ""


class Worker:
    def __init__(self, backend: str, workdir: Path):
        self.backend = backend
        self.log = workdir / f"{backend}-worker.log"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
            "MPLBACKEND": "Agg",
        }
        env.pop("NBTRACK_STORE", None)
        env.pop("NBTRACK_NOTEBOOK", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker", backend, str(workdir / backend)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(self.log, "w"),
            text=True,
            env=env,
            cwd=ROOT,
        )
        self._read()  # "ready"

    def call(self, op: str, workload: Workload, size: dict) -> dict:
        self.process.stdin.write(json.dumps({"op": op, "workload": workload.id, "size": size}) + "\n")
        self.process.stdin.flush()
        return self._read()

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.backend} worker died; see {self.log}:\n{self.log.read_text()[-3000:]}")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def available_backends() -> list[str]:
    return [b for b in BACKENDS if b != "mlflow" or importlib.util.find_spec("mlflow") is not None]


def run(workloads: list[Workload], profile: str, repeats: int, workdir: Path, progress=print) -> dict:
    """{workload id: {backend: Cell}} after ``repeats`` interleaved samples per cell."""
    backends = available_backends()
    results = {w.id: {b: Cell() for b in BACKENDS} for w in workloads}
    workers = {b: Worker(b, workdir) for b in backends}
    try:
        for workload in workloads:
            progress(f"prepare {workload.id}")
            for backend, worker in workers.items():
                answer = worker.call("prepare", workload, workload.size(profile))
                _record(results[workload.id][backend], answer)
        for repeat in range(repeats):
            progress(f"repetition {repeat + 1}/{repeats}")
            for index, workload in enumerate(workloads):
                shift = (repeat + index) % len(backends)
                for backend in backends[shift:] + backends[:shift]:
                    cell = results[workload.id][backend]
                    if cell.status == "ok":
                        _record(cell, workers[backend].call("measure", workload, workload.size(profile)))
    finally:
        for worker in workers.values():
            worker.close()
    return results


def _record(cell: Cell, answer: dict) -> None:
    cell.status = answer["status"]
    cell.reason = answer.get("reason") or answer.get("error") or ""
    if "value" in answer:
        cell.samples.append(answer["value"])
