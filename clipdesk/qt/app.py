"""Starting the desktop app: QApplication, the window, the first-run question."""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.library import Library
from clipdesk.qt.main_window import MainWindow
from clipdesk.qt.panels import FirstRunDialog

ICON = Path(__file__).resolve().parents[1] / "resources" / "clipdesk.svg"


def create_window(home: str | None = None) -> MainWindow:
    """The window over the library in `home`; indexing starts once the event loop runs."""
    window = MainWindow(Library(home))
    if ICON.exists():
        window.setWindowIcon(QIcon(str(ICON)))
    QTimer.singleShot(0, lambda: start(window))
    return window


def start(window: MainWindow) -> None:
    """First launch asks for folders and starts at once; later launches catch up."""
    if window.library.roots():
        window.views.after_first_load(window.warm_up)
        window.views.after_first_load(window.start_index)
        return
    dialog = FirstRunDialog(window)
    window.first_run = dialog
    dialog.accepted.connect(lambda: window.start_index(dialog.chosen()))
    dialog.open()


def main(home: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("clipdesk")
    QGuiApplication.setDesktopFileName("clipdesk")  # the icon a Wayland desktop shows
    try:
        window = create_window(home)
    except ClipdeskError as exc:  # a damaged catalog, an unusable data folder
        startup_error(exc).exec()
        raise  # and the same line on stderr, exit 1 (cli.main)
    window.show()
    return app.exec()


def startup_error(exc: ClipdeskError) -> QMessageBox:
    """The command line's one line (what happened, the command that fixes it), in a box
    whose text can be copied."""
    box = QMessageBox(QMessageBox.Icon.Critical, "clipdesk cannot open its library", str(exc))
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return box
