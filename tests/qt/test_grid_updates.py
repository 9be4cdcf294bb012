"""Photos arriving (or going) while the library is on screen: the grid inserts and removes
their rows in place, so the person's selection and the photos they look at stay put."""
from __future__ import annotations

import shutil

from PySide6.QtCore import QItemSelectionModel, QPoint

from clipdesk.qt import app as qt_app
from clipdesk.qt.main_window import MainWindow
from tests.qt.conftest import WAIT_MS, indexed


def top_photo(win: MainWindow) -> tuple[int | None, int]:
    """The photo at the top left of the grid, and where its top is on screen."""
    index = win.grid.indexAt(QPoint(1, 1))
    return win.model.photo_at(index.row()), win.grid.visualRect(index).top()


def selected(win: MainWindow) -> set[int | None]:
    return {win.model.photo_at(i.row()) for i in win.grid.selectionModel().selectedIndexes()}


def test_an_index_run_keeps_the_selection_and_the_place_in_the_grid(qtbot, photos, tmp_path):
    root, home = tmp_path / "photos", tmp_path / "home"
    originals = sorted(photos)
    indexed(originals[:12], root, home)
    win = qt_app.create_window(str(home))
    qtbot.addWidget(win)
    win.resize(560, 420)  # a grid taller than its pane: it scrolls
    with qtbot.waitSignal(win.work.indexed, timeout=WAIT_MS):  # the launch's catch-up
        win.show()
    qtbot.waitUntil(lambda: win.model.rowCount() == 12, timeout=WAIT_MS)
    bar = win.grid.verticalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum() // 2 + 7)  # mid-way, a row cut at the top
    chosen = [win.model.index(r) for r in (5, 9)]
    win.grid.setCurrentIndex(chosen[0])
    win.grid.selectionModel().select(chosen[1], QItemSelectionModel.SelectionFlag.Select)
    ids = [win.model.photo_at(r) for r in (5, 9)]
    assert selected(win) == set(ids)
    before = top_photo(win)
    assert before[0] is not None and before[0] not in ids

    # undated photos come newest first: the new ones above the rows on screen
    for path in originals[12:]:
        shutil.copy(path, root / path.name)
    (root / originals[0].name).unlink()  # and one goes (not one on screen or selected)
    gone = win.library.photos.id_of(root / originals[0].name)
    assert gone not in ids + [before[0]]
    with qtbot.waitSignal(win.work.indexed, timeout=WAIT_MS):
        win.start_index()
    qtbot.waitUntil(lambda: win.model.rowCount() == len(originals) - 1, timeout=WAIT_MS)

    assert gone not in win.model.ids
    assert selected(win) == set(ids)  # still selected, and still the current photo
    assert win.model.photo_at(win.grid.currentIndex().row()) == ids[0]
    assert top_photo(win) == before  # the same photo, at the same place on screen
    assert bar.value() > 0

    # another view (another order) starts from its top, not from the library's place
    with qtbot.waitSignal(win.results_shown, timeout=WAIT_MS):
        win.sort.setCurrentIndex(win.sort.findData("sharpness"))
    assert bar.maximum() > 0 and bar.value() == 0
