"""Each photo's tags and where each came from: auto (zero-shot or a taught classifier),
manual (a person added it) or removed (a person took it off: it outlives re-tagging).
Every change copies the tags into the search words in the same transaction."""
from __future__ import annotations

import builtins  # in the class, `set` names its method: the type is builtins.set
from collections.abc import Collection

from clipdesk.core.store.catalog import words
from clipdesk.core.store.catalog.connection import Part


class Tags(Part):
    def set_auto(self, assigned: dict[int, list[tuple[str, float]]],
                 photo_ids: Collection[int] | None = None) -> None:
        """Replace the automatic tags of every photo (or of those in `photo_ids`, which
        hold the keys of `assigned`); a person's tags and removals are left alone."""
        with self._transaction() as db:
            if photo_ids is None:
                db.execute("DELETE FROM tags WHERE source='auto'")
            else:
                db.executemany("DELETE FROM tags WHERE photo_id=? AND source='auto'",
                               [(pid,) for pid in photo_ids])
            db.executemany(
                "INSERT OR IGNORE INTO tags(photo_id, tag, source, score) VALUES(?, ?, 'auto', ?)",
                [(pid, tag, score) for pid, pairs in assigned.items() for tag, score in pairs])
            words.refresh(db, photo_ids)

    def set(self, photo_id: int, tag: str, on: bool) -> None:
        """A person's decision: it outlives every re-tagging."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO tags(photo_id, tag, source, score) "
                       "VALUES(?, ?, ?, NULL)",
                       (photo_id, tag.lower(), "manual" if on else "removed"))
            words.refresh(db, [photo_id])

    def add_person(self, pairs: list[tuple[int, str]]) -> int:
        """Tags a person set elsewhere (an XMP sidecar): manual, over an automatic one;
        a removal made in clipdesk stands. Returns how many rows changed."""
        with self._transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT INTO tags(photo_id, tag, source, score) VALUES(?, ?, 'manual', NULL) "
                "ON CONFLICT(photo_id, tag) DO UPDATE SET source='manual', score=NULL "
                "WHERE source='auto'", [(pid, tag.lower()) for pid, tag in pairs])
            changed = db.total_changes - before
            words.refresh(db, {pid for pid, _ in pairs})
        return changed

    def rename(self, old: str, new: str) -> None:
        """Every photo's `old` tag (automatic, manual or removed) becomes `new`; so do its
        examples if it was taught."""
        old, new = old.lower(), new.lower()
        with self._transaction() as db:
            ids = [r[0] for r in db.execute("SELECT photo_id FROM tags WHERE tag=?", (old,))]
            db.execute("DELETE FROM tags WHERE tag=? AND photo_id IN "
                       "(SELECT photo_id FROM tags WHERE tag=?)", (new, old))
            db.execute("UPDATE tags SET tag=? WHERE tag=?", (new, old))
            db.execute("DELETE FROM examples WHERE tag=?", (new,))
            db.execute("UPDATE examples SET tag=? WHERE tag=?", (new, old))
            db.execute("DELETE FROM taught WHERE tag=?", (new,))
            db.execute("UPDATE taught SET tag=? WHERE tag=?", (new, old))
            words.refresh(db, ids)

    def remove(self, tag: str) -> None:
        """Take `tag` off every photo and forget its examples."""
        tag = tag.lower()
        with self._transaction() as db:
            ids = [r[0] for r in db.execute("SELECT photo_id FROM tags WHERE tag=?", (tag,))]
            for table in ("tags", "examples", "taught"):
                db.execute(f"DELETE FROM {table} WHERE tag=?", (tag,))
            words.refresh(db, ids)

    def of(self, photo_id: int) -> list[tuple[str, float | None, str]]:
        """(tag, score, source) of a photo's tags, a person's first, then the strongest."""
        return self._db.execute(
            "SELECT tag, score, source FROM tags WHERE photo_id=? AND source<>'removed' "
            "ORDER BY source='auto', score DESC", (photo_id,)).fetchall()

    def rows(self, photo_id: int) -> list[tuple[str, str]]:
        """(tag, source) of every tag row of a photo, removals included."""
        return self._db.execute("SELECT tag, source FROM tags WHERE photo_id=? ORDER BY "
                                "source='auto', score DESC, tag", (photo_id,)).fetchall()

    def counts(self) -> list[tuple[str, int]]:
        """(tag, how many photos have it), the most used first."""
        return self._db.execute(
            "SELECT tag, count(*) FROM tags WHERE source<>'removed' GROUP BY tag "
            "ORDER BY count(*) DESC, tag").fetchall()

    def photos_with(self, tags: list[str]) -> builtins.set[int]:
        """The photos that have every one of `tags`."""
        result: builtins.set[int] | None = None
        for tag in tags:
            ids = {r[0] for r in self._db.execute(
                "SELECT photo_id FROM tags WHERE tag=? AND source<>'removed'", (tag.lower(),))}
            result = ids if result is None else result & ids
        return result or set()

    def flagged(self, prefix: str) -> list[tuple[int, float]]:
        """(photo id, strongest score) of photos with a tag starting with `prefix`."""
        return self._db.execute(
            "SELECT photo_id, max(coalesce(score, 1.0)) AS s FROM tags WHERE substr(tag, 1, ?)=? "
            "AND source<>'removed' GROUP BY photo_id ORDER BY s DESC",
            (len(prefix), prefix)).fetchall()

    def removed_with_prefix(self, prefix: str) -> builtins.set[int]:
        """Photos a person took a tag starting with `prefix` off (e.g. "this is fine")."""
        return {r[0] for r in self._db.execute(
            "SELECT photo_id FROM tags WHERE substr(tag, 1, ?)=? AND source='removed'",
            (len(prefix), prefix))}
