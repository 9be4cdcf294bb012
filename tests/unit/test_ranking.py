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
    assert ranking.relevance_threshold(unit_vector(b"q"), sample) == -1.0


def test_the_threshold_keeps_the_clear_matches_and_cuts_the_rest():
    query = unit_vector(b"query")
    unrelated = np.stack([unit_vector(f"other {i}".encode()) for i in range(500)])
    threshold = ranking.relevance_threshold(query, unrelated)
    near = query + 0.3 * unit_vector(b"noise")
    near /= np.linalg.norm(near)
    assert float(near @ query) > threshold  # a true match stands out
    assert (unrelated @ query > threshold).mean() < 0.1  # most of the library does not


def test_an_excluded_word_never_leaves_out_a_whole_small_library():
    exclusion_threshold, relevance_threshold = (ranking.exclusion_threshold,
                                                ranking.relevance_threshold)
    query = np.array([1.0, 0.0])
    few = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    assert exclusion_threshold(query, few) == pytest.approx(0.5)  # the two alike are out
    assert relevance_threshold(query, few) == -1.0  # (which would have dropped all four)
    assert exclusion_threshold(query, few[:1]) == float("inf")
    many = np.vstack([few] * 3)
    assert exclusion_threshold(query, many) == relevance_threshold(query, many)
