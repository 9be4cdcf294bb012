"""catalog, on a real SQLite file: photos and their files, a person's tags outliving
automatic ones, searchable words, and a catalog from the future refused."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from clipdesk.core.catalog import Catalog
from clipdesk.core.errors import CatalogError
from clipdesk.core.types import PhotoMeta
from tests.unit.fakes import unit_vector

MODEL = "fake:model"


def add(cat: Catalog, path: str, content: str, taken_at: str | None = None) -> int:
    with cat.transaction() as db:
        pid = cat.add_photo(db, PhotoMeta(hash=content, width=4, height=3, taken_at=taken_at,
                                          camera=None, format="JPEG"))
        cat.put_embedding(db, pid, MODEL, unit_vector(content.encode()))
        cat.put_file(db, path.encode(), 10, 1, "indexed", pid)
        cat.put_names(db, [pid], [b"/photos"])
    return pid


@pytest.fixture
def cat(tmp_path: Path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    yield catalog
    catalog.close()


def test_one_photo_per_content_however_many_files_show_it(cat):
    a = add(cat, "/photos/a.jpg", "c1")
    assert add(cat, "/photos/copy-of-a.jpg", "c1") == a
    b = add(cat, "/photos/b.jpg", "c2")
    assert cat.counts() == {"photos": 2, "files": 3, "problems": 0, "ignored": 0}
    assert cat.paths_for([a, b]) == {a: b"/photos/a.jpg", b: b"/photos/b.jpg"}
    ids, vectors = cat.vectors(MODEL)
    assert sorted(ids.tolist()) == [a, b]
    assert np.allclose(vectors[ids.tolist().index(b)], unit_vector(b"c2"))


def test_newest_first_by_date_taken_then_the_undated(cat):
    old = add(cat, "/photos/old.jpg", "c1", "2001-01-01T00:00:00")
    undated = add(cat, "/photos/x.jpg", "c2")
    new = add(cat, "/photos/new.jpg", "c3", "2024-06-01T12:00:00")
    assert cat.photo_ids_newest_first() == [new, old, undated]


def test_a_persons_tag_and_removal_outlive_automatic_tagging(cat):
    pid = add(cat, "/photos/a.jpg", "c1")
    cat.set_auto_tags({pid: [("beach", 0.3), ("dog", 0.25)]})
    cat.set_tag(pid, "Holiday", True)
    cat.set_tag(pid, "dog", False)
    cat.set_auto_tags({pid: [("beach", 0.31), ("dog", 0.3)]})  # a re-tagging
    assert {t for t, _, _ in cat.tags_of(pid)} == {"beach", "holiday"}
    assert dict(cat.tag_counts()) == {"beach": 1, "holiday": 1}


def test_file_names_tags_and_captions_are_searchable_words(cat):
    pid = add(cat, "/photos/trip/IMG_1.jpg", "c1")
    other = add(cat, "/photos/home/IMG_2.jpg", "c2")
    cat.set_tag(pid, "sunset", True)
    cat.set_caption(other, "a dog on a sofa", "manual")
    assert cat.match_words('"trip"*') == {pid}
    assert cat.match_words('"sunset"*') == {pid}
    assert cat.match_words('"sofa"*') == {other}
    assert cat.caption(other) == ("a dog on a sofa", "manual")
    assert cat.match_words('"unbalanced') == set()  # a query FTS5 cannot parse


def test_each_thread_reads_through_its_own_connection(cat):
    pid = add(cat, "/photos/a.jpg", "c1")
    seen: list[dict[int, bytes]] = []
    thread = threading.Thread(target=lambda: seen.append(cat.paths_for([pid])))
    thread.start()
    thread.join()
    assert seen == [{pid: b"/photos/a.jpg"}]


def test_the_writer_check_refuses_a_write_off_the_writer_thread(cat):
    cat.check_writer = True
    with pytest.raises(AssertionError, match="not the writer thread"):
        cat.set_meta("captions", "off")


def test_a_catalog_from_a_newer_clipdesk_is_refused_in_one_line(tmp_path):
    path = tmp_path / "catalog.sqlite"
    Catalog(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=999")
    with pytest.raises(CatalogError, match="newer clipdesk .* upgrade clipdesk"):
        Catalog(path)
