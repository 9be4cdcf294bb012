"""Burst and near-duplicate groups (a group is named by its smallest photo id), and a
person's "not this one" in a group (the file is never touched)."""
from __future__ import annotations

import builtins  # in the class, `set` names its method: the type is builtins.set
from collections.abc import Iterable
from typing import Any

from clipdesk.core.store.catalog.connection import Part


class Groups(Part):
    def map(self) -> dict[int, int]:
        """photo -> group, for the photos in a group."""
        return dict(self._db.execute(
            "SELECT id, group_id FROM photos WHERE group_id IS NOT NULL").fetchall())

    def set(self, groups: dict[int, int]) -> None:
        """Replace every group: photo -> group, photos not in it are alone."""
        with self._transaction() as db:
            db.execute("UPDATE photos SET group_id=NULL WHERE group_id IS NOT NULL")
            db.executemany("UPDATE photos SET group_id=? WHERE id=?",
                           [(g, p) for p, g in groups.items()])

    def members(self) -> list[tuple[Any, ...]]:
        """(group, photo, path, pixels, sharpness, clipped, crushed, rejected) of every
        photo in a group that has a file."""
        return self._db.execute(
            "SELECT p.group_id, p.id, min(f.path), p.width * p.height, p.sharpness, p.clipped, "
            "p.crushed, p.rejected FROM photos p JOIN files f ON f.photo_id=p.id "
            "AND f.status='indexed' WHERE p.group_id IS NOT NULL GROUP BY p.id").fetchall()

    def set_rejected(self, photo_ids: Iterable[int], on: bool) -> None:
        with self._transaction() as db:
            db.executemany("UPDATE photos SET rejected=? WHERE id=?",
                           [(int(on), pid) for pid in photo_ids])

    def rejected(self) -> builtins.set[int]:
        """The photos a person rejected."""
        return {r[0] for r in self._db.execute("SELECT id FROM photos WHERE rejected=1")}
