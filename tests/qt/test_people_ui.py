"""People in a real window, on real faces (tests/data/faces) with the real face models:
the sidebar lists people with a face and a count; naming from it, searching the name with
a word and a year, merging two people and "not this person" from the details panel."""
from __future__ import annotations

import shutil

from PySide6.QtCore import Qt

from clipdesk.qt.main_window import MainWindow
from tests.conftest import REPO, TINY_MODEL, run_cli, use_tiny_models
from tests.qt.conftest import WAIT_MS, opened, searched

FACES = REPO / "tests" / "data" / "faces"


def rows(win: MainWindow) -> list[str]:
    return [win.people.list.item(i).text() for i in range(win.people.list.count())]


def names(win: MainWindow) -> set[str]:
    paths = win.library.catalog.files.paths_for(win.model.ids)
    return {bytes(p).rsplit(b"/", 1)[-1].decode() for p in paths.values()}


def test_name_search_merge_and_undo_a_grouping_in_the_window(qtbot, tmp_path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "beach").mkdir()
    for name in ("obama.jpg", "obama2.jpg", "biden.jpg"):
        shutil.copy(FACES / name, folder / ("beach" if name == "obama.jpg" else "") / name)
    home = tmp_path / "home"
    use_tiny_models(home)
    assert run_cli("--home", str(home), "index", str(folder), "--model", TINY_MODEL).rc == 0
    assert run_cli("--home", str(home), "people", "find").rc == 0
    win = opened(qtbot, home)
    qtbot.waitUntil(lambda: rows(win) == ["Unnamed (2)", "Unnamed (1)"], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not win.people.list.item(0).icon().isNull(), timeout=WAIT_MS)
    obama, biden = list(win.people.people)

    win.people.name_requested.emit(obama, "Barack Obama")  # what the Name… dialog sends
    qtbot.waitUntil(lambda: rows(win)[0] == "Barack Obama (2)", timeout=WAIT_MS)
    item = win.people.list.item(0)
    with qtbot.waitSignal(win.results_shown, timeout=WAIT_MS):
        qtbot.mouseClick(win.people.list.viewport(), Qt.MouseButton.LeftButton,
                         pos=win.people.list.visualItemRect(item).center())
    assert win.search.text() == "Barack Obama"
    assert names(win) == {"obama.jpg", "obama2.jpg"}
    searched(qtbot, win, "Barack Obama beach")  # with a word: the beach one first
    assert names(win) <= {"obama.jpg", "obama2.jpg"} and names_at(win, 0) == "obama.jpg"
    searched(qtbot, win, "Barack Obama 2012")
    assert names(win) == {"obama.jpg"}
    qtbot.waitUntil(lambda: win.understood.text() == "→ person Barack Obama · 2012",
                    timeout=WAIT_MS)

    searched(qtbot, win, "Barack Obama")
    win.people.merge_requested.emit(biden, obama)  # right-click: Merge into
    qtbot.waitUntil(lambda: rows(win) == ["Barack Obama (3)"], timeout=WAIT_MS)
    # the results on screen follow: all three now
    qtbot.waitUntil(lambda: names(win) == {"obama.jpg", "obama2.jpg", "biden.jpg"},
                    timeout=WAIT_MS)
    row = next(r for r in range(3) if names_at(win, r) == "biden.jpg")
    win.grid.setCurrentIndex(win.model.index(row, 0))
    label = win.details.fields["People"]
    qtbot.waitUntil(lambda: "Barack Obama" in label.text(), timeout=WAIT_MS)
    biden_photo = win.model.photo_at(row)
    face = win.library.people.in_photo(biden_photo)[0].id
    win.details.face_rejected.emit(face)  # its × link: not this person
    qtbot.waitUntil(lambda: sorted(rows(win)) == ["Barack Obama (2)", "Unnamed (1)"],
                    timeout=WAIT_MS)
    # and the photo leaves the results for "Barack Obama", its face unnamed again
    qtbot.waitUntil(lambda: names(win) == {"obama.jpg", "obama2.jpg"}, timeout=WAIT_MS)
    assert [f.name for f in win.library.people.in_photo(biden_photo)] == [None]


def names_at(win: MainWindow, row: int) -> str:
    photo = win.model.photo_at(row)
    return bytes(win.library.catalog.files.paths_for([photo])[photo]).rsplit(b"/", 1)[-1].decode()
