"""Starting the desktop app: QApplication, the window, the first-run question."""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from clipdesk.core.errors import ClipdeskError, LostCatalogError
from clipdesk.core.library import Library
from clipdesk.core.paths import home_dir
from clipdesk.core.store import backup
from clipdesk.qt import single_instance
from clipdesk.qt.main_window import MainWindow
from clipdesk.qt.panels import FirstRunDialog

ICON = Path(__file__).resolve().parents[1] / "resources" / "clipdesk.svg"
ALREADY_OPEN = "clipdesk is already open on this library: its window was brought forward."


def create_window(home: str | None = None, new_library: bool = False) -> MainWindow:
    """The window over the library in `home`; indexing starts once the event loop runs."""
    window = MainWindow(Library(home, new_library))
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
    except LostCatalogError:
        raise  # the person was asked, and chose to quit: the line on stderr, exit 1
    except ClipdeskError as exc:  # a damaged catalog, an unusable data folder
        startup_error(exc).exec()
        raise  # and the same line on stderr, exit 1 (cli.main)
    if window is None:
        print(ALREADY_OPEN)  # the command line's answer: no window of its own
        return 0
    window.show()
    return app.exec()


def open_window(home: str | None = None) -> MainWindow:
    """The window; over a catalog that is missing or empty beside its backups, the
    person chooses first: restore the last backup, start a new library, or quit
    (LostCatalogError)."""
    try:
        return create_window(home)
    except LostCatalogError as exc:
        choice = ask_lost_catalog(exc)
        if choice == RESTORE:
            backup.restore(home_dir(home))
            return create_window(home)
        if choice == START_NEW:
            return create_window(home, new_library=True)
        raise


RESTORE, START_NEW = "Restore the last backup", "Start a new library"


def ask_lost_catalog(exc: LostCatalogError) -> str | None:
    """RESTORE, START_NEW, or None (quit)."""
    box = QMessageBox(QMessageBox.Icon.Warning, "clipdesk: the library's catalog is gone",
                      str(exc))
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setInformativeText("Restoring brings the library back as it was at its last "
                           "backup. A new library starts empty; the backups are kept.")
    role = QMessageBox.ButtonRole
    choices: dict[QPushButton, str] = {
        box.addButton(RESTORE, role.AcceptRole): RESTORE,
        box.addButton(START_NEW, role.DestructiveRole): START_NEW}
    box.addButton("Quit", role.RejectRole)
    box.setDefaultButton(next(iter(choices)))
    box.exec()
    clicked = box.clickedButton()  # by button, not by its text (a style may add a "&")
    return next((choice for button, choice in choices.items() if button is clicked), None)


def launch(home: str | None = None, paths: Sequence[str] = ()) -> MainWindow | None:
    """The window over the library in `home`, which later launches over that library ask
    to come forward; None when an app already open over it took this launch's request
    (and `paths`: images to find look-alikes of, folders to add)."""
    paths = [os.path.abspath(os.fsdecode(p)) for p in paths]  # the first app's cwd differs
    instance = single_instance.claim(home_dir(home), paths)
    if instance is None:
        return None
    window = open_window(home)
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
