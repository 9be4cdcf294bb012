"""Ranking that knows when to stop: photos whose file or folder names, tags or caption
hold every word of the query first, then CLIP similarity; cut where a result is no longer
clearly more similar to the query than the library at large."""
from __future__ import annotations

import re

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


def relevance_threshold(query: np.ndarray, sample: np.ndarray) -> float:
    """The score above which a photo is clearly more similar to the query than the
    library in general is: mean + Z_RELEVANT standard deviations over a random sample."""
    if len(sample) < 8:
        return -1.0  # too few photos to tell: everything counts
    scores = sample @ query
    return float(scores.mean() + Z_RELEVANT * scores.std())


def best_threshold(query: np.ndarray, sample: tuple[np.ndarray, np.ndarray]) -> float:
    """relevance_threshold for a text query that scores each photo by its best square
    (catalog.crops.sample: vectors and the photo each belongs to): the cutoff is taken
    over the sample photos' best scores, as the results are, or a best-of-squares score
    would clear a cutoff made from centre squares more easily than it should."""
    vectors, owners = sample
    if len(vectors) == 0:
        return -1.0
    best = np.full(int(owners.max()) + 1, -np.inf, np.float32)
    np.maximum.at(best, owners, vectors @ query)
    if len(best) < 8:
        return -1.0
    return float(best.mean() + Z_RELEVANT * best.std())
