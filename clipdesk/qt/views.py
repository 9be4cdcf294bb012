"""What the grid shows: the library (filtered by a tag, stacked, sorted) or a result list
(a search, look-alikes, blurry photos, a stack, suggestions), loaded off the GUI thread;
late answers to an older query are dropped."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPersistentModelIndex, QPoint, QSize, QTimer
from PySide6.QtGui import QImage, QImageReader, QPixmap
from PySide6.QtWidgets import QListView

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.types import Hit
from clipdesk.wording import plural

if TYPE_CHECKING:
    from clipdesk.qt.main_window import MainWindow
    from clipdesk.qt.worker import Job

Query = Callable[[], list[Hit]]


# what an empty result list says, by view (searches: "Nothing clearly matches.")
EMPTY = {"blurry": "No photo is blurrier than that.",
         "flagged": "No photo is flagged as sensitive."}


class Views:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.library = window.library
        self.mode = "library"  # "library" | "search" | "similar" | "flagged" | "teach" | ...
        self.hits: list[Hit] = []  # the result list, with the weaker matches
        self.tag_filter: str | None = None
        self.flagged: set[int] = set()
        self.revealed: set[int] = set()  # sensitive photos a person clicked to see
        self.last_refresh = 0.0
        self.refreshing: Job | None = None  # the library's ids being loaded, if they are
        self._query_serial = 0
        self._refresh_serial = 0
        self._count = ""  # the result count the status bar shows, while it does
        self._last_query: tuple[str, str, Query, str | bytes | None] | None = None
        self._shown_once = False
        self._shown: tuple[object, ...] | None = None  # the library view on screen: its
        # (tag, order, stacking); None while a result list is
        self._after_first_load: list[Callable[[], None]] = []

    # -- the library ----------------------------------------------------------------

    def refresh_library(self) -> None:
        """Reload the photo ids (off the GUI thread) when the library view is shown."""
        w = self.window
        self.last_refresh = time.monotonic()
        self._refresh_serial += 1
        serial = self._refresh_serial
        tags = [self.tag_filter] if self.tag_filter else None
        sort, stack = w.sort.currentData(), w.stack_action.isChecked()

        def load() -> tuple[object, ...]:
            ids = self.library.photo_ids(tags, sort)
            shown, stacks = self.library.stacked(ids) if stack else (ids, {})
            return (ids, shown, stacks, self.library.rejected_ids(),
                    {h.photo_id for h in self.library.flagged()}, self.library.tag_counts())
        def ended() -> bool:
            """The load is over; whether it is the latest (a late one is dropped). Said
            through the handlers read() connects before the job starts: a signal
            connected after it could come too late, leaving `refreshing` set for good
            (and the grid never reloading while photos stream in)."""
            if serial != self._refresh_serial:
                return False
            self.refreshing = None
            return True

        def failed(error: ClipdeskError) -> None:
            ended()
            w.dialogs.show_error(error)

        self.refreshing = w.jobs.read(
            load, done=lambda found: self._library_loaded(found, (tags, sort, stack))
            if ended() else None,
            failed=failed)

    def after_first_load(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the library is on screen (background work waits for that,
        so it does not compete with the first paint)."""
        if self._shown_once:
            callback()
        else:
            self._after_first_load.append(callback)

    def _library_loaded(self, found: tuple[Any, ...], view: tuple[object, ...]) -> None:
        w = self.window
        ids, shown, stacks, w.model.rejected, self.flagged, counts = found
        w.tags.show_counts(counts, self.tag_filter)
        w.details.set_known_tags(sorted({t.name for t in self.library.vocabulary()
                                         if ":" not in t.name} | set(w.tags.tags())))
        if not self._shown_once:
            self._shown_once = True
            for callback in self._after_first_load:
                QTimer.singleShot(0, callback)
            self._after_first_load.clear()
        if self.mode != "library":
            return
        w.model.veiled = self.veiled()
        w.model.stacks = stacks
        if view == self._shown:  # the same view, updated: photos came or went
            with keep_place(w.grid):
                w.model.set_photos(self.visible(shown))
        else:  # another tag, order or stacking, or back from results: from the top
            w.model.set_photos(self.visible(shown))
            w.grid.scrollToTop()
        self._shown = view
        count = plural(len(ids), "photo")
        w.heading.setText(f"Tagged “{self.tag_filter}” — {count}" if self.tag_filter
                          else f"Library — {count}")
        self.update_empty("No photos yet. Add a folder (Ctrl+O) or drop one here."
                          if not ids else "")
        w.back.setVisible(self.tag_filter is not None)
        w.photo_actions.show_blur_limit(False)
        w.results_shown.emit("library")

    def show_library(self) -> None:
        w = self.window
        self._query_serial += 1
        self.mode = "library"
        w.tagging.stop_teaching()
        if w.search.text():
            w.search.blockSignals(True)
            w.search.clear()
            w.search.blockSignals(False)
        w.more.hide()
        w.query_image.hide()
        if w.status_text.full_text() in (self._count, "Searching…"):
            w.status_text.setText("")  # the results' count left with them (not indexing's)
        self.refresh_library()

    def set_tag_filter(self, tag: str | None) -> None:
        """Show only photos with `tag`; a search runs within them."""
        self.tag_filter = tag
        if self.window.search.text().strip():
            self.window.searching.run()
        else:
            self.show_library()

    def back(self) -> None:
        if self.tag_filter and self.mode == "library":
            self.set_tag_filter(None)
        else:
            self.show_library()

    def redo(self) -> None:
        """Show the current view again (after the order or the stacking changed)."""
        if self.mode == "library":
            self.refresh_library()
        elif self._last_query is not None:
            self.query(*self._last_query)

    # -- result lists -----------------------------------------------------------------

    def query(self, mode: str, title: str, fn: Query, image: str | bytes | None = None) -> None:
        """Run `fn` on a reader and show its hits (sorted by sharpness if so chosen);
        `image`: the file an image search looks for, shown beside the title."""
        w = self.window
        self._query_serial += 1
        serial = self._query_serial
        self._last_query = (mode, title, fn, image)
        self._show_query_image(image, serial)
        w.status_text.setText("Searching…")
        by_sharpness = w.sort.currentData() == "sharpness" and mode not in ("blurry", "stack")

        def shown(hits: list[Hit]) -> None:
            self._show_hits(mode, title, serial, hits)
            self._count = (plural(len(hits), "suggestion") if mode == "teach"
                           else plural(sum(h.relevant for h in hits), "result"))
            w.status_text.setText(self._count)
        w.jobs.read(lambda: self.library.by_sharpness(fn()) if by_sharpness else fn(),
                    done=shown, failed=w.dialogs.show_error)

    def _show_hits(self, mode: str, title: str, serial: int, hits: list[Hit]) -> None:
        if serial != self._query_serial:
            return  # an older query answered late
        w = self.window
        self.mode = mode
        self._shown = None
        if mode != "flagged":  # asked for by name, flagged photos are listed (blurred)
            hits = [h for h in hits if h.photo_id in self.visible([h.photo_id])]
        self.hits = hits
        # suggestions to judge are all shown, the likely ones first
        shown = hits if mode == "teach" else [h for h in hits if h.relevant]
        w.model.veiled = self.veiled()
        w.model.stacks = {}
        w.model.set_hits(shown)
        w.heading.setText(title)
        hidden = len(hits) - len(shown)
        w.more.setText(f"Show {hidden} weaker matches")
        w.more.setVisible(hidden > 0)
        self.update_empty(EMPTY.get(mode, "Nothing clearly matches.") if not shown else "")
        w.back.show()
        if mode == "teach":
            w.tagging.show_suggestions(hits)
            self.update_empty("" if hits else "No more suggestions.")
        else:
            w.tagging.stop_teaching()
        w.photo_actions.show_blur_limit(mode == "blurry")
        w.grid.scrollToTop()
        w.results_shown.emit(mode)

    def _show_query_image(self, path: str | bytes | None, serial: int) -> None:
        label = self.window.query_image
        label.hide()
        if path is None:
            return
        side = label.height()

        def shown(image: QImage) -> None:
            if serial == self._query_serial and not image.isNull():
                label.setPixmap(QPixmap.fromImage(image))
                label.show()
        self.window.jobs.read(lambda: _small_image(path, side), done=shown)

    def show_more(self) -> None:
        """Lift the relevance cutoff for the results on screen."""
        self.window.model.set_hits(self.hits)
        self.window.more.hide()
        self.update_empty("Nothing matched." if not self.hits else "")

    def update_empty(self, text: str) -> None:
        w = self.window
        if not w.grid.currentIndex().isValid():
            w.details.show_info(None)  # the photo it showed is no longer listed
        w.empty.setText(text)
        w.empty.setVisible(bool(text))
        w.grid.setVisible(not text)

    # -- sensitive photos ---------------------------------------------------------------

    def visible(self, ids: list[int]) -> list[int]:
        if self.window.prefs.sensitive != "hide":
            return ids
        return [i for i in ids if i not in self.flagged or i in self.revealed]

    def veiled(self) -> set[int]:
        if self.window.prefs.sensitive != "blur":
            return set()
        return self.flagged - self.revealed


@contextmanager
def keep_place(grid: QListView) -> Iterator[None]:
    """Keep the photo at the top of the grid where it is on screen while rows are added or
    removed above it (photos arriving during an index run); at the very top, stay there,
    so the newest photos show as they come."""
    bar = grid.verticalScrollBar()
    if bar.value() == 0:
        yield
        return
    anchor = QPersistentModelIndex(grid.indexAt(QPoint(1, 1)))
    top = grid.visualRect(grid.model().index(anchor.row(), 0)).top()
    yield
    if not anchor.isValid():  # it was removed, or the rows were replaced: a new view
        return
    moved = grid.visualRect(grid.model().index(anchor.row(), 0)).top() - top
    bar.setValue(bar.value() + moved)


def _small_image(path: str | bytes, side: int) -> QImage:
    """A file's image `side` px tall, read at reduced size where the format allows (JPEG);
    a null image when Qt cannot read it. On a reader thread (QImage, not QPixmap)."""
    reader = QImageReader(os.fsdecode(path))
    reader.setAutoTransform(True)  # as the camera held it
    size = reader.size()
    if size.isValid() and size.height() > 0:
        reader.setScaledSize(QSize(max(1, size.width() * side // size.height()), side))
    return reader.read()

