"""How a person left the window comes back at the next launch (QSettings, per library)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize

from clipdesk.core.library import Library
from clipdesk.qt.main_window import MainWindow


def open_window(qtbot, home: Path) -> MainWindow:
    win = MainWindow(Library(home))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_view_preferences_are_remembered_across_launches(qtbot, tmp_path):
    home = tmp_path / "home"
    first = open_window(qtbot, home)
    assert (first.sort.currentData(), first.zoom.value()) == ("default", 160)
    assert first.stack_action.isChecked() and first.prefs.sensitive == "blur"
    first.sort.setCurrentIndex(first.sort.findData("sharpness"))
    first.zoom.setValue(224)
    first.photo_actions.set_stacking(False)
    first.photo_actions.set_sensitive("hide")
    first.resize(720, 520)  # within the offscreen screen (800 x 600)
    first.splitter.setSizes([120, 480, 300])
    panels = first.splitter.sizes()
    first.close()

    second = open_window(qtbot, home)
    assert second.sort.currentData() == "sharpness"
    assert second.zoom.value() == 224
    assert not second.stack_action.isChecked()
    assert second.prefs.sensitive == "hide" and second.sensitive_actions["hide"].isChecked()
    assert second.size() == QSize(720, 520)
    assert second.splitter.sizes() == panels
    second.close()

    other = open_window(qtbot, tmp_path / "another library")  # its own preferences
    assert (other.sort.currentData(), other.zoom.value()) == ("default", 160)
    other.close()
