"""The files on disk: the roots a person added, each file below them and the photo it
shows, or why it is not one (a file that is not a photo, a photo that cannot be read)."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from clipdesk.core.store.catalog.connection import Part
from clipdesk.core.types import Problem


@dataclass(frozen=True)
class FileRecord:
    path: bytes
    size: int
    mtime_ns: int
    status: str
    photo_id: int | None
    retry: bool = False


class Files(Part):
    def roots(self) -> list[bytes]:
        return [r[0] for r in self._db.execute("SELECT path FROM roots ORDER BY path")]

    def add_roots(self, paths: Iterable[bytes]) -> None:
        with self._transaction() as db:
            db.executemany("INSERT OR IGNORE INTO roots VALUES(?)", [(p,) for p in paths])

    def under(self, root: bytes) -> dict[bytes, FileRecord]:
        """Every file recorded below `root` (a folder path, as bytes), and the folder's
        own row (a problem: it could not be listed)."""
        prefix = root.rstrip(b"/") + b"/"
        rows = self._db.execute(
            "SELECT path, size, mtime_ns, status, photo_id, retry FROM files "
            "WHERE substr(path, 1, ?) = ? OR path = ?",
            (len(prefix), prefix, root),
        )
        return {r[0]: FileRecord(*r) for r in rows}

    @staticmethod
    def put(db: sqlite3.Connection, path: bytes, size: int, mtime_ns: int,
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

    def remove(self, paths: Iterable[bytes]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM files WHERE path=?", [(p,) for p in paths])

    @staticmethod
    def paths_of(db: sqlite3.Connection, photo_id: int) -> set[bytes]:
        """Every recorded path of a photo, whatever its status (inside a transaction)."""
        return {r[0] for r in db.execute("SELECT path FROM files WHERE photo_id=?", (photo_id,))}

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

    def indexed(self, photo_ids: Iterable[int] | None = None) -> dict[int, list[bytes]]:
        """Every indexed file of each photo (all photos when None), by photo id."""
        rows = self._db.execute("SELECT photo_id, path FROM files WHERE status='indexed' "
                                "AND photo_id IS NOT NULL ORDER BY path")
        wanted = None if photo_ids is None else set(photo_ids)
        out: dict[int, list[bytes]] = {}
        for pid, path in rows:
            if wanted is None or pid in wanted:
                out.setdefault(pid, []).append(path)
        return out

    def photo_for(self, path: bytes) -> tuple[int | None, str | None]:
        """(photo id, status) of the file at `path`, or (None, None) when not recorded."""
        row = self._db.execute(
            "SELECT photo_id, status FROM files WHERE path=?", (path,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def photos_of(self, paths: Iterable[bytes]) -> set[int]:
        """The photos the files at `paths` show."""
        ids = set()
        for path in paths:
            row = self._db.execute("SELECT photo_id FROM files WHERE path=?", (path,)).fetchone()
            if row and row[0] is not None:
                ids.add(row[0])
        return ids

    def problems(self) -> list[Problem]:
        """Photos that cannot be read; files that are not photos ('skipped') are not
        problems."""
        rows = self._db.execute(
            "SELECT path, status, reason FROM files WHERE status='error' ORDER BY path")
        return [Problem(path=r[0], status=r[1], reason=r[2] or "") for r in rows]

    def counts(self) -> dict[str, int]:
        """How many photos, and files of each status."""
        q = self._db.execute
        return {
            "photos": q("SELECT count(*) FROM photos").fetchone()[0],
            "files": q("SELECT count(*) FROM files WHERE status='indexed'").fetchone()[0],
            "problems": q("SELECT count(*) FROM files WHERE status='error'").fetchone()[0],
            "ignored": q("SELECT count(*) FROM files WHERE status='skipped'").fetchone()[0],
        }
