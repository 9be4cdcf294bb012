"""The vectors of each photo's extra parts (media/crops.py), one per part and model,
stored as int8 codes like the whole-photo vectors in embeddings.

In the vector index a square is labelled `label(photo_id, part)`: the part in the bits
above PART_SHIFT, the photo id below (ids stay far below 2**40), so a square's label never
equals a photo id and `photo_of` reads its photo back without a lookup."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import numpy as np

from clipdesk.core.store.catalog.connection import Part
from clipdesk.core.store.catalog.embeddings import pack_vector, unpack_vectors
from clipdesk.core.store.catalog.files import FileRecord

PART_SHIFT = 40
MAX_LABEL_PARTS = 8  # parts are numbered 1..this (media/crops.py places at most 5)
_PHOTO_MASK = (1 << PART_SHIFT) - 1


def label(photo_id: int, part: int) -> int:
    """A square's label in the vector index (part >= 1; a photo's own label is its id)."""
    return (part << PART_SHIFT) | photo_id


def photo_of(label_: int) -> int:
    """The photo a label belongs to (a photo's own label or one of its parts')."""
    return label_ & _PHOTO_MASK


def is_part(label_: int) -> bool:
    return label_ > _PHOTO_MASK


class Crops(Part):
    @staticmethod
    def put(db: sqlite3.Connection, photo_id: int, model: str, part: int,
            vector: np.ndarray, at: float | None = None) -> None:
        """Store one square's vector (or a video keyframe's, `at` seconds in), inside the
        caller's transaction."""
        db.execute("INSERT OR REPLACE INTO crops(photo_id, model, part, vector, at) "
                   "VALUES(?, ?, ?, ?, ?)", (photo_id, model, part, pack_vector(vector), at))

    def moments(self, model: str, ids: Iterable[int], query: np.ndarray
                ) -> dict[int, float]:
        """For each of those photos that is a video, the time (seconds) of its keyframe
        that best matches `query` (a text's vector)."""
        wanted = sorted(set(ids))
        best: dict[int, tuple[float, float]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            for photo_id, at, blob in self._db.execute(
                    f"SELECT photo_id, at, vector FROM crops WHERE model=? AND at IS NOT NULL "
                    f"AND photo_id IN ({','.join('?' * len(chunk))})", (model, *chunk)):
                score = float(unpack_vectors([blob])[0] @ query)
                if photo_id not in best or score > best[photo_id][0]:
                    best[photo_id] = (score, float(at))
        return {photo_id: at for photo_id, (_, at) in best.items()}

    def labels(self, model: str) -> set[int]:
        """The index labels of every square embedded with `model`."""
        return {label(p, part) for p, part in self._db.execute(
            "SELECT photo_id, part FROM crops WHERE model=?", (model,))}

    def vectors(self, model: str, labels: Iterable[int] | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """(labels, vectors) of the parts embedded with `model` (all, or those labelled
        `labels`)."""
        if labels is None:
            rows = self._db.execute(
                "SELECT photo_id, part, vector FROM crops WHERE model=? "
                "ORDER BY photo_id, part", (model,)).fetchall()
        else:
            wanted = sorted(labels)
            by_photo: dict[int, set[int]] = {}
            for lab in wanted:
                by_photo.setdefault(photo_of(lab), set()).add(lab >> PART_SHIFT)
            rows = [r for r in self._of_photos(model, sorted(by_photo))
                    if r[1] in by_photo[r[0]]]
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        found = np.fromiter((label(r[0], r[1]) for r in rows), dtype=np.int64,
                            count=len(rows))
        return found, unpack_vectors([r[2] for r in rows])

    def of_photos(self, model: str, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(photo ids, vectors) of every part of these photos embedded with `model`."""
        rows = self._of_photos(model, sorted(set(ids)))
        owners = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return owners, unpack_vectors([r[2] for r in rows]) if rows else np.zeros((0, 0))

    def _of_photos(self, model: str, ids: list[int]) -> list[tuple[int, int, bytes]]:
        rows: list[tuple[int, int, bytes]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows += self._db.execute(
                f"SELECT photo_id, part, vector FROM crops WHERE model=? AND photo_id IN "
                f"({','.join('?' * len(chunk))})", (model, *chunk)).fetchall()
        return rows

    def best_scores(self, model: str, ids: Iterable[int], query: np.ndarray
                    ) -> dict[int, float]:
        """Each photo's score for `query` (a text's vector): the best cosine over its
        whole-photo vector and its parts. Photos with no vector from `model` are left
        out."""
        wanted = sorted(set(ids))
        best: dict[int, float] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows = self._db.execute(
                f"SELECT photo_id, vector FROM embeddings WHERE model=? AND photo_id IN "
                f"({','.join('?' * len(chunk))})", (model, *chunk)).fetchall()
            if rows:
                scores = unpack_vectors([r[1] for r in rows]) @ query
                best.update(zip((r[0] for r in rows), scores.tolist(), strict=True))
        for photo_id, _, blob in self._of_photos(model, sorted(best)):
            score = float(unpack_vectors([blob])[0] @ query)
            if score > best[photo_id]:
                best[photo_id] = score
        return best

    def missing(self, model: str, min_ratio: float) -> list[FileRecord]:
        """One indexed file for each photo embedded with `model` whose shape calls for
        squares (long side >= min_ratio x short side) and that has none from `model`:
        photos indexed before parts existed (back-filled by the index run)."""
        rows = self._db.execute(
            "SELECT f.path, f.size, f.mtime_ns, f.status, f.photo_id FROM files f "
            "JOIN photos p ON p.id=f.photo_id "
            "JOIN embeddings e ON e.photo_id=p.id AND e.model=? "
            "WHERE f.status='indexed' AND f.retry=0 AND p.width>0 AND p.height>0 "
            "AND p.duration IS NULL "
            "AND max(p.width, p.height) >= ? * min(p.width, p.height) "
            "AND NOT EXISTS (SELECT 1 FROM crops c WHERE c.photo_id=p.id AND c.model=?) "
            "GROUP BY f.photo_id ORDER BY f.photo_id", (model, min_ratio, model))
        return [FileRecord(*r) for r in rows]

    def drop_other_models(self, model: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM crops WHERE model<>?", (model,))
