"""tagging: the vocabulary file, and which tags a photo really shows."""
from __future__ import annotations

import numpy as np

from clipdesk.core.organize import tagging
from tests.unit.fakes import FakeEmbedder, unit_vector

VOCABULARY = """
# animals
Dog: a photo of a dog | a puppy
cat
beach: a beach | sand and sea   # holidays
"""


def test_one_tag_a_line_with_prompts_or_a_default_one():
    tags = {t.name: t.prompts for t in tagging.parse_vocabulary(VOCABULARY)}
    assert tags == {"dog": ("a photo of a dog", "a puppy"), "cat": ("a photo of cat",),
                    "beach": ("a beach", "sand and sea")}


def test_renaming_a_tag_keeps_its_prompts_and_the_other_lines():
    edited = tagging.edit_vocabulary(VOCABULARY, "dog", "puppy")
    assert "puppy: a photo of a dog | a puppy" in edited
    assert "# animals" in edited and "# holidays" in edited
    removed = tagging.parse_vocabulary(tagging.edit_vocabulary(VOCABULARY, "Cat", None))
    assert [t.name for t in removed] == ["dog", "beach"]


def test_a_tag_vector_is_the_mean_of_its_prompts():
    embedder = FakeEmbedder()
    [tag] = tagging.parse_vocabulary("dog: a dog | a puppy")
    [vector] = tagging.tag_vectors([tag], embedder.encode_texts)
    assert embedder.texts_encoded == ["a dog", "a puppy"]
    assert np.isclose(np.linalg.norm(vector), 1.0, atol=1e-5)
    assert vector @ embedder.encode_text("a dog") > 0.5
    assert vector @ embedder.encode_text("a puppy") > 0.5


def library(shown: dict[str, int], dim: int = 64, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Photo vectors: `n` photos of each concept, plus noise; and each photo's concept."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for concept, n in shown.items():
        for _ in range(n):
            v = unit_vector(concept.encode(), dim) + 0.6 * rng.standard_normal(dim) / np.sqrt(dim)
            rows.append(v / np.linalg.norm(v))
            truth.append(concept)
    return np.stack(rows).astype(np.float32), truth


def test_photos_get_the_tags_they_show_and_an_absent_concept_goes_nowhere():
    photos, truth = library({"dog": 20, "beach": 30, "street": 50})
    names = ["dog", "beach", "street", "snow"]  # no photo shows snow
    tag_vecs = np.stack([unit_vector(n.encode()) for n in names])
    sims = tagging.similarities(photos, tag_vecs)
    chosen = tagging.assign(sims, tagging.cuts(sims), logit_scale=100.0)
    got = [{names[t] for t, _ in row} for row in chosen]
    assert all(("dog" in g) == (c == "dog") for g, c in zip(got, truth, strict=True))
    assert all(("beach" in g) == (c == "beach") for g, c in zip(got, truth, strict=True))
    assert not any("snow" in g for g in got)


def test_no_photos_or_no_tags_assign_nothing():
    for photos, tag_vecs, nothing in ((np.zeros((0, 4)), np.ones((2, 4)), []),
                                      (np.ones((2, 4)), np.zeros((0, 4)), [[], []])):
        sims = tagging.similarities(photos, tag_vecs)
        assert tagging.assign(sims, tagging.cuts(sims), 100.0) == nothing
