"""A long session in a real window must not crash the interpreter.

PySide6 6.12 on Python 3.10/3.11 drops a reference to None on every void Qt call and every
empty QVariant it hands back (clipdesk/qt/__init__.py); a session of scrolling used to end
in "Fatal Python error: none_dealloc". That abort kills the process, so the session runs
in a subprocess and the test asserts that it exits cleanly.
"""
from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO

READS = 300_000
REPAINTS = 1_500

SESSION = r"""
import os, sys
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from clipdesk.core.library import Library
from clipdesk.qt import grid
from clipdesk.qt.main_window import MainWindow

READS, REPAINTS = int(sys.argv[2]), int(sys.argv[3])
app = QApplication([])
win = MainWindow(Library(sys.argv[1]))
win.work.captions = "off"  # selecting photos below must not start the caption model
win.resize(1000, 700)
win.show()
for _ in range(200):  # the id list arrives from a reader job
    win.jobs.wait()
    app.processEvents()
    if win.model.rowCount():
        break
ids = win.model.ids
assert ids, "the library did not load"
win.model.stacks = {ids[0]: 3}  # every branch of the delegate: badges, dimmed, blurred
win.model.rejected = {ids[1]}
win.model.veiled = {ids[2]}
win.model.set_photos(ids * 100)  # enough rows to scroll through
rows = win.model.rowCount()
roles = [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.DecorationRole,
         Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.StatusTipRole,
         Qt.ItemDataRole.FontRole, Qt.ItemDataRole.SizeHintRole, grid.PHOTO_ID_ROLE,
         grid.STACK_ROLE, grid.REJECTED_ROLE, grid.SCORE_ROLE]
per_step = -(-READS // (REPAINTS * len(roles)))
bar = win.grid.verticalScrollBar()
reads = repaints = 0
for step in range(REPAINTS):
    bar.setValue(step * 97 % (bar.maximum() + 1))
    win.grid.viewport().repaint()
    repaints += 1
    index = win.model.index(step * 13 % rows)
    for _ in range(per_step):  # item-data reads, as any Python caller of the model makes
        for role in roles:
            index.data(role)
            reads += 1
    win.selection.selected_ids()  # the app's own lookups of the photo under the cursor
    win.selection.is_current(ids[0])
    win.photo_actions.path_of(index.row())
    if step % 25 == 0:
        win.grid.setCurrentIndex(index)  # details panel: the app's selection path
        win.grid.grab()
        win.tags.tags()
        app.processEvents()
win.jobs.wait()
app.processEvents()
print(f"reads {reads} repaints {repaints}", flush=True)
"""


def test_a_long_session_of_scrolling_and_reading_the_grid_does_not_crash(home, tmp_path):
    script = tmp_path / "session.py"
    script.write_text(SESSION)
    env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen",
               HF_HUB_OFFLINE="1")
    result = subprocess.run([sys.executable, str(script), str(home), str(READS), str(REPAINTS)],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    reads, repaints = (int(w) for w in result.stdout.split()[1::2])
    assert reads >= READS and repaints >= REPAINTS
