"""Two processes, one library: real `clipdesk` subprocesses over a real SQLite file, racing
to upgrade an older catalog or to make a fresh one, and indexing while another process
(this test) holds the library open."""
from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from clipdesk.core.library import Library
from clipdesk.core.models.spec import parse_spec
from clipdesk.core.paths import index_path
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.store.catalog.schema import SCHEMA_VERSION
from clipdesk.core.store.settings import Settings
from clipdesk.core.store.vindex import VectorIndex
from clipdesk.core.types import FileStatus, PhotoMeta
from tests.conftest import TINY_MODEL, TINY_VOCABULARY
from tests.synthetic import render
from tests.test_faults import clipdesk, index_cmd, start
from tests.unit.kit import as_schema_6

MODEL_ID = parse_spec(TINY_MODEL).id
DIM = 64  # the tiny model's vectors
N_OLD = 3000  # a slower upgrade: a wider window for the race (caught 5 times in 6)
RACES = 4


@pytest.fixture(scope="module")
def old_library(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A library as the previous release left it (schema 6: float32 vectors), of N_OLD
    photos with known vectors; the photos' files are not needed to open or search it."""
    home = tmp_path_factory.mktemp("old") / "home"
    home.mkdir()
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((N_OLD, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    catalog = Catalog(home / "catalog.sqlite")
    Settings(catalog).model = MODEL_ID
    originals = {}
    with catalog.transaction() as db:
        for i, vector in enumerate(vectors):
            pid = catalog.photos.add(db, PhotoMeta(hash=f"{i:032x}", width=4, height=3,
                                                  taken_at=None, camera=None, format="JPEG"))
            catalog.files.put(db, os.fsencode(f"/photos/IMG_{i}.jpg"), 1, 1,
                             FileStatus.INDEXED, pid)
            catalog.embeddings.put(db, pid, MODEL_ID, vector)
            originals[pid] = vector
    as_schema_6(catalog, originals)
    catalog.close()
    return home, vectors


def test_two_processes_opening_an_older_catalog_migrate_it_once(old_library, tmp_path):
    """Both open it at once (each upgrades it on open): the vectors are converted once,
    not twice into garbage, and the library answers afterwards."""
    built, originals = old_library
    for race in range(RACES):
        home = tmp_path / f"home-{race}"
        shutil.copytree(built, home)
        runs = [start(home, "status") for _ in range(2)]
        for run in runs:
            _out, err = run.communicate(timeout=300)
            assert run.returncode == 0 and "Traceback" not in err, err
        with sqlite3.connect(home / "catalog.sqlite") as db:
            assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
            sizes = {r[0] for r in db.execute("SELECT length(vector) FROM embeddings")}
        assert sizes == {DIM}, f"race {race}: vectors of {sizes} bytes"
    catalog = Catalog(home / "catalog.sqlite")
    ids, vectors = catalog.embeddings.vectors(MODEL_ID)
    catalog.close()
    assert np.sum(vectors * originals[ids - 1], axis=1).min() >= 0.999  # intact
    lib = Library(home)
    try:
        hits = lib.search("a red circle", k=10)
        assert len(hits) == 10
        similar = lib.similar(b"/photos/IMG_5.jpg", k=2)
        best = np.argsort(-(originals @ originals[5]))[1:3] + 1  # ids start at 1
        assert [h.photo_id for h in similar] == best.tolist()
    finally:
        lib.close()


def test_two_processes_on_a_fresh_data_folder_never_print_a_traceback(tmp_path):
    """Both make the catalog at once: two `status` both answer; of two `index` runs each
    either indexes or says in one line that the other is indexing; the photos are in the
    library once."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, shape in enumerate(("circle", "square")):
        render("red", shape, "gray", (96, 72), seed=i).save(photos / f"{i}.jpg")
    for race in range(RACES + 1):
        home = tmp_path / f"home-{race}"
        home.mkdir()
        (home / "tags.txt").write_text(TINY_VOCABULARY)
        indexing = race == RACES  # the last race: the slower index runs
        runs = [start(home, *(index_cmd(photos) if indexing else ("status",)))
                for _ in range(2)]
        for run in runs:
            _out, err = run.communicate(timeout=300)
            assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
            assert run.returncode == 0 or (indexing and "another clipdesk" in err), err
    assert 0 in {run.returncode for run in runs}
    with sqlite3.connect(home / "catalog.sqlite") as db:
        assert db.execute("SELECT count(*) FROM photos").fetchone() == (2,)


def test_an_open_library_sees_and_keeps_the_photos_another_process_indexed(tmp_path):
    """The app (here: this process) has the library open while `clipdesk index` adds
    photos in another process: its next search finds them, it says it changed, and its
    own later save does not drop them from the index file."""
    first, later = tmp_path / "photos" / "first", tmp_path / "photos" / "later"
    for folder, color, shapes in ((first, "blue", ("square", "triangle")),
                                  (later, "red", ("circle",) * 3)):
        folder.mkdir(parents=True)
        for i, shape in enumerate(shapes):
            render(color, shape, "gray", (160, 120), seed=i).save(folder / f"{i}.jpg")
    home = tmp_path / "home"
    home.mkdir()
    (home / "tags.txt").write_text(TINY_VOCABULARY)
    app = Library(home)
    try:
        for _ in app.index([str(first)], model=TINY_MODEL):
            pass
        assert len(app.similar(first / "0.jpg", k=5)) == 1  # only the blue ones yet
        assert not app.refresh_if_changed()  # its own run is no news to it
        result = clipdesk(home, *index_cmd(later))
        assert result.returncode == 0, result.stderr
        # look-alikes come from the vector index alone (a search also finds photos by
        # their tags, which the catalog always has)
        hits = app.similar(later / "0.jpg", k=2)
        assert {Path(os.fsdecode(h.path)) for h in hits} == {later / "1.jpg", later / "2.jpg"}
        assert app.refresh_if_changed()  # the app reloads its views
        assert not app.refresh_if_changed()
        app.tags.set(hits[0].photo_id, "favourite")
        assert not app.refresh_if_changed()  # its own edit is no news either
        for _ in app.index():  # nothing new: ends by saving its index
            pass
    finally:
        app.close()
    catalog = Catalog(home / "catalog.sqlite")
    try:
        stored = catalog.embeddings.ids(MODEL_ID)
        saved = VectorIndex.load(index_path(home, MODEL_ID), MODEL_ID)
        assert len(stored) == 5
        assert saved is not None and saved.ids == stored
    finally:
        catalog.close()
