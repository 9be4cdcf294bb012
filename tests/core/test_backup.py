"""Catalog backups and damage, on real SQLite files."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from clipdesk.core.errors import CatalogError, ClipdeskError
from clipdesk.core.paths import catalog_path
from clipdesk.core.store import backup
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.store.lock import index_lock
from clipdesk.core.types import PhotoMeta

MODEL = "test-model"


def add_photos(home: Path, start: int, n: int) -> None:
    cat = Catalog(catalog_path(home))
    rng = np.random.default_rng(start)
    with cat.transaction() as db:
        for i in range(start, start + n):
            pid = cat.photos.add(db, PhotoMeta(hash=f"{i:032x}", width=4, height=3,
                                              taken_at=None, camera=None, format="JPEG"))
            cat.embeddings.put(db, pid, MODEL, rng.standard_normal(512).astype(np.float32))
            cat.files.put(db, f"/photos/{i}.jpg".encode(), 1, 1, "indexed", pid)
    cat.close()


def photos_in(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT count(*) FROM photos").fetchone()[0]
    finally:
        db.close()


@pytest.fixture
def home(tmp_path) -> Path:
    add_photos(tmp_path, 0, 300)
    return tmp_path


def test_a_damaged_catalog_never_pushes_out_a_good_backup(home):
    for _ in range(backup.GENERATIONS):
        assert backup.make_backup(home) is not None
    before = [b.path for b in backup.list_backups(home)]
    with open(catalog_path(home), "r+b") as f:  # damage the middle of the file
        f.seek(os.path.getsize(catalog_path(home)) // 2)
        f.write(os.urandom(64 * 1024))
    assert backup.make_backup(home) is None
    assert [b.path for b in backup.list_backups(home)] == before
    assert sorted(p.name for p in backup.backup_dir(home).iterdir()) == \
        sorted(p.name for p in before)  # and no temp file left


def test_a_copy_left_by_a_killed_run_is_cleaned_up(home):
    backup.backup_dir(home).mkdir()
    stale = backup.backup_dir(home) / "catalog-20240101-000000-000000.sqlite.tmp"
    stale.write_bytes(b"half a copy")
    assert backup.make_backup(home) is not None
    assert not stale.exists()
    assert len(list(backup.backup_dir(home).iterdir())) == 1


def test_damage_met_by_a_later_query_is_the_one_line_error(home):
    backup.make_backup(home)
    with open(catalog_path(home), "r+b") as f:  # the vectors' pages, not the schema's
        f.seek(os.path.getsize(catalog_path(home)) // 2)
        f.write(os.urandom(64 * 1024))
    cat = Catalog(catalog_path(home))  # opens: the damage is deeper than the header
    with pytest.raises(CatalogError, match="is damaged .* restore-backup"):
        cat.embeddings.vectors(MODEL)
    cat.close()


def test_restore_picks_the_newest_good_backup_and_keeps_the_damaged_catalog(home):
    backup.make_backup(home)  # 300 photos
    add_photos(home, 300, 10)
    newest = backup.make_backup(home)  # 310 photos, then damaged
    newest.write_bytes(b"\0" * 4096)
    catalog_path(home).write_bytes(os.urandom(8192))
    restored = backup.restore(home)
    assert restored.backup.photos == 300
    assert restored.aside.name.startswith("catalog.sqlite.damaged-")
    assert restored.aside.read_bytes() != b""
    assert photos_in(catalog_path(home)) == 300
    Catalog(catalog_path(home)).close()  # opens as a catalog again


def test_no_restore_while_an_index_run_holds_the_library(home):
    backup.make_backup(home)
    with index_lock(home), pytest.raises(ClipdeskError, match="indexing this library"):
        backup.restore(home)
    assert photos_in(catalog_path(home)) == 300
    assert not list(home.glob("catalog.sqlite.*-*"))  # nothing was moved aside
