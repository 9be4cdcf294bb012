"""Search by words (ranked as a person types, within the tag shown) and by image (a
dropped file, or Find similar); a dropped folder is offered to the library. The field's
text is the view state's query; the views run it."""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from PySide6.QtCore import QMimeData, QTimer
from PySide6.QtWidgets import QLabel, QLineEdit, QMessageBox, QWidget

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.library import Library
from clipdesk.qt.view_state import ViewState
from clipdesk.qt.views import RESULTS, Views

DEBOUNCE_MS = 250  # a query per pause in typing, not per key


class SearchBar:
    def __init__(self, library: Library, state: ViewState, views: Views, field: QLineEdit,
                 parent: QWidget, index: Callable[[list[str]], object],
                 report: Callable[[ClipdeskError], None],
                 understood: QLabel | None = None) -> None:
        self.library, self.state, self.views, self.field = library, state, views, field
        self.parent, self.index, self.report = parent, index, report
        self.understood = understood or QLabel()
        self.debounce = QTimer(parent, singleShot=True, interval=DEBOUNCE_MS)
        self.debounce.timeout.connect(self._understand)
        self.debounce.timeout.connect(views.search)
        field.textChanged.connect(self._changed)
        state.changed.connect(lambda names: self._clear()
                              if "query" in names and not state.query else None)

    def focus(self) -> None:
        self.field.setFocus()
        self.field.selectAll()

    def _changed(self, text: str) -> None:
        self.state.update(query=text.strip())
        if text.strip():
            self.debounce.start()
        else:
            self.debounce.stop()
            self.views.show_library()
            self._clear()  # spaces alone
            self.understood.setText("")

    def _understand(self) -> None:
        """Say how the typed text reads, so that a word taken the wrong way shows."""
        text = self.field.text().strip()
        said = self.library.understand(text).describe() if text else ""
        self.understood.setText(f"→ {said}" if said else "")

    def _clear(self) -> None:
        """Empty the field without searching again (the view shown is not a search)."""
        if self.field.text():
            self.field.blockSignals(True)
            self.field.clear()
            self.field.blockSignals(False)
        self.understood.setText("")

    def find_similar(self, path: str | bytes) -> None:
        name = os.path.basename(os.fsdecode(path))
        self._clear()  # the results no longer answer the typed text
        self.state.update(query="")
        self.views.query("similar", f"Photos like {name}",
                         lambda: self.library.similar(path, RESULTS), image=path)

    def drop(self, mime: QMimeData) -> None:
        local = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if not local:
            self.report(ClipdeskError(
                "Only files on this computer can be searched: save the image first, then "
                "drop the file."))
            return
        self.open_paths(local)

    def open_paths(self, paths: Sequence[str]) -> None:
        """Files dropped on the window, or given to a launch of the app: an image's
        look-alikes are shown; a folder is offered to the library."""
        path = paths[0]
        if os.path.isdir(path):
            answer = QMessageBox.question(self.parent, "Add folder",
                                          f"Add {path} to the library and index its photos?")
            if answer == QMessageBox.StandardButton.Yes:
                self.index([path])
            return
        self.find_similar(path)
