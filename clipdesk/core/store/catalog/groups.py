"""Burst and near-duplicate groups (a group is named by its smallest photo id), and a
person's "not this one" in a group (the file is never touched)."""
from __future__ import annotations

import builtins  # in the class, `set` names its method: the type is builtins.set
from collections.abc import Iterable
from typing import Any

from clipdesk.core.store.catalog.connection import Part

# a photo's capture time when its camera gave it (not a file's modification time)
_CAMERA_TIME = "CASE WHEN p.taken_from IS NOT 'file' THEN p.taken_at END"


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
        """(group, photo, path, pixels, sharpness, clipped, crushed, rejected, is a camera
        raw) of every photo in a group that has a file."""
        return self._db.execute(
            "SELECT p.group_id, p.id, min(f.path), p.width * p.height, p.sharpness, p.clipped, "
            "p.crushed, p.rejected, p.format IS 'RAW' FROM photos p JOIN files f "
            "ON f.photo_id=p.id AND f.status='indexed' WHERE p.group_id IS NOT NULL "
            "GROUP BY p.id").fetchall()

    def twin_candidates(self) -> list[tuple[int, int, str | None, str | None]]:
        """(camera raw, JPEG, raw's camera time, JPEG's camera time) for each indexed RAW
        file and each indexed JPEG of the same name but the extension in its folder
        (IMG_1.NEF and IMG_1.JPG); a time is None where the camera gave none."""
        out = []
        for raw_id, path, raw_taken in self._db.execute(
                "SELECT f.photo_id, f.path, " + _CAMERA_TIME + " FROM files f JOIN photos p "
                "ON p.id=f.photo_id WHERE f.status='indexed' AND p.format='RAW'").fetchall():
            stem = bytes(path).rpartition(b".")[0] + b"."
            for jpeg_id, twin, taken in self._db.execute(
                    "SELECT f.photo_id, f.path, " + _CAMERA_TIME + " FROM files f JOIN photos p "
                    "ON p.id=f.photo_id WHERE f.path > ? AND f.path < ? "
                    "AND f.status='indexed' AND p.format='JPEG'", (stem, stem + b"\xff")):
                if b"." not in bytes(twin)[len(stem):] and b"/" not in bytes(twin)[len(stem):]:
                    out.append((raw_id, jpeg_id, raw_taken, taken))
        return out

    def set_rejected(self, photo_ids: Iterable[int], on: bool) -> None:
        with self._transaction() as db:
            db.executemany("UPDATE photos SET rejected=? WHERE id=?",
                           [(int(on), pid) for pid in photo_ids])

    def rejected(self) -> builtins.set[int]:
        """The photos a person rejected."""
        return {r[0] for r in self._db.execute("SELECT id FROM photos WHERE rejected=1")}
