"""The selected photos and the details panel: info, tags and caption of the current
photo, a caption written when wanted, and a person's edits of tags and caption.

Photo ids come from the model's Python side, never index.data() (see grid.py)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex

from clipdesk.core.errors import ClipdeskError, ModelLoadError
from clipdesk.core.models import captions
from clipdesk.core.models.loading import load_model
from clipdesk.core.types import PhotoInfo
from clipdesk.qt.background import first_line

if TYPE_CHECKING:
    from clipdesk.qt.main_window import MainWindow


class Selection:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.library = window.library

    def selected_ids(self) -> list[int]:
        w = self.window
        rows = [i.row() for i in w.grid.selectionModel().selectedIndexes()]
        return [pid for pid in map(w.model.photo_at, rows) if pid is not None]

    def current_id(self) -> int | None:
        return self.window.model.photo_at(self.window.grid.currentIndex().row())

    def is_current(self, photo_id: int) -> bool:
        return self.current_id() == photo_id

    def current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        w = self.window
        if not current.isValid():
            w.details.show_info(None)
            return
        photo_id = w.model.photo_at(current.row())
        if photo_id is None:
            return
        w.views.revealed.add(photo_id)
        w.model.reveal(photo_id)
        w.jobs.read(lambda: (self.library.photo_info(photo_id), self._tag_names(photo_id),
                             self.library.caption(photo_id, write=False)),
                    done=lambda found: self._show_details(photo_id, *found))

    def _tag_names(self, photo_id: int) -> list[str]:
        return [t for t, _, _ in self.library.photo_tags(photo_id)]

    def _show_details(self, photo_id: int, info: PhotoInfo | None, tags: list[str],
                      caption: str | None) -> None:
        w = self.window
        if not self.is_current(photo_id):
            return
        w.details.show_info(info, w.thumbnails.get(photo_id), tags)
        wanted = caption is None and w.work.captions != "off" and info is not None
        broken = w.work.caption_error
        write = wanted and broken is None
        w.details.show_caption(caption, pending=write,
                               problem=f"No captions: {broken}" if wanted and broken else None)
        w.details_shown.emit(photo_id)
        if write:  # shown when ready; never blocks
            w.jobs.read(lambda: self._write_caption(photo_id),
                        done=lambda found: self._store_caption(photo_id, *found),
                        failed=lambda error: self._caption_failed(photo_id, error))

    def _write_caption(self, photo_id: int) -> tuple[str, str]:
        """On a reader: the model writes a caption (seconds); storing it is the writer's."""
        loaded = load_model(self.library.captioner_id)
        photo = self.library.preview(photo_id, loaded.image_size)
        return captions.write_caption(loaded, photo), loaded.spec.id

    def _store_caption(self, photo_id: int, text: str, by: str) -> None:
        w = self.window
        # a person may have typed one meanwhile: theirs stays
        w.jobs.write(lambda: self.library.store_caption(photo_id, text, by),
                     done=lambda stored: w.details.show_caption(stored)
                     if self.is_current(photo_id) else None, failed=w.dialogs.show_error)

    def _caption_failed(self, photo_id: int, error: ClipdeskError) -> None:
        w = self.window
        if isinstance(error, ModelLoadError):  # said once; no more tries this session
            w.work.caption_error = first_line(error)
        if self.is_current(photo_id):
            w.details.show_caption(None, problem=f"No captions: {first_line(error)}"
                                   if isinstance(error, ModelLoadError)
                                   else f"No caption: {first_line(error)}")

    # -- a person's edits -------------------------------------------------------------

    def set_tag(self, tag: str, on: bool) -> None:
        self._edit_current(lambda pid: self.library.set_photo_tag(pid, tag, on))

    def set_caption(self, text: str) -> None:
        self._edit_current(lambda pid: self.library.set_caption(pid, text))

    def _edit_current(self, change: Callable[[int], None]) -> None:
        """A person's edit of the current photo's tags or caption, then a fresh view."""
        w = self.window
        photo_id = self.current_id()
        if photo_id is None:
            return

        def edit() -> list[str]:
            change(photo_id)
            return self._tag_names(photo_id)

        def shown(tags: list[str]) -> None:
            if self.is_current(photo_id):
                w.details.show_tags(tags)
            w.views.refresh_library()
        w.jobs.write(edit, done=shown, failed=w.dialogs.show_error)
