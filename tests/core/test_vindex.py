"""The vector index is a cache: intact files load, anything else is refused for a rebuild."""
from __future__ import annotations

import numpy as np

from clipdesk.core.store.vindex import VectorIndex


def unit_vectors(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_query_finds_the_vector_itself_first_and_excludes_on_request():
    vecs = unit_vectors(200)
    index = VectorIndex.build(np.arange(1, 201), vecs)
    hits = index.query(vecs[41], 3)
    assert hits[0][0] == 42 and abs(hits[0][1] - 1.0) < 1e-4
    assert 42 not in [i for i, _ in index.query(vecs[41], 3, exclude={42})]


def test_grows_past_its_initial_capacity_and_deletes():
    index = VectorIndex(16, capacity=16)
    vecs = unit_vectors(100)
    for start in range(0, 100, 10):
        index.add(np.arange(start, start + 10), vecs[start:start + 10])
    assert len(index) == 100
    index.delete([5, 6])
    assert len(index) == 98
    assert 5 not in [i for i, _ in index.query(vecs[5], 10)]


def test_k_larger_than_the_library_returns_everything():
    index = VectorIndex.build(np.arange(3), unit_vectors(3))
    assert len(index.query(unit_vectors(1, seed=9)[0], 20)) == 3
    assert VectorIndex().query(unit_vectors(1)[0], 5) == []


def test_save_load_round_trip_keeps_deletions(tmp_path):
    vecs = unit_vectors(50)
    index = VectorIndex.build(np.arange(50), vecs)
    index.delete([7])
    path = tmp_path / "i.hnsw"
    index.save(path, "m")
    loaded = VectorIndex.load(path, "m")
    assert loaded is not None and loaded.ids == set(range(50)) - {7}
    assert loaded.query(vecs[3], 1)[0][0] == 3
    assert not list(tmp_path.glob("*.tmp"))


def test_foreign_or_damaged_files_are_refused(tmp_path):
    path = tmp_path / "i.hnsw"
    VectorIndex.build(np.arange(20), unit_vectors(20)).save(path, "m")
    assert VectorIndex.load(path, "other-model") is None
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    assert VectorIndex.load(path, "m") is None
    path.write_bytes(b"")
    assert VectorIndex.load(path, "m") is None
    assert VectorIndex.load(tmp_path / "missing.hnsw", "m") is None
