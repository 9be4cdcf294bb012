"""Each photo's vectors, one per model that embedded it, stored as int8 codes."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import numpy as np

from clipdesk.core.store.catalog.connection import Part
from clipdesk.core.store.catalog.files import FileRecord


def pack_vector(vector: np.ndarray) -> bytes:
    """A vector as stored: int8 codes of it scaled so that its largest component is 127,
    1 byte a dimension instead of float32's 4 (at 512-d, 7 rows to a 4 KB page instead
    of 1). The scale is not stored: unpack_vectors makes every vector unit length again,
    which cancels it. A unit vector comes back within cosine 0.9999 of itself."""
    v = np.asarray(vector, dtype=np.float32).ravel()
    peak = float(np.abs(v).max(initial=0.0)) or 1.0
    return bytes(np.rint(v * (127 / peak)).astype(np.int8).tobytes())


def unpack_vectors(blobs: list[bytes]) -> np.ndarray:
    """The float32 unit vectors (one row each) of stored vectors of one model."""
    vecs = np.frombuffer(b"".join(blobs), np.int8).reshape(len(blobs), -1).astype(np.float32)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    unit: np.ndarray = vecs / np.maximum(norms, np.float32(1e-12))
    return unit


class Embeddings(Part):
    @staticmethod
    def put(db: sqlite3.Connection, photo_id: int, model: str, vector: np.ndarray) -> None:
        """Store a photo's vector, inside the caller's transaction."""
        db.execute("INSERT OR REPLACE INTO embeddings VALUES(?, ?, ?)",
                   (photo_id, model, pack_vector(vector)))

    def vectors(self, model: str, ids: list[int] | None = None, after: int = 0
                ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of the photos embedded with `model` (all, those with an id over
        `after`, or those in `ids`)."""
        if ids is None:
            rows = self._db.execute(
                "SELECT photo_id, vector FROM embeddings WHERE model=? AND photo_id>? "
                "ORDER BY photo_id", (model, after)).fetchall()
        else:
            rows = []
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                rows += self._db.execute(
                    f"SELECT photo_id, vector FROM embeddings WHERE model=? AND photo_id IN "
                    f"({','.join('?' * len(chunk))})", (model, *chunk)).fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        found = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return found, unpack_vectors([r[1] for r in rows])

    def vector(self, photo_id: int, model: str) -> np.ndarray | None:
        row = self._db.execute("SELECT vector FROM embeddings WHERE photo_id=? AND model=?",
                               (photo_id, model)).fetchone()
        return unpack_vectors([row[0]])[0] if row else None

    def sample(self, model: str, n: int, exclude: Iterable[int] = ()) -> np.ndarray:
        """Up to n vectors of random photos (leaving out `exclude`)."""
        return self.vectors(model, self.sample_ids(model, n, exclude))[1]

    def sample_ids(self, model: str, n: int, exclude: Iterable[int] = ()) -> list[int]:
        """Up to n random photos with a vector from `model` (leaving out `exclude`)."""
        skip = list(exclude)
        return [r[0] for r in self._db.execute(
            f"SELECT photo_id FROM embeddings WHERE model=? AND photo_id NOT IN "
            f"({','.join('?' * len(skip))}) ORDER BY random() LIMIT ?", (model, *skip, n))]

    def ids(self, model: str) -> set[int]:
        """The photos that have a vector from `model`."""
        return {r[0] for r in self._db.execute(
            "SELECT photo_id FROM embeddings WHERE model=?", (model,))}

    def hashes(self, model: str) -> dict[str, int]:
        """content hash -> photo id, for photos that already have a vector from `model`."""
        return dict(self._db.execute(
            "SELECT p.hash, p.id FROM photos p JOIN embeddings e ON e.photo_id=p.id "
            "WHERE e.model=?", (model,)))

    def files_missing(self, model: str) -> list[FileRecord]:
        """One indexed file for each photo that has no vector from `model` yet."""
        rows = self._db.execute(
            "SELECT f.path, f.size, f.mtime_ns, f.status, f.photo_id FROM files f "
            "WHERE f.status='indexed' AND f.photo_id NOT IN "
            "(SELECT photo_id FROM embeddings WHERE model=?) GROUP BY f.photo_id",
            (model,),
        )
        return [FileRecord(*r) for r in rows]

    def drop_other_models(self, model: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM embeddings WHERE model<>?", (model,))
