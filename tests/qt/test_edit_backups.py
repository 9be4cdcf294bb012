"""The app keeps a person's edits safe: a backup soon after edits (one for a burst of them)
and on close; a catalog gone beside its backups is a choice (restore or start anew), not
a quietly empty library; the caption box edits the caption, never a status message."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from clipdesk.core.store import backup
from clipdesk.qt import app as qt_app
from tests.qt.conftest import WAIT_MS, on_writer


def rejects_in(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT count(*) FROM photos WHERE rejected=1").fetchone()[0])
    finally:
        db.close()


def test_the_caption_box_starts_from_the_caption_never_from_an_error(qtbot, window, tmp_path):
    win = window
    missing = tmp_path / "no-such-model"
    on_writer(qtbot, win, lambda: win.library.captions.choose_captioner(f"local-dir:{missing}"))
    win.set_captions("selected")
    win.grid.setCurrentIndex(win.model.index(2))
    photo_id = win.model.photo_at(2)
    qtbot.waitUntil(lambda: win.details.caption.text().startswith("No captions:"),
                    timeout=WAIT_MS)

    win.details.edit_caption.click()
    assert win.details.caption_edit.text() == ""  # not "No captions: cannot load ..."
    qtbot.keyClicks(win.details.caption_edit, "a day at the lake")
    qtbot.keyClick(win.details.caption_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: win.library.captions.of(photo_id)[0] is not None, timeout=10_000)
    assert win.library.captions.of(photo_id) == ("a day at the lake", "manual")
    win.details.edit_caption.click()
    assert win.details.caption_edit.text() == "a day at the lake"  # from the caption


def test_edits_reach_one_backup_soon_after_and_the_last_ones_on_close(qtbot, window, home):
    win = window
    win.edit_backups.timer.setInterval(300)  # BACKUP_EVERY_S, shortened for the test
    before = {b.path for b in backup.list_backups(home)}
    for row in range(3):  # a burst of edits: one backup, not three
        photo_id = win.model.photo_at(row)
        on_writer(qtbot, win, lambda pid=photo_id: win.library.groups.reject([pid]))
    qtbot.waitUntil(lambda: {b.path for b in backup.list_backups(home)} - before != set(),
                    timeout=10_000)
    qtbot.wait(600)  # no second backup follows
    made = {b.path for b in backup.list_backups(home)} - before
    assert len(made) == 1 and rejects_in(made.pop()) == 3

    photo_id = win.model.photo_at(3)
    on_writer(qtbot, win, lambda: win.library.groups.reject([photo_id]))
    win.edit_backups.timer.setInterval(60_000)  # the window closes first
    win.close()
    assert rejects_in(backup.list_backups(home)[0].path) == 4


def choose(button: str) -> None:
    """Click `button` in the modal box the app shows next."""
    box = QApplication.activeModalWidget()
    if not isinstance(box, QMessageBox):
        QTimer.singleShot(10, lambda: choose(button))  # not shown yet
        return
    next(b for b in box.buttons() if b.text() == button).click()


def test_an_empty_catalog_beside_backups_offers_the_restore(qtbot, home, tmp_path):
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    photos = backup.info(backup.list_backups(copy)[0]).photos
    (copy / "catalog.sqlite").write_bytes(b"")
    QTimer.singleShot(0, lambda: choose(qt_app.RESTORE))
    win = qt_app.open_window(str(copy))
    qtbot.addWidget(win)
    with qtbot.waitSignals([win.work.indexed, win.work.watch_said], timeout=WAIT_MS):
        win.show()
    assert photos and win.library.status().photos == photos
    qtbot.waitUntil(lambda: win.index_job is None, timeout=WAIT_MS)


def test_a_missing_catalog_can_start_a_new_library_keeping_the_backups(qtbot, home, tmp_path):
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    (copy / "catalog.sqlite").unlink()
    kept = backup.list_backups(copy)
    QTimer.singleShot(0, lambda: choose(qt_app.START_NEW))
    win = qt_app.open_window(str(copy))
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: hasattr(win, "first_run"), timeout=10_000)  # it asks for folders
    win.first_run.reject()
    assert win.library.status().photos == 0
    assert backup.list_backups(copy) == kept
