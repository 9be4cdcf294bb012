"""backup, on real SQLite files: checked generations, the way back, and the one line a
damaged catalog gives."""
from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from clipdesk.core.errors import CatalogError, ClipdeskError, LostCatalogError
from clipdesk.core.library import Library
from clipdesk.core.paths import catalog_path
from clipdesk.core.store import backup
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.types import PhotoMeta
from tests.conftest import REPO
from tests.unit.kit import make_kit


def add_photos(home: Path, n: int) -> None:
    cat = Catalog(catalog_path(home))
    with cat.transaction() as db:
        start = cat.files.counts()["photos"]
        for i in range(start, start + n):
            pid = cat.photos.add(db, PhotoMeta(hash=f"{i:032x}", width=4, height=3,
                                              taken_at=None, camera=None, format="JPEG"))
            cat.files.put(db, f"/photos/{i}.jpg".encode(), 1, 1, "indexed", pid)
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
    assert cat.files.counts()["photos"] == 5
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


# -- edits and kills reach a backup --------------------------------------------------------

KILLED_RUN = """
import sys, time
from pathlib import Path
from clipdesk.core.types import Phase
from tests.unit.kit import MODEL, jpeg, make_kit
kit = make_kit(Path(sys.argv[1]))
for n, colour in enumerate([(250, 40, 40), (40, 250, 40), (40, 40, 250)]):
    jpeg(kit.root / f"IMG_{n}.jpg", colour)
for step in kit.indexer.index([str(kit.root)], MODEL):
    if step.phase == Phase(sys.argv[2]):
        print("there", flush=True)
        time.sleep(600)
"""


@pytest.mark.parametrize("phase", ["save", "backup"])
def test_a_run_killed_in_its_save_or_backup_leaves_a_current_backup_after_the_next(
        tmp_path, phase):
    run = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(tmp_path), phase],
                           cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                           stdout=subprocess.PIPE, text=True)
    try:
        assert run.stdout is not None and run.stdout.readline() == "there\n"
    finally:
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
    kit = make_kit(tmp_path)  # the next launch: nothing new to index
    try:
        steps = list(kit.indexer.index())
        assert steps[-1].summary is not None and steps[-1].summary.unchanged == 3
        newest = backup.list_backups(kit.home)[0]
        assert backup.info(newest).photos == 3
        assert backup.check(newest.path) == "ok"
    finally:
        kit.catalog.close()


def test_a_new_library_beside_old_backups_never_rotates_away_their_edits(tmp_path):
    add_photos(tmp_path, 4)
    old = Library(tmp_path)
    old.groups.reject([1])  # a person's edit, then its backup
    old.close()
    assert backup.make_backup(tmp_path) is not None
    with_edit = backup.list_backups(tmp_path)[0]
    catalog_path(tmp_path).write_bytes(b"")
    with pytest.raises(LostCatalogError, match="is empty .* restore-backup"):
        Library(tmp_path)
    Library(tmp_path, new_library=True).close()  # the person chose to start anew
    for _ in range(backup.GENERATIONS + 2):  # and indexes on and on
        add_photos(tmp_path, 1)
        assert backup.make_backup(tmp_path) is not None
    kept = backup.list_backups(tmp_path)
    assert with_edit in kept and len(kept) == backup.GENERATIONS + 1
