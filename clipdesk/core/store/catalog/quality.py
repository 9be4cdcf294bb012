"""Each photo's quality scores (see media/quality.py): sharpness, motion blur, clipped
highlights and crushed shadows; NULL until measured."""
from __future__ import annotations

from collections.abc import Iterable

from clipdesk.core.store.catalog.connection import Part
from clipdesk.core.types import PhotoMeta


class Quality(Part):
    def unmeasured(self) -> list[int]:
        """Photos with no quality scores yet (added before they were measured)."""
        return [r[0] for r in self._db.execute("SELECT id FROM photos WHERE sharpness IS NULL")]

    def set(self, measured: list[tuple[int, PhotoMeta]]) -> None:
        with self._transaction() as db:
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

    def sharpest_first(self) -> list[int]:
        """Every photo, sharpest first (unmeasured ones last)."""
        return [r[0] for r in self._db.execute(
            "SELECT id FROM photos ORDER BY sharpness IS NULL, sharpness DESC, id DESC")]
