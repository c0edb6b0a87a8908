"""Artifacts and cells of runs: bytes stored once by content hash, read back checked against it."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..entities import Artifact, Run
from ..errors import NotFoundError, UsageError
from . import artifacts as payloads
from ..store.blobs import BlobStore
from .active import ActiveRun
from .parts import TrackerPart


class ArtifactLog(TrackerPart):
    """Logging, listing and reading artifacts; recording executed cells."""

    @property
    def blobs(self) -> "BlobStore":
        """The store's content-addressed blobs (notebook snapshots are read from here)."""
        return self.store.blobs

    def log_bytes(
        self, data: bytes, name: str, media_type: str | None = None, run: ActiveRun | None = None
    ) -> Artifact:
        run = self._require_run(run)
        name = payloads.check_artifact_name(name)
        media = media_type or payloads.media_type(name)
        with self.store.atomic():
            sha = self.store.blobs.put(bytes(data))
            self.runs.add_artifact(run.row_id, name, sha, len(data), media)
        return self.runs.artifact(run.row_id, name)

    def log_artifact(self, path: str | os.PathLike, name: str | None = None, run: ActiveRun | None = None) -> Artifact:
        source = Path(path)
        if not source.is_file():
            raise UsageError(f"log_artifact: {source} is not a file")
        return self.log_bytes(source.read_bytes(), name or source.name, run=run)

    def log_text(self, text: str, name: str, run: ActiveRun | None = None) -> Artifact:
        return self.log_bytes(str(text).encode("utf-8"), name, run=run)

    def log_dict(self, data: Any, name: str, run: ActiveRun | None = None) -> Artifact:
        """JSON, or YAML when ``name`` ends in ``.yml``/``.yaml`` (the file is what its name says)."""
        data, media = payloads.dict_payload(data, name)
        return self.log_bytes(data, name, media, run=run)

    def log_figure(self, figure: Any, name: str, run: ActiveRun | None = None) -> Artifact:
        if not name.lower().endswith(".png"):
            name += ".png"
        return self.log_bytes(payloads.figure_png(figure), name, "image/png", run=run)

    def log_model(self, model: Any, name: str = "model", run: ActiveRun | None = None) -> Artifact:
        """Pickle ``model`` as artifact ``models/<name>.pkl``; the registry loads it back by hash."""
        return self.log_bytes(payloads.model_bytes(model), f"models/{name}.pkl", payloads.PICKLE_MEDIA_TYPE, run=run)

    def artifact_bytes(self, run_ref: str, name: str) -> bytes:
        """An artifact's bytes, checked against its sha256."""
        return self.store.blobs.get(self.find_artifact(run_ref, (name,)).sha256)

    def artifacts(self, run_ref: str | Run | ActiveRun) -> tuple[Artifact, ...]:
        return self.runs.artifacts(self._row_id(run_ref))

    def find_artifact(self, run_ref: str | Run | ActiveRun, names: Iterable[str]) -> Artifact:
        """The run's first artifact among ``names``; not found names what the run does have."""
        row_id = self._row_id(run_ref)
        by_name = {a.name: a for a in self.runs.artifacts(row_id)}
        names = tuple(names)
        for name in names:
            if name in by_name:
                return by_name[name]
        have = ", ".join(sorted(by_name)[:20]) or "none"
        raise NotFoundError(f"run {self.runs.uuid_of(row_id)[:8]} has no artifact {names[0]!r} (its artifacts: {have})")

    def download_artifacts(self, run_ref: str | Run, folder: str | os.PathLike, name: str | None = None) -> list[Path]:
        """Write one artifact (``name``) or all of them under ``folder``, keeping their relative
        names; each checked against its sha256 first. Returns the files written."""
        chosen = [self.find_artifact(run_ref, (name,))] if name is not None else self.artifacts(run_ref)
        return [payloads.write_artifact(folder, a.name, self.store.blobs.get(a.sha256)) for a in chosen]

    def load_model_artifact(self, run_ref: str, name: str = "model") -> Any:
        """The model logged as ``name`` (``log_model(m, name)``, or any pickle artifact), unpickled
        after its bytes were checked against the sha256 recorded when it was logged.
        Unpickling runs code: load models only from stores you trust."""
        artifact = self.find_artifact(run_ref, payloads.model_candidates(name))
        return pickle.loads(self.store.blobs.get(artifact.sha256))

    def record_cell(
        self,
        source: str,
        execution_count: int | None = None,
        cell_id: str | None = None,
        outputs: Any = None,
        run: ActiveRun | None = None,
    ) -> None:
        run = self._require_run(run)
        with self.store.atomic():
            source_sha = self.store.blobs.put(source.encode("utf-8", "surrogatepass"))
            outputs_sha = self.store.blobs.put(json.dumps(outputs).encode()) if outputs else None
            self.runs.add_cell(run.row_id, execution_count, cell_id, source_sha, outputs_sha)
