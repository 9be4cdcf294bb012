"""The SQLite catalog: the source of truth for files, photos, embeddings and problems.

Paths are stored as raw bytes (os.fsencode) so that any name the OS allows round-trips,
non-UTF-8 names included. A photo is identified by the hash of its content, so its
embedding (and later its tags and captions) follow it across moves and renames; `files`
maps each path on disk to a photo, or records why the file is not one.
"""
from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from clipdesk.core.errors import CatalogError, DiskFullError
from clipdesk.core.store.backup import GuardedConnection
from clipdesk.core.store.catalog_files import prepare
from clipdesk.core.store.changes import Commits
from clipdesk.core.store.lock import use_wal
from clipdesk.core.types import PhotoInfo, PhotoMeta, Problem

SCHEMA_VERSION = 7

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE roots(path BLOB PRIMARY KEY);
    CREATE TABLE photos(
        -- AUTOINCREMENT: an id is never reused, so a stale vector can never alias a new photo
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        hash TEXT NOT NULL UNIQUE,
        width INTEGER, height INTEGER,
        taken_at TEXT, camera TEXT, format TEXT,
        added_at REAL NOT NULL
    );
    CREATE TABLE files(
        id INTEGER PRIMARY KEY,
        path BLOB NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        photo_id INTEGER REFERENCES photos(id) ON DELETE SET NULL,
        status TEXT NOT NULL CHECK(status IN ('indexed', 'skipped', 'error')),
        reason TEXT
    );
    CREATE INDEX files_photo ON files(photo_id);
    CREATE INDEX photos_taken ON photos(taken_at DESC, id DESC);
    -- words of each photo's file and folder names (relative to its root), for FTS5 search
    CREATE VIRTUAL TABLE photo_text USING fts5(names, tokenize="unicode61 remove_diacritics 2");
    -- source: auto (zero-shot), manual (a person added it), removed (a person took it off)
    CREATE TABLE tags(
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        source TEXT NOT NULL CHECK(source IN ('auto', 'manual', 'removed')),
        score REAL,
        PRIMARY KEY(photo_id, tag)
    );
    CREATE INDEX tags_tag ON tags(tag);
    -- tags taught by example: a person's yes (1) / no (0) answers, and the newest photo
    -- the tag was taught with (photos after it are tagged by the classifier as they come)
    CREATE TABLE examples(
        tag TEXT NOT NULL,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        label INTEGER NOT NULL CHECK(label IN (0, 1)),
        PRIMARY KEY(tag, photo_id)
    );
    CREATE TABLE taught(tag TEXT PRIMARY KEY, until_photo INTEGER NOT NULL);
    CREATE TABLE embeddings(
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY(photo_id, model)
    );
    """,
    2: """
    -- a photo's caption, and who wrote it: the captioning model's id, or 'manual'
    ALTER TABLE photos ADD COLUMN caption TEXT;
    ALTER TABLE photos ADD COLUMN caption_by TEXT;
    -- the searchable words of each photo: file and folder names, tags, caption
    CREATE VIRTUAL TABLE photo_words USING fts5(names, tags, caption,
        tokenize="unicode61 remove_diacritics 2");
    INSERT INTO photo_words(rowid, names, tags) SELECT rowid, names,
        (SELECT group_concat(tag, ' ') FROM tags WHERE photo_id=photo_text.rowid
         AND source<>'removed') FROM photo_text;
    DROP TABLE photo_text;
    """,
    3: """
    -- quality (see quality.py): NULL until measured (old photos are back-filled)
    ALTER TABLE photos ADD COLUMN sharpness REAL;
    ALTER TABLE photos ADD COLUMN motion INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE photos ADD COLUMN clipped REAL;
    ALTER TABLE photos ADD COLUMN crushed REAL;
    -- a person's "not this one" in a group (the file is never touched)
    ALTER TABLE photos ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;
    -- burst or near-duplicate group: the smallest photo id in it, NULL when alone
    ALTER TABLE photos ADD COLUMN group_id INTEGER;
    CREATE INDEX photos_group ON photos(group_id) WHERE group_id IS NOT NULL;
    """,
    4: """
    -- 1: the failure came from the environment (permission, I/O, a vanished mount), not
    -- from the file's content: retried on every run, and the file keeps its photo meanwhile
    ALTER TABLE files ADD COLUMN retry INTEGER NOT NULL DEFAULT 0;
    """,
    5: """
    -- 'skipped' now means "not a photo" (ignored quietly, counted) and 'error' a problem
    -- (a photo that cannot be read). Files recorded before told them apart by content
    -- only (a .jxl was "not a photo", an empty notes file a problem): look at each once
    -- more on the next run. Only their first bytes are read when they are not photos.
    UPDATE files SET retry=1 WHERE status<>'indexed' AND retry=0;
    """,
    6: """
    -- open_nsfw's P(nsfw) on the indexing decode (see nsfw.py), NULL until measured
    ALTER TABLE photos ADD COLUMN nsfw REAL;
    """,
    7: """
    -- vectors were float32 (a 2 KB vector took a whole 4 KB page), now int8 codes: see
    -- pack_vector (float32_to_int8 is that function, given to SQLite in _migrate)
    UPDATE embeddings SET vector=float32_to_int8(vector);
    """,
}

# the tags and caption of the photos in photo_words (all, or those in a temp list)
_REFRESH_WORDS = (
    "UPDATE photo_words SET "
    "tags=(SELECT group_concat(tag, ' ') FROM tags WHERE photo_id=photo_words.rowid "
    "AND source<>'removed'), caption=(SELECT caption FROM photos WHERE id=photo_words.rowid)")


def _no_room(folder: Path) -> bool:
    """Whether the disk holding `folder` is all but full (under 1 MB free)."""
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


def pack_vector(vector: np.ndarray) -> bytes:
    """A vector as stored: int8 codes of it scaled so that its largest component is 127,
    1 byte a dimension instead of float32's 4 (at 512-d, 7 rows to a 4 KB page instead
    of 1). The scale is not stored: unpack_vectors makes every vector unit length again,
    which cancels it. A unit vector comes back within cosine 0.9999 of itself."""
    v = np.asarray(vector, dtype=np.float32).ravel()
    peak = float(np.abs(v).max(initial=0.0)) or 1.0
    return bytes(np.rint(v * (127 / peak)).astype(np.int8).tobytes())


def unpack_vectors(blobs: list[bytes]) -> np.ndarray:
    """The float32 unit vectors (one row each) of stored vectors of one model."""
    vecs = np.frombuffer(b"".join(blobs), np.int8).reshape(len(blobs), -1).astype(np.float32)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    unit: np.ndarray = vecs / np.maximum(norms, np.float32(1e-12))
    return unit


@dataclass(frozen=True)
class FileRecord:
    path: bytes
    size: int
    mtime_ns: int
    status: str
    photo_id: int | None
    retry: bool = False


def _relative(path: bytes, roots: list[bytes]) -> bytes:
    """The part of `path` below the deepest root holding it (its names, not /home/...)."""
    best = b""
    for root in roots:
        prefix = root.rstrip(b"/") + b"/"
        if path.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return path[len(best):]


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


class Catalog:
    """The catalog, usable from any thread: each thread gets its own connection (WAL lets
    readers go on while the one writer thread writes)."""

    # The app's rule is one writer thread (qt/worker.py). The app sets this in its test
    # mode (CLIPDESK_CHECK_WRITER=1): a write from any thread not in writer_thread() then
    # raises. The CLI has one thread, which is the writer, and leaves it off.
    check_writer = False

    def _assert_writer(self) -> None:
        if self.check_writer and not getattr(_writer, "marked", False):
            raise AssertionError(f"catalog write on thread {threading.current_thread().name!r}"
                                 ", which is not the writer thread")

    @property
    def in_transaction(self) -> bool:
        """Whether this thread's connection is inside a transaction."""
        return self._db.in_transaction

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.commits = Commits()  # which commits were this process's (see changes.py)
        self._migrate()

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

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CatalogError(
                f"{self.path} was written by a newer clipdesk (schema {version}); "
                "upgrade clipdesk or use another --home"
            )
        # migration 7 converts the float32 vectors before it
        self._db.create_function("float32_to_int8", 1, lambda blob: pack_vector(
            np.frombuffer(blob, np.float32)), deterministic=True)
        migrated = False
        self._db.execute("PRAGMA busy_timeout=600000")  # another process upgrading: wait
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction() as db:
                # another process opening the same old catalog may have migrated since
                # the read above: re-read under the write lock, or vectors convert twice
                if db.execute("PRAGMA user_version").fetchone()[0] >= target:
                    continue
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={target}")
                migrated = True
        self._db.execute("PRAGMA busy_timeout=30000")
        if migrated and version > 0:
            # an upgraded library: repack its pages once (7 left each float32 vector's page
            # holding a quarter-size row). With no room on disk for that, it works unpacked.
            with suppress(sqlite3.OperationalError):
                self._db.execute("VACUUM")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes of a batch land together or not at all."""
        self._assert_writer()
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

    # -- settings ---------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str | None) -> None:
        self._assert_writer()
        if not self._db.in_transaction:
            with self.transaction():
                self.set_meta(key, value)
        elif value is None:
            self._db.execute("DELETE FROM meta WHERE key=?", (key,))
        else:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)", (key, value))

    def roots(self) -> list[bytes]:
        return [r[0] for r in self._db.execute("SELECT path FROM roots ORDER BY path")]

    def add_roots(self, paths: Iterable[bytes]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO roots VALUES(?)", [(p,) for p in paths])

    # -- files and photos -------------------------------------------------------------

    def files_under(self, root: bytes) -> dict[bytes, FileRecord]:
        """Every file recorded below `root` (a folder path, as bytes), and the folder's
        own row (a problem: it could not be listed)."""
        prefix = root.rstrip(b"/") + b"/"
        rows = self._db.execute(
            "SELECT path, size, mtime_ns, status, photo_id, retry FROM files "
            "WHERE substr(path, 1, ?) = ? OR path = ?",
            (len(prefix), prefix, root),
        )
        return {r[0]: FileRecord(*r) for r in rows}

    def photo_id_for_hash(self, content_hash: str) -> int | None:
        row = self._db.execute("SELECT id FROM photos WHERE hash=?", (content_hash,)).fetchone()
        return row[0] if row else None

    def has_embedding(self, photo_id: int, model: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM embeddings WHERE photo_id=? AND model=?", (photo_id, model)
        ).fetchone()
        return row is not None

    def files_missing_embedding(self, model: str) -> list[FileRecord]:
        """One indexed file for each photo that has no vector from `model` yet."""
        rows = self._db.execute(
            "SELECT f.path, f.size, f.mtime_ns, f.status, f.photo_id FROM files f "
            "WHERE f.status='indexed' AND f.photo_id NOT IN "
            "(SELECT photo_id FROM embeddings WHERE model=?) GROUP BY f.photo_id",
            (model,),
        )
        return [FileRecord(*r) for r in rows]

    def add_photo(self, db: sqlite3.Connection, meta: PhotoMeta) -> int:
        cur = db.execute(
            "INSERT INTO photos(hash, width, height, taken_at, camera, format, added_at, "
            "sharpness, motion, clipped, crushed, nsfw) "
            "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            # known content decoded again (a model switch) gets a missing score
            "ON CONFLICT(hash) DO UPDATE SET nsfw=coalesce(photos.nsfw, excluded.nsfw) "
            "RETURNING id",
            (meta.hash, meta.width, meta.height, meta.taken_at, meta.camera, meta.format,
             time.time(), meta.sharpness, meta.motion, meta.clipped, meta.crushed,
             meta.nsfw),
        )
        return int(cur.fetchone()[0])

    @staticmethod
    def put_embedding(db: sqlite3.Connection, photo_id: int, model: str,
                      vector: np.ndarray) -> None:
        db.execute(
            "INSERT OR REPLACE INTO embeddings VALUES(?, ?, ?)",
            (photo_id, model, pack_vector(vector)),
        )

    @staticmethod
    def paths_of_photo(db: sqlite3.Connection, photo_id: int) -> set[bytes]:
        return {r[0] for r in db.execute("SELECT path FROM files WHERE photo_id=?", (photo_id,))}

    @staticmethod
    def put_file(db: sqlite3.Connection, path: bytes, size: int, mtime_ns: int,
                 status: str, photo_id: int | None = None, reason: str | None = None,
                 retry: bool = False) -> None:
        """Record a file's status. A `retry` failure (the environment's, not the file's)
        keeps the photo the file showed, so a permission problem loses nothing."""
        db.execute(
            "INSERT INTO files(path, size, mtime_ns, photo_id, status, reason, retry) "
            "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET size=excluded.size, "
            "mtime_ns=excluded.mtime_ns, photo_id=CASE WHEN excluded.retry "
            "THEN coalesce(excluded.photo_id, files.photo_id) ELSE excluded.photo_id END, "
            "status=excluded.status, reason=excluded.reason, retry=excluded.retry",
            (path, size, mtime_ns, photo_id, status, reason, int(retry)),
        )

    @staticmethod
    def put_names(db: sqlite3.Connection, photo_ids: Iterable[int], roots: list[bytes]) -> None:
        """Refresh the searchable words of these photos from their current files."""
        for photo_id in set(photo_ids):
            paths = [r[0] for r in db.execute(
                "SELECT path FROM files WHERE photo_id=? AND status='indexed'", (photo_id,))]
            db.execute("DELETE FROM photo_words WHERE rowid=?", (photo_id,))
            if paths:
                names = " ".join(_relative(p, roots).decode("utf-8", "replace") for p in paths)
                db.execute("INSERT INTO photo_words(rowid, names) VALUES(?, ?)", (photo_id, names))
                db.execute(_REFRESH_WORDS + " WHERE rowid=?", (photo_id,))

    @staticmethod
    def _refresh_words(db: sqlite3.Connection, photo_ids: Iterable[int] | None = None) -> None:
        """Copy tags and captions into the search text (of all photos when ids is None)."""
        if photo_ids is None:
            db.execute(_REFRESH_WORDS)
        else:
            db.executemany(_REFRESH_WORDS + " WHERE rowid=?", [(i,) for i in set(photo_ids)])

    def match_words(self, query: str, limit: int = 1000) -> set[int]:
        """Photos whose names, tags or caption match an FTS5 query."""
        try:
            rows = self._db.execute("SELECT rowid FROM photo_words WHERE photo_words MATCH ? "
                                    "LIMIT ?", (query, limit))
            return {r[0] for r in rows}
        except sqlite3.OperationalError:  # a query FTS5 cannot parse matches nothing
            return set()

    def sample_vectors(self, model: str, n: int, exclude: Iterable[int] = ()) -> np.ndarray:
        """Up to n vectors of random photos (leaving out `exclude`)."""
        skip = list(exclude)
        rows = self._db.execute(
            f"SELECT vector FROM embeddings WHERE model=? AND photo_id NOT IN "
            f"({','.join('?' * len(skip))}) ORDER BY random() LIMIT ?",
            (model, *skip, n)).fetchall()
        if not rows:
            return np.zeros((0, 0), np.float32)
        return unpack_vectors([r[0] for r in rows])

    def set_auto_tags(self, assigned: dict[int, list[tuple[str, float]]],
                      photo_ids: Collection[int] | None = None) -> None:
        """Replace the automatic tags of every photo (or of those in `photo_ids`, which
        hold the keys of `assigned`); a person's tags and removals are left alone."""
        with self.transaction() as db:
            if photo_ids is None:
                db.execute("DELETE FROM tags WHERE source='auto'")
            else:
                db.executemany("DELETE FROM tags WHERE photo_id=? AND source='auto'",
                               [(pid,) for pid in photo_ids])
            db.executemany(
                "INSERT OR IGNORE INTO tags(photo_id, tag, source, score) VALUES(?, ?, 'auto', ?)",
                [(pid, tag, score) for pid, pairs in assigned.items() for tag, score in pairs])
            self._refresh_words(db, photo_ids)

    def set_tag(self, photo_id: int, tag: str, on: bool) -> None:
        """A person's decision: it outlives every re-tagging."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO tags(photo_id, tag, source, score) "
                       "VALUES(?, ?, ?, NULL)",
                       (photo_id, tag.lower(), "manual" if on else "removed"))
            self._refresh_words(db, [photo_id])

    def add_person_tags(self, pairs: list[tuple[int, str]]) -> int:
        """Tags a person set elsewhere (an XMP sidecar): manual, over an automatic one;
        a removal made in clipdesk stands. Returns how many rows changed."""
        with self.transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT INTO tags(photo_id, tag, source, score) VALUES(?, ?, 'manual', NULL) "
                "ON CONFLICT(photo_id, tag) DO UPDATE SET source='manual', score=NULL "
                "WHERE source='auto'", [(pid, tag.lower()) for pid, tag in pairs])
            changed = db.total_changes - before
            self._refresh_words(db, {pid for pid, _ in pairs})
        return changed

    def tag_rows(self, photo_id: int) -> list[tuple[str, str]]:
        """(tag, source) of every tag row of a photo, removals included."""
        return self._db.execute("SELECT tag, source FROM tags WHERE photo_id=? ORDER BY "
                                "source='auto', score DESC, tag", (photo_id,)).fetchall()

    def indexed_paths(self, photo_ids: Iterable[int] | None = None) -> dict[int, list[bytes]]:
        """Every indexed file of each photo (all photos when None), by photo id."""
        rows = self._db.execute("SELECT photo_id, path FROM files WHERE status='indexed' "
                                "AND photo_id IS NOT NULL ORDER BY path")
        wanted = None if photo_ids is None else set(photo_ids)
        out: dict[int, list[bytes]] = {}
        for pid, path in rows:
            if wanted is None or pid in wanted:
                out.setdefault(pid, []).append(path)
        return out

    def add_examples(self, tag: str, yes: list[int], no: list[int]) -> None:
        tag = tag.lower()
        with self.transaction() as db:
            for label, ids in ((1, yes), (0, no)):
                for pid in ids:
                    db.execute("INSERT OR REPLACE INTO examples VALUES(?, ?, ?)", (tag, pid, label))
                    db.execute("INSERT OR REPLACE INTO tags(photo_id, tag, source, score) "
                               "VALUES(?, ?, ?, NULL)",
                               (pid, tag, "manual" if label else "removed"))
            newest = db.execute("SELECT coalesce(max(id), 0) FROM photos").fetchone()[0]
            db.execute("INSERT OR REPLACE INTO taught VALUES(?, ?)", (tag, newest))
            self._refresh_words(db, yes + no)

    def examples(self, tag: str) -> tuple[list[int], list[int]]:
        rows = self._db.execute("SELECT photo_id, label FROM examples WHERE tag=?",
                                (tag.lower(),)).fetchall()
        return [p for p, label in rows if label], [p for p, label in rows if not label]

    def taught_tags(self) -> list[tuple[str, int]]:
        return self._db.execute("SELECT tag, until_photo FROM taught ORDER BY tag").fetchall()

    def tags_of(self, photo_id: int) -> list[tuple[str, float | None, str]]:
        return self._db.execute(
            "SELECT tag, score, source FROM tags WHERE photo_id=? AND source<>'removed' "
            "ORDER BY source='auto', score DESC", (photo_id,)).fetchall()

    def flagged(self, prefix: str) -> list[tuple[int, float]]:
        """(photo id, strongest score) of photos with a tag starting with `prefix`."""
        return self._db.execute(
            "SELECT photo_id, max(coalesce(score, 1.0)) AS s FROM tags WHERE substr(tag, 1, ?)=? "
            "AND source<>'removed' GROUP BY photo_id ORDER BY s DESC",
            (len(prefix), prefix)).fetchall()

    def nsfw_over(self, threshold: float) -> list[tuple[int, float]]:
        """(photo id, open_nsfw score) of the photos scored at or over `threshold`."""
        return self._db.execute("SELECT id, nsfw FROM photos WHERE nsfw>=?",
                                (threshold,)).fetchall()

    def removed_with_prefix(self, prefix: str) -> set[int]:
        """Photos a person took a tag starting with `prefix` off (e.g. "this is fine")."""
        return {r[0] for r in self._db.execute(
            "SELECT photo_id FROM tags WHERE substr(tag, 1, ?)=? AND source='removed'",
            (len(prefix), prefix))}

    def tag_counts(self) -> list[tuple[str, int]]:
        return self._db.execute(
            "SELECT tag, count(*) FROM tags WHERE source<>'removed' GROUP BY tag "
            "ORDER BY count(*) DESC, tag").fetchall()

    def photos_with_tags(self, tags: list[str]) -> set[int]:
        result: set[int] | None = None
        for tag in tags:
            ids = {r[0] for r in self._db.execute(
                "SELECT photo_id FROM tags WHERE tag=? AND source<>'removed'", (tag.lower(),))}
            result = ids if result is None else result & ids
        return result or set()

    def photos_of_paths(self, paths: Iterable[bytes]) -> set[int]:
        ids = set()
        for path in paths:
            row = self._db.execute("SELECT photo_id FROM files WHERE path=?", (path,)).fetchone()
            if row and row[0] is not None:
                ids.add(row[0])
        return ids

    # -- quality and groups --------------------------------------------------------------

    def photos_without_quality(self) -> list[int]:
        return [r[0] for r in self._db.execute("SELECT id FROM photos WHERE sharpness IS NULL")]

    def set_quality(self, measured: list[tuple[int, PhotoMeta]]) -> None:
        with self.transaction() as db:
            db.executemany(
                "UPDATE photos SET sharpness=?, motion=?, clipped=?, crushed=? WHERE id=?",
                [(m.sharpness, m.motion, m.clipped, m.crushed, pid) for pid, m in measured])

    def sharpness_of(self, photo_ids: Iterable[int]) -> dict[int, float | None]:
        ids = list(photo_ids)
        out: dict[int, float | None] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            out.update(self._db.execute(
                f"SELECT id, sharpness FROM photos WHERE id IN ({','.join('?' * len(chunk))})",
                chunk).fetchall())
        return out

    def blurry(self, below: float) -> list[tuple[int, float]]:
        """(photo, sharpness) of photos scoring under `below`, blurriest first."""
        return self._db.execute("SELECT id, sharpness FROM photos WHERE sharpness < ? "
                                "ORDER BY sharpness, id", (below,)).fetchall()

    def capture_times(self) -> dict[int, float]:
        """photo -> capture time in seconds (for differences only: the zone is unknown)."""
        out = {}
        for pid, taken in self._db.execute(
                "SELECT id, taken_at FROM photos WHERE taken_at IS NOT NULL"):
            with suppress(ValueError):  # a date the camera wrote wrong: no date
                out[pid] = datetime.fromisoformat(taken).replace(tzinfo=UTC).timestamp()
        return out

    def group_map(self) -> dict[int, int]:
        """photo -> group, for the photos in a group."""
        return dict(self._db.execute(
            "SELECT id, group_id FROM photos WHERE group_id IS NOT NULL").fetchall())

    def set_groups(self, groups: dict[int, int]) -> None:
        with self.transaction() as db:
            db.execute("UPDATE photos SET group_id=NULL WHERE group_id IS NOT NULL")
            db.executemany("UPDATE photos SET group_id=? WHERE id=?",
                           [(g, p) for p, g in groups.items()])

    def group_members(self) -> list[tuple[Any, ...]]:
        """(group, photo, path, pixels, sharpness, clipped, crushed, rejected) of every
        photo in a group that has a file."""
        return self._db.execute(
            "SELECT p.group_id, p.id, min(f.path), p.width * p.height, p.sharpness, p.clipped, "
            "p.crushed, p.rejected FROM photos p JOIN files f ON f.photo_id=p.id "
            "AND f.status='indexed' WHERE p.group_id IS NOT NULL GROUP BY p.id").fetchall()

    def set_rejected(self, photo_ids: Iterable[int], on: bool) -> None:
        with self.transaction() as db:
            db.executemany("UPDATE photos SET rejected=? WHERE id=?",
                           [(int(on), pid) for pid in photo_ids])

    def rejected_ids(self) -> set[int]:
        return {r[0] for r in self._db.execute("SELECT id FROM photos WHERE rejected=1")}

    def photo_ids_by_sharpness(self) -> list[int]:
        """Every photo, sharpest first (unmeasured ones last)."""
        return [r[0] for r in self._db.execute(
            "SELECT id FROM photos ORDER BY sharpness IS NULL, sharpness DESC, id DESC")]

    def rename_tag(self, old: str, new: str) -> None:
        """Every photo's `old` tag (automatic, manual or removed) becomes `new`; so do its
        examples if it was taught."""
        old, new = old.lower(), new.lower()
        with self.transaction() as db:
            ids = [r[0] for r in db.execute("SELECT photo_id FROM tags WHERE tag=?", (old,))]
            db.execute("DELETE FROM tags WHERE tag=? AND photo_id IN "
                       "(SELECT photo_id FROM tags WHERE tag=?)", (new, old))
            db.execute("UPDATE tags SET tag=? WHERE tag=?", (new, old))
            db.execute("DELETE FROM examples WHERE tag=?", (new,))
            db.execute("UPDATE examples SET tag=? WHERE tag=?", (new, old))
            db.execute("DELETE FROM taught WHERE tag=?", (new,))
            db.execute("UPDATE taught SET tag=? WHERE tag=?", (new, old))
            self._refresh_words(db, ids)

    def remove_tag(self, tag: str) -> None:
        """Take `tag` off every photo and forget its examples."""
        tag = tag.lower()
        with self.transaction() as db:
            ids = [r[0] for r in db.execute("SELECT photo_id FROM tags WHERE tag=?", (tag,))]
            for table in ("tags", "examples", "taught"):
                db.execute(f"DELETE FROM {table} WHERE tag=?", (tag,))
            self._refresh_words(db, ids)

    def caption(self, photo_id: int) -> tuple[str | None, str | None]:
        """(caption, who wrote it: a model id or 'manual'), or (None, None)."""
        row = self._db.execute("SELECT caption, caption_by FROM photos WHERE id=?",
                               (photo_id,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def set_caption(self, photo_id: int, text: str | None, by: str | None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE photos SET caption=?, caption_by=? WHERE id=?",
                       (text, by if text else None, photo_id))
            self._refresh_words(db, [photo_id])

    def photos_without_caption(self) -> list[int]:
        """Photos with no caption yet, newest first."""
        return [r[0] for r in self._db.execute(
            "SELECT id FROM photos WHERE caption IS NULL ORDER BY taken_at DESC, id DESC")]

    def remove_files(self, paths: Iterable[bytes]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM files WHERE path=?", [(p,) for p in paths])

    def remove_orphan_photos(self) -> tuple[list[int], list[int]]:
        """Drop photos that no file on disk shows any more. Returns their ids, and the
        photos that were in a group with them (their group needs redoing)."""
        with self.transaction() as db:
            ids = [r[0] for r in db.execute(
                "SELECT id FROM photos WHERE id NOT IN "
                "(SELECT photo_id FROM files WHERE photo_id IS NOT NULL)"
            )]
            mates = [r[0] for r in db.execute(
                f"SELECT id FROM photos WHERE group_id IN (SELECT group_id FROM photos "
                f"WHERE id IN ({','.join('?' * len(ids))}))", ids)] if ids else []
            db.executemany("DELETE FROM photos WHERE id=?", [(i,) for i in ids])
            db.executemany("DELETE FROM photo_words WHERE rowid=?", [(i,) for i in ids])
        return ids, sorted(set(mates) - set(ids))

    def drop_other_models(self, model: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM embeddings WHERE model<>?", (model,))

    # -- queries ----------------------------------------------------------------------

    def vectors(self, model: str, ids: list[int] | None = None, after: int = 0
                ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of the photos embedded with `model` (all, those with an id over
        `after`, or those in `ids`)."""
        if ids is None:
            rows = self._db.execute(
                "SELECT photo_id, vector FROM embeddings WHERE model=? AND photo_id>? "
                "ORDER BY photo_id", (model, after)).fetchall()
        else:
            rows = []
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                rows += self._db.execute(
                    f"SELECT photo_id, vector FROM embeddings WHERE model=? AND photo_id IN "
                    f"({','.join('?' * len(chunk))})", (model, *chunk)).fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        found = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return found, unpack_vectors([r[1] for r in rows])

    def vector(self, photo_id: int, model: str) -> np.ndarray | None:
        row = self._db.execute("SELECT vector FROM embeddings WHERE photo_id=? AND model=?",
                               (photo_id, model)).fetchone()
        return unpack_vectors([row[0]])[0] if row else None

    def hashes_with_embedding(self, model: str) -> dict[str, int]:
        """content hash -> photo id, for photos that already have a vector from `model`."""
        return dict(self._db.execute(
            "SELECT p.hash, p.id FROM photos p JOIN embeddings e ON e.photo_id=p.id "
            "WHERE e.model=?", (model,)))

    def embedding_ids(self, model: str) -> set[int]:
        return {r[0] for r in self._db.execute(
            "SELECT photo_id FROM embeddings WHERE model=?", (model,))}

    def paths_for(self, photo_ids: Iterable[int]) -> dict[int, bytes]:
        """One current path for each photo (the first by name when it has several)."""
        ids = list(photo_ids)
        out: dict[int, bytes] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for pid, path in self._db.execute(
                f"SELECT photo_id, min(path) FROM files WHERE status='indexed' "
                f"AND photo_id IN ({marks}) GROUP BY photo_id", chunk,
            ):
                out[pid] = path
        return out

    def photo_for_path(self, path: bytes) -> tuple[int | None, str | None]:
        row = self._db.execute(
            "SELECT photo_id, status FROM files WHERE path=?", (path,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def photo_ids_newest_first(self) -> list[int]:
        """Every photo, newest first by date taken (photos without a date last)."""
        # two index-ordered reads: 3x faster than one sort at 100k photos
        dated = self._db.execute("SELECT id FROM photos WHERE taken_at IS NOT NULL "
                                 "ORDER BY taken_at DESC, id DESC")
        undated = self._db.execute("SELECT id FROM photos WHERE taken_at IS NULL ORDER BY id DESC")
        return [r[0] for r in dated] + [r[0] for r in undated]

    def photo_info(self, photo_id: int) -> PhotoInfo | None:
        row = self._db.execute(
            "SELECT p.hash, p.width, p.height, p.taken_at, p.camera, p.format, p.id, "
            "min(f.path), f.size, p.sharpness, p.motion, p.clipped, p.crushed, p.rejected, "
            "(SELECT count(*) FROM photos g WHERE g.group_id=p.group_id) "
            "FROM photos p JOIN files f ON f.photo_id=p.id "
            "WHERE p.id=? AND f.status='indexed'", (photo_id,)).fetchone()
        if not row or row[6] is None:
            return None
        return PhotoInfo(*row[:9], sharpness=row[9], motion=bool(row[10]), clipped=row[11],
                         crushed=row[12], rejected=bool(row[13]), group_size=max(1, row[14]))

    def problems(self) -> list[Problem]:
        """Photos that cannot be read; files that are not photos ('skipped') are not
        problems."""
        rows = self._db.execute(
            "SELECT path, status, reason FROM files WHERE status='error' ORDER BY path")
        return [Problem(path=r[0], status=r[1], reason=r[2] or "") for r in rows]

    def counts(self) -> dict[str, int]:
        q = self._db.execute
        return {
            "photos": q("SELECT count(*) FROM photos").fetchone()[0],
            "files": q("SELECT count(*) FROM files WHERE status='indexed'").fetchone()[0],
            "problems": q("SELECT count(*) FROM files WHERE status='error'").fetchone()[0],
            "ignored": q("SELECT count(*) FROM files WHERE status='skipped'").fetchone()[0],
        }

    def integrity_ok(self) -> bool:
        return bool(self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
