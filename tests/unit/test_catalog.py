"""catalog, on a real SQLite file: photos and their files, a person's tags outliving
automatic ones, searchable words, and a catalog from the future refused."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from clipdesk.core.errors import CatalogError
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.store.catalog.connection import Part
from clipdesk.core.store.catalog.schema import SCHEMA_VERSION
from clipdesk.core.types import PhotoMeta
from tests.unit.fakes import unit_vector
from tests.unit.kit import as_schema_6, blend, make_kit, put, text_vector

MODEL = "fake:model"


def add(cat: Catalog, path: str, content: str, taken_at: str | None = None) -> int:
    with cat.transaction() as db:
        pid = cat.photos.add(db, PhotoMeta(hash=content, width=4, height=3, taken_at=taken_at,
                                          camera=None, format="JPEG"))
        cat.embeddings.put(db, pid, MODEL, unit_vector(content.encode()))
        cat.files.put(db, path.encode(), 10, 1, "indexed", pid)
        cat.words.put_names(db, [pid], [b"/photos"])
    return pid


def ids(hits) -> list[int]:
    return [h.photo_id for h in hits]


@pytest.fixture
def cat(tmp_path: Path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    yield catalog
    catalog.close()


def test_one_photo_per_content_however_many_files_show_it(cat):
    a = add(cat, "/photos/a.jpg", "c1")
    assert add(cat, "/photos/copy-of-a.jpg", "c1") == a
    b = add(cat, "/photos/b.jpg", "c2")
    assert cat.files.counts() == {"photos": 2, "files": 3, "problems": 0, "ignored": 0, "videos": 0}
    assert cat.files.paths_for([a, b]) == {a: b"/photos/a.jpg", b: b"/photos/b.jpg"}
    ids, vectors = cat.embeddings.vectors(MODEL)
    assert sorted(ids.tolist()) == [a, b]
    assert vectors[ids.tolist().index(b)] @ unit_vector(b"c2") > 0.999


def test_newest_first_by_date_taken_then_the_undated(cat):
    old = add(cat, "/photos/old.jpg", "c1", "2001-01-01T00:00:00")
    undated = add(cat, "/photos/x.jpg", "c2")
    new = add(cat, "/photos/new.jpg", "c3", "2024-06-01T12:00:00")
    assert cat.photos.newest_first() == [new, old, undated]


def test_a_persons_tag_and_removal_outlive_automatic_tagging(cat):
    pid = add(cat, "/photos/a.jpg", "c1")
    cat.tags.set_auto({pid: [("beach", 0.3), ("dog", 0.25)]})
    cat.tags.set(pid, "Holiday", True)
    cat.tags.set(pid, "dog", False)
    cat.tags.set_auto({pid: [("beach", 0.31), ("dog", 0.3)]})  # a re-tagging
    assert {t for t, _, _ in cat.tags.of(pid)} == {"beach", "holiday"}
    assert dict(cat.tags.counts()) == {"beach": 1, "holiday": 1}


def test_file_names_tags_and_captions_are_searchable_words(cat):
    pid = add(cat, "/photos/trip/IMG_1.jpg", "c1")
    other = add(cat, "/photos/home/IMG_2.jpg", "c2")
    cat.tags.set(pid, "sunset", True)
    cat.captions.set(other, "a dog on a sofa", "manual")
    assert cat.words.match('"trip"*') == {pid}
    assert cat.words.match('"sunset"*') == {pid}
    assert cat.words.match('"sofa"*') == {other}
    assert cat.captions.get(other) == ("a dog on a sofa", "manual")
    assert cat.words.match('"unbalanced') == set()  # a query FTS5 cannot parse


def test_each_thread_reads_through_its_own_connection(cat):
    pid = add(cat, "/photos/a.jpg", "c1")
    seen: list[dict[int, bytes]] = []
    thread = threading.Thread(target=lambda: seen.append(cat.files.paths_for([pid])))
    thread.start()
    thread.join()
    assert seen == [{pid: b"/photos/a.jpg"}]


def test_the_writer_check_refuses_a_write_off_the_writer_thread(cat):
    cat.check_writer = True
    with pytest.raises(AssertionError, match="not the writer thread"):
        cat.meta.set("captions", "off")


def test_each_query_is_reached_one_way_through_its_concern(cat):
    """Catalog itself only connects and commits: every query lives on one concern object
    (catalog.tags.rename), none is forwarded from Catalog as well."""
    own = {n for n in dir(Catalog) if not n.startswith("_") and callable(getattr(Catalog, n))}
    assert own == {"assert_writer", "close", "integrity_ok", "transaction"}
    parts = {name for name, value in vars(cat).items() if isinstance(value, Part)}
    assert parts == {"meta", "files", "photos", "embeddings", "crops",
                     "words", "tags", "examples",
                     "captions", "quality", "groups",
                     "places", "filters",
                     "texts", "faces"}


def test_a_catalog_from_a_newer_clipdesk_is_refused_in_one_line(tmp_path):
    path = tmp_path / "catalog.sqlite"
    Catalog(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=999")
    with pytest.raises(CatalogError, match="newer clipdesk .* upgrade clipdesk"):
        Catalog(path)


def test_a_vector_is_stored_in_a_quarter_of_the_room_and_keeps_its_direction(cat):
    rng = np.random.default_rng(0)
    originals = rng.standard_normal((200, 512)).astype(np.float32)
    originals /= np.linalg.norm(originals, axis=1, keepdims=True)
    with cat.transaction() as db:
        for i, vector in enumerate(originals):
            pid = cat.photos.add(db, PhotoMeta(hash=f"{i:032x}", width=4, height=3,
                                              taken_at=None, camera=None, format="JPEG"))
            cat.embeddings.put(db, pid, MODEL, vector)
    sizes = {r[0] for r in cat._db.execute("SELECT length(vector) FROM embeddings")}
    assert sizes == {512}  # one byte a dimension (float32: 2,048)
    ids, vectors = cat.embeddings.vectors(MODEL)
    assert vectors.dtype == np.float32 and vectors.shape == (200, 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)  # unit, as before
    cosines = np.sum(vectors * originals[ids - 1], axis=1)
    assert cosines.min() >= 0.999
    one = cat.embeddings.vector(7, MODEL)
    assert one is not None and one @ originals[6] >= 0.999
    sample = cat.embeddings.sample(MODEL, 5)
    assert sample.shape == (5, 512)
    assert (sample @ originals.T).max(axis=1).min() >= 0.999  # each is one of them


def test_a_schema_6_library_with_float32_vectors_migrates_and_answers_the_same(kit):
    scenes = [text_vector(w) for w in ("beach", "dog", "cake", "snow", "city")]
    originals = {}
    for n in range(60):
        vector = blend(scenes[n % 5], unit_vector(f"photo {n}".encode()), 0.6 + n / 200)
        originals[put(kit, f"IMG_{n}.jpg", vector)] = vector
    asked = ["beach", "a dog", "snow in the city", "cake"]
    found = [ids(kit.search.search(text, k=10)) for text in asked]
    alike = [ids(kit.search.similar(kit.root / f"IMG_{n}.jpg", k=10)) for n in (3, 17, 42)]
    as_schema_6(kit.catalog, originals)  # as the old clipdesk left it
    pages = kit.catalog._db.execute("PRAGMA page_count").fetchone()[0]
    kit.catalog.close()
    for index_file in kit.home.rglob("*.hnsw"):
        index_file.unlink()  # the index is rebuilt from the migrated vectors
    later = make_kit(kit.root.parent)
    try:
        assert later.catalog._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert {r[0] for r in later.catalog._db.execute(
            "SELECT length(vector) FROM embeddings")} == {64}  # int8 codes now
        assert later.catalog._db.execute("PRAGMA page_count").fetchone()[0] < pages
        assert [ids(later.search.search(text, k=10)) for text in asked] == found
        assert [ids(later.search.similar(later.root / f"IMG_{n}.jpg", k=10))
                for n in (3, 17, 42)] == alike
    finally:
        later.catalog.close()
