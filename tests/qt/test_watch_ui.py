"""Photos copied, renamed or deleted in a library folder show in the window within
seconds, with no "Update now"."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from clipdesk.qt import app as qt_app
from tests.qt.conftest import WAIT_MS, indexed, shown_paths

SOON_MS = 20_000  # the watcher's debounce is about 1.5 s; a loaded CI machine gets room


def test_the_window_follows_files_added_renamed_and_deleted(qtbot, photos, tmp_path):
    root, home = tmp_path / "photos", tmp_path / "home"
    originals = sorted(photos)
    indexed(originals[:3], root, home)
    win = qt_app.create_window(str(home))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model.rowCount() == 3, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: win.work.watcher is not None and win.index_job is None,
                    timeout=WAIT_MS)  # after the launch's catch-up run
    qtbot.waitUntil(lambda: "Watching 1 folder" in win.status_text.full_text(),
                    timeout=WAIT_MS)

    started = time.monotonic()
    shutil.copy(originals[3], root / "new.jpg")
    qtbot.waitUntil(lambda: win.model.rowCount() == 4, timeout=SOON_MS)
    print(f"copied -> shown in {time.monotonic() - started:.1f} s")
    assert root / "new.jpg" in shown_paths(win, 4)
    # what the run did, then what the library holds (not "Indexed 4 photos" for one)
    qtbot.waitUntil(lambda: win.index_job is None, timeout=SOON_MS)
    assert win.status_text.full_text().endswith(": 1 new; 4 photos in all.")

    (root / "new.jpg").rename(root / "renamed.jpg")
    qtbot.waitUntil(lambda: root / "renamed.jpg" in shown_paths(win, 4), timeout=SOON_MS)
    assert win.model.rowCount() == 4

    (root / originals[0].name).unlink()
    qtbot.waitUntil(lambda: win.model.rowCount() == 3, timeout=SOON_MS)
    assert Path(root / originals[0].name) not in shown_paths(win, 3)
    qtbot.waitUntil(lambda: win.index_job is None, timeout=SOON_MS)
    assert win.status_text.full_text().endswith(": 1 removed; 3 photos in all.")
    win.close()
    assert win.work.watcher is None  # stopped with the window


def test_what_the_launch_run_found_stays_in_view_when_watching_starts(qtbot, photos,
                                                                        tmp_path):
    root, home = tmp_path / "photos", tmp_path / "home"
    originals = sorted(photos)
    indexed(originals[:3], root, home)
    shutil.copy(originals[3], root / "copied-while-closed.jpg")
    win = qt_app.create_window(str(home))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: "Watching 1 folder" in win.status_text.full_text(),
                    timeout=WAIT_MS)
    # the watcher starts after the launch's run: its word no longer hides that run's
    text = win.status_text.full_text()
    assert text.startswith("Library updated in ") and ": 1 new; 4 photos in all. " in text
    assert text.endswith("Watching 1 folder for changes")
    win.close()
