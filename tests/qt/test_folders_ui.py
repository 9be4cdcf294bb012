"""A photo folder that is not there (an unplugged drive) is said in the status bar."""
from __future__ import annotations

from clipdesk.qt import app as qt_app
from tests.qt.conftest import WAIT_MS, indexed


def test_an_unplugged_folder_is_said_in_the_status_bar_and_its_photos_stay(qtbot, photos,
                                                                          tmp_path):
    drive, home = tmp_path / "drive", tmp_path / "home"
    indexed(sorted(photos)[:2], drive, home)
    drive.rename(tmp_path / "away")  # unplugged before the app starts
    win = qt_app.create_window(str(home))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.index_job is None and "not available"
                    in win.status_text.full_text(), timeout=WAIT_MS)
    assert win.status_text.full_text() == (
        f"Folder {drive} is not available (No such file or directory): its 2 photos are "
        "kept; it is looked at again on the next run")
    assert win.model.rowCount() == 2
    win.close()
