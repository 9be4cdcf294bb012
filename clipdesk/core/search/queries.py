"""Queries: text search (names, tags and captions first, then CLIP similarity, with a
relevance cutoff) and look-alikes of any image."""
from __future__ import annotations

import threading

import numpy as np

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.photos import PathArg, Photos, absolute, decode_file
from clipdesk.core.search import ranking
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.store.vectors import VectorStore
from clipdesk.core.types import Hit


class Search:
    def __init__(self, catalog: Catalog, store: VectorStore, photos: Photos) -> None:
        self.catalog, self.store, self.photos = catalog, store, photos
        self._sample: tuple[str, int, np.ndarray] | None = None  # model, size, vectors
        self._sample_lock = threading.Lock()

    def search(self, text: str, k: int = 20, tags: list[str] | None = None) -> list[Hit]:
        """The k best photos for `text`: photos whose names, tags or caption hold every
        word of the query first, then by CLIP similarity (the score). Each hit says whether
        it is above the query's relevance threshold (see ranking.py)."""
        if not text.strip():
            raise ClipdeskError("the search text is empty")
        model_id, index = self.store.answering()
        vector = self.store.embedder(model_id).encode_text(text)
        # each photo scored by its best square (whole frame: media/crops.py)
        scores = dict(index.query_best(vector, max(k, 100)))
        terms = ranking.name_terms(text)
        named = self.catalog.words.match(ranking.fts_query(terms)) if terms else set()
        unscored = sorted(named - scores.keys())
        # (a photo added during a model switch has no vector from the answering model)
        scores.update(self.catalog.crops.best_scores(model_id, unscored, vector))
        if tags:  # only photos carrying every tag, ranked among themselves
            allowed = self.catalog.tags.photos_with(tags)
            scores = self.catalog.crops.best_scores(model_id, allowed, vector)
            named &= allowed
        # the cutoff from whole-photo scores, applied to best squares: against a cutoff
        # from best-square scores (benchmarks/README.md, bench_frame.py) it kept centred
        # subjects found as often as before (0.94, against 0.72), edge ones 0.93
        threshold = ranking.relevance_threshold(vector, self._background(model_id))
        ranked = sorted(scores.items(), key=lambda pair: (pair[0] in named, pair[1]),
                        reverse=True)[:k]
        paths = self.catalog.files.paths_for(i for i, _ in ranked)
        return [Hit(i, paths[i], score, relevant=i in named or score >= threshold)
                for i, score in ranked if i in paths]

    def _background(self, model_id: str) -> np.ndarray:
        """A random sample of the library's vectors (cached until the library grows)."""
        size = len(self.store.vector_index())
        with self._sample_lock:
            cached = self._sample
        if cached is None or cached[0] != model_id or abs(cached[1] - size) > 0.1 * cached[1]:
            cached = (model_id, size, self.catalog.embeddings.sample(model_id, ranking.SAMPLE))
            with self._sample_lock:
                self._sample = cached
        return cached[2]

    def similar(self, path: PathArg, k: int = 20) -> list[Hit]:
        """Photos that look like the image at `path`, in the library or not, each saying
        whether it is clearly more alike than the library at large (as search does)."""
        model_id, index = self.store.answering()
        photo_id = self.photos.find(path)
        vector = self.catalog.embeddings.vector(photo_id, model_id) if photo_id else None
        if vector is None:
            embedder = self.store.embedder(model_id)
            image = decode_file(absolute(path), embedder.loaded.image_size)
            vector, photo_id = embedder.encode_image(image), None
        exclude = {photo_id} if photo_id is not None else set()
        threshold = ranking.relevance_threshold(vector, self._background(model_id))
        return self.photos.hits(index.query(vector, k, exclude=exclude), threshold)
