"""Opening, validating and talking to the SQLite store.

A :class:`Store` owns one ``sqlite3`` connection (autocommit mode; transactions are
explicit through :meth:`Store.atomic`) guarded by a re-entrant lock, so the metric
flusher thread and the notebook thread can share it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import NotAStoreError, SchemaTooNewError, StoreError
from .location import StoreLocation, resolve_store
from .schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, apply_migrations

_SQLITE_HEADER = b"SQLite format 3\x00"
DEFAULT_BUSY_TIMEOUT = float(os.environ.get("NBTRACK_BUSY_TIMEOUT", "15"))


class Store:
    """One nbtrack store: ``nbtrack.db`` plus its ``blobs/`` folder.

    >>> store = Store.open("/tmp/project/.nbtrack")   # doctest: +SKIP
    >>> with store.atomic() as conn:                   # doctest: +SKIP
    ...     conn.execute("...")
    """

    def __init__(self, conn: sqlite3.Connection, location: StoreLocation):
        self.conn = conn
        self.location = location
        # computed once: location.db_path builds a new Path, and every transaction needs it
        self._db_path = location.db_path
        self.closed = False
        self.lock = threading.RLock()
        self._depth = 0
        #: called after a rollback, so caches of freshly inserted ids can be dropped
        self.rollback_listeners: list = []
        #: transactions rolled back so far: a blob written in one may be gone (see BlobStore.cache_token)
        self.rollbacks = 0
        #: write transactions committed through this connection (see :meth:`change_stamp`)
        self.commits = 0
        from .blobs import BlobStore  # local: keeps the module graph acyclic

        self.blobs = BlobStore(self)

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | os.PathLike | None = None,
        *,
        create: bool = True,
        busy_timeout: float | None = None,
    ) -> "Store":
        """Open (and create or migrate) the store found by :func:`resolve_store`."""
        location = resolve_store(path)
        db_path = location.db_path
        if not db_path.exists():
            if not create:
                raise StoreError(
                    f"no nbtrack store at {location.directory}; run a tracked cell or `nbtrack store info --create` first"
                )
            try:
                location.directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the store folder {location.directory}: {exc.strerror}") from None
        else:
            _check_header(db_path)
        timeout = DEFAULT_BUSY_TIMEOUT if busy_timeout is None else busy_timeout
        try:
            conn = sqlite3.connect(str(db_path), timeout=timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {db_path}: {exc}") from None
        try:
            _prepare(conn, db_path)
        except BaseException:
            conn.close()
            raise
        return cls(conn, location)

    # -- transactions ------------------------------------------------------------------------
    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``); nested use joins the outer one.

        The original exception always propagates; the transaction is rolled back.
        """
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            with translate_errors(self._db_path):
                self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                # a statement can hit the full disk too (SQLite spills pages to the WAL mid-transaction),
                # not only the COMMIT: the caller must see the same StoreError either way
                with translate_conditions(self._db_path):
                    yield self.conn
            except BaseException:
                self._depth = 0
                self._rollback()
                raise
            self._depth = 0
            try:
                with translate_errors(self._db_path):
                    self.conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            self.commits += 1

    def _rollback(self) -> None:
        self.rollbacks += 1
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        for listener in self.rollback_listeners:
            listener()

    def query(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        """Read rows (as ``sqlite3.Row``) under the lock."""
        with self.lock, translate_errors(self._db_path):
            cursor = self.conn.execute(sql, params)
            cursor.row_factory = sqlite3.Row
            return cursor.fetchall()

    def rows(self, sql: str, params: Any = ()) -> list[tuple]:
        """Read rows as plain tuples under the lock: for bulk reads by position, where
        ``sqlite3.Row`` lookups by name would cost more than the query."""
        with self.lock, translate_errors(self._db_path):
            return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self.lock:
            self.conn.close()
            self.closed = True

    def rows_even_if_closed(self, sql: str, params: Any = ()) -> list[tuple]:
        """:meth:`rows`, or after :meth:`close` the same read on a short-lived read-only connection.

        For what objects handed out earlier read lazily (a listed run's provenance and receipt):
        they stay usable after the tracker that listed them was closed.
        """
        with self.lock:
            if not self.closed:
                return self.rows(sql, params)
        with (
            translate_errors(self._db_path),
            closing(sqlite3.connect(f"{self._db_path.resolve().as_uri()}?mode=ro", uri=True)) as conn,
        ):
            return conn.execute(sql, params).fetchall()

    def change_stamp(self) -> tuple[int, int]:
        """A value that differs from an earlier one iff something may have been written in between.

        ``PRAGMA data_version`` moves with commits of OTHER connections (other processes, other
        trackers) but not with this connection's own, which :attr:`commits` counts (every write
        goes through :meth:`atomic`; ``total_changes`` would also count the temp tables that
        reads fill). Cheap (no table is read): views compare stamps to know whether what they
        drew is stale.
        """
        with self.lock, translate_errors(self._db_path):
            return self.conn.execute("PRAGMA data_version").fetchone()[0], self.commits

    @property
    def path(self) -> Path:
        return self._db_path

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def __repr__(self) -> str:
        return f"<nbtrack Store {self.location.directory}>"


@contextmanager
def translate_conditions(db_path: Path) -> Iterator[None]:
    """Turn sqlite3 errors about the store's condition (locked, read-only, disk full, cannot
    open) into StoreError; every other error, about our SQL or the data, passes unchanged."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise StoreError(
                f"the store {db_path} is locked by another process (waited {DEFAULT_BUSY_TIMEOUT:g} s); try again, or raise NBTRACK_BUSY_TIMEOUT"
            ) from exc
        if "readonly" in text or "read-only" in text:
            raise StoreError(
                f"the store {db_path} is read-only; fix its permissions or point NBTRACK_STORE elsewhere"
            ) from exc
        if "disk" in text and ("full" in text or "I/O" in text):
            raise StoreError(f"the disk holding {db_path} is full or failing ({text})") from exc
        if "unable to open" in text:
            raise StoreError(f"cannot open the store {db_path}: {text}") from exc
        raise


@contextmanager
def translate_errors(db_path: Path) -> Iterator[None]:
    """:func:`translate_conditions`, and a damaged file (any other database error) as NotAStoreError."""
    try:
        with translate_conditions(db_path):
            yield
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
            raise
        raise NotAStoreError(
            f"{db_path} is damaged ({exc}); restore it from a backup or move it away to start a new store"
        ) from exc


def _check_header(db_path: Path) -> None:
    try:
        with open(db_path, "rb") as handle:
            header = handle.read(16)
    except OSError as exc:
        raise StoreError(f"cannot read {db_path}: {exc.strerror}") from None
    if header and header != _SQLITE_HEADER:
        raise NotAStoreError(
            f"{db_path} is not an nbtrack store (not a SQLite database); move it away or pass another --store"
        )


def _prepare(conn: sqlite3.Connection, db_path: Path) -> None:
    """Identify, configure and migrate a freshly opened connection."""
    with translate_errors(db_path):
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id not in (0, APPLICATION_ID):
            raise NotAStoreError(
                f"{db_path} belongs to another application (application_id {app_id:#x}); it is not an nbtrack store"
            )
        if app_id == 0:
            tables = [
                r[0]
                for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
            ]
            if tables and "_sqlite_migrations" not in tables:
                raise NotAStoreError(
                    f"{db_path} is a SQLite database of another application (tables: {', '.join(tables[:5])}); "
                    "it is not an nbtrack store: pass another --store or NBTRACK_STORE"
                )
        if version > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"{db_path} has schema version {version} but this nbtrack ({_version()}) knows up to "
                f"{SCHEMA_VERSION} ({MIGRATIONS[-1][0]}); upgrade with `pip install -U nbtrack`"
            )
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        if version < SCHEMA_VERSION:
            _migrate(conn)


def _migrate(conn: sqlite3.Connection) -> None:
    # IMMEDIATE: two processes opening a new store at once must not both create tables.
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            apply_migrations(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _version() -> str:
    from ..version import __version__

    return __version__
