"""Content-addressed bytes: snapshots, cell sources, environments, artifacts, models.

Identical content is stored once. Small blobs live inside SQLite (zlib-compressed
when that saves space); large ones are files under ``blobs/ab/abcdef...`` written
atomically, so a person can still copy the whole store folder with any tool.
Every read is verified against its sha256.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import IntegrityError, NotFoundError

if TYPE_CHECKING:
    from .connection import Store

INLINE_LIMIT = 512 * 1024


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    def __init__(self, store: "Store"):
        self.store = store
        self.directory = store.location.blob_dir

    def put(self, data: bytes) -> str:
        """Store ``data`` (once) and return its sha256. Joins the caller's transaction."""
        sha = sha256_hex(data)
        with self.store.atomic() as conn:
            if conn.execute("SELECT 1 FROM blobs WHERE sha256 = ?", (sha,)).fetchone():
                return sha
            if len(data) > INLINE_LIMIT:
                self._write_file(sha, data)
                encoding, payload = "file", None
            else:
                packed = zlib.compress(data, 6) if len(data) > 256 else data
                encoding, payload = ("zlib", packed) if len(packed) < len(data) else ("raw", data)
            conn.execute(
                "INSERT INTO blobs(sha256, size, encoding, data, created) VALUES (?, ?, ?, ?, ?)",
                (sha, len(data), encoding, payload, time.time()),
            )
        return sha

    def get(self, sha: str) -> bytes:
        """The bytes of blob ``sha``; raises IntegrityError when they do not hash to ``sha``."""
        rows = self.store.query("SELECT encoding, data FROM blobs WHERE sha256 = ?", (sha,))
        if not rows:
            raise NotFoundError(f"no blob {sha[:12]}... in the store")
        encoding, payload = rows[0]["encoding"], rows[0]["data"]
        if encoding == "file":
            try:
                data = self.path_for(sha).read_bytes()
            except FileNotFoundError:
                raise IntegrityError(f"blob file {self.path_for(sha)} is missing from the store") from None
        elif encoding == "zlib":
            data = zlib.decompress(payload)
        else:
            data = bytes(payload)
        if sha256_hex(data) != sha:
            raise IntegrityError(
                f"blob {sha[:12]}... does not match its sha256 (content changed after it was stored); refusing to use it"
            )
        return data

    def path_for(self, sha: str) -> Path:
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise ValueError(f"not a sha256: {sha!r}")
        return self.directory / sha[:2] / sha

    def _write_file(self, sha: str, data: bytes) -> None:
        target = self.path_for(sha)
        if target.exists() and target.stat().st_size == len(data):
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
