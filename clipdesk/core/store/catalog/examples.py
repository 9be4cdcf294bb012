"""Tags taught by example: a person's yes (1) / no (0) answers for a tag, and the newest
photo each tag was taught with (photos after it are tagged by the classifier as they
come)."""
from __future__ import annotations

from clipdesk.core.store.catalog import words
from clipdesk.core.store.catalog.connection import Part


class Examples(Part):
    def add(self, tag: str, yes: list[int], no: list[int]) -> None:
        """Record answers for `tag`; each is also the person's tag (or removal) on that
        photo."""
        tag = tag.lower()
        with self._transaction() as db:
            for label, ids in ((1, yes), (0, no)):
                for pid in ids:
                    db.execute("INSERT OR REPLACE INTO examples VALUES(?, ?, ?)", (tag, pid, label))
                    db.execute("INSERT OR REPLACE INTO tags(photo_id, tag, source, score) "
                               "VALUES(?, ?, ?, NULL)",
                               (pid, tag, "manual" if label else "removed"))
            newest = db.execute("SELECT coalesce(max(id), 0) FROM photos").fetchone()[0]
            db.execute("INSERT OR REPLACE INTO taught VALUES(?, ?)", (tag, newest))
            words.refresh(db, yes + no)

    def of(self, tag: str) -> tuple[list[int], list[int]]:
        """(yes, no): the photos a person answered for `tag`."""
        rows = self._db.execute("SELECT photo_id, label FROM examples WHERE tag=?",
                                (tag.lower(),)).fetchall()
        return [p for p, label in rows if label], [p for p, label in rows if not label]

    def taught(self) -> list[tuple[str, int]]:
        """(tag, newest photo it was taught with) of every taught tag."""
        return self._db.execute("SELECT tag, until_photo FROM taught ORDER BY tag").fetchall()
