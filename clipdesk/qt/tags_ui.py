"""Tag widgets: the tag list with counts, the teaching bar, the vocabulary editor."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from clipdesk.core.library import SENSITIVE


class TagSidebar(QWidget):
    """Every tag with its count; clicking one filters the grid, right-click edits it."""

    chosen = Signal(object)  # a tag, or None for all photos
    rename_requested = Signal(str)
    remove_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        # each row's tag, kept on the Python side: item.data() of "All photos" would hand
        # back an empty QVariant, which costs PySide a reference to None (qt/__init__.py)
        self._row_tags: list[str | None] = []
        self.list.itemClicked.connect(lambda item: self.chosen.emit(self.tag_of(item)))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Tags</b>"))
        layout.addWidget(self.list, 1)

    def show_counts(self, counts: list[tuple[str, int]], current: str | None) -> None:
        """The tag list with counts (sensitive flags are not browsed here)."""
        self.list.clear()
        self.list.addItem("All photos")
        self._row_tags = [None]
        for tag, n in counts:
            if not tag.startswith(SENSITIVE):
                item = QListWidgetItem(f"{tag} ({n})")
                item.setData(Qt.ItemDataRole.UserRole, tag)
                self.list.addItem(item)
                self._row_tags.append(tag)
                if tag == current:
                    item.setSelected(True)

    def tag_of(self, item: QListWidgetItem | None) -> str | None:
        row = self.list.row(item) if item is not None else -1
        return self._row_tags[row] if 0 <= row < len(self._row_tags) else None

    def tags(self) -> list[str]:
        return [t for t in self._row_tags if t]

    def _menu(self, pos: QPoint) -> None:
        tag = self.tag_of(self.list.itemAt(pos))
        if not tag:
            return
        menu = QMenu(self)
        menu.addAction(f"Rename “{tag}”…", lambda: self.rename_requested.emit(tag))
        menu.addAction(f"Remove “{tag}” from every photo…",
                       lambda: self.remove_requested.emit(tag))
        menu.popup(self.list.viewport().mapToGlobal(pos))
        self.menu = menu  # kept for tests and so it is not collected while open


class TeachBar(QWidget):
    """Shown over the suggestions while a tag is taught: select, then accept or reject."""

    accept = Signal()
    reject = Signal()
    done = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet("TeachBar { background: #33415c; border-radius: 4px; }")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.text = QLabel(wordWrap=True)
        self.yes = QPushButton("Accept selected (Y)")
        self.yes.setShortcut("Y")
        self.no = QPushButton("Reject selected (N)")
        self.no.setShortcut("N")
        finish = QPushButton("Done")
        self.yes.clicked.connect(self.accept.emit)
        self.no.clicked.connect(self.reject.emit)
        finish.clicked.connect(self.done.emit)
        row = QHBoxLayout(self)
        row.addWidget(self.text, 1)
        for button in (self.yes, self.no, finish):
            row.addWidget(button)
        self.hide()

    def show_tag(self, tag: str, suggestions: int, likely: int) -> None:
        self.text.setText(
            f"Teaching “{tag}”: {likely} likely, then {suggestions - likely} less likely "
            "photos. Select photos that show it and accept them, or reject the "
            "ones that do not; the suggestions improve with each answer." if suggestions else
            f"Teaching “{tag}”: nothing left to suggest.")
        self.show()


class VocabularyDialog(QDialog):
    """The tag vocabulary as the plain text file it is (tags.txt in the data folder)."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Tag vocabulary")
        intro = QLabel(
            "One tag a line: <code>name</code> or <code>name: prompt | prompt</code>. "
            "Automatic tags follow this list; tags you added or removed by hand stay.",
            wordWrap=True)
        self.editor = QPlainTextEdit(text)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.editor, 1)
        layout.addWidget(buttons)
        self.resize(560, 620)

    def text(self) -> str:
        return self.editor.toPlainText()
