"""What a person does to photos in the grid: the right-click menu, the preview, rejects,
stacks, sharper look-alikes and the blurry view, stacking and sensitive-photo display."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PIL import Image
from PySide6.QtCore import QPoint, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QImage
from PySide6.QtWidgets import QMenu

from clipdesk.core.types import Hit
from clipdesk.qt.panels import PreviewDialog

if TYPE_CHECKING:
    from clipdesk.qt.main_window import MainWindow

RESULTS = 200  # hits asked for per result list: more than a screen, fast to rank


class PhotoActions:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.library = window.library
        self.preview: PreviewDialog | None = None
        self.context_menu: QMenu | None = None  # kept for tests, and alive while open

    def path_of(self, row: int) -> bytes | None:
        photo_id = self.window.model.photo_at(row)
        if photo_id is None:
            return None
        return self.library.paths_for([photo_id]).get(photo_id)

    def show_context_menu(self, pos: QPoint) -> None:
        w = self.window
        index = w.grid.indexAt(pos)
        path = self.path_of(index.row()) if index.isValid() else None
        photo_id = w.model.photo_at(index.row())
        if path is None or photo_id is None:
            return
        selected = w.selection.selected_ids() or [photo_id]
        menu = QMenu(w)
        menu.addAction("Find similar", lambda: w.searching.find_similar(path))
        menu.addAction("Find sharper versions", lambda: self.find_sharper(path))
        stack = w.model.stack_at(index.row())
        if w.views.mode != "stack" and stack > 1:
            menu.addAction(f"Show all {stack} in this stack", lambda: self.show_stack(photo_id))
        menu.addSeparator()
        menu.addAction("Teach a tag from the selected photos…", w.tagging.teach_dialog)
        if w.model.rejected_at(index.row()):
            menu.addAction("Not a reject", lambda: self.set_rejected(selected, False))
        else:
            menu.addAction("Mark as reject", lambda: self.set_rejected(selected, True))
        if w.views.mode == "stack" and w.model.rowCount() > 1:
            others = w.model.ids[1:]
            menu.addAction("Keep the best shot: mark the others as rejects",
                           lambda: self.set_rejected(others, True))
        menu.addSeparator()
        where = os.fsdecode(path)
        menu.addAction("Open", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(where)))
        menu.addAction("Show in folder", lambda: QDesktopServices.openUrl(
            QUrl.fromLocalFile(os.path.dirname(where))))
        menu.addAction("Copy path", lambda: QGuiApplication.clipboard().setText(where))
        menu.popup(w.grid.viewport().mapToGlobal(pos))
        self.context_menu = menu

    def show_context_menu_by_key(self) -> None:
        """Shift+F10 or the Menu key: the menu of the current photo, at the photo."""
        grid = self.window.grid
        if grid.currentIndex().isValid():
            self.show_context_menu(grid.visualRect(grid.currentIndex()).center())

    def open_preview(self, row: int) -> None:
        w = self.window
        photo_id = w.model.photo_at(row)
        if photo_id is None:
            return
        w.grid.setCurrentIndex(w.model.index(row))
        if self.preview is None:
            self.preview = PreviewDialog(w)
            self.preview.step.connect(lambda d: self.open_preview(w.grid.currentIndex().row() + d))
        preview = self.preview
        preview.show()
        w.jobs.read(lambda: to_qimage(self.library.preview(photo_id)),
                    done=lambda image: preview.show_image(
                        image, f"{row + 1} of {w.model.rowCount()}"),
                    failed=w.dialogs.show_error)

    # -- quality: sharpness, stacks, rejects ---------------------------------------------

    def set_rejected(self, photo_ids: list[int], on: bool) -> None:
        """Mark photos as rejects (drawn dimmed); nothing is deleted or moved."""
        w = self.window

        def mark() -> set[int]:
            self.library.set_rejected(photo_ids, on)
            return self.library.rejected_ids()

        def shown(rejected: set[int]) -> None:
            w.model.rejected = rejected
            w.grid.viewport().update()
        w.jobs.write(mark, done=shown, failed=w.dialogs.show_error)

    def find_sharper(self, path: bytes) -> None:
        name = os.path.basename(os.fsdecode(path))
        self.window.views.query("similar", f"Sharper versions of {name}",
                                lambda: self.library.sharper(path, RESULTS), image=path)

    def show_stack(self, photo_id: int) -> None:
        """Every photo of a stack, best shot first (score: sharpness)."""
        def members() -> list[Hit]:
            return [Hit(m.photo_id, m.path, m.sharpness or 0.0)
                    for m in self.library.group_of(photo_id)]
        self.window.views.query("stack", "Burst / duplicates: best shot first", members)

    def show_blurry(self) -> None:
        below = self.window.blur_limit.value() / 100
        self.window.views.query("blurry", "Blurry photos, blurriest first",
                                lambda: self.library.blurry(below))

    def show_blur_limit(self, on: bool) -> None:
        w = self.window
        w.blur_label.setText(f"Blurry under {w.blur_limit.value() / 100:.2f}")
        w.blur_label.setVisible(on)
        w.blur_limit.setVisible(on)

    def set_stacking(self, on: bool) -> None:
        self.window.prefs.stack = on
        self.window.stack_action.setChecked(on)
        self.window.views.redo()

    # -- sensitive content ----------------------------------------------------------------

    def set_sensitive(self, mode: str) -> None:
        """blur (until clicked) / hide / show; remembered across launches."""
        self.window.prefs.sensitive = mode
        self.window.sensitive_actions[mode].setChecked(True)
        self.window.views.show_library()

    def show_flagged(self) -> None:
        self.window.views.query("flagged", "Photos flagged as sensitive", self.library.flagged)


def to_qimage(image: Image.Image) -> QImage:
    """PIL RGB -> QImage, on the worker thread (QImage is safe off the GUI thread)."""
    data = image.tobytes()
    return QImage(data, image.width, image.height, 3 * image.width,
                  QImage.Format.Format_RGB888).copy()
