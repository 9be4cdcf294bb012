"""Starting the desktop app: QApplication, the window, the first-run question."""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.library import Library
from clipdesk.core.paths import home_dir
from clipdesk.qt import single_instance
from clipdesk.qt.main_window import MainWindow
from clipdesk.qt.panels import FirstRunDialog

ICON = Path(__file__).resolve().parents[1] / "resources" / "clipdesk.svg"
ALREADY_OPEN = "clipdesk is already open on this library: its window was brought forward."


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


def main(home: str | None = None, paths: Sequence[str] = ()) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("clipdesk")
    QGuiApplication.setDesktopFileName("clipdesk")  # the icon a Wayland desktop shows
    try:
        window = launch(home, paths)
    except ClipdeskError as exc:  # a damaged catalog, an unusable data folder
        startup_error(exc).exec()
        raise  # and the same line on stderr, exit 1 (cli.main)
    if window is None:
        print(ALREADY_OPEN)  # the command line's answer: no window of its own
        return 0
    window.show()
    return app.exec()


def launch(home: str | None = None, paths: Sequence[str] = ()) -> MainWindow | None:
    """The window over the library in `home`, which later launches over that library ask
    to come forward; None when an app already open over it took this launch's request
    (and `paths`: images to find look-alikes of, folders to add)."""
    paths = [os.path.abspath(os.fsdecode(p)) for p in paths]  # the first app's cwd differs
    instance = single_instance.claim(home_dir(home), paths)
    if instance is None:
        return None
    window = create_window(home)
    instance.serve(window)
    instance.requested.connect(lambda asked: come_forward(window, asked))
    if paths:
        window.views.after_first_load(lambda: window.searching.open_paths(paths))
    return window


def come_forward(window: MainWindow, paths: Sequence[str]) -> None:
    """Another launch asked for this window: show it on top, then open what it was given."""
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()
    if paths:
        window.searching.open_paths(paths)


def startup_error(exc: ClipdeskError) -> QMessageBox:
    """The command line's one line (what happened, the command that fixes it), in a box
    whose text can be copied."""
    box = QMessageBox(QMessageBox.Icon.Critical, "clipdesk cannot open its library", str(exc))
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return box
