"""The menu bar: every command a person can find, with its shortcut."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu

if TYPE_CHECKING:
    from clipdesk.qt.main_window import MainWindow

ZOOM_STEP = 32  # px per Ctrl+plus: five steps from the smallest thumbnails to the largest
CAPTION_MODES = (("selected", "Write one when a photo is selected"),
                 ("all", "Write them for every photo, in the background (the default with "
                         "a GPU)"),
                 ("off", "Off"))
SENSITIVE_MODES = (("blur", "Blur until clicked"), ("hide", "Hide"), ("show", "Show"))


def build_menus(w: MainWindow) -> None:
    def add(menu: QMenu, text: str, slot: Callable[..., object],
            shortcut: QKeySequence | QKeySequence.StandardKey | None = None) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(shortcut)
        w.addAction(action)  # shortcuts work while the menu bar is hidden too
        return action

    library = w.menuBar().addMenu("&Library")
    add(library, "Add folder…", w.dialogs.add_folder, QKeySequence.StandardKey.Open)
    add(library, "Update now", w.dialogs.update_now)
    add(library, "Problems…", w.dialogs.show_problems)
    add(library, "Embedding model…", w.dialogs.choose_model)
    library.addSeparator()
    add(library, "Quit", w.close, QKeySequence.StandardKey.Quit)

    view = w.menuBar().addMenu("&View")
    add(view, "Search", w.searching.focus, QKeySequence.StandardKey.Find)
    add(view, "Library", w.views.show_library, QKeySequence("Esc"))
    add(view, "Larger thumbnails", lambda: w.zoom.setValue(w.zoom.value() + ZOOM_STEP),
        QKeySequence.StandardKey.ZoomIn)
    add(view, "Smaller thumbnails", lambda: w.zoom.setValue(w.zoom.value() - ZOOM_STEP),
        QKeySequence.StandardKey.ZoomOut)
    add(view, "Preview", lambda: w.photo_actions.open_preview(w.grid.currentIndex().row()),
        QKeySequence("Space"))
    view.addSeparator()
    add(view, "Blurry photos", w.photo_actions.show_blurry)
    w.stack_action = add(view, "Stack bursts and duplicates", w.photo_actions.set_stacking)
    w.stack_action.setCheckable(True)
    w.stack_action.setChecked(w.prefs.stack)
    view.addSeparator()
    add(view, "Flagged photos", w.photo_actions.show_flagged)
    w.sensitive_actions = _choices(view.addMenu("Sensitive photos"), SENSITIVE_MODES,
                                   w.prefs.sensitive, w.photo_actions.set_sensitive)

    tags = w.menuBar().addMenu("&Tags")
    add(tags, "Teach a tag from the selected photos…", w.tagging.teach_dialog,
        QKeySequence("Ctrl+T"))
    add(tags, "Edit the tag vocabulary…", w.tagging.edit_vocabulary)
    add(tags, "Judge all tags again", w.tagging.rejudge).setToolTip(
        "New photos are tagged against the thresholds of the last whole judgement; this "
        "judges every photo against the library as it is now")
    tags.addSeparator()
    add(tags, "Write XMP sidecars for every photo…", w.tagging.write_sidecars)
    w.keep_sidecars_action = add(tags, "Keep XMP sidecars written", w.tagging.keep_sidecars)
    w.keep_sidecars_action.setCheckable(True)
    w.keep_sidecars_action.setChecked(w.library.keeps_sidecars())
    w.keep_sidecars_action.setToolTip("Write each change of a photo's tags, caption or reject "
                                      "to its NAME.EXT.xmp at once")
    captions = w.work.captions
    w.caption_actions = _choices(tags.addMenu("Captions"), CAPTION_MODES,
                                 "selected" if captions == "auto" else captions,
                                 w.set_captions)


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
