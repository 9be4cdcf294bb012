"""Queries: text search (names, tags and captions first, then CLIP similarity, with a
relevance cutoff) and look-alikes of any image."""
from __future__ import annotations

import threading
import time
from datetime import date

import numpy as np

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.media.quality import BLURRY
from clipdesk.core.photos import PathArg, Photos, absolute, decode_file
from clipdesk.core.search import ranking
from clipdesk.core.search.query_language import Query, parse
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.store.vectors import VectorStore
from clipdesk.core.types import Hit, Sort

PLACES_TTL = 10.0  # seconds a read of the library's place names is reused


class Search:
    def __init__(self, catalog: Catalog, store: VectorStore, photos: Photos) -> None:
        self.catalog, self.store, self.photos = catalog, store, photos
        self._sample: tuple[str, int, ranking.Sample] | None = None  # model, size, sample
        self._sample_lock = threading.Lock()
        self._places: tuple[float, set[str]] | None = None  # (when read, names)
        self._people: tuple[float, set[str]] | None = None  # (when read, names)

    def understand(self, text: str, today: date | None = None) -> Query:
        """How the search box's text reads (query_language.py), with this library's
        place names and people's names."""
        return parse(text, self._place_names(), today, self._people_names())

    def _people_names(self) -> set[str]:
        """The names given to people, read again at most every PLACES_TTL seconds (and at
        once after a person names someone: forget_names())."""
        now = time.monotonic()
        with self._sample_lock:
            cached = self._people
        if cached is None or now - cached[0] > PLACES_TTL:
            cached = (now, self.catalog.faces.names())
            with self._sample_lock:
                self._people = cached
        return cached[1]

    def forget_names(self) -> None:
        with self._sample_lock:
            self._people = None

    def _place_names(self) -> set[str]:
        """The library's place names, read again at most every PLACES_TTL seconds: the
        app asks at each pause in typing, and the read scans the photos (0.5 s at 100k)."""
        now = time.monotonic()
        with self._sample_lock:
            cached = self._places
        if cached is None or now - cached[0] > PLACES_TTL:
            cached = (now, self.catalog.places.names())
            with self._sample_lock:
                self._places = cached
        return cached[1]

    def search(self, text: str, k: int = 20, tags: list[str] | None = None,
               sort: str = Sort.DATE, today: date | None = None) -> list[Hit]:
        """The k best photos for `text` in the search language: its filters (dates,
        places, people, #tags, blurry) make the allowed set, its words rank inside it (photos
        whose names, tags or caption hold every word first, then CLIP similarity, the
        score); its exclusions drop photos. Each hit says whether it is above the query's
        relevance threshold (ranking.py). A query of only filters lists the photos
        matching them newest first. `sort` Sort.NEWEST: the same hits, newest first."""
        query = self.understand(text, today)
        if not (query.text or query.has_filters or query.excluded or tags):
            raise ClipdeskError("the search text is empty")
        allowed = self._allowed(query, tags) if query.has_filters or tags else None
        if query.text:
            hits = self._ranked(query, k, allowed)
        else:
            ids = self._first_k_without(
                query, allowed if allowed is not None else self.catalog.photos.newest_first(), k)
            paths = self.catalog.files.paths_for(ids)
            hits = [Hit(i, paths[i], 0.0, relevant=True) for i in ids if i in paths]
        if Sort(sort) is Sort.NEWEST:
            order = {i: n for n, i in enumerate(self.catalog.photos.newest_first())}
            hits.sort(key=lambda h: order.get(h.photo_id, len(order)))
        return hits

    def _allowed(self, query: Query, tags: list[str] | None) -> list[int]:
        d = query.dates
        return self.catalog.filters.matching(
            d.start if d else None, d.end if d else None, d.months if d else (),
            query.places, [*query.tags, *(tags or [])],
            blurry_below=BLURRY if query.blurry else None,
            sharp_from=BLURRY if query.blurry is False else None, people=query.people)

    def _ranked(self, query: Query, k: int, allowed: list[int] | None) -> list[Hit]:
        model_id, index = self.store.answering()
        vector = self.store.embedder(model_id).encode_text(query.text)
        terms = ranking.name_terms(query.text)
        named = self.catalog.words.match(ranking.fts_query(terms)) if terms else set()
        if allowed is None:
            # each photo scored by its best part (whole frame: media/crops.py)
            scores = dict(index.query_best(vector, max(k, 100)))
            # (a photo added during a model switch has no vector from the answering model)
            scores.update(self._scores(model_id, vector, sorted(named - scores.keys())))
        else:  # only the allowed photos, ranked among themselves
            scores = self._scores(model_id, vector, allowed)
            named &= set(allowed)
        keep = set(self._without(query, list(scores)))
        # the cutoff from the sample's best-part scores, as these are scored: from its
        # whole-photo scores it let 8% of the test library's wrong photos through with
        # end strips (benchmarks/README.md, bench_frame.py), 4.8% this way
        threshold = ranking.relevance_threshold(
            self._background(model_id).best_scores(vector))
        ranked = sorted(((i, s) for i, s in scores.items() if i in keep),
                        key=lambda pair: (pair[0] in named, pair[1]), reverse=True)[:k]
        paths = self.catalog.files.paths_for(i for i, _ in ranked)
        # a video: when its best keyframe comes (media/video.py)
        moments = self.catalog.crops.moments(model_id, (i for i, _ in ranked), vector)
        return [Hit(i, paths[i], score, relevant=i in named or score >= threshold,
                    at=moments.get(i))
                for i, score in ranked if i in paths]

    def _scores(self, model_id: str, vector: np.ndarray, ids: list[int]) -> dict[int, float]:
        """How well each photo matches the text vector: the CLIP similarity of its best
        part (the whole frame: media/crops.py), the one place a photo is scored."""
        return self.catalog.crops.best_scores(model_id, ids, vector)

    def _first_k_without(self, query: Query, ids: list[int], k: int) -> list[int]:
        """The first k of `ids` that no excluded word matches, scoring a chunk at a time
        (a 100k-photo library is not scored whole for "-snow" alone)."""
        kept: list[int] = []
        for start in range(0, len(ids), max(4 * k, 1000)):
            kept += self._without(query, ids[start:start + max(4 * k, 1000)])
            if len(kept) >= k:
                break
        return kept[:k]

    def _without(self, query: Query, ids: list[int]) -> list[int]:
        """`ids` less the photos an excluded word matches: by their names, tags or
        caption, or by a CLIP score for the word clearly above the library at large
        (the relevance threshold)."""
        if not query.excluded or not ids:
            return ids
        model_id, _ = self.store.answering()
        embedder = self.store.embedder(model_id)
        dropped: set[int] = set()
        for word in query.excluded:
            terms = ranking.name_terms(word)
            if terms:
                dropped |= self.catalog.words.match(ranking.fts_query(terms))
            vector = embedder.encode_text(word)
            threshold = ranking.exclusion_threshold(
                self._background(model_id).best_scores(vector))
            dropped |= {i for i, s in self._scores(model_id, vector, ids).items()
                        if s >= threshold}
        return [i for i in ids if i not in dropped]

    def _background(self, model_id: str) -> ranking.Sample:
        """A random sample of the library's photos, with their parts (cached until the
        library's photos and parts grow or shrink by a tenth: an older library's parts are
        made after it opens, and a sample without them sets the cutoff too low)."""
        size = self.store.vector_index().label_count
        with self._sample_lock:
            cached = self._sample
        if cached is None or cached[0] != model_id or abs(cached[1] - size) > 0.1 * cached[1]:
            ids = self.catalog.embeddings.sample_ids(model_id, ranking.SAMPLE)
            cached = (model_id, size, ranking.Sample.of(
                *self.catalog.embeddings.vectors(model_id, ids),
                *self.catalog.crops.of_photos(model_id, ids)))
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
        threshold = ranking.relevance_threshold(self._background(model_id).scores(vector))
        return self.photos.hits(index.query(vector, k, exclude=exclude), threshold)
