"""A person's edits are never lost to a backup: every edit reaches one, a restore brings
them all back, a catalog gone missing (or emptied) is not quietly a new library, rotation
never drops the last backup holding edits the catalog lacks, and an unwritable backups/
folder is one line while the run goes on. Through the real `clipdesk` command."""
from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from clipdesk.core.library import Library
from clipdesk.core.store.backup import GENERATIONS
from tests.conftest import run_cli
from tests.synthetic import render
from tests.test_cli_errors import NO_OVERRIDE, clipdesk, copy_home, one_line, small_home

__all__ = ["small_home"]  # the fixture, shared with test_cli_errors


def person_edits(catalog: Path) -> set[tuple[object, ...]]:
    """Every edit a person made, keyed by photo content (ids may differ between files)."""
    db = sqlite3.connect(catalog)
    try:
        return set(db.execute(
            "SELECT 'tag', p.hash, t.tag, t.source FROM tags t JOIN photos p ON p.id=t.photo_id "
            "WHERE t.source<>'auto' "
            "UNION SELECT 'reject', hash, NULL, NULL FROM photos WHERE rejected=1 "
            "UNION SELECT 'caption', hash, caption, NULL FROM photos WHERE caption_by='manual' "
            "UNION SELECT 'example', p.hash, e.tag, e.label FROM examples e "
            "JOIN photos p ON p.id=e.photo_id UNION SELECT 'taught', tag, NULL, NULL FROM taught"
        ).fetchall())
    finally:
        db.close()


def edit_everything(home: Path, root: Path) -> None:
    """A person's tags (added, and an automatic one taken off) as the app makes them, then
    a reject, a caption and a taught tag from the command line (the app's own backups
    after edits: tests/qt/test_edit_backups.py)."""
    lib = Library(home)
    lib.tags.set(lib.photos.id_of(root / "red.jpg"), "grandma")
    auto = next(t for t, _, src in lib.tags.of(lib.photos.id_of(root / "blue.jpg"))
                if src == "auto")
    lib.tags.set(lib.photos.id_of(root / "blue.jpg"), auto, on=False)
    lib.close()
    h = ("--home", str(home))
    assert run_cli(*h, "reject", str(root / "green.jpg")).rc == 0
    assert run_cli(*h, "caption", str(root / "yellow.jpg"), "--set", "a sunny day").rc == 0
    assert run_cli(*h, "teach", "warm", "--yes", str(root / "red.jpg"),
                   str(root / "yellow.jpg"), "--no", str(root / "blue.jpg")).rc == 0


def test_a_restore_after_edits_loses_no_edit(small_home, tmp_path):
    home, root = copy_home(small_home, tmp_path), small_home[1]
    edit_everything(home, root)
    made = person_edits(home / "catalog.sqlite")
    assert {kind for kind, *_ in made} == {"tag", "reject", "caption", "example", "taught"}

    result = run_cli("--home", str(home), "restore-backup")
    assert result.rc == 0, result.err
    lost = made - person_edits(home / "catalog.sqlite")
    print(f"edits made: {len(made)}, lost in the restore: {len(lost)}")
    assert lost == set()


@pytest.mark.parametrize("how", ["missing", "empty"])
def test_a_catalog_gone_beside_its_backups_is_refused_with_the_restore(small_home, tmp_path,
                                                                       how):
    home = copy_home(small_home, tmp_path)
    catalog = home / "catalog.sqlite"
    if how == "missing":
        catalog.unlink()
    else:
        catalog.write_bytes(b"")
    for args in (["status"], ["index"]):
        result = clipdesk(*args, home=home)
        assert result.returncode == 1, args
        line = one_line(result.stderr)
        assert f"is {how}" in line and f"--home '{home}' restore-backup" in line, line
    assert catalog.exists() == (how == "empty")  # no new, empty library was made
    assert len(list((home / "backups").iterdir())) == 1  # and nothing rotated

    restored = clipdesk("restore-backup", home=home)
    assert restored.returncode == 0, restored.stderr.decode()
    assert "4 photos" in restored.stdout.decode()


def test_index_runs_never_rotate_away_the_backup_holding_edits(small_home, tmp_path):
    home, root = copy_home(small_home, tmp_path), tmp_path / "photos"
    shutil.copytree(small_home[1], root)
    h = ("--home", str(home))
    assert run_cli(*h, "index", str(root)).rc == 0
    assert run_cli(*h, "reject", str(root / "red.jpg")).rc == 0  # backed up with the edit
    with_edit = sorted((home / "backups").iterdir())[-1]
    # the person goes back to the backup before the reject, then indexes on and on
    assert run_cli(*h, "restore-backup", "2").rc == 0
    assert person_edits(home / "catalog.sqlite") == set()
    for i in range(GENERATIONS + 2):
        render("purple", "square", "gray", (640, 480), seed=20 + i).save(root / f"p{i}.jpg")
        assert run_cli(*h, "index").rc == 0
    kept = sorted((home / "backups").iterdir())
    assert with_edit in kept
    assert len(kept) == GENERATIONS + 1  # the rest rotate as before
    assert ("reject",) in {e[:1] for e in person_edits(with_edit)}


@pytest.mark.skipif(shutil.which("setpriv") is None and os.geteuid() == 0,
                    reason="needs setpriv to drop root's override of file modes")
def test_an_unwritable_backups_folder_is_one_line_and_the_run_goes_on(small_home, tmp_path):
    home, root = copy_home(small_home, tmp_path), tmp_path / "photos"
    shutil.copytree(small_home[1], root)
    assert run_cli("--home", str(home), "index", str(root)).rc == 0
    (root / "red.jpg").unlink()  # a change for the next run (that needs no model)
    backups = home / "backups"
    backups.chmod(0o000)
    try:
        result = clipdesk("index", home=home, prefix=NO_OVERRIDE if os.geteuid() == 0 else ())
    finally:
        backups.chmod(0o755)
    assert result.returncode == 0, result.stderr.decode()
    line = one_line(result.stderr)
    assert "not backed up" in line and str(backups) in line and "writable" in line, line
    assert "1 removed" in result.stdout.decode()  # the run did its work
    status = run_cli("--home", str(home), "status", "--json")
    assert '"files": 7' in status.out  # small_home's 4 and the copies' 3
