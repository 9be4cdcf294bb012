"""The catalog's connections: one per thread, transactions, the one-writer check and the
one-line errors for a write the disk refused. The SQL of each concern lives in its own
module (tags.py, files.py, ...) as a `Part` that uses these."""
from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from clipdesk.core.errors import CatalogError, DiskFullError
from clipdesk.core.store.backup import GuardedConnection
from clipdesk.core.store.catalog.disk import prepare
from clipdesk.core.store.changes import Commits
from clipdesk.core.store.lock import use_wal

_writer = threading.local()


@contextmanager
def writer_thread() -> Iterator[None]:
    """Mark the calling thread as the one that writes while inside (the app's writer)."""
    outer = getattr(_writer, "marked", False)
    _writer.marked = True
    try:
        yield
    finally:
        _writer.marked = outer


def _no_room(folder: Path) -> bool:
    """Whether the disk holding `folder` is all but full (under 1 MB free)."""
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


class Connection:
    """The catalog's database, usable from any thread: each thread gets its own connection
    (WAL lets readers go on while the one writer thread writes)."""

    # The app's rule is one writer thread (qt/worker.py). The app sets this in its test
    # mode (CLIPDESK_CHECK_WRITER=1): a write from any thread not in writer_thread() then
    # raises. The CLI has one thread, which is the writer, and leaves it off.
    check_writer = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.commits = Commits()  # which commits were this process's (see changes.py)

    def assert_writer(self) -> None:
        if self.check_writer and not getattr(_writer, "marked", False):
            raise AssertionError(f"catalog write on thread {threading.current_thread().name!r}"
                                 ", which is not the writer thread")

    @property
    def in_transaction(self) -> bool:
        """Whether this thread's connection is inside a transaction."""
        return self._db.in_transaction

    @property
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            prepare(self.path)  # a folder, a read-only -shm, a -shm SIGBUS waits in
            # guarded: a damaged file becomes one CatalogError line with the way back
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                 check_same_thread=False, factory=GuardedConnection)
            db.home = self.path.parent
            try:  # WAL makes its -shm file here: a full disk fails at open
                use_wal(db)
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("PRAGMA foreign_keys=ON")
            except sqlite3.OperationalError as exc:
                db.close()
                raise self._write_error(exc) from exc
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes of a batch land together or not at all."""
        self.assert_writer()
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                generation = self.commits.bump(db)
            except BaseException:
                if db.in_transaction:  # SQLite may have rolled back itself (disk full)
                    db.execute("ROLLBACK")
                raise
            try:
                db.execute("COMMIT")
            except BaseException:
                self.commits.forget(generation)
                raise
        except sqlite3.OperationalError as exc:
            raise self._write_error(exc) from exc

    def _write_error(self, exc: sqlite3.OperationalError) -> Exception:
        """The one-line error for a write the disk refused; other errors stay as they are."""
        text = str(exc).lower()
        # SQLite says "disk I/O error" when it cannot make its -shm file on a full disk
        if "full" in text or ("disk i/o" in text and _no_room(self.path.parent)):
            return DiskFullError(self.path.parent)
        if "readonly" in text or "read-only" in text:
            return CatalogError(f"cannot write the catalog in {self.path.parent}: it is "
                                "read-only; check that folder's permissions")
        if "disk i/o" in text:
            return CatalogError(f"the disk holding {self.path.parent} reported an I/O "
                                "error; check the disk, then run again")
        return exc

    def integrity_ok(self) -> bool:
        return bool(self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


class Part:
    """One concern of the catalog (its tags, its files, ...): that concern's SQL, run on
    the catalog's connection and transactions."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @property
    def _db(self) -> sqlite3.Connection:
        """This thread's connection, for reads."""
        return self._connection._db

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._connection.transaction()
