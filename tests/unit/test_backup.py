"""backup, on real SQLite files: checked generations, the way back, and the one line a
damaged catalog gives."""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from clipdesk.core import backup
from clipdesk.core.catalog import Catalog
from clipdesk.core.errors import CatalogError, ClipdeskError
from clipdesk.core.paths import catalog_path
from clipdesk.core.types import PhotoMeta


def add_photos(home: Path, n: int) -> None:
    cat = Catalog(catalog_path(home))
    with cat.transaction() as db:
        start = cat.counts()["photos"]
        for i in range(start, start + n):
            pid = cat.add_photo(db, PhotoMeta(hash=f"{i:032x}", width=4, height=3,
                                              taken_at=None, camera=None, format="JPEG"))
            cat.put_file(db, f"/photos/{i}.jpg".encode(), 1, 1, "indexed", pid)
    cat.close()


def test_generations_are_checked_copies_and_the_oldest_go(tmp_path):
    add_photos(tmp_path, 5)
    made = [backup.make_backup(tmp_path) for _ in range(backup.GENERATIONS + 2)]
    kept = backup.list_backups(tmp_path)
    assert [b.path for b in kept] == made[::-1][:backup.GENERATIONS]  # newest first
    assert backup.info(kept[0]).photos == 5
    assert backup.check(kept[0].path) == "ok"


def test_restore_brings_back_the_backup_and_keeps_the_replaced_catalog(tmp_path):
    add_photos(tmp_path, 5)
    backup.make_backup(tmp_path)
    add_photos(tmp_path, 3)
    restored = backup.restore(tmp_path)
    assert restored.aside is not None and restored.aside.exists()
    assert ".replaced-" in restored.aside.name  # it was sound, not damaged
    cat = Catalog(catalog_path(tmp_path))
    assert cat.counts()["photos"] == 5
    cat.close()


def test_no_backup_to_restore_says_when_backups_are_made(tmp_path):
    with pytest.raises(ClipdeskError, match="no backup in .* after each `clipdesk index`"):
        backup.restore(tmp_path)


def test_damage_is_told_apart_from_other_database_errors():
    assert backup.is_damage(sqlite3.DatabaseError("database disk image is malformed"))
    assert not backup.is_damage(sqlite3.OperationalError("database is locked"))
    assert not backup.is_damage(OSError("disk I/O"))


def test_the_damage_line_names_the_restore_command_and_the_backup_time(tmp_path):
    add_photos(tmp_path, 1)
    error = backup.damaged(tmp_path, sqlite3.DatabaseError("file is not a database"))
    assert isinstance(error, CatalogError) and "no backup of it" in str(error)
    backup.make_backup(tmp_path)
    error = backup.damaged(tmp_path, sqlite3.DatabaseError("file is not a database"))
    assert f"clipdesk --home '{tmp_path}' restore-backup" in str(error)
    assert re.search(r"\(from \d{4}-\d\d-\d\d \d\d:\d\d\)", str(error))
    assert "\n" not in str(error)
