"""The main window: search bar, photo grid, details panel, status bar, menus."""
from __future__ import annotations

import os
import time

from PySide6.QtCore import QEvent, QMimeData, QModelIndex, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (QAction, QActionGroup, QDesktopServices, QDragEnterEvent, QDragMoveEvent,
                           QDropEvent, QGuiApplication, QImage, QKeySequence)
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel,
                               QLineEdit, QListView, QMainWindow, QMenu, QMessageBox,
                               QPushButton, QSizePolicy, QSlider, QSplitter, QVBoxLayout, QWidget)

from clipdesk.core import captions
from clipdesk.core.errors import ClipdeskError, ModelLoadError
from clipdesk.core.library import Library
from clipdesk.core.models import DEFAULT_MODEL, forget_failures, load_model
from clipdesk.core.quality import BLURRY
from clipdesk.core.types import Hit
from clipdesk.qt.background import BackgroundWork, first_line
from clipdesk.qt.grid import PhotoGridModel, ThumbnailCache, ThumbnailDelegate
from clipdesk.qt.panels import DetailsPanel, PreviewDialog, ProblemsDialog
from clipdesk.qt.tags_ui import TagSidebar, TeachBar, VocabularyDialog
from clipdesk.qt.worker import Job, Jobs

RESULTS = 200
DEBOUNCE_MS = 250
REFRESH_EVERY_S = 1.0


class MainWindow(QMainWindow):
    """Every long task runs as a Job; this class only presents and wires."""

    results_shown = Signal(str)  # "library" | "search" | "similar" | "flagged" | "teach"
    details_shown = Signal(int)  # a photo's details (tags, caption) are on screen

    def __init__(self, library: Library) -> None:
        super().__init__()
        self.library = library
        # one writer: every catalog/vocabulary write goes through self.jobs.write(); in the
        # test mode the catalog raises on a write from any other thread
        library.catalog.check_writer = os.environ.get("CLIPDESK_CHECK_WRITER") == "1"
        self.jobs = Jobs(self, safe_point=lambda: not library.catalog.in_transaction)
        self._query_serial = 0
        self._refresh_serial = 0
        self._last_refresh = 0.0
        self.mode = "library"
        self.flagged: set[int] = set()
        self.revealed: set[int] = set()
        self.sensitive = library.catalog.get_meta("sensitive_display") or "blur"
        self._shown_once = False
        self._after_first_load: list = []
        self.teaching: str | None = None
        self.setWindowTitle("clipdesk")
        self.setAcceptDrops(True)
        self.resize(1200, 800)
        self._build()
        self._build_menus()
        self.refresh_library()

    # -- layout -----------------------------------------------------------------------

    def _build(self) -> None:
        self.search = QLineEdit(placeholderText="Describe a photo (Ctrl+F), or drop an image here")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search_changed)
        self.debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self.debounce.timeout.connect(self._run_search)
        self.zoom = QSlider(Qt.Orientation.Horizontal, minimum=96, maximum=320, value=160)
        self.zoom.setFixedWidth(140)
        self.zoom.setToolTip("Thumbnail size (Ctrl+plus / Ctrl+minus)")
        self.zoom.valueChanged.connect(self._set_zoom)
        self.sort = QComboBox()
        self.sort.addItem("Newest / best match first", "default")
        self.sort.addItem("Sharpest first", "sharpness")
        self.sort.setToolTip("The order of the library and of any result list")
        self.sort.currentIndexChanged.connect(lambda _: self.redo_view())
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.sort)
        top.addWidget(QLabel("Size"))
        top.addWidget(self.zoom)

        self.heading = QLabel()
        self.heading.setStyleSheet("font-size: 15px; font-weight: 600; padding: 2px;")
        # a long title (a long query, a folder name) is cut, instead of widening the grid's pane
        self.heading.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.back = QPushButton("Back to library")
        self.back.clicked.connect(lambda: self.set_tag_filter(None) if self.tag_filter
                                  and self.mode == "library" else self.show_library())
        self.more = QPushButton()
        self.more.setToolTip("Show the weaker matches below the relevance cutoff")
        self.more.clicked.connect(self.show_more)
        self.more.hide()
        self._hits: list[Hit] = []
        self.blur_limit = QSlider(Qt.Orientation.Horizontal, minimum=10, maximum=80,
                                  value=round(BLURRY * 100))
        self.blur_limit.setFixedWidth(140)
        self.blur_limit.setToolTip("Sharpness under which a photo counts as blurry")
        self.blur_limit.valueChanged.connect(lambda _: self.show_blurry())
        self.blur_label = QLabel()
        head = QHBoxLayout()
        head.addWidget(self.heading, 1)
        head.addWidget(self.blur_label)
        head.addWidget(self.blur_limit)
        head.addWidget(self.more)
        head.addWidget(self.back)

        self.thumbnails = ThumbnailCache(self.jobs, self.library.photo_info,
                                         self.library.thumbnail, self)
        self.model = PhotoGridModel(self.thumbnails, self)
        self.grid = QListView()
        self.grid.setModel(self.model)
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setUniformItemSizes(True)
        self.delegate = ThumbnailDelegate(self.model, self.grid)
        self.grid.setItemDelegate(self.delegate)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.grid.doubleClicked.connect(lambda index: self.open_preview(index.row()))
        self.grid.selectionModel().currentChanged.connect(self._current_changed)
        self.grid.setStyleSheet("QListView { background: #2b2b2b; }")
        self.empty = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.empty.setStyleSheet("color: #888; font-size: 15px;")
        self._set_zoom(self.zoom.value())
        self.grid.viewport().installEventFilter(self)

        self.details = DetailsPanel()
        self.details.tag_added.connect(lambda tag: self._edit_current(
            lambda pid: self.library.catalog.set_tag(pid, tag, True)))
        self.details.tag_removed.connect(lambda tag: self._edit_current(
            lambda pid: self.library.catalog.set_tag(pid, tag, False)))
        self.details.caption_edited.connect(lambda text: self._edit_current(
            lambda pid: self.library.set_caption(pid, text)))
        self.tag_filter: str | None = None
        self.tags = TagSidebar()
        self.tags.chosen.connect(lambda tag: self.set_tag_filter(
            None if tag == self.tag_filter else tag))
        self.tags.rename_requested.connect(self.rename_tag)
        self.tags.remove_requested.connect(self.remove_tag)
        self.teach_bar = TeachBar()
        self.teach_bar.accept.connect(lambda: self._answer(True))
        self.teach_bar.reject.connect(lambda: self._answer(False))
        self.teach_bar.done.connect(self._teaching_done)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(head)
        column.addWidget(self.teach_bar)
        column.addWidget(self.grid, 1)
        column.addWidget(self.empty, 1)
        splitter = QSplitter()
        splitter.addWidget(self.tags)
        splitter.addWidget(left)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([170, 760, 290])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

        self.work = BackgroundWork(self.library, self.jobs, self.statusBar(),
                                   self.library.catalog.get_meta("captions") or "auto")
        self.work.photos_added.connect(self._photos_added)
        self.work.indexed.connect(lambda: self.refresh_library() if self.mode == "library"
                                  else None)
        self.work.failed.connect(self.show_error)
        self.status_text = self.work.status_text
        self.start_index = self.work.start_index
        self.preview: PreviewDialog | None = None

    def _build_menus(self) -> None:
        library = self.menuBar().addMenu("&Library")
        self._action(library, "Add folder…", self.add_folder_dialog, QKeySequence.StandardKey.Open)
        self._action(library, "Update now", self.update_now)
        self._action(library, "Problems…", self.show_problems)
        self._action(library, "Embedding model…", self.choose_model)
        library.addSeparator()
        self._action(library, "Quit", self.close, QKeySequence.StandardKey.Quit)
        view = self.menuBar().addMenu("&View")
        self._action(view, "Search", self.focus_search, QKeySequence.StandardKey.Find)
        self._action(view, "Library", self.show_library, QKeySequence("Esc"))
        self._action(view, "Larger thumbnails", lambda: self.zoom.setValue(self.zoom.value() + 32),
                     QKeySequence.StandardKey.ZoomIn)
        self._action(view, "Smaller thumbnails", lambda: self.zoom.setValue(self.zoom.value() - 32),
                     QKeySequence.StandardKey.ZoomOut)
        self._action(view, "Preview", lambda: self.open_preview(self.grid.currentIndex().row()),
                     QKeySequence("Space"))
        view.addSeparator()
        self._action(view, "Blurry photos", self.show_blurry)
        self.stack_action = self._action(view, "Stack bursts and duplicates",
                                         lambda on: self.set_stacking(on))
        self.stack_action.setCheckable(True)
        self.stack_action.setChecked(self.library.catalog.get_meta("stack") != "0")
        view.addSeparator()
        self._action(view, "Flagged photos", self.show_flagged)
        tags = self.menuBar().addMenu("&Tags")
        self._action(tags, "Teach a tag from the selected photos…", self.teach_dialog,
                     QKeySequence("Ctrl+T"))
        self._action(tags, "Edit the tag vocabulary…", self.edit_vocabulary)
        captions = tags.addMenu("Captions")
        group = QActionGroup(self)
        self.caption_actions = {}
        for mode, text in (("selected", "Write one when a photo is selected"),
                           ("all", "Write them for every photo, in the background "
                                   "(the default with a GPU)"),
                           ("off", "Off")):
            action = captions.addAction(text)
            action.setCheckable(True)
            action.setChecked(mode == self.work.captions or (
                self.work.captions == "auto" and mode == "selected"))
            action.triggered.connect(lambda _=False, m=mode: self.set_captions(m))
            group.addAction(action)
            self.caption_actions[mode] = action
        sensitive = view.addMenu("Sensitive photos")
        group = QActionGroup(self)
        self.sensitive_actions = {}
        for mode, text in (("blur", "Blur until clicked"), ("hide", "Hide"), ("show", "Show")):
            action = sensitive.addAction(text)
            action.setCheckable(True)
            action.setChecked(mode == self.sensitive)
            action.triggered.connect(lambda _=False, m=mode: self.set_sensitive(m))
            group.addAction(action)
            self.sensitive_actions[mode] = action

    def _action(self, menu: QMenu, text: str, slot, shortcut=None) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(shortcut)
        self.addAction(action)
        return action

    def _set_zoom(self, size: int) -> None:
        """Cells of about `size` px, stretched so the columns fill the grid's width."""
        width = self.grid.viewport().width()
        columns = max(1, width // size)
        self.delegate.cell = max(size, width // columns) if width > size else size
        self.grid.setGridSize(self.delegate.cell_size())

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.grid.viewport() and event.type() == QEvent.Type.Resize:
            self._set_zoom(self.zoom.value())
        return super().eventFilter(watched, event)

    # -- library and results ------------------------------------------------------------

    def refresh_library(self) -> None:
        """Reload the photo ids (off the GUI thread) when the library view is shown."""
        self._last_refresh = time.monotonic()
        self._refresh_serial += 1
        serial = self._refresh_serial
        tags = [self.tag_filter] if self.tag_filter else None
        sort, stack = self.sort.currentData(), self.stack_action.isChecked()

        def load():
            ids = self.library.photo_ids(tags, sort)
            shown, stacks = self.library.stacked(ids) if stack else (ids, {})
            return (ids, shown, stacks, self.library.catalog.rejected_ids(),
                    {h.photo_id for h in self.library.flagged()},
                    self.library.catalog.tag_counts())
        self.jobs.read(load, done=lambda found: self._library_loaded(found)
                       if serial == self._refresh_serial else None,  # not a late one
                       failed=self.show_error)

    def after_first_load(self, callback) -> None:
        """Run `callback` once the library is on screen (background work waits for that,
        so it does not compete with the first paint)."""
        if self._shown_once:
            callback()
        else:
            self._after_first_load.append(callback)

    def _library_loaded(self, found: tuple) -> None:
        ids, shown, stacks, self.model.rejected, self.flagged, counts = found
        self.tags.show_counts(counts, self.tag_filter)
        self.details.set_known_tags(sorted({t.name for t in self.library.vocabulary()
                                            if ":" not in t.name} | set(self.tags.tags())))
        if not self._shown_once:
            self._shown_once = True
            for callback in self._after_first_load:
                QTimer.singleShot(0, callback)
            self._after_first_load.clear()
        if self.mode != "library":
            return
        self.model.veiled = self._veiled()
        self.model.stacks = stacks
        self.model.set_photos(self._visible(shown))
        self.heading.setText(f"Tagged “{self.tag_filter}” — {len(ids):,} photos"
                             if self.tag_filter else f"Library — {len(ids):,} photos")
        self._update_empty("No photos yet. Add a folder (Ctrl+O) or drop one here."
                           if not ids else "")
        self.back.setVisible(self.tag_filter is not None)
        self._show_blur_limit(False)
        self.results_shown.emit("library")

    # -- tags -------------------------------------------------------------------------

    def set_tag_filter(self, tag: str | None) -> None:
        """Show only photos with `tag`; a search runs within them."""
        self.tag_filter = tag
        if self.search.text().strip():
            self._run_search()
        else:
            self.show_library()

    def show_library(self) -> None:
        self._query_serial += 1
        self.mode = "library"
        self.teaching = None
        self.teach_bar.hide()
        if self.search.text():
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
        self.more.hide()
        self.refresh_library()

    def _show_hits(self, mode: str, title: str, serial: int, hits: list[Hit]) -> None:
        if serial != self._query_serial:
            return  # an older query answered late
        self.mode = mode
        if mode != "flagged":  # asked for by name, flagged photos are listed (blurred)
            hits = [h for h in hits if h.photo_id in self._visible([h.photo_id])]
        self._hits = hits
        # suggestions to judge are all shown, the likely ones first
        shown = hits if mode == "teach" else [h for h in hits if h.relevant]
        self.model.veiled = self._veiled()
        self.model.stacks = {}
        self.model.set_hits(shown)
        self.heading.setText(title)
        hidden = len(hits) - len(shown)
        self.more.setText(f"Show {hidden} weaker matches")
        self.more.setVisible(hidden > 0)
        self._update_empty("Nothing clearly matches." if not shown else "")
        self.back.show()
        if mode == "teach":
            self.teach_bar.show_tag(self.teaching, len(hits), sum(h.relevant for h in hits))
            self._update_empty("" if hits else "No more suggestions.")
        elif self.teaching:
            self.teaching = None
            self.teach_bar.hide()
        self._show_blur_limit(mode == "blurry")
        self.grid.scrollToTop()
        self.results_shown.emit(mode)

    def rename_tag(self, tag: str) -> None:
        new, ok = QInputDialog.getText(self, "Rename tag", f"New name for “{tag}”:", text=tag)
        if ok and new.strip() and new.strip().lower() != tag:
            self._retag(lambda: self.library.rename_tag(tag, new))
            if self.tag_filter == tag:
                self.tag_filter = " ".join(new.split()).lower()

    def remove_tag(self, tag: str) -> None:
        answer = QMessageBox.question(
            self, "Remove tag", f"Take “{tag}” off every photo and out of the vocabulary? "
            "The photos themselves are not touched.")
        if answer == QMessageBox.StandardButton.Yes:
            if self.tag_filter == tag:
                self.tag_filter = None
            self._retag(lambda: self.library.remove_tag(tag))

    def edit_vocabulary(self) -> None:
        dialog = VocabularyDialog(self.library.vocabulary_text(), self)
        dialog.accepted.connect(lambda: self._retag(
            lambda: self.library.save_vocabulary(dialog.text())))
        dialog.show()
        self.vocabulary_dialog = dialog

    def _retag(self, change) -> None:
        """Apply a vocabulary change, then re-judge the automatic tags (writer thread)."""
        self.status_text.setText("Updating tags…")
        self.jobs.write(lambda: (change(), self.library.retag()),
                        done=lambda _: (self.status_text.setText("Tags updated."),
                                        self.refresh_library()),
                        failed=self.show_error)

    # -- teaching a tag ----------------------------------------------------------------

    def teach_dialog(self) -> None:
        ids = self.selected_ids()
        if not ids:
            self.show_error(ClipdeskError("Select one or more photos that show the tag first."))
            return
        known = sorted({t for t, _ in self.library.catalog.taught_tags()} | set(self.tags.tags()))
        tag, ok = QInputDialog.getItem(
            self, "Teach a tag", f"What do the {len(ids)} selected photos show? clipdesk "
            "then suggests other photos that show it.", known, editable=True)
        tag = " ".join(tag.split()).lower()
        if ok and tag:
            self.teaching = tag
            self._teach(ids, [])

    def _answer(self, yes: bool) -> None:
        ids = self.selected_ids()
        if self.teaching and ids:
            self._teach(ids if yes else [], [] if yes else ids)

    def _teach(self, yes: list[int], no: list[int]) -> None:
        """Record the answers, retrain (well under a second), show the new suggestions."""
        tag = self.teaching
        self.jobs.write(lambda: self.library.teach_photos(tag, yes, no),
                        done=lambda _: self._query("teach", f"Photos that might show “{tag}”",
                                                   lambda: self.library.suggest(tag, RESULTS)),
                        failed=self.show_error)

    def _teaching_done(self) -> None:
        tag, self.teaching = self.teaching, None
        self.teach_bar.hide()
        self.tag_filter = tag
        self.show_library()

    # -- quality: sharpness, stacks, rejects -------------------------------------------

    def redo_view(self) -> None:
        """Show the current view again (after the order or the stacking changed)."""
        if self.mode == "library":
            self.refresh_library()
        elif getattr(self, "_last_query", None):
            self._query(*self._last_query)

    def set_stacking(self, on: bool) -> None:
        self.jobs.write(lambda: self.library.catalog.set_meta("stack", "1" if on else "0"),
                        failed=self.show_error)
        self.stack_action.setChecked(on)
        self.redo_view()

    def show_blurry(self) -> None:
        below = self.blur_limit.value() / 100
        self._query("blurry", "Blurry photos, blurriest first",
                    lambda: self.library.blurry(below))

    def _show_blur_limit(self, on: bool) -> None:
        self.blur_label.setText(f"Blurry under {self.blur_limit.value() / 100:.2f}")
        self.blur_label.setVisible(on)
        self.blur_limit.setVisible(on)

    def show_stack(self, photo_id: int) -> None:
        """Every photo of a stack, best shot first (score: sharpness)."""
        def members() -> list[Hit]:
            return [Hit(m.photo_id, m.path, m.sharpness or 0.0)
                    for m in self.library.group_of(photo_id)]
        self._query("stack", "Burst / duplicates: best shot first", members)

    def set_rejected(self, photo_ids: list[int], on: bool) -> None:
        """Mark photos as rejects (drawn dimmed); nothing is deleted or moved."""
        self.jobs.write(lambda: (self.library.set_rejected(photo_ids, on),
                                 self.library.catalog.rejected_ids())[1],
                        done=lambda rejected: (setattr(self.model, "rejected", rejected),
                                               self.grid.viewport().update()),
                        failed=self.show_error)

    def find_sharper(self, path: bytes) -> None:
        name = os.path.basename(os.fsdecode(path))
        self._query("similar", f"Sharper versions of {name}",
                    lambda: self.library.sharper(path, RESULTS))

    # -- sensitive content -------------------------------------------------------------

    def _visible(self, ids: list[int]) -> list[int]:
        if self.sensitive != "hide":
            return ids
        return [i for i in ids if i not in self.flagged or i in self.revealed]

    def _veiled(self) -> set[int]:
        return self.flagged - self.revealed if self.sensitive == "blur" else set()

    def set_sensitive(self, mode: str) -> None:
        """blur (until clicked) / hide / show; remembered in the catalog."""
        self.sensitive = mode
        self.jobs.write(lambda: self.library.catalog.set_meta("sensitive_display", mode),
                        failed=self.show_error)
        self.sensitive_actions[mode].setChecked(True)
        self.show_library()

    def show_flagged(self) -> None:
        self._query("flagged", "Photos flagged as sensitive",
                    lambda: [h for h in self.library.flagged()])

    def show_more(self) -> None:
        """Lift the relevance cutoff for the results on screen."""
        self.model.set_hits(self._hits)
        self.more.hide()
        self._update_empty("Nothing matched." if not self._hits else "")

    def _update_empty(self, text: str) -> None:
        if not self.grid.currentIndex().isValid():
            self.details.show_info(None)  # the photo it showed is no longer listed
        self.empty.setText(text)
        self.empty.setVisible(bool(text))
        self.grid.setVisible(not text)

    def _query(self, mode: str, title: str, fn) -> None:
        self._query_serial += 1
        serial = self._query_serial
        self._last_query = (mode, title, fn)
        self.status_text.setText("Searching…")
        by_sharpness = self.sort.currentData() == "sharpness" and mode not in ("blurry", "stack")
        def shown(hits: list[Hit]) -> None:
            self._show_hits(mode, title, serial, hits)
            self.status_text.setText(plural(len(hits), "suggestion") if mode == "teach"
                                     else plural(sum(h.relevant for h in hits), "result"))
        self.jobs.read(lambda: self.library.by_sharpness(fn()) if by_sharpness else fn(),
                       done=shown, failed=self.show_error)

    def warm_up(self) -> None:
        """Load the model in the background so the first search answers at once."""
        self.jobs.read(self.library.warm_up, failed=self.show_error)

    # -- search -----------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _search_changed(self, text: str) -> None:
        if text.strip():
            self.debounce.start()
        else:
            self.debounce.stop()
            self.show_library()

    def _run_search(self) -> None:
        text = self.search.text().strip()
        tags = [self.tag_filter] if self.tag_filter else None
        if text:
            where = f" tagged “{self.tag_filter}”" if self.tag_filter else ""
            self._query("search", f"Photos{where} matching “{text}”",
                        lambda: self.library.search(text, RESULTS, tags=tags))

    def find_similar(self, path: str | bytes) -> None:
        name = os.path.basename(os.fsdecode(path))
        self.search.blockSignals(True)  # the results no longer answer the typed text
        self.search.clear()
        self.search.blockSignals(False)
        self._query("similar", f"Photos like {name}", lambda: self.library.similar(path, RESULTS))

    # -- the selected photo -------------------------------------------------------------

    # Photo ids come from the model's Python side, never index.data() (see grid.py).

    def selected_ids(self) -> list[int]:
        rows = [i.row() for i in self.grid.selectionModel().selectedIndexes()]
        return [pid for pid in map(self.model.photo_at, rows) if pid is not None]

    def current_id(self) -> int | None:
        return self.model.photo_at(self.grid.currentIndex().row())

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.details.show_info(None)
            return
        photo_id = self.model.photo_at(current.row())
        if photo_id is None:
            return
        self.revealed.add(photo_id)
        self.model.reveal(photo_id)
        self.jobs.read(lambda: (self.library.photo_info(photo_id), [
            t for t, _, _ in self.library.catalog.tags_of(photo_id)],
            self.library.caption(photo_id, write=False)),
            done=lambda found: self._show_details(photo_id, *found))

    def _is_current(self, photo_id: int) -> bool:
        return self.current_id() == photo_id

    def _show_details(self, photo_id: int, info, tags: list[str], caption: str | None) -> None:
        if not self._is_current(photo_id):
            return
        self.details.show_info(info, self.thumbnails.get(photo_id), tags)
        wanted = caption is None and self.work.captions != "off" and info is not None
        broken = self.work.caption_error
        write = wanted and broken is None
        self.details.show_caption(f"No captions: {broken}" if wanted and broken else caption,
                                  pending=write)
        self.details_shown.emit(photo_id)
        if write:  # shown when ready; never blocks
            self.jobs.read(lambda: self._write_caption(photo_id),
                           done=lambda found: self._store_caption(photo_id, *found),
                           failed=lambda error: self._caption_failed(photo_id, error))

    def _write_caption(self, photo_id: int) -> tuple[str, str]:
        """On a reader: the model writes a caption (seconds); storing it is the writer's."""
        loaded = load_model(self.library.captioner_id)
        photo = self.library.preview(photo_id, loaded.image_size)
        return captions.write_caption(loaded, photo), loaded.spec.id

    def _store_caption(self, photo_id: int, text: str, by: str) -> None:
        def store() -> str | None:
            current, _ = self.library.catalog.caption(photo_id)
            if current is None:  # a person may have typed one meanwhile: theirs stays
                self.library.catalog.set_caption(photo_id, text, by)
            return current or text
        self.jobs.write(store, done=lambda stored: self.details.show_caption(stored)
                        if self._is_current(photo_id) else None, failed=self.show_error)

    def _caption_failed(self, photo_id: int, error: ClipdeskError) -> None:
        if isinstance(error, ModelLoadError):  # said once; no more tries this session
            self.work.caption_error = first_line(error)
        if self._is_current(photo_id):
            self.details.show_caption(f"No captions: {first_line(error)}"
                                      if isinstance(error, ModelLoadError)
                                      else f"No caption: {first_line(error)}")

    def _edit_current(self, change) -> None:
        """A person's edit of the current photo's tags or caption, then a fresh view."""
        photo_id = self.current_id()
        if photo_id is None:
            return
        self.jobs.write(lambda: (change(photo_id), [
            t for t, _, _ in self.library.catalog.tags_of(photo_id)])[1],
            done=lambda tags: (self.details.show_tags(tags) if self._is_current(photo_id)
                               else None, self.refresh_library()),
            failed=self.show_error)

    def _path_of(self, row: int) -> bytes | None:
        photo_id = self.model.photo_at(row)
        if photo_id is None:
            return None
        info = self.library.catalog.paths_for([photo_id])
        return next(iter(info.values()), None)

    def _context_menu(self, pos) -> None:
        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        path = self._path_of(index.row())
        if path is None:
            return
        photo_id = self.model.photo_at(index.row())
        selected = self.selected_ids() or [photo_id]
        menu = QMenu(self)
        menu.addAction("Find similar", lambda: self.find_similar(path))
        menu.addAction("Find sharper versions", lambda: self.find_sharper(path))
        stack = self.model.stack_at(index.row())
        if self.mode != "stack" and stack > 1:
            menu.addAction(f"Show all {stack} in this stack", lambda: self.show_stack(photo_id))
        menu.addSeparator()
        menu.addAction("Teach a tag from the selected photos…", self.teach_dialog)
        if self.model.rejected_at(index.row()):
            menu.addAction("Not a reject", lambda: self.set_rejected(selected, False))
        else:
            menu.addAction("Mark as reject", lambda: self.set_rejected(selected, True))
        if self.mode == "stack" and self.model.rowCount() > 1:
            others = self.model.ids[1:]
            menu.addAction("Keep the best shot: mark the others as rejects",
                           lambda: self.set_rejected(others, True))
        menu.addSeparator()
        menu.addAction("Open", lambda: QDesktopServices.openUrl(
            QUrl.fromLocalFile(os.fsdecode(path))))
        menu.addAction("Show in folder", lambda: QDesktopServices.openUrl(
            QUrl.fromLocalFile(os.path.dirname(os.fsdecode(path)))))
        menu.addAction("Copy path", lambda: QGuiApplication.clipboard().setText(os.fsdecode(path)))
        menu.popup(self.grid.viewport().mapToGlobal(pos))
        self.context_menu = menu  # kept for tests and so it is not collected while open

    def open_preview(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            return
        self.grid.setCurrentIndex(self.model.index(row))
        if self.preview is None:
            self.preview = PreviewDialog(self)
            self.preview.step.connect(lambda d: self.open_preview(self.grid.currentIndex().row() + d))
        self.preview.show()
        photo_id = self.model.photo_at(row)
        self.jobs.read(lambda: _to_qimage(self.library.preview(photo_id)),
                       done=lambda image: self.preview.show_image(
                           image, f"{row + 1} of {self.model.rowCount()}"),
                       failed=self.show_error)

    # -- background work ----------------------------------------------------------------

    @property
    def index_job(self) -> Job | None:
        return self.work.index_job

    def set_captions(self, mode: str) -> None:
        self.work.set_captions(mode)
        self.caption_actions[mode].setChecked(True)

    def _photos_added(self) -> None:
        """New photos appear while indexing goes on (at most once a second)."""
        if self.mode == "library" and time.monotonic() - self._last_refresh > REFRESH_EVERY_S:
            self.refresh_library()

    def add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.start_index([folder])

    def update_now(self) -> None:
        """A person's explicit retry: models that failed to load are tried again."""
        forget_failures()
        self.start_index()

    def choose_model(self) -> None:
        current = self.library.model_id or DEFAULT_MODEL
        spec, ok = QInputDialog.getText(
            self, "Embedding model",
            "Model (ARCH:TAG, hf-hub:ORG/REPO or local-dir:FOLDER).\n"
            "The library is re-embedded in the background; search keeps working meanwhile.\n"
            "MobileCLIP weights are licensed for research use only.",
            text=current)
        if ok and spec.strip() and spec.strip() != current:
            self.start_index(model=spec.strip())

    def show_problems(self) -> None:
        self.jobs.read(self.library.problems,
                       done=lambda problems: ProblemsDialog(problems, self).exec())

    # -- errors -----------------------------------------------------------------------

    def show_error(self, error: ClipdeskError) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "clipdesk", first_line(error), parent=self)
        if str(error).strip() != first_line(error):
            box.setDetailedText(str(error))  # kept for a bug report, out of the way
        choose = None
        if isinstance(error, ModelLoadError):
            box.setInformativeText("You can use a model folder on this computer instead.")
            choose = box.addButton("Choose model folder…", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Close)
        box.setModal(True)
        box.finished.connect(lambda _: self._model_folder() if box.clickedButton() is choose
                             and choose is not None else None)
        box.show()
        self.error_box = box

    def _model_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Folder with open_clip_config.json and the weights")
        if folder:
            self.start_index(model=f"local-dir:{folder}")

    # -- drag and drop ----------------------------------------------------------------

    # A drop is always accepted as a Copy, whatever the source proposes: a source told
    # "moved" (a file manager with Shift held, some browsers) may delete its file.

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            _accept_as_copy(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            _accept_as_copy(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        _accept_as_copy(event)
        self.handle_drop(event.mimeData())

    def handle_drop(self, mime: QMimeData) -> None:
        local = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if not local:
            self.show_error(ClipdeskError(
                "Only files on this computer can be searched: save the image first, then "
                "drop the file."))
            return
        path = local[0]
        if os.path.isdir(path):
            answer = QMessageBox.question(self, "Add folder",
                                          f"Add {path} to the library and index its photos?")
            if answer == QMessageBox.StandardButton.Yes:
                self.start_index([path])
            return
        self.find_similar(path)

    # -- closing ----------------------------------------------------------------------

    def closeEvent(self, event) -> None:  # noqa: N802
        """Stop after the batch in flight; the next launch resumes."""
        self.jobs.close()
        super().closeEvent(event)


def _accept_as_copy(event: QDropEvent) -> None:
    event.setDropAction(Qt.DropAction.CopyAction)
    event.accept()


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _to_qimage(image) -> QImage:
    """PIL RGB -> QImage, on the worker thread (QImage is safe off the GUI thread)."""
    data = image.tobytes()
    return QImage(data, image.width, image.height, 3 * image.width,
                  QImage.Format.Format_RGB888).copy()
