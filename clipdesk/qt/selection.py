"""The selected photos and the details panel: info, tags and caption of the current
photo, a caption written when wanted, and a person's edits of tags and caption.

Photo ids come from the model's Python side, never index.data() (see grid.py)."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QListView

from clipdesk.core.errors import ClipdeskError, ModelLoadError
from clipdesk.core.library import Library
from clipdesk.core.types import FaceInfo, PhotoInfo
from clipdesk.qt.background import BackgroundWork, first_line
from clipdesk.qt.grid import PhotoGridModel, ThumbnailCache
from clipdesk.qt.panels import DetailsPanel
from clipdesk.qt.views import Views
from clipdesk.qt.worker import Jobs


class Selection:
    def __init__(self, library: Library, jobs: Jobs, views: Views, grid: QListView,
                 details: DetailsPanel, thumbnails: ThumbnailCache, work: BackgroundWork,
                 details_shown: Callable[[int], None],
                 report: Callable[[ClipdeskError], None]) -> None:
        self.library, self.jobs, self.views, self.grid = library, jobs, views, grid
        self.model: PhotoGridModel = views.screen.model
        self.details, self.thumbnails, self.work = details, thumbnails, work
        self.details_shown, self.report = details_shown, report
        # a person's edits finished so far: a details read that an edit overtook shows
        # what was there before it, so it is read again
        self._edits = 0

    def selected_ids(self) -> list[int]:
        rows = [i.row() for i in self.grid.selectionModel().selectedIndexes()]
        return [pid for pid in map(self.model.photo_at, rows) if pid is not None]

    def current_id(self) -> int | None:
        return self.model.photo_at(self.grid.currentIndex().row())

    def is_current(self, photo_id: int) -> bool:
        return self.current_id() == photo_id

    def current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.details.show_info(None)
            return
        photo_id = self.model.photo_at(current.row())
        if photo_id is None:
            return
        self.views.state.revealed.add(photo_id)
        self.model.reveal(photo_id)
        self._read_details(photo_id)

    def _read_details(self, photo_id: int) -> None:
        edits = self._edits
        self.jobs.read(lambda: (self.library.photos.info(photo_id), self._tag_names(photo_id),
                             self.library.captions.get(photo_id, write=False),
                             (self.library.text.of(photo_id),
                              self.library.text.was_read(photo_id)),
                             self.library.people.in_photo(photo_id)),
                    done=lambda found: self._show_details(photo_id, edits, *found))

    def reread(self) -> None:
        """Show the current photo's details again (its people changed)."""
        photo_id = self.current_id()
        if photo_id is not None:
            self._read_details(photo_id)

    def _tag_names(self, photo_id: int) -> list[str]:
        return [t for t, _, _ in self.library.tags.of(photo_id)]

    def _show_details(self, photo_id: int, edits: int, info: PhotoInfo | None,
                      tags: list[str], caption: str | None, text: tuple[str | None, bool],
                      faces: list[FaceInfo]) -> None:
        if not self.is_current(photo_id):
            return
        if edits != self._edits:  # an edit landed while this was read: it shows the old
            self._read_details(photo_id)
            return
        row = self.model.row_of(photo_id)
        self.details.show_info(info, self.thumbnails.get(photo_id), tags,
                               None if row is None else self.model.moment_at(row))
        self.details.show_text(*text)
        self.details.show_people(faces, self.library.people.on)
        wanted = caption is None and self.work.captions != "off" and info is not None
        broken = self.work.caption_error
        write = wanted and broken is None
        self.details.show_caption(caption, pending=write, problem=f"No captions: {broken}"
                                  if wanted and broken else None)
        self.details_shown(photo_id)
        if write:  # shown when ready; never blocks. On a reader: the model writes a
            # caption (seconds); storing it is the writer's
            self.jobs.read(lambda: self.library.captions.draft(photo_id),
                           done=lambda found: self._store_caption(photo_id, *found),
                           failed=lambda error: self._caption_failed(photo_id, error))

    def _store_caption(self, photo_id: int, text: str, by: str) -> None:
        # a person may have typed one meanwhile: theirs stays
        self.jobs.write(lambda: self.library.captions.store(photo_id, text, by),
                        done=lambda stored: self.details.show_caption(stored)
                        if self.is_current(photo_id) else None, failed=self.report)

    def _caption_failed(self, photo_id: int, error: ClipdeskError) -> None:
        if isinstance(error, ModelLoadError):  # said once; no more tries this session
            self.work.caption_error = first_line(error)
        if self.is_current(photo_id):
            self.details.show_caption(None, problem=f"No captions: {first_line(error)}"
                                   if isinstance(error, ModelLoadError)
                                   else f"No caption: {first_line(error)}")

    # -- a person's edits -------------------------------------------------------------

    def set_tag(self, tag: str, on: bool) -> None:
        self._edit_current(lambda pid: self.library.tags.set(pid, tag, on))

    def set_caption(self, text: str) -> None:
        self._edit_current(lambda pid: self.library.captions.set(pid, text))

    def _edit_current(self, change: Callable[[int], None]) -> None:
        """A person's edit of the current photo's tags or caption, then a fresh view."""
        photo_id = self.current_id()
        if photo_id is None:
            return

        def edit() -> list[str]:
            change(photo_id)
            return self._tag_names(photo_id)

        def shown(tags: list[str]) -> None:
            self._edits += 1
            if self.is_current(photo_id):
                self.details.show_tags(tags)
            self.views.refresh_library()
        self.jobs.write(edit, done=shown, failed=self.report)
