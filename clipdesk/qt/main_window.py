"""The main window: its layout and the wiring of its parts. What the grid is asked to show
is the view state (view_state.py); what each part does lives in a controller, each built
from the library, the jobs, the view state and the few widgets it drives, in this order:
dialogs, views (the one reader of the view state that loads the grid), searching (the
search bar and drops), selection (the details panel), tagging (tags and teaching),
actions (the grid's photo commands); then the menus (menus.py). No controller knows the
window."""
from __future__ import annotations

import os
import time

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.library import BLURRY, Library
from clipdesk.core.types import Sort
from clipdesk.qt.background import BackgroundWork
from clipdesk.qt.backups import EditBackups
from clipdesk.qt.dialogs import Dialogs
from clipdesk.qt.grid import PhotoGridModel, ThumbnailCache, ThumbnailDelegate
from clipdesk.qt.menus import Commands, build_menus
from clipdesk.qt.panels import DetailsPanel, FirstRunDialog
from clipdesk.qt.people_ui import PeopleActions, PeopleSidebar
from clipdesk.qt.photo_actions import PhotoActions
from clipdesk.qt.search_bar import SearchBar
from clipdesk.qt.selection import Selection
from clipdesk.qt.tag_actions import TagActions
from clipdesk.qt.tags_ui import TagSidebar, TeachBar
from clipdesk.qt.view_prefs import ViewPrefs
from clipdesk.qt.view_state import ViewState
from clipdesk.qt.views import Screen, Views
from clipdesk.qt.when_where_ui import WhenWhereSidebar
from clipdesk.qt.worker import Job, Jobs

REFRESH_EVERY_S = 1.0  # new photos show while indexing, without redrawing all the time
QUERY_IMAGE_SIDE = 48  # px: the image an image search looks for, as tall as two text lines


class MainWindow(QMainWindow):
    """Every long task runs as a Job; this class only lays out and wires."""

    results_shown = Signal(str)  # "library" | "search" | "similar" | "flagged" | "teach"
    details_shown = Signal(int)  # a photo's details (tags, caption) are on screen

    first_run: FirstRunDialog

    def __init__(self, library: Library) -> None:
        super().__init__()
        self.library = library
        # one writer: every catalog/vocabulary write goes through self.jobs.write(); in the
        # test mode the catalog raises on a write from any other thread
        library.check_one_writer(os.environ.get("CLIPDESK_CHECK_WRITER") == "1")
        self.jobs = jobs = Jobs(self, safe_point=lambda: not library.in_write())
        self.edit_backups = EditBackups(library, jobs, self)
        self.prefs = ViewPrefs(library.home)
        self.state = state = ViewState(Sort(self.prefs.sort), self.prefs.stack,
                                       self.prefs.sensitive, self)
        self.setWindowTitle("clipdesk")
        self.setAcceptDrops(True)
        self.resize(1200, 800)
        self._build()
        index = self.work.start_index
        self.dialogs = Dialogs(library, jobs, self, index)
        def report(error: ClipdeskError) -> None:  # looked up per error: one place shows them
            self.dialogs.show_error(error)
        self.views = Views(library, jobs, state, Screen(
            self.grid, self.model, self.heading, self.back, self.more, self.query_image,
            self.empty, self.details, self.tags, self.status_text, self.when_where), report)
        self.searching = SearchBar(library, state, self.views, self.search, self, index, report,
                                   self.understood)
        self.selection = Selection(library, jobs, self.views, self.grid, self.details,
                                   self.thumbnails, self.work, self.details_shown.emit, report)
        self.tagging = TagActions(library, jobs, state, self.views, self.selection,
                                  (self.tags, self.teach_bar), self.status_text, self, report)
        self.people_actions = PeopleActions(library, jobs, self.people, self._people_changed,
                                            self.status_text.setText, report)
        self.photo_actions = PhotoActions(library, jobs, state, self.views, self.searching,
                                          self.selection, self.tagging,
                                          (self.blur_limit, self.blur_label), self, report)
        menus = build_menus(self, state, Commands(
            self.dialogs, self.searching, self.views, self.photo_actions, self.tagging,
            self.zoom, self.set_captions), library.keeps_sidecars(), self.work.captions)
        self.stack_action, self.keep_sidecars_action = menus.stack, menus.keep_sidecars
        self.sensitive_actions, self.caption_actions = menus.sensitive, menus.captions
        self._wire()
        geometry, panels = self.prefs.layout()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if panels is not None:
            self.splitter.restoreState(panels)
        self.views.refresh_library()

    # -- layout -----------------------------------------------------------------------

    def _build(self) -> None:
        self.search = QLineEdit(placeholderText="Describe a photo (Ctrl+F), or drop an image here")
        self.search.setClearButtonEnabled(True)
        self.understood = QLabel()  # how the typed query reads: "beach · 2019 · not snow"
        self.understood.setToolTip("How the search was understood: words, dates (2019, "
                                   "june, last summer), places (in Lisbon), people's names, "
                                   "#tags, -excluded")
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setRange(96, 320)
        self.zoom.setValue(self.prefs.zoom)
        self.zoom.setFixedWidth(140)
        self.zoom.setToolTip("Thumbnail size (Ctrl+plus / Ctrl+minus)")
        self.sort = QComboBox()
        self.sort.addItem("Newest / best match first", "default")
        self.sort.addItem("Sharpest first", "sharpness")
        self.sort.addItem("Newest first (results too)", "newest")
        self.sort.setToolTip("The order of the library and of any result list")
        self.sort.setCurrentIndex(max(0, self.sort.findData(self.prefs.sort)))
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.understood)
        top.addWidget(self.sort)
        top.addWidget(QLabel("Size"))
        top.addWidget(self.zoom)

        self.heading = QLabel()
        self.heading.setStyleSheet("font-size: 15px; font-weight: 600; padding: 2px;")
        # a long title (a long query, a folder name) is cut, instead of widening the grid's pane
        self.heading.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.back = QPushButton("Back to library")
        self.more = QPushButton()
        self.more.setToolTip("Show the weaker matches below the relevance cutoff")
        self.more.hide()
        # both hide when clicked: had a click given them the focus, it would pass to the
        # grid, which makes its first photo current (unselected) and the details show it
        for button in (self.back, self.more):
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.blur_limit = QSlider(Qt.Orientation.Horizontal)
        self.blur_limit.setRange(10, 80)
        self.blur_limit.setValue(round(BLURRY * 100))
        self.blur_limit.setFixedWidth(140)
        self.blur_limit.setToolTip("Sharpness under which a photo counts as blurry")
        self.blur_label = QLabel()
        self.query_image = QLabel()  # an image search's own image, beside its title
        self.query_image.setFixedHeight(QUERY_IMAGE_SIDE)
        self.query_image.hide()
        head = QHBoxLayout()
        for widget in (self.query_image, self.heading, self.blur_label, self.blur_limit,
                       self.more, self.back):
            head.addWidget(widget)
        head.setStretchFactor(self.heading, 1)

        self.thumbnails = ThumbnailCache(self.jobs, self.library.photos.info,
                                         self.library.photos.thumbnail, self)
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
        self.grid.setStyleSheet("QListView { background: #2b2b2b; }")
        self.empty = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.empty.setStyleSheet("color: #888; font-size: 15px;")
        self._set_zoom(self.zoom.value())
        self.grid.viewport().installEventFilter(self)

        self.details = DetailsPanel()
        self.tags = TagSidebar()
        self.when_where = WhenWhereSidebar()
        self.when_where.attach(self.search)
        sidebar = QSplitter(Qt.Orientation.Vertical)
        sidebar.addWidget(self.tags)
        sidebar.addWidget(self.when_where)
        self.people = PeopleSidebar()
        self.people.attach(self.search)
        sidebar.addWidget(self.people)
        self.teach_bar = TeachBar()
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(head)
        column.addWidget(self.teach_bar)
        column.addWidget(self.grid, 1)
        column.addWidget(self.empty, 1)
        self.splitter = QSplitter()
        for pane in (sidebar, left, self.details):
            self.splitter.addWidget(pane)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([170, 760, 290])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        self.work = BackgroundWork(self.library, self.jobs, self.statusBar(),
                                   self.library.captions_mode())
        self.status_text = self.work.status_text
        self.start_index = self.work.start_index

    def _wire(self) -> None:
        """The widgets to the controllers (each controller connects what is its own)."""
        views, actions, tagging, selection, state = (self.views, self.photo_actions,
                                                     self.tagging, self.selection, self.state)
        state.changed.connect(self._remember)
        actions.read_text = self.work.read_text  # "Read text in photo": a background job
        views.shown.connect(lambda mode, _: self.results_shown.emit(mode))
        self.zoom.valueChanged.connect(self._set_zoom)
        self.sort.currentIndexChanged.connect(
            lambda _: state.update(sort=Sort(self.sort.currentData())))
        self.back.clicked.connect(views.back)
        self.more.clicked.connect(views.show_more)
        self.blur_limit.valueChanged.connect(lambda _: actions.show_blurry())
        self.grid.customContextMenuRequested.connect(actions.show_context_menu)
        menu_key = QAction("Photo menu", self.grid)
        menu_key.setShortcuts([QKeySequence("Shift+F10"), QKeySequence(Qt.Key.Key_Menu)])
        menu_key.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)  # while in the grid
        menu_key.triggered.connect(actions.show_context_menu_by_key)
        self.grid.addAction(menu_key)
        self.grid.doubleClicked.connect(lambda index: actions.open_preview(index.row()))
        self.grid.selectionModel().currentChanged.connect(selection.current_changed)
        self.details.tag_added.connect(lambda tag: selection.set_tag(tag, True))
        self.details.tag_removed.connect(lambda tag: selection.set_tag(tag, False))
        self.details.caption_edited.connect(selection.set_caption)
        self.tags.chosen.connect(lambda tag: state.update(
            tag_filter=None if tag == state.tag_filter else tag))
        self.tags.rename_requested.connect(tagging.rename_tag)
        self.tags.remove_requested.connect(tagging.remove_tag)
        self.teach_bar.accept.connect(lambda: tagging.answer(True))
        self.teach_bar.reject.connect(lambda: tagging.answer(False))
        self.teach_bar.done.connect(tagging.teaching_done)
        self.work.photos_added.connect(self._photos_added)
        for changed in (self.work.indexed, self.work.others_changed):
            changed.connect(lambda: views.refresh_library() if state.mode == "library"
                            else None)
        self.work.failed.connect(lambda error: self.dialogs.show_error(error))
        views.people.connect(self.people_actions.show)
        self.details.face_rejected.connect(self.people_actions.not_person)

    def _people_changed(self) -> None:
        """After a person named, merged or corrected people: counts, sidebar, details,
        and a search's results (a name in it may now stand for more or fewer photos)."""
        self.views.refresh_library()
        if self.views.mode == "search":
            self.views.search()
        self.selection.reread()

    def _remember(self, changed: frozenset[str]) -> None:
        """The order, stacking and sensitive display, for the next launch."""
        if "sort" in changed:
            self.prefs.sort = self.sort.currentData()
        self.prefs.stack, self.prefs.sensitive = self.state.stacking, self.state.sensitive

    def _set_zoom(self, size: int) -> None:
        """Cells of about `size` px, as many columns as fit best, sized to fill the grid's
        width. QListView wraps its rows as if its scroll bar were shown, and a row that
        would end exactly at the edge: measured the same way, with one px spare."""
        bar = self.grid.verticalScrollBar()
        width = self.grid.viewport().width() - 1
        if not bar.isVisible():
            width -= self.grid.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        columns = max(1, round(width / size))
        self.delegate.cell = max(32, width // columns)
        self.grid.setGridSize(self.delegate.cell_size())
        self.prefs.zoom = size

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.grid.viewport() and event.type() == QEvent.Type.Resize:
            self._set_zoom(self.zoom.value())
        return super().eventFilter(watched, event)

    # -- background work ----------------------------------------------------------------

    @property
    def index_job(self) -> Job | None:
        return self.work.index_job

    def warm_up(self) -> None:
        """Load the model in the background so the first search answers at once."""
        self.jobs.read(self.library.warm_up, failed=self.dialogs.show_error)

    def set_captions(self, mode: str) -> None:
        self.work.set_captions(mode)
        self.caption_actions[mode].setChecked(True)

    def _photos_added(self) -> None:
        """New photos appear while indexing goes on: at most once a second, and never
        while the last load is still under way (on a busy machine, stacked loads would
        hold both readers and starve the thumbnails)."""
        if (self.state.mode == "library" and self.views.refreshing is None
                and time.monotonic() - self.views.last_refresh > REFRESH_EVERY_S):
            self.views.refresh_library()

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
        self.searching.drop(event.mimeData())

    # -- closing ----------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Stop after the batch in flight; the next launch resumes."""
        self.prefs.save_layout(self.saveGeometry(), self.splitter.saveState())
        self.work.stop_watching()
        self.jobs.close()
        self.edit_backups.close()
        super().closeEvent(event)


def _accept_as_copy(event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> None:
    event.setDropAction(Qt.DropAction.CopyAction)
    event.accept()
