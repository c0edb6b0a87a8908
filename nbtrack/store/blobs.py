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

from ..errors import IntegrityError, NotFoundError, StoreError

if TYPE_CHECKING:
    from .connection import Store

INLINE_LIMIT = 512 * 1024
#: prefix of blob files a purge has set aside: unlinked once its transaction committed
TRASH_PREFIX = ".gc-"
_TMP_PREFIX = ".tmp-"


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
        data = self.raw(sha)
        if sha256_hex(data) != sha:
            raise IntegrityError(
                f"blob {sha[:12]}... does not match its sha256 (content changed after it was stored); refusing to use it"
            )
        return data

    def raw(self, sha: str) -> bytes:
        """The stored bytes, unchecked: a scan for references must see damaged content too."""
        rows = self.store.query("SELECT encoding, data FROM blobs WHERE sha256 = ?", (sha,))
        if not rows:
            raise NotFoundError(f"no blob {sha[:12]}... in the store")
        encoding, payload = rows[0]["encoding"], rows[0]["data"]
        if encoding == "file":
            try:
                return self.path_for(sha).read_bytes()
            except FileNotFoundError:
                raise IntegrityError(f"blob file {self.path_for(sha)} is missing from the store") from None
        return zlib.decompress(payload) if encoding == "zlib" else bytes(payload)

    def cache_token(self) -> tuple[str, int, int]:
        """Changes whenever a hash a writer kept (instead of storing its blob again) may name no
        blob here any more: after a purge, after a rolled-back transaction (its blobs went with
        it), or when the writer now writes to another store.
        Read it in the transaction that writes the reference."""
        purges = self.store.query("SELECT coalesce(max(id), 0) FROM purges")[0][0]
        return str(self.directory), purges, self.store.rollbacks

    # -- removal (only store.gc calls these, inside its transaction) --------------------------------
    def stray_files(self, keep: set[str]) -> list[Path]:
        """Files under blobs/ that no ``file`` row in ``keep`` names: left by a rolled-back write
        (``put`` writes the file before its row) or by a purge interrupted after its commit."""
        if not self.directory.is_dir():
            return []
        return [
            path
            for folder in self.directory.iterdir()
            if folder.is_dir() and len(folder.name) == 2
            for path in folder.iterdir()
            if path.name.startswith((_TMP_PREFIX, TRASH_PREFIX)) or (_is_sha(path.name) and path.name not in keep)
        ]

    def remove(self, shas: list[str], files: list[Path]) -> list[tuple[Path, Path]]:
        """Delete the rows of ``shas`` and set ``files`` aside; returns (path, trash) pairs.

        Renamed, not unlinked: if the transaction then fails, :meth:`put_back` undoes it; once it
        committed, :meth:`discard`. A concurrent ``put`` of the same bytes after the commit writes
        a fresh file under the original name, which the trash no longer holds.
        """
        with self.store.atomic() as conn:
            conn.executemany("DELETE FROM blobs WHERE sha256 = ?", [(sha,) for sha in shas])
            moved: list[tuple[Path, Path]] = []
            try:
                for path in files:
                    trash = path.with_name(TRASH_PREFIX + path.name)
                    if path.exists():
                        os.replace(path, trash)
                        moved.append((path, trash))
            except BaseException:
                self.put_back(moved)
                raise
            return moved

    @staticmethod
    def put_back(moved: list[tuple[Path, Path]]) -> None:
        for path, trash in moved:
            os.replace(trash, path)

    @staticmethod
    def discard(moved: list[tuple[Path, Path]]) -> None:
        for _, trash in moved:
            trash.unlink(missing_ok=True)

    def path_for(self, sha: str) -> Path:
        if not _is_sha(sha):
            raise ValueError(f"not a sha256: {sha!r}")
        return self.directory / sha[:2] / sha

    def _write_file(self, sha: str, data: bytes) -> None:
        target = self.path_for(sha)
        try:
            if target.exists() and target.stat().st_size == len(data):
                return
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=_TMP_PREFIX)
        except OSError as exc:
            raise _unwritable(target, exc) from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise _unwritable(target, exc) from exc
            raise


def _unwritable(target: Path, exc: OSError) -> StoreError:
    """A full disk, a file size limit or a read-only folder: the store's condition, reported as such."""
    return StoreError(f"cannot write a blob under {target.parent}: {exc.strerror or exc}")


def _is_sha(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)
