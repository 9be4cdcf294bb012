"""What the grid shows: the library (filtered by a tag, stacked, sorted) or a result list
(a search, look-alikes, blurry photos, a stack, suggestions), loaded off the GUI thread;
late answers to an older query are dropped. The one reader of the view state that loads
the grid: a change of the tag filter, order, stacking or sensitive display reloads."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QPersistentModelIndex, QPoint, QSize, QTimer, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap
from PySide6.QtWidgets import QLabel, QListView, QPushButton

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.library import Library
from clipdesk.core.types import Hit, Sort
from clipdesk.qt.background import StatusLabel
from clipdesk.qt.grid import PhotoGridModel
from clipdesk.qt.panels import DetailsPanel
from clipdesk.qt.tags_ui import TagSidebar
from clipdesk.qt.view_state import ViewState
from clipdesk.qt.when_where_ui import WhenWhereSidebar
from clipdesk.qt.worker import Job, Jobs
from clipdesk.wording import plural

Query = Callable[[], list[Hit]]
RESULTS = 200  # hits asked for per result list: more than a screen, fast to rank

# what an empty result list says, by view (searches: "Nothing clearly matches.")
EMPTY = {"blurry": "No photo is blurrier than that.",
         "flagged": "No photo is flagged as sensitive."}


@dataclass(frozen=True)
class Screen:
    """The widgets the views fill."""

    grid: QListView
    model: PhotoGridModel
    heading: QLabel
    back: QPushButton  # "Back to library"
    more: QPushButton  # "Show N weaker matches"
    query_image: QLabel  # an image search's own image, beside its title
    empty: QLabel  # what an empty grid says, in its place
    details: DetailsPanel
    tags: TagSidebar
    status: StatusLabel
    when_where: WhenWhereSidebar


class Views(QObject):
    showing = Signal(str)  # a view was chosen (its mode); its photos are on the way
    shown = Signal(str, object)  # a view is on screen: its mode, its hits (all of them)
    people = Signal(object)  # the library's people (list[Person]), loaded with the library

    def __init__(self, library: Library, jobs: Jobs, state: ViewState, screen: Screen,
                 report: Callable[[ClipdeskError], None]) -> None:
        super().__init__()
        self.library, self.jobs, self.state, self.screen = library, jobs, state, screen
        self.report = report
        self.hits: list[Hit] = []  # the result list, with the weaker matches
        self.flagged: set[int] = set()
        self.last_refresh = 0.0
        self.refreshing: Job | None = None  # the library's ids being loaded, if they are
        self._count = ""  # the result count the status bar shows, while it does
        self._last_query: tuple[str, str, Query, str | bytes | None] | None = None
        self._shown_once = False
        self._shown: tuple[object, ...] | None = None  # the library view on screen: its
        # (tag, order, stacking); None while a result list is
        self._after_first_load: list[Callable[[], None]] = []
        state.changed.connect(self._state_changed)

    @property
    def mode(self) -> str:
        return self.state.mode

    def _state_changed(self, names: frozenset[str]) -> None:
        if "sensitive" in names:
            self.show_library()
        elif "tag_filter" in names:
            if self.state.query:
                self.search()
            else:
                self.show_library()
        elif names & {"sort", "stacking"}:
            self.redo()

    # -- the library ----------------------------------------------------------------

    def refresh_library(self) -> None:
        """Reload the photo ids (off the GUI thread) when the library view is shown."""
        state = self.state
        self.last_refresh = time.monotonic()
        state.refresh_serial += 1
        serial = state.refresh_serial
        tags = [state.tag_filter] if state.tag_filter else None
        sort, stack = state.sort, state.stacking

        def load() -> tuple[object, ...]:
            ids = self.library.photos.ids(tags, sort)
            shown, stacks = self.library.groups.stacked(ids) if stack else (ids, {})
            return (ids, shown, stacks, self.library.groups.rejected(),
                    {h.photo_id for h in self.library.tags.flagged()}, self.library.tags.counts(),
                    self.library.photos.timeline(), self.library.photos.places(),
                    self.library.people.people())
        def ended() -> bool:
            """The load is over; whether it is the latest (a late one is dropped). Said
            through the handlers read() connects before the job starts: a signal
            connected after it could come too late, leaving `refreshing` set for good
            (and the grid never reloading while photos stream in)."""
            if serial != self.state.refresh_serial:
                return False
            self.refreshing = None
            return True

        def failed(error: ClipdeskError) -> None:
            ended()
            self.report(error)

        self.refreshing = self.jobs.read(
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
        w, tag = self.screen, self.state.tag_filter
        ids, shown, stacks, w.model.rejected, self.flagged, counts, months, places, people = found
        w.tags.show_counts(counts, tag)
        w.when_where.show_counts(months, places)
        self.people.emit(people)
        w.details.set_known_tags(sorted({t.name for t in self.library.tags.vocabulary()
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
        w.heading.setText(f"Tagged “{tag}” — {count}" if tag else f"Library — {count}")
        self.update_empty("No photos yet. Add a folder (Ctrl+O) or drop one here."
                          if not ids else "")
        w.back.setVisible(tag is not None)
        self.shown.emit("library", [])

    def show_library(self) -> None:
        w, state = self.screen, self.state
        state.query_serial += 1
        state.mode = "library"
        self.showing.emit("library")
        state.update(query="")  # the search field empties
        w.more.hide()
        w.query_image.hide()
        if w.status.full_text() in (self._count, "Searching…"):
            w.status.setText("")  # the results' count left with them (not indexing's)
        self.refresh_library()

    def back(self) -> None:
        if self.state.tag_filter and self.mode == "library":
            self.state.update(tag_filter=None)
        else:
            self.show_library()

    def redo(self) -> None:
        """Show the current view again (after the order or the stacking changed)."""
        if self.mode == "library":
            self.refresh_library()
        elif self._last_query is not None:
            self.query(*self._last_query)

    # -- result lists -----------------------------------------------------------------

    def search(self) -> None:
        """The typed query's matches, within the tag shown."""
        text, tag = self.state.query, self.state.tag_filter
        if text:
            where = f" tagged “{tag}”" if tag else ""
            self.query("search", f"Photos{where} matching “{text}”",
                       lambda: self.library.search(text, RESULTS, tags=[tag] if tag else None,
                                                   sort=self.state.sort))  # as now

    def query(self, mode: str, title: str, fn: Query, image: str | bytes | None = None) -> None:
        """Run `fn` on a reader and show its hits (sorted by sharpness if so chosen);
        `image`: the file an image search looks for, shown beside the title."""
        w = self.screen
        self.state.query_serial += 1
        serial = self.state.query_serial
        self._last_query = (mode, title, fn, image)
        self._show_query_image(image, serial)
        w.status.setText("Searching…")
        by_sharpness = self.state.sort is Sort.SHARPNESS and mode not in ("blurry", "stack")

        def shown(hits: list[Hit]) -> None:
            self._show_hits(mode, title, serial, hits)
            self._count = (plural(len(hits), "suggestion") if mode == "teach"
                           else plural(sum(h.relevant for h in hits), "result"))
            w.status.setText(self._count)
        self.jobs.read(lambda: self.library.photos.by_sharpness(fn()) if by_sharpness else fn(),
                       done=shown, failed=self.report)

    def _show_hits(self, mode: str, title: str, serial: int, hits: list[Hit]) -> None:
        if serial != self.state.query_serial:
            return  # an older query answered late
        w = self.screen
        self.state.mode = mode
        self.showing.emit(mode)
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
        if mode == "teach":  # suggestions to judge are all shown, the likely ones first
            self.update_empty("" if hits else "No more suggestions.")
        w.grid.scrollToTop()
        self.shown.emit(mode, hits)

    def _show_query_image(self, path: str | bytes | None, serial: int) -> None:
        label = self.screen.query_image
        label.hide()
        if path is None:
            return
        side = label.height()

        def shown(image: QImage) -> None:
            if serial == self.state.query_serial and not image.isNull():
                label.setPixmap(QPixmap.fromImage(image))
                label.show()
        self.jobs.read(lambda: _small_image(path, side), done=shown)

    def show_more(self) -> None:
        """Lift the relevance cutoff for the results on screen (the status bar counts both)."""
        self.screen.model.set_hits(self.hits)
        self.screen.more.hide()
        relevant = sum(h.relevant for h in self.hits)
        self._count = (f"{plural(relevant, 'result')} and "
                       f"{plural(len(self.hits) - relevant, 'weaker match')}")
        self.screen.status.setText(self._count)
        self.update_empty("Nothing matched." if not self.hits else "")

    def update_empty(self, text: str) -> None:
        w = self.screen
        if not w.grid.currentIndex().isValid():
            w.details.show_info(None)  # the photo it showed is no longer listed
        w.empty.setText(text)
        w.empty.setVisible(bool(text))
        w.grid.setVisible(not text)

    # -- sensitive photos ---------------------------------------------------------------

    def visible(self, ids: list[int]) -> list[int]:
        if self.state.sensitive != "hide":
            return ids
        return [i for i in ids if i not in self.flagged or i in self.state.revealed]

    def veiled(self) -> set[int]:
        if self.state.sensitive != "blur":
            return set()
        return self.flagged - self.state.revealed


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

