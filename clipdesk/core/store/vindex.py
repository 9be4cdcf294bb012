"""The hnswlib vector index: a cache of the catalog's vectors for fast nearest-neighbour
queries. It is never trusted: a missing, corrupt, foreign or out-of-date file is rebuilt
from the catalog."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np

from clipdesk.core.store.catalog.crops import MAX_LABEL_PARTS, is_part, label, photo_of

log = logging.getLogger(__name__)

FORMAT = 1
_M = 16
_EF_CONSTRUCTION = 100


class VectorIndex:
    """Cosine nearest neighbours over unit vectors, labelled by photo id. Thread-safe.

    It also holds the vectors of photos' extra parts (media/crops.py), labelled
    catalog.crops.label(photo, part), in the same graph: a text query scores a photo by
    its best part (query_best); image queries (query, neighbours) see whole photos only
    (hnswlib's filter). `ids` and len() count photos; `labels` is everything held."""

    def __init__(self, dim: int | None = None, capacity: int = 1024) -> None:
        """`dim` may be left out until the first vectors arrive."""
        self.dim = dim
        self._capacity = max(capacity, 16)
        self._index: hnswlib.Index | None = None
        if dim is not None:
            self._create(dim)
        self._deleted: set[int] = set()
        self._live: set[int] = set()
        self._parts: set[int] = set()  # the live labels of parts
        # hnswlib fails when items are added while another thread queries
        self._lock = threading.RLock()

    def _create(self, dim: int) -> hnswlib.Index:
        self.dim = dim
        self._index = hnswlib.Index(space="cosine", dim=dim)
        self._index.init_index(max_elements=self._capacity, M=_M,
                               ef_construction=_EF_CONSTRUCTION)
        return self._index

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex:
        index = cls(capacity=int(len(ids) * 1.25) + 16)
        index.add(ids, vectors)
        return index

    def __len__(self) -> int:
        return len(self._live)

    @property
    def label_count(self) -> int:
        """Live labels: photos and their parts."""
        with self._lock:
            return len(self._live) + len(self._parts)

    @property
    def ids(self) -> set[int]:
        with self._lock:
            return set(self._live)

    @property
    def labels(self) -> set[int]:
        """Every live label: photos and their parts."""
        with self._lock:
            return self._live | self._parts

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        with self._lock:
            index = self._create(vectors.shape[1]) if self._index is None else self._index
            needed = index.get_current_count() + len(ids)
            if needed > index.get_max_elements():
                index.resize_index(max(needed, int(index.get_max_elements() * 1.5)))
            index.add_items(np.asarray(vectors, dtype=np.float32),
                            np.asarray(ids, dtype=np.int64))
            labels = [int(i) for i in ids]
            self._live.update(i for i in labels if not is_part(i))
            self._parts.update(i for i in labels if is_part(i))
            self._deleted.difference_update(labels)

    def delete(self, ids: list[int]) -> None:
        """Drop these labels; a photo's id drops its parts with it."""
        with self._lock:
            for i in ids:
                doomed = [i] if is_part(i) else [i, *(
                    label(i, p) for p in range(1, MAX_LABEL_PARTS + 1))]
                for one in doomed:
                    if (one in self._live or one in self._parts) and self._index is not None:
                        self._index.mark_deleted(one)  # live: the index exists
                        self._live.discard(one)
                        self._parts.discard(one)
                        self._deleted.add(one)

    def _whole(self) -> Any:
        """hnswlib's filter keeping whole-photo labels, when there are parts to skip."""
        return (lambda i: not is_part(i)) if self._parts else None

    def query_best(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k best photos for a text's vector, each scored by its best vector (its
        centre square or one of its extra parts): (photo id, cosine), best first, one
        hit a photo."""
        with self._lock:
            total = len(self._live) + len(self._parts)
            if not self._parts:
                return self.query(vector, k)
            # a photo may take up to 1 + its parts of the nearest labels
            n = min(total, k * 3 + 16)
            if n <= 0 or self._index is None:
                return []
            self._index.set_ef(max(128, 3 * n))
            labels, distances = self._index.knn_query(
                np.asarray(vector, dtype=np.float32).reshape(1, -1), k=n)
        best: dict[int, float] = {}
        for i, d in zip(labels[0], distances[0], strict=True):
            photo = photo_of(int(i))
            best.setdefault(photo, 1.0 - float(d))  # nearest first: the first is the best
        return sorted(best.items(), key=lambda pair: pair[1], reverse=True)[:k]

    def query(self, vector: np.ndarray, k: int, exclude: set[int] | None = None
              ) -> list[tuple[int, float]]:
        """The k nearest photos as (id, cosine similarity), best first."""
        exclude = exclude or set()
        with self._lock:
            n = min(len(self._live), k + len(exclude))
            if n <= 0 or self._index is None:
                return []
            # ef is not saved with the index; text queries need a wider search than images
            self._index.set_ef(max(128, 3 * n))
            labels, distances = self._index.knn_query(
                np.asarray(vector, dtype=np.float32).reshape(1, -1), k=n,
                filter=self._whole())
        hits = [(int(i), 1.0 - float(d)) for i, d in zip(labels[0], distances[0], strict=True)
                if int(i) not in exclude]
        return hits[:k]

    def neighbours(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest photos of many vectors at once, on all cores: (ids, cosine
        similarities), each of shape (len(vectors), k'), k' = min(k, photos)."""
        with self._lock:
            n = min(len(self._live), k)
            if n <= 0 or self._index is None or not len(vectors):
                return np.zeros((len(vectors), 0), np.int64), np.zeros((len(vectors), 0))
            self._index.set_ef(max(32, 2 * n))  # near duplicates are the easiest neighbours
            labels, distances = self._index.knn_query(
                np.asarray(vectors, dtype=np.float32), k=n, num_threads=-1,
                filter=self._whole())
        return labels.astype(np.int64), 1.0 - distances

    # -- persistence ------------------------------------------------------------------

    def save(self, path: Path, model_id: str) -> None:
        """Write to a temp file, fsync, verify, then rename over the old index."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with self._lock:
            if self._index is None:
                return  # nothing to save; an empty index is rebuilt for free
            self._index.save_index(str(tmp))
            deleted = sorted(self._deleted)
            live = len(self._live) + len(self._parts)
        _fsync(tmp)
        size = tmp.stat().st_size if tmp.exists() else 0
        if size == 0:  # hnswlib reports no error on a full disk or a bad path
            raise OSError(f"could not write the vector index to {tmp}")
        meta = {"format": FORMAT, "model": model_id, "dim": self.dim, "count": live,
                "deleted": deleted, "size": size, "digest": _digest(tmp)}
        os.replace(tmp, path)
        _write_json_atomic(_meta_path(path), meta)

    @classmethod
    def load(cls, path: Path, model_id: str) -> VectorIndex | None:
        """The saved index if the file is intact and from `model_id`; None otherwise.
        Whether it holds the right photos is the caller's to check (see Library)."""
        try:
            meta = json.loads(_meta_path(path).read_text())
            if (meta.get("format") != FORMAT or meta.get("model") != model_id
                    or path.stat().st_size != meta["size"] or _digest(path) != meta["digest"]):
                log.info("vector index %s is damaged or from another model", path)
                return None
            index = cls()
            index.dim = int(meta["dim"])
            index._index = hnswlib.Index(space="cosine", dim=index.dim)
            index._index.load_index(str(path), max_elements=0)
            index._deleted = set(meta["deleted"])
            labels = set(index._index.get_ids_list()) - index._deleted
            index._live = {i for i in labels if not is_part(i)}
            index._parts = labels - index._live
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            log.info("vector index %s unusable (%s)", path, exc)
            return None
        return index


Stamp = tuple[int, int, int] | None


def file_stamp(path: Path) -> Stamp:
    """Which saved file is at `path` (None: none): each save renames a new file into
    place, so another process's save changes it."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "blake2b").hexdigest()


def _fsync(path: Path) -> None:
    if path.exists():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
