"""What a person does to photos in the grid: the right-click menu, the preview, rejects,
stacks, sharper look-alikes and the blurry view, stacking and sensitive-photo display."""
from __future__ import annotations

import os
from collections.abc import Callable

from PIL import Image
from PySide6.QtCore import QPoint, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QImage
from PySide6.QtWidgets import QLabel, QListView, QMenu, QSlider, QWidget

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.library import Library
from clipdesk.core.types import Hit
from clipdesk.qt.panels import PreviewDialog
from clipdesk.qt.search_bar import SearchBar
from clipdesk.qt.selection import Selection
from clipdesk.qt.tag_actions import TagActions
from clipdesk.qt.view_state import ViewState
from clipdesk.qt.views import RESULTS, Views
from clipdesk.qt.worker import Jobs


class PhotoActions:
    def __init__(self, library: Library, jobs: Jobs, state: ViewState, views: Views,
                 searching: SearchBar, selection: Selection, tagging: TagActions,
                 blur: tuple[QSlider, QLabel], parent: QWidget,
                 report: Callable[[ClipdeskError], None]) -> None:
        self.library, self.jobs, self.state, self.views = library, jobs, state, views
        self.searching, self.selection, self.tagging = searching, selection, tagging
        self.grid: QListView = selection.grid
        self.model = views.screen.model
        self.blur_limit, self.blur_label = blur
        self.parent, self.report = parent, report
        self.preview: PreviewDialog | None = None
        self.context_menu: QMenu | None = None  # kept for tests, and alive while open
        # reading text in photos: the status bar's background work (qt/background.py)
        self.read_text: Callable[[list[int] | None], None] = lambda ids: None
        views.shown.connect(lambda mode, _: self.show_blur_limit(mode == "blurry"))

    def path_of(self, row: int) -> bytes | None:
        photo_id = self.model.photo_at(row)
        if photo_id is None:
            return None
        return self.library.photos.paths([photo_id]).get(photo_id)

    def show_context_menu(self, pos: QPoint) -> None:
        grid, model = self.grid, self.model
        index = grid.indexAt(pos)
        path = self.path_of(index.row()) if index.isValid() else None
        photo_id = model.photo_at(index.row())
        if path is None or photo_id is None:
            return
        selected = self.selection.selected_ids() or [photo_id]
        menu = QMenu(self.parent)
        menu.addAction("Find similar", lambda: self.searching.find_similar(path))
        menu.addAction("Find sharper versions", lambda: self.find_sharper(path))
        stack = model.stack_at(index.row())
        if self.state.mode != "stack" and stack > 1:
            menu.addAction(f"Show all {stack} in this stack", lambda: self.show_stack(photo_id))
        menu.addAction("Read text in photo" if len(selected) == 1 else
                       f"Read text in {len(selected)} photos", lambda: self.read_text(selected))
        menu.addSeparator()
        menu.addAction("Teach a tag from the selected photos…", self.tagging.teach_dialog)
        if model.rejected_at(index.row()):
            menu.addAction("Not a reject", lambda: self.set_rejected(selected, False))
        else:
            menu.addAction("Mark as reject", lambda: self.set_rejected(selected, True))
        if self.state.mode == "stack" and model.rowCount() > 1:
            others = model.ids[1:]
            menu.addAction("Keep the best shot: mark the others as rejects",
                           lambda: self.set_rejected(others, True))
        menu.addSeparator()
        where = os.fsdecode(path)
        menu.addAction("Open", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(where)))
        menu.addAction("Show in folder", lambda: QDesktopServices.openUrl(
            QUrl.fromLocalFile(os.path.dirname(where))))
        menu.addAction("Copy path", lambda: QGuiApplication.clipboard().setText(where))
        menu.popup(grid.viewport().mapToGlobal(pos))
        self.context_menu = menu

    def show_context_menu_by_key(self) -> None:
        """Shift+F10 or the Menu key: the menu of the current photo, at the photo."""
        grid = self.grid
        if grid.currentIndex().isValid():
            self.show_context_menu(grid.visualRect(grid.currentIndex()).center())

    def preview_current(self) -> None:
        self.open_preview(self.grid.currentIndex().row())

    def open_preview(self, row: int) -> None:
        grid, model = self.grid, self.model
        photo_id = model.photo_at(row)
        if photo_id is None:
            return
        grid.setCurrentIndex(model.index(row))
        tile = model.tile(row)
        path = self.path_of(row) if tile is not None and tile.duration is not None else None
        if path is not None:  # a video: the system's player plays it, not the preview
            QDesktopServices.openUrl(QUrl.fromLocalFile(os.fsdecode(path)))
            return
        if self.preview is None:
            self.preview = PreviewDialog(self.parent)
            self.preview.step.connect(lambda d: self.open_preview(grid.currentIndex().row() + d))
        preview = self.preview
        preview.show()
        self.jobs.read(lambda: to_qimage(self.library.photos.preview(photo_id)),
                       done=lambda image: preview.show_image(
                           image, f"{row + 1} of {model.rowCount()}"),
                       failed=self.report)

    # -- quality: sharpness, stacks, rejects ---------------------------------------------

    def set_rejected(self, photo_ids: list[int], on: bool) -> None:
        """Mark photos as rejects (drawn dimmed); nothing is deleted or moved."""
        def mark() -> set[int]:
            self.library.groups.reject(photo_ids, on)
            return self.library.groups.rejected()

        def shown(rejected: set[int]) -> None:
            self.model.rejected = rejected
            self.grid.viewport().update()
            self.views.refresh_library()  # and a load begun before this, with the old
            # rejects, is dropped rather than drawn
        self.jobs.write(mark, done=shown, failed=self.report)

    def find_sharper(self, path: bytes) -> None:
        name = os.path.basename(os.fsdecode(path))
        self.views.query("similar", f"Sharper versions of {name}",
                                lambda: self.library.groups.sharper(path, RESULTS), image=path)

    def show_stack(self, photo_id: int) -> None:
        """Every photo of a stack, best shot first (score: sharpness)."""
        def members() -> list[Hit]:
            return [Hit(m.photo_id, m.path, m.sharpness or 0.0)
                    for m in self.library.groups.of(photo_id)]
        self.views.query("stack", "Burst / duplicates: best shot first", members)

    def show_blurry(self) -> None:
        below = self.blur_limit.value() / 100
        self.views.query("blurry", "Blurry photos, blurriest first",
                                lambda: self.library.groups.blurry(below))

    def show_blur_limit(self, on: bool) -> None:
        self.blur_label.setText(f"Blurry under {self.blur_limit.value() / 100:.2f}")
        self.blur_label.setVisible(on)
        self.blur_limit.setVisible(on)

    def set_stacking(self, on: bool) -> None:
        self.state.update(stacking=on)

    # -- sensitive content ----------------------------------------------------------------

    def set_sensitive(self, mode: str) -> None:
        """blur (until clicked) / hide / show; remembered across launches."""
        self.state.update(sensitive=mode)

    def show_flagged(self) -> None:
        self.views.query("flagged", "Photos flagged as sensitive", self.library.tags.flagged)


def to_qimage(image: Image.Image) -> QImage:
    """PIL RGB -> QImage, on the worker thread (QImage is safe off the GUI thread)."""
    data = image.tobytes()
    return QImage(data, image.width, image.height, 3 * image.width,
                  QImage.Format.Format_RGB888).copy()
