"""Each photo's caption and who wrote it: the captioning model's id, or 'manual'."""
from __future__ import annotations

from clipdesk.core.store.catalog import words
from clipdesk.core.store.catalog.connection import Part


class Captions(Part):
    def get(self, photo_id: int) -> tuple[str | None, str | None]:
        """(caption, who wrote it: a model id or 'manual'), or (None, None)."""
        row = self._db.execute("SELECT caption, caption_by FROM photos WHERE id=?",
                               (photo_id,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def set(self, photo_id: int, text: str | None, by: str | None) -> None:
        with self._transaction() as db:
            db.execute("UPDATE photos SET caption=?, caption_by=? WHERE id=?",
                       (text, by if text else None, photo_id))
            words.refresh(db, [photo_id])

    def missing(self) -> list[int]:
        """Photos with no caption yet, newest first."""
        return [r[0] for r in self._db.execute(
            "SELECT id FROM photos WHERE caption IS NULL ORDER BY taken_at DESC, id DESC")]
