"""Search by words (ranked as a person types, within the tag shown) and by image (a
dropped file, or Find similar); a dropped folder is offered to the library."""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QTimer
from PySide6.QtWidgets import QMessageBox

from clipdesk.core.errors import ClipdeskError
from clipdesk.qt.photo_actions import RESULTS

if TYPE_CHECKING:
    from clipdesk.qt.main_window import MainWindow

DEBOUNCE_MS = 250  # a query per pause in typing, not per key


class SearchBar:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.library = window.library
        self.field = window.search
        self.debounce = QTimer(window, singleShot=True, interval=DEBOUNCE_MS)
        self.debounce.timeout.connect(self.run)
        self.field.textChanged.connect(self._changed)

    def focus(self) -> None:
        self.field.setFocus()
        self.field.selectAll()

    def _changed(self, text: str) -> None:
        if text.strip():
            self.debounce.start()
        else:
            self.debounce.stop()
            self.window.views.show_library()

    def run(self) -> None:
        text = self.field.text().strip()
        tag = self.window.views.tag_filter
        if text:
            where = f" tagged “{tag}”" if tag else ""
            self.window.views.query(
                "search", f"Photos{where} matching “{text}”",
                lambda: self.library.search(text, RESULTS, tags=[tag] if tag else None))

    def find_similar(self, path: str | bytes) -> None:
        name = os.path.basename(os.fsdecode(path))
        self.field.blockSignals(True)  # the results no longer answer the typed text
        self.field.clear()
        self.field.blockSignals(False)
        self.window.views.query("similar", f"Photos like {name}",
                                lambda: self.library.similar(path, RESULTS), image=path)

    def drop(self, mime: QMimeData) -> None:
        local = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if not local:
            self.window.dialogs.show_error(ClipdeskError(
                "Only files on this computer can be searched: save the image first, then "
                "drop the file."))
            return
        self.open_paths(local)

    def open_paths(self, paths: Sequence[str]) -> None:
        """Files dropped on the window, or given to a launch of the app: an image's
        look-alikes are shown; a folder is offered to the library."""
        path = paths[0]
        if os.path.isdir(path):
            answer = QMessageBox.question(self.window, "Add folder",
                                          f"Add {path} to the library and index its photos?")
            if answer == QMessageBox.StandardButton.Yes:
                self.window.start_index([path])
            return
        self.find_similar(path)
