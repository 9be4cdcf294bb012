"""The text read in each photo (OCR) and which reader read it. A photo read with no text
keeps text NULL and text_by set: it is never read again unless a person asks."""
from __future__ import annotations

from collections.abc import Iterable

from clipdesk.core.store.catalog import words
from clipdesk.core.store.catalog.connection import Part


class Texts(Part):
    def get(self, photo_id: int) -> tuple[str | None, str | None]:
        """(text read, the reader's id), (None, reader) when read with no text, (None,
        None) when never read."""
        row = self._db.execute("SELECT text, text_by FROM photos WHERE id=?",
                               (photo_id,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def set(self, photo_id: int, text: str | None, by: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE photos SET text=?, text_by=? WHERE id=?",
                       (text or None, by, photo_id))
            words.refresh(db, [photo_id])

    def unread(self, photo_ids: Iterable[int] | None = None) -> list[int]:
        """Photos never read (of `photo_ids`, or all), newest first."""
        rows = [r[0] for r in self._db.execute(
            "SELECT id FROM photos WHERE text_by IS NULL ORDER BY taken_at DESC, id DESC")]
        if photo_ids is None:
            return rows
        wanted = set(photo_ids)
        return [i for i in rows if i in wanted]

    def count_read(self) -> tuple[int, int]:
        """(photos read, of them holding text)."""
        row = self._db.execute("SELECT count(text_by), count(text) FROM photos").fetchone()
        return int(row[0]), int(row[1])
