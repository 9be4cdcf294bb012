"""Ranking that knows when to stop: photos whose file or folder names, tags or caption
hold every word of the query first, then CLIP similarity; cut where a result is no longer
clearly more similar to the query than the library at large."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# A result must beat this many standard deviations above the query's mean similarity to
# the library (measured on a random sample of it) to count as relevant. 1.5 was chosen on
# the test library (benchmarks/README.md); 2.0 hid 70% of the right answers there.
# The same rule holds for an image query (drop, Find similar): on 54 synthetic photos (3 of
# each colour and shape) 1.5 showed 2.9 photos per query and found every true look-alike;
# 2.0 found 15% of them.
Z_RELEVANT = 1.5
SAMPLE = 2000

_STOPWORDS = frozenset({
    "a", "an", "the", "of", "on", "in", "at", "with", "and", "or", "to", "from", "by",
    "for", "my", "our", "your", "his", "her", "their", "this", "that", "these", "those",
    "is", "are", "was", "were", "be", "photo", "photos", "picture", "pictures", "image",
    "images", "pic", "pics", "shot", "shots", "some"})
_WORD = re.compile(r"\w+", re.UNICODE)


def name_terms(text: str) -> list[str]:
    """The words of a query worth matching against a photo's words (FTS5 tokens, no
    stopwords)."""
    return [w for w in (m.group(0).lower() for m in _WORD.finditer(text))
            if w not in _STOPWORDS]


def fts_query(terms: list[str]) -> str:
    """An FTS5 query requiring every term, each as a prefix ("beach" finds "beaches")."""
    return " AND ".join(f'"{t}"*' for t in terms)


@dataclass(frozen=True)
class Sample:
    """A random sample of the library, the yardstick of the relevance cutoff: its photos'
    whole-photo vectors, and the vectors of their parts (media/crops.py, a video's
    keyframes) with the row of the photo each belongs to."""
    photos: np.ndarray  # (n, d)
    parts: np.ndarray  # (m, d)
    owners: np.ndarray  # (m,) rows of `photos`

    @classmethod
    def of(cls, ids: np.ndarray, photos: np.ndarray, part_ids: np.ndarray,
           parts: np.ndarray) -> Sample:
        """From the sampled photos' (ids, vectors) and their parts' (photo ids, vectors)."""
        row = {int(i): n for n, i in enumerate(ids)}
        keep = np.fromiter((int(i) in row for i in part_ids), dtype=bool, count=len(part_ids))
        owners = np.fromiter((row[int(i)] for i in part_ids[keep]), dtype=np.int64)
        return cls(photos, parts[keep], owners)

    def __len__(self) -> int:
        return len(self.photos)

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Each sampled photo's score for an image's vector (look-alikes are whole photos)."""
        return self.photos @ query if len(self.photos) else np.zeros(0)

    def best_scores(self, query: np.ndarray) -> np.ndarray:
        """Each sampled photo's score for a text's vector as search gives it: its best
        part's. The cutoff is measured on the scores it cuts: a photo's best of three
        scores runs higher than its one, more so for a photo of many parts."""
        scores = self.scores(query)
        if len(self.owners):
            np.maximum.at(scores, self.owners, self.parts @ query)
        return scores


def relevance_threshold(scores: np.ndarray) -> float:
    """The score above which a photo is clearly more similar to the query than the
    library in general is: mean + Z_RELEVANT standard deviations of a random sample's
    `scores` for the query."""
    if len(scores) < 8:
        return -1.0  # too few photos to tell: everything counts
    return float(scores.mean() + Z_RELEVANT * scores.std())


def exclusion_threshold(scores: np.ndarray) -> float:
    """The score above which a photo counts as showing an excluded word ("-snow"): the
    relevance threshold; in a library too small to measure one, above its mean (never
    "everything", which would leave out every photo)."""
    if len(scores) >= 8:
        return relevance_threshold(scores)
    if len(scores) < 2:
        return float("inf")
    return float(scores.mean())
