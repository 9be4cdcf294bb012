"""Back-filling the whole frame (media/crops.py) of photos indexed before it existed: each
non-square photo embedded with the answering model but holding no squares from it is
decoded once more (on the decode pool, as indexing does) and its extra parts embedded,
stored and added to the index. Run by the index run after new photos; cancellable (a
closed generator stops after the batch in flight: what was written stays)."""
from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Generator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from clipdesk.core.indexing import cpu
from clipdesk.core.media import crops, imaging
from clipdesk.core.store.catalog import Catalog, FileRecord
from clipdesk.core.store.catalog.crops import label
from clipdesk.core.store.vectors import VectorStore
from clipdesk.core.types import Phase, Progress

if TYPE_CHECKING:
    from clipdesk.core.models.embedder import Embedder

log = logging.getLogger(__name__)

MESSAGE = "Looking at the whole frame of photos indexed before…"
Squares = tuple[int, list[tuple[int, Any]]]  # a photo, and (part, model input) of its parts


def missing(catalog: Catalog, model: str) -> list[FileRecord]:
    """One file of each photo that should have squares from `model` and has none."""
    return catalog.crops.missing(model, crops.MIN_RATIO)


def squares_of(record: FileRecord, embedder: Embedder, side: int) -> Squares | None:
    """The model inputs of one photo's squares, or None when its file cannot serve (gone,
    changed since it was indexed, unreadable: the next run looks again)."""
    try:
        data, st = imaging.read_photo(record.path)
        if (st.st_size, st.st_mtime_ns) != (record.size, record.mtime_ns):
            return None
        decoded = imaging.decode(data, side, record.path)
        assert record.photo_id is not None
        return record.photo_id, embedder.prepare_parts(decoded.image)
    except Exception as exc:  # one photo's failure never stops the run
        log.info("whole frame of %r not back-filled: %r", record.path, exc)
        return None


def backfill(catalog: Catalog, store: VectorStore, embedder: Embedder,
             records: list[FileRecord]) -> Generator[Progress, None, int]:
    """Decode on a thread pool, overlapped with embedding on this thread; returns how
    many photos got their parts."""
    total = len(records)
    framed = 0
    if not total:
        return framed
    side = max(embedder.loaded.image_size, imaging.THUMBNAIL_SIZE)
    pending = iter(records)
    in_flight: deque[Future[Squares | None]] = deque()
    batch: list[Squares] = []
    started, done = time.monotonic(), 0
    workers = cpu.decode_workers(embedder.loaded.device == "cuda")
    with ThreadPoolExecutor(workers, thread_name_prefix="clipdesk-frame") as pool:
        try:
            yield Progress(Phase.INDEX, done=0, total=total, message=MESSAGE)
            while True:
                while len(in_flight) < embedder.batch_size * 2:
                    record = next(pending, None)
                    if record is None:
                        break
                    in_flight.append(pool.submit(squares_of, record, embedder, side))
                if not in_flight:
                    break
                result = in_flight.popleft().result()
                done += 1
                if result is not None and result[1]:
                    batch.append(result)
                    framed += 1
                if len(batch) >= embedder.batch_size or not in_flight:
                    _write(catalog, store, embedder, batch)
                    batch.clear()
                    rate = done / max(time.monotonic() - started, 1e-6)
                    yield Progress(Phase.INDEX, done=done, total=total, rate=rate,
                                   eta=(total - done) / rate, message=MESSAGE)
        finally:
            for future in in_flight:
                future.cancel()
    return framed


def _write(catalog: Catalog, store: VectorStore, embedder: Embedder,
           batch: list[Squares]) -> None:
    """One model call and one transaction for a batch of photos' squares."""
    if not batch:
        return
    inputs = [x for _, parts in batch for _, x in parts]
    vectors = iter(embedder.encode_images(inputs))
    labels: list[int] = []
    kept: list[np.ndarray] = []
    model = embedder.model_id
    with catalog.transaction() as db:
        # a photo removed meanwhile gets none
        live = set(catalog.embeddings.vectors(model, [p for p, _ in batch])[0].tolist())
        for photo_id, parts in batch:
            for part, _ in parts:
                vector = next(vectors)
                if photo_id in live:
                    catalog.crops.put(db, photo_id, model, part, vector)
                    labels.append(label(photo_id, part))
                    kept.append(vector)
    if labels:
        store.add(np.array(labels), np.array(kept))
