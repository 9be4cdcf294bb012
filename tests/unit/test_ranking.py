"""ranking: which words of a query count, and where relevance stops."""
from __future__ import annotations

import numpy as np
import pytest

from clipdesk.core.search import ranking
from tests.unit.fakes import unit_vector


def test_query_words_drop_filler_and_case():
    assert ranking.name_terms("A photo of the Kids at the BEACH") == ["kids", "beach"]
    assert ranking.name_terms("photos of a") == []


def test_every_term_is_required_as_a_prefix():
    assert ranking.fts_query(["beach", "kid"]) == '"beach"* AND "kid"*'


def test_too_small_a_library_keeps_every_result():
    sample = np.stack([unit_vector(bytes([i])) for i in range(7)])
    assert ranking.relevance_threshold(sample @ unit_vector(b"q")) == -1.0


def test_the_threshold_keeps_the_clear_matches_and_cuts_the_rest():
    query = unit_vector(b"query")
    unrelated = np.stack([unit_vector(f"other {i}".encode()) for i in range(500)])
    threshold = ranking.relevance_threshold(unrelated @ query)
    near = query + 0.3 * unit_vector(b"noise")
    near /= np.linalg.norm(near)
    assert float(near @ query) > threshold  # a true match stands out
    assert (unrelated @ query > threshold).mean() < 0.1  # most of the library does not


def test_an_excluded_word_never_leaves_out_a_whole_small_library():
    exclusion_threshold, relevance_threshold = (ranking.exclusion_threshold,
                                                ranking.relevance_threshold)
    query = np.array([1.0, 0.0])
    few = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    assert exclusion_threshold(few @ query) == pytest.approx(0.5)  # the two alike are out
    assert relevance_threshold(few @ query) == -1.0  # (which would have dropped all four)
    assert exclusion_threshold(few[:1] @ query) == float("inf")
    many = np.vstack([few] * 3) @ query
    assert exclusion_threshold(many) == relevance_threshold(many)


def test_the_cutoff_measures_words_on_best_parts_and_images_on_whole_photos():
    # three sampled photos (ids 7, 8, 9) and the parts of 7, 8 and of an unsampled 42
    query = np.array([1.0, 0.0])
    photos = np.array([[0.0, 1.0], [0.6, 0.8], [0.0, 1.0]])
    parts = np.array([[1.0, 0.0], [0.8, 0.6], [1.0, 0.0]])
    sample = ranking.Sample.of(np.array([7, 8, 9]), photos, np.array([7, 8, 42]), parts)
    assert len(sample) == 3
    # a text scores a photo by its best part (as search does), an image by the whole photo
    assert sample.best_scores(query).tolist() == pytest.approx([1.0, 0.8, 0.0])
    assert sample.scores(query).tolist() == pytest.approx([0.0, 0.6, 0.0])
