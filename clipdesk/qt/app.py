"""Starting the desktop app: QApplication, the window, the first-run question."""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

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
    if window.library.catalog.roots():
        window.after_first_load(window.warm_up)
        window.after_first_load(window.start_index)
        return
    dialog = FirstRunDialog(window)
    window.first_run = dialog
    dialog.accepted.connect(lambda: window.start_index(dialog.chosen()))
    dialog.open()


def main(home: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("clipdesk")
    app.setDesktopFileName("clipdesk")
    window = create_window(home)
    window.show()
    return app.exec()
