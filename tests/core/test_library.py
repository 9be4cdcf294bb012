"""The vector index follows the catalog: repaired after a crash, rebuilt when damaged."""
from __future__ import annotations

import shutil

import pytest

from clipdesk.core.library import Library
from clipdesk.core.vindex import VectorIndex
from tests.conftest import TINY_MODEL
from tests.synthetic import render


def index_all(lib: Library, folder) -> None:
    for _ in lib.index([str(folder)], model=TINY_MODEL):
        pass


@pytest.fixture
def library(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, color in enumerate(("red", "green", "blue")):
        render(color, "circle", "white", (800, 600), seed=i).save(photos / f"{color}.jpg")
    lib = Library(tmp_path / "home")
    index_all(lib, photos)
    yield lib, photos
    lib.close()


def test_an_index_behind_the_catalog_is_repaired_not_rebuilt(library, tmp_path, monkeypatch):
    lib, photos = library
    saved = tmp_path / "saved-index"
    shutil.copytree(lib.home / "index", saved)
    render("yellow", "square", "black", (800, 600), seed=9).save(photos / "yellow.jpg")
    index_all(lib, photos)
    lib.close()
    # as after a kill: the catalog has the new photo, the index file on disk does not
    shutil.rmtree(lib.home / "index")
    shutil.copytree(saved, lib.home / "index")
    fresh = Library(lib.home)
    assert fresh.index_state().startswith("behind the catalog")

    def no_rebuild(*args, **kwargs):
        raise AssertionError("rebuilt the whole index")

    monkeypatch.setattr(VectorIndex, "build", no_rebuild)
    hits = fresh.search("a yellow square", k=1)
    assert hits[0].path.endswith(b"yellow.jpg")
    assert fresh.index_state() == "ok"
    fresh.close()


def test_a_damaged_index_is_rebuilt_from_the_catalog(library):
    lib, _ = library
    lib.close()
    for f in (lib.home / "index").glob("*.hnsw"):
        f.write_bytes(b"\x00" * 64)
    fresh = Library(lib.home)
    assert fresh.index_state().startswith("missing or damaged")
    assert fresh.search("a green circle", k=1)[0].path.endswith(b"green.jpg")
    assert fresh.index_state() == "ok"
    fresh.close()
