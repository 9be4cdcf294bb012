"""Burst and near-duplicate groups (a group is named by its smallest photo id), and a
person's "not this one" in a group (the file is never touched)."""
from __future__ import annotations

import builtins  # in the class, `set` names its method: the type is builtins.set
from collections.abc import Iterable
from typing import Any

from clipdesk.core.store.catalog.connection import Part

# a photo's capture time when its camera gave it (not a file's modification time)
_CAMERA_TIME = "CASE WHEN p.taken_from IS NOT 'file' THEN p.taken_at END"
# (photo, path, camera time) of the indexed files of photos in one format (a parameter)
_FILES = ("SELECT f.photo_id, f.path, " + _CAMERA_TIME + " FROM files f JOIN photos p "
          "ON p.id=f.photo_id WHERE f.status='indexed' AND p.format=?")


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

    def twin_candidates(self, photo_ids: Iterable[int] | None = None
                        ) -> list[tuple[int, int, str | None, str | None]]:
        """(camera raw, JPEG, raw's camera time, JPEG's camera time) for each indexed RAW
        file and each indexed JPEG of the same name but the extension in its folder
        (IMG_1.NEF and IMG_1.JPG), a time None where the camera gave none; only the pairs
        with a photo among `photo_ids` when given (all RAWs are looked at otherwise)."""
        if photo_ids is None:
            raws = self._db.execute(_FILES, ("RAW",)).fetchall()
        else:  # the RAWs among them, and the RAWs beside the JPEGs among them
            ids, raws = list(photo_ids), []
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                raws += self._db.execute(_FILES + f" AND f.photo_id IN ({marks})",
                                         ("RAW", *chunk)).fetchall()
                for _, path, _ in self._db.execute(_FILES + f" AND f.photo_id IN ({marks})",
                                                   ("JPEG", *chunk)).fetchall():
                    raws += self._same_name(path, "RAW")
        pairs = {(raw_id, jpeg_id, raw_taken, taken) for raw_id, path, raw_taken in raws
                 for jpeg_id, _, taken in self._same_name(path, "JPEG")}
        return sorted(pairs, key=lambda pair: pair[:2])

    def _same_name(self, path: bytes, fmt: str) -> list[tuple[Any, ...]]:
        """The indexed files in `fmt` beside `path`, named as it but the extension."""
        stem = bytes(path).rpartition(b".")[0] + b"."
        rows = self._db.execute(_FILES + " AND f.path > ? AND f.path < ?",
                                (fmt, stem, stem + b"\xff")).fetchall()
        return [r for r in rows if b"." not in bytes(r[1])[len(stem):]
                and b"/" not in bytes(r[1])[len(stem):]]

    def set_rejected(self, photo_ids: Iterable[int], on: bool) -> None:
        with self._transaction() as db:
            db.executemany("UPDATE photos SET rejected=? WHERE id=?",
                           [(int(on), pid) for pid in photo_ids])

    def rejected(self) -> builtins.set[int]:
        """The photos a person rejected."""
        return {r[0] for r in self._db.execute("SELECT id FROM photos WHERE rejected=1")}
