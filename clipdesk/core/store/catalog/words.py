"""The searchable words of each photo (FTS5 table photo_words): its file and folder
names, its tags, its caption and the text read in it (OCR). Tags, captions and text are
copied in by `refresh` whenever they change, in the same transaction."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from clipdesk.core.store.catalog.connection import Part

# the tags, caption and text read of the photos in photo_words (all, or those in a temp list)
_REFRESH_WORDS = (
    "UPDATE photo_words SET "
    "tags=(SELECT group_concat(tag, ' ') FROM tags WHERE photo_id=photo_words.rowid "
    "AND source<>'removed'), caption=(SELECT caption FROM photos WHERE id=photo_words.rowid), "
    "text=(SELECT text FROM photos WHERE id=photo_words.rowid)")


def refresh(db: sqlite3.Connection, photo_ids: Iterable[int] | None = None) -> None:
    """Copy tags, captions and text read into the search text (of all photos when ids is None)."""
    if photo_ids is None:
        db.execute(_REFRESH_WORDS)
    else:
        db.executemany(_REFRESH_WORDS + " WHERE rowid=?", [(i,) for i in set(photo_ids)])


def _relative(path: bytes, roots: list[bytes]) -> bytes:
    """The part of `path` below the deepest root holding it (its names, not /home/...)."""
    best = b""
    for root in roots:
        prefix = root.rstrip(b"/") + b"/"
        if path.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return path[len(best):]


class Words(Part):
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

    def match(self, query: str, limit: int = 1000) -> set[int]:
        """Photos whose names, tags, caption or text read match an FTS5 query."""
        try:
            rows = self._db.execute("SELECT rowid FROM photo_words WHERE photo_words MATCH ? "
                                    "LIMIT ?", (query, limit))
            return {r[0] for r in rows}
        except sqlite3.OperationalError:  # a query FTS5 cannot parse matches nothing
            return set()
