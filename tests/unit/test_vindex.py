"""vindex: nearest neighbours by photo id, and a saved index that is never trusted."""
from __future__ import annotations

import numpy as np

from clipdesk.core.store.vindex import VectorIndex
from tests.unit.fakes import FakeEmbedder, unit_vector


def vectors(n: int) -> np.ndarray:
    return np.stack([unit_vector(f"photo {i}".encode()) for i in range(n)])


def test_text_finds_the_photo_that_shows_it():
    embedder = FakeEmbedder()
    captions = [f"a {c} {s}" for c in ("red", "blue", "green") for s in ("dog", "cat", "car")]
    index = VectorIndex.build(np.arange(100, 109), embedder.encode_texts(captions))
    [(best, score)] = index.query(embedder.encode_text("a blue cat"), 1)
    assert best == 100 + captions.index("a blue cat") and score > 0.99


def test_deleted_and_excluded_photos_are_never_answers():
    vecs = vectors(40)
    index = VectorIndex.build(np.arange(40), vecs)
    index.delete([7])
    assert 7 not in [i for i, _ in index.query(vecs[7], 5)]
    assert 8 not in [i for i, _ in index.query(vecs[8], 5, exclude={8})]
    assert len(index) == 39 and 7 not in index.ids


def test_neighbours_of_many_vectors_at_once():
    vecs = vectors(30)
    index = VectorIndex.build(np.arange(30) * 2, vecs)
    ids, sims = index.neighbours(vecs[:3], 2)
    assert ids[:, 0].tolist() == [0, 2, 4]
    assert np.allclose(sims[:, 0], 1.0, atol=1e-4)


def test_a_saved_index_loads_only_for_its_model_and_intact(tmp_path):
    vecs = vectors(20)
    index = VectorIndex.build(np.arange(20), vecs)
    index.delete([3])
    path = tmp_path / "index.hnsw"
    index.save(path, "model-a")
    loaded = VectorIndex.load(path, "model-a")
    assert loaded is not None and loaded.ids == set(range(20)) - {3}
    assert VectorIndex.load(path, "model-b") is None
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert VectorIndex.load(path, "model-a") is None
    assert VectorIndex.load(tmp_path / "missing.hnsw", "model-a") is None
