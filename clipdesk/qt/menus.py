"""The menu bar: every command a person can find, with its shortcut. The checkable items
for stacking and sensitive photos ask the view state for the change and follow it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QSlider

from clipdesk.qt.dialogs import Dialogs
from clipdesk.qt.photo_actions import PhotoActions
from clipdesk.qt.search_bar import SearchBar
from clipdesk.qt.tag_actions import TagActions
from clipdesk.qt.view_state import ViewState
from clipdesk.qt.views import Views

ZOOM_STEP = 32  # px per Ctrl+plus: five steps from the smallest thumbnails to the largest
CAPTION_MODES = (("selected", "Write one when a photo is selected"),
                 ("all", "Write them for every photo, in the background (the default with "
                         "a GPU)"),
                 ("off", "Off"))
SENSITIVE_MODES = (("blur", "Blur until clicked"), ("hide", "Hide"), ("show", "Show"))


@dataclass(frozen=True)
class Commands:
    """What the menus call: the controllers, the window's own commands and the slider."""

    dialogs: Dialogs
    searching: SearchBar
    views: Views
    actions: PhotoActions
    tagging: TagActions
    zoom: QSlider
    set_captions: Callable[[str], None]


@dataclass(frozen=True)
class MenuActions:
    """The checkable items the window keeps (tests and the captions setting reach them)."""

    stack: QAction
    keep_sidecars: QAction
    sensitive: dict[str, QAction]
    captions: dict[str, QAction]


def build_menus(window: QMainWindow, state: ViewState, do: Commands, keeps_sidecars: bool,
                captions: str) -> MenuActions:
    def add(menu: QMenu, text: str, slot: Callable[..., object],
            shortcut: QKeySequence | QKeySequence.StandardKey | None = None) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(shortcut)
        window.addAction(action)  # shortcuts work while the menu bar is hidden too
        return action

    library = window.menuBar().addMenu("&Library")
    add(library, "Add folder…", do.dialogs.add_folder, QKeySequence.StandardKey.Open)
    add(library, "Update now", do.dialogs.update_now)
    add(library, "Problems…", do.dialogs.show_problems)
    add(library, "Embedding model…", do.dialogs.choose_model)
    add(library, "Read text in photos", lambda: do.actions.read_text(None)).setToolTip(
        "Read the text in the photos that look like they hold some (signs, screenshots, "
        "documents) so that search finds it; 1-3 s a photo")
    library.addSeparator()
    add(library, "Quit", window.close, QKeySequence.StandardKey.Quit)

    view = window.menuBar().addMenu("&View")
    zoom = do.zoom
    add(view, "Search", do.searching.focus, QKeySequence.StandardKey.Find)
    add(view, "Library", do.views.show_library, QKeySequence("Esc"))
    add(view, "Larger thumbnails", lambda: zoom.setValue(zoom.value() + ZOOM_STEP),
        QKeySequence.StandardKey.ZoomIn)
    add(view, "Smaller thumbnails", lambda: zoom.setValue(zoom.value() - ZOOM_STEP),
        QKeySequence.StandardKey.ZoomOut)
    add(view, "Preview", do.actions.preview_current, QKeySequence("Space"))
    view.addSeparator()
    add(view, "Blurry photos", do.actions.show_blurry)
    stack = add(view, "Stack bursts and duplicates", do.actions.set_stacking)
    stack.setCheckable(True)
    stack.setChecked(state.stacking)
    view.addSeparator()
    add(view, "Flagged photos", do.actions.show_flagged)
    sensitive = _choices(view.addMenu("Sensitive photos"), SENSITIVE_MODES, state.sensitive,
                         do.actions.set_sensitive)

    def follow(_: frozenset[str]) -> None:
        stack.setChecked(state.stacking)
        sensitive[state.sensitive].setChecked(True)
    state.changed.connect(follow)

    tags = window.menuBar().addMenu("&Tags")
    add(tags, "Teach a tag from the selected photos…", do.tagging.teach_dialog,
        QKeySequence("Ctrl+T"))
    add(tags, "Edit the tag vocabulary…", do.tagging.edit_vocabulary)
    add(tags, "Judge all tags again", do.tagging.rejudge).setToolTip(
        "New photos are tagged against the thresholds of the last whole judgement; this "
        "judges every photo against the library as it is now")
    tags.addSeparator()
    add(tags, "Write XMP sidecars for every photo…", do.tagging.write_sidecars)
    keep = add(tags, "Keep XMP sidecars written", do.tagging.keep_sidecars)
    keep.setCheckable(True)
    keep.setChecked(keeps_sidecars)
    keep.setToolTip("Write each change of a photo's tags, caption or reject to its "
                    "NAME.EXT.xmp at once")
    caption_actions = _choices(tags.addMenu("Captions"), CAPTION_MODES,
                               "selected" if captions == "auto" else captions,
                               do.set_captions)
    help_menu = window.menuBar().addMenu("&Help")
    add(help_menu, "About clipdesk", do.dialogs.about)
    return MenuActions(stack, keep, sensitive, caption_actions)


def _choices(menu: QMenu, modes: tuple[tuple[str, str], ...], current: str,
             choose: Callable[[str], None]) -> dict[str, QAction]:
    """One checkable action per mode, exactly one checked."""
    group = QActionGroup(menu)
    actions = {}
    for mode, text in modes:
        action = menu.addAction(text)
        action.setCheckable(True)
        action.setChecked(mode == current)
        action.triggered.connect(lambda _=False, m=mode: choose(m))
        group.addAction(action)
        actions[mode] = action
    return actions
