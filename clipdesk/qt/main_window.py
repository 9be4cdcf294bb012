"""The main window: search bar, photo grid, details panel, status bar, menus."""
from __future__ import annotations

import os
import time

from PySide6.QtCore import QEvent, QMimeData, QModelIndex, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (QAction, QActionGroup, QDesktopServices, QDragEnterEvent, QDropEvent, QGuiApplication,
                           QImage, QKeySequence)
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QInputDialog, QLabel,
                               QLineEdit, QListView, QListWidget, QListWidgetItem,
                               QMainWindow, QMenu, QMessageBox,
                               QProgressBar, QPushButton, QSlider, QSplitter, QToolButton,
                               QVBoxLayout, QWidget)

from clipdesk.core.errors import ClipdeskError, ModelLoadError
from clipdesk.core.library import Library
from clipdesk.core.models import DEFAULT_MODEL
from clipdesk.core.tagging import SENSITIVE
from clipdesk.core.types import Hit, Progress
from clipdesk.qt.grid import PHOTO_ID_ROLE, PhotoGridModel, ThumbnailCache, ThumbnailDelegate
from clipdesk.qt.panels import DetailsPanel, PreviewDialog, ProblemsDialog
from clipdesk.qt.worker import Job, Jobs

RESULTS = 200
DEBOUNCE_MS = 250
REFRESH_EVERY_S = 1.0


class MainWindow(QMainWindow):
    """Every long task runs as a Job; this class only presents and wires."""

    results_shown = Signal(str)  # "library" | "search" | "similar"

    def __init__(self, library: Library) -> None:
        super().__init__()
        self.library = library
        self.jobs = Jobs(self)
        self.index_job: Job | None = None
        self._query_serial = 0
        self._last_refresh = 0.0
        self.mode = "library"
        self.flagged: set[int] = set()
        self.revealed: set[int] = set()
        self.sensitive = library.catalog.get_meta("sensitive_display") or "blur"
        self._shown_once = False
        self._after_first_load: list = []
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
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(QLabel("Size"))
        top.addWidget(self.zoom)

        self.heading = QLabel()
        self.heading.setStyleSheet("font-size: 15px; font-weight: 600; padding: 2px;")
        self.back = QPushButton("Back to library")
        self.back.clicked.connect(lambda: self.set_tag_filter(None) if self.tag_filter
                                  and self.mode == "library" else self.show_library())
        self.more = QPushButton()
        self.more.setToolTip("Show the weaker matches below the relevance cutoff")
        self.more.clicked.connect(self.show_more)
        self.more.hide()
        self._hits: list[Hit] = []
        head = QHBoxLayout()
        head.addWidget(self.heading, 1)
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
        self.delegate = ThumbnailDelegate(self.grid)
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
        self.tag_filter: str | None = None
        self.tag_list = QListWidget()
        self.tag_list.itemClicked.connect(self._tag_clicked)
        tags_panel = QWidget()
        tags_column = QVBoxLayout(tags_panel)
        tags_column.setContentsMargins(0, 0, 0, 0)
        tags_column.addWidget(QLabel("<b>Tags</b>"))
        tags_column.addWidget(self.tag_list, 1)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(head)
        column.addWidget(self.grid, 1)
        column.addWidget(self.empty, 1)
        splitter = QSplitter()
        splitter.addWidget(tags_panel)
        splitter.addWidget(left)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([170, 760, 290])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

        self.status_text = QLabel()
        self.progress = QProgressBar(maximumWidth=220, textVisible=True)
        self.pause_button = QToolButton(text="Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button = QToolButton(text="Cancel")
        self.cancel_button.clicked.connect(self.cancel_index)
        bar = self.statusBar()
        bar.addWidget(self.status_text, 1)
        for w in (self.progress, self.pause_button, self.cancel_button):
            bar.addPermanentWidget(w)
        self._show_indexing(False)
        self.preview: PreviewDialog | None = None

    def _build_menus(self) -> None:
        library = self.menuBar().addMenu("&Library")
        self._action(library, "Add folder…", self.add_folder_dialog, QKeySequence.StandardKey.Open)
        self._action(library, "Update now", lambda: self.start_index())
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
        self._action(view, "Flagged photos", self.show_flagged)
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
        tags = [self.tag_filter] if self.tag_filter else None
        job = self.jobs.create(lambda: (self.library.photo_ids(tags),
                                        {h.photo_id for h in self.library.flagged()},
                                        self.library.catalog.tag_counts()))
        job.finished.connect(self._library_loaded)
        job.failed.connect(self.show_error)
        self.jobs.start_reader(job)

    def after_first_load(self, callback) -> None:
        """Run `callback` once the library is on screen (background work waits for that,
        so it does not compete with the first paint)."""
        if self._shown_once:
            callback()
        else:
            self._after_first_load.append(callback)

    def _library_loaded(self, found: tuple[list[int], set[int], list]) -> None:
        ids, self.flagged, counts = found
        self._show_tag_counts(counts)
        if not self._shown_once:
            self._shown_once = True
            for callback in self._after_first_load:
                QTimer.singleShot(0, callback)
            self._after_first_load.clear()
        if self.mode != "library":
            return
        self.model.veiled = self._veiled()
        self.model.set_photos(self._visible(ids))
        self.heading.setText(f"Tagged “{self.tag_filter}” — {len(ids):,} photos"
                             if self.tag_filter else f"Library — {len(ids):,} photos")
        self._update_empty("No photos yet. Add a folder (Ctrl+O) or drop one here."
                           if not ids else "")
        self.back.setVisible(self.tag_filter is not None)
        self.results_shown.emit("library")

    # -- tags -------------------------------------------------------------------------

    def _show_tag_counts(self, counts: list[tuple[str, int]]) -> None:
        """The tag list with counts (sensitive flags are not browsed here)."""
        self.tag_list.clear()
        self.tag_list.addItem("All photos")
        for tag, n in counts:
            if not tag.startswith(SENSITIVE):
                item = QListWidgetItem(f"{tag} ({n})")
                item.setData(Qt.ItemDataRole.UserRole, tag)
                self.tag_list.addItem(item)
                if tag == self.tag_filter:
                    item.setSelected(True)

    def _tag_clicked(self, item: QListWidgetItem) -> None:
        tag = item.data(Qt.ItemDataRole.UserRole)
        self.set_tag_filter(None if tag == self.tag_filter else tag)

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
        shown = [h for h in hits if h.relevant]
        self.model.veiled = self._veiled()
        self.model.set_hits(shown)
        self.heading.setText(title)
        hidden = len(hits) - len(shown)
        self.more.setText(f"Show {hidden} weaker matches")
        self.more.setVisible(hidden > 0)
        self._update_empty("Nothing clearly matches." if not shown else "")
        self.back.show()
        self.grid.scrollToTop()
        self.results_shown.emit(mode)

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
        self.library.catalog.set_meta("sensitive_display", mode)
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
        self.empty.setText(text)
        self.empty.setVisible(bool(text))
        self.grid.setVisible(not text)

    def _query(self, mode: str, title: str, fn) -> None:
        self._query_serial += 1
        serial = self._query_serial
        self.status_text.setText("Searching…")
        job = self.jobs.create(fn)
        job.finished.connect(lambda hits: self._show_hits(mode, title, serial, hits))
        job.finished.connect(lambda hits: self.status_text.setText(
            f"{sum(h.relevant for h in hits)} results"))
        job.failed.connect(self.show_error)
        self.jobs.start_reader(job)

    def warm_up(self) -> None:
        """Load the model in the background so the first search answers at once."""
        job = self.jobs.create(self.library.warm_up)
        job.failed.connect(self.show_error)
        self.jobs.start_reader(job)

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

    def selected_ids(self) -> list[int]:
        return [i.data(PHOTO_ID_ROLE) for i in self.grid.selectionModel().selectedIndexes()]

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.details.show_info(None)
            return
        photo_id = current.data(PHOTO_ID_ROLE)
        self.revealed.add(photo_id)
        self.model.reveal(photo_id)
        job = self.jobs.create(lambda: (self.library.photo_info(photo_id), [
            t for t, _, _ in self.library.catalog.tags_of(photo_id)]))
        job.finished.connect(lambda found: self.details.show_info(
            found[0], self.thumbnails.get(photo_id), found[1]) if self.grid.currentIndex().data(
                PHOTO_ID_ROLE) == photo_id else None)
        self.jobs.start_reader(job)

    def _path_of(self, row: int) -> bytes | None:
        index = self.model.index(row)
        if not index.isValid():
            return None
        info = self.library.catalog.paths_for([index.data(PHOTO_ID_ROLE)])
        return next(iter(info.values()), None)

    def _context_menu(self, pos) -> None:
        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        path = self._path_of(index.row())
        if path is None:
            return
        menu = QMenu(self)
        menu.addAction("Find similar", lambda: self.find_similar(path))
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
        photo_id = self.model.index(row).data(PHOTO_ID_ROLE)
        job = self.jobs.create(lambda: _to_qimage(self.library.preview(photo_id)))
        job.finished.connect(lambda image: self.preview.show_image(
            image, f"{row + 1} of {self.model.rowCount()}"))
        job.failed.connect(self.show_error)
        self.jobs.start_reader(job)

    # -- indexing ---------------------------------------------------------------------

    def start_index(self, folders: list[str] | None = None, model: str | None = None) -> None:
        if self.index_job is not None:
            self.index_job.cancel()  # the new run covers the old one's work
        job = self.jobs.create(lambda: self.library.index(folders, model))
        job.progress.connect(self._index_progress)
        job.finished.connect(self._index_finished)
        job.failed.connect(self._index_failed)
        job.cancelled.connect(lambda: self._index_ended("Indexing cancelled; it resumes next time."))
        self.index_job = job
        self._show_indexing(True)
        self.status_text.setText("Starting…")
        self.jobs.start_writer(job)

    def _index_progress(self, step: Progress) -> None:
        if step.phase == "scan":
            self.status_text.setText(f"Looking for photos… {step.done:,} files")
            self.progress.setRange(0, 0)
        elif step.phase == "index":
            self.progress.setRange(0, step.total)
            self.progress.setValue(step.done)
            eta = f" · {_duration(step.eta)} left" if step.eta else ""
            self.status_text.setText(f"Indexing {step.done:,} of {step.total:,} photos · "
                                     f"{step.rate:.1f} photos/s{eta}")
            if self.mode == "library" and time.monotonic() - self._last_refresh > REFRESH_EVERY_S:
                self.refresh_library()
        elif step.phase == "save":
            self.status_text.setText("Saving…")

    def _index_finished(self, step: Progress | None) -> None:
        s = step.summary if step is not None else None
        text = "Library up to date."
        if s is not None and (s.embedded or s.removed or s.moved or s.problems):
            text = (f"Indexed {s.embedded:,} photos in {s.seconds:.0f} s; {s.removed:,} removed, "
                    f"{s.problems:,} problems.")
        self._index_ended(text)
        if self.mode == "library":
            self.refresh_library()

    def _index_failed(self, error: ClipdeskError) -> None:
        self._index_ended(f"Indexing stopped: {error}")
        self.show_error(error)

    def _index_ended(self, text: str) -> None:
        self.index_job = None
        self._show_indexing(False)
        self.status_text.setText(text)

    def _show_indexing(self, on: bool) -> None:
        for w in (self.progress, self.pause_button, self.cancel_button):
            w.setVisible(on)
        self.pause_button.setText("Pause")

    def toggle_pause(self) -> None:
        if self.index_job is None:
            return
        if self.index_job.paused:
            self.index_job.resume()
            self.pause_button.setText("Pause")
        else:
            self.index_job.pause()
            self.pause_button.setText("Resume")
            self.status_text.setText("Paused")

    def cancel_index(self) -> None:
        if self.index_job is not None:
            self.index_job.cancel()

    def add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.start_index([folder])

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
        job = self.jobs.create(self.library.problems)
        job.finished.connect(lambda problems: ProblemsDialog(problems, self).exec())
        self.jobs.start_reader(job)

    # -- errors -----------------------------------------------------------------------

    def show_error(self, error: ClipdeskError) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "clipdesk", str(error), parent=self)
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

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self.handle_drop(event.mimeData())
        event.acceptProposedAction()

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
        self.jobs.cancel_all()
        self.jobs.wait(30_000)
        super().closeEvent(event)


def _to_qimage(image) -> QImage:
    """PIL RGB -> QImage, on the worker thread (QImage is safe off the GUI thread)."""
    data = image.tobytes()
    return QImage(data, image.width, image.height, 3 * image.width,
                  QImage.Format.Format_RGB888).copy()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"

