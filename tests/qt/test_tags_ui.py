"""The app's tag editing: by hand in the details panel, taught by example, the vocabulary."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from clipdesk.core.library import Library
from clipdesk.qt import app as qt_app
from tests.conftest import TINY_MODEL, run_cli, use_tiny_models
from tests.qt.conftest import (
    WAIT_MS,
    on_writer,
    searched,
    shown_paths,
    window_with_vocabulary,
)

COLOURS_AND_SHAPES = ("red: a red shape | red\nblue: a blue shape | blue\n"
                      "circle: a circle\nsquare: a square\n")


def select_rows(win, rows: list[int]) -> None:
    selection = win.grid.selectionModel()
    selection.clearSelection()
    selection.setCurrentIndex(win.model.index(rows[0]), selection.SelectionFlag.NoUpdate)
    for row in rows:
        selection.select(win.model.index(row), selection.SelectionFlag.Select)


def test_tags_and_caption_are_edited_in_the_details_panel(qtbot, photos, tmp_path):
    win = window_with_vocabulary(qtbot, photos, tmp_path / "home", COLOURS_AND_SHAPES, "")
    win.set_captions("off")  # this test is about a person's edits
    qtbot.waitUntil(lambda: win.model.rowCount() == len(photos), timeout=WAIT_MS)
    # a photo the tiny model tagged (not every one gets a tag, and which photo comes
    # first depends on the order the decode pool finished them in)
    row = next(r for r in range(win.model.rowCount()) if any(
        src == "auto" for _, _, src in win.library.catalog.tags.of(win.model.photo_at(r))))
    with qtbot.waitSignal(win.details_shown, timeout=10_000):
        win.grid.setCurrentIndex(win.model.index(row))
    photo_id = win.model.photo_at(row)

    qtbot.keyClicks(win.details.add_tag, "Summer  Holiday")
    qtbot.keyClick(win.details.add_tag, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "summer holiday" in win.details.tags.text(), timeout=10_000)
    assert ("summer holiday", None, "manual") in win.library.catalog.tags.of(photo_id)
    qtbot.waitUntil(lambda: "summer holiday" in win.tags.tags(), timeout=10_000)

    auto = next(t for t, _, src in win.library.catalog.tags.of(photo_id) if src == "auto")
    win.details.tags.linkActivated.emit(auto)  # its × link
    qtbot.waitUntil(lambda: f'{auto} <a' not in win.details.tags.text(), timeout=10_000)
    assert auto not in {t for t, _, _ in win.library.catalog.tags.of(photo_id)}
    on_writer(qtbot, win, win.library.tags.retag)  # a removal outlives re-tagging
    assert auto not in {t for t, _, _ in win.library.catalog.tags.of(photo_id)}

    win.details.edit_caption.click()
    assert win.details.caption_edit.isVisible()
    qtbot.keyClicks(win.details.caption_edit, "grandma's kitchen table")
    qtbot.keyClick(win.details.caption_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: win.library.catalog.captions.get(photo_id)[0] is not None,
                    timeout=10_000)
    assert win.library.catalog.captions.get(photo_id) == ("grandma's kitchen table", "manual")
    assert win.details.caption.text() == "grandma's kitchen table"
    searched(qtbot, win, "kitchen")  # a word CLIP cannot place finds it by its caption
    assert win.model.photo_at(0) == photo_id


def test_teaching_a_tag_suggests_look_alikes_that_accept_and_reject_refine(
        qtbot, photos, tmp_path, monkeypatch):
    win = window_with_vocabulary(qtbot, photos, tmp_path / "home", COLOURS_AND_SHAPES, "")
    qtbot.waitUntil(lambda: win.model.rowCount() == len(photos), timeout=WAIT_MS)
    paths = shown_paths(win, len(photos))
    greens = [r for r, p in enumerate(paths) if photos[p][0] == "green"]
    select_rows(win, greens[:2])
    taught = {win.model.photo_at(r) for r in greens[:2]}
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("Leafy", True))
    with qtbot.waitSignal(win.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "teach"):
        win.tagging.teach_dialog()
    assert win.teach_bar.isVisible() and "leafy" in win.teach_bar.text.text()
    scores = [h.score for h in win.views.hits]
    assert win.model.rowCount() == len(photos) - 2  # every other photo, ranked to judge
    assert not taught & set(win.model.ids) and scores == sorted(scores, reverse=True)

    select_rows(win, [0])
    accepted = win.model.photo_at(0)
    with qtbot.waitSignal(win.results_shown, timeout=WAIT_MS):
        win.teach_bar.yes.click()
    assert accepted not in win.model.ids  # answered: no longer a suggestion
    if win.model.rowCount():
        select_rows(win, [0])
        rejected = win.model.photo_at(0)
        with qtbot.waitSignal(win.results_shown, timeout=WAIT_MS):
            win.teach_bar.no.click()
        assert rejected not in win.model.ids
        assert rejected not in win.library.catalog.tags.photos_with(["leafy"])
    with qtbot.waitSignal(win.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "library"):
        win.teach_bar.done.emit()
    assert not win.teach_bar.isVisible()
    tagged = set(win.library.catalog.tags.photos_with(["leafy"]))
    assert accepted in tagged and len(tagged) == 3  # two taught, one accepted
    qtbot.waitUntil(lambda: set(win.model.ids) == tagged, timeout=10_000)


def test_a_tag_is_renamed_and_removed_from_the_tag_list(qtbot, photos, tmp_path, monkeypatch):
    win = window_with_vocabulary(qtbot, photos, tmp_path / "home", COLOURS_AND_SHAPES, "")
    qtbot.waitUntil(lambda: "red" in win.tags.tags(), timeout=WAIT_MS)
    reds = win.library.catalog.tags.photos_with(["red"])
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Crimson", True))
    win.tags.rename_requested.emit("red")
    qtbot.waitUntil(lambda: "crimson" in win.tags.tags(), timeout=WAIT_MS)
    assert "red" not in win.tags.tags()
    assert win.library.catalog.tags.photos_with(["crimson"]) == reds
    assert "crimson: a red shape" in win.library.tags.vocabulary_text()

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    win.tags.remove_requested.emit("crimson")
    qtbot.waitUntil(lambda: "crimson" not in win.tags.tags(), timeout=WAIT_MS)
    assert not win.library.catalog.tags.photos_with(["crimson"])
    assert "crimson" not in win.library.tags.vocabulary_text()


def test_the_vocabulary_is_edited_as_text_and_tags_follow(qtbot, photos, tmp_path):
    win = window_with_vocabulary(qtbot, photos, tmp_path / "home", COLOURS_AND_SHAPES, "")
    qtbot.waitUntil(lambda: "red" in win.tags.tags(), timeout=WAIT_MS)
    win.tagging.edit_vocabulary()
    dialog = win.tagging.vocabulary_dialog
    assert dialog.text() == COLOURS_AND_SHAPES
    dialog.editor.setPlainText(COLOURS_AND_SHAPES + "triangle: a triangle\n")
    dialog.accept()
    qtbot.waitUntil(lambda: "triangle" in win.tags.tags(), timeout=WAIT_MS)
    triangles = {p for p, (_, shape) in photos.items() if shape == "triangle"}
    tagged = win.library.catalog.files.paths_for(win.library.catalog.tags.photos_with(["triangle"]))
    tagged_paths = {p.decode() for p in tagged.values()}
    correct = tagged_paths & {str(p) for p in triangles}
    assert len(correct) == len(triangles) and len(correct) / len(tagged_paths) >= 0.8


def test_a_caption_is_written_when_a_photo_is_selected_and_for_all_on_request(
        qtbot, photos, tmp_path):
    win = window_with_vocabulary(qtbot, photos, tmp_path / "home", COLOURS_AND_SHAPES, "")
    win.set_captions("selected")
    qtbot.waitUntil(lambda: win.model.rowCount() == len(photos), timeout=WAIT_MS)
    paths = shown_paths(win, len(photos))
    row = next(r for r, p in enumerate(paths) if photos[p] == ("blue", "square"))
    win.grid.setCurrentIndex(win.model.index(row))
    qtbot.waitUntil(lambda: "background" in win.details.caption.text(), timeout=WAIT_MS)
    assert "blue square" in win.details.caption.text()
    photo_id = win.model.photo_at(row)
    assert win.library.catalog.captions.get(photo_id)[0] == win.details.caption.text()  # stored

    win.set_captions("all")  # the background pass captions the rest
    qtbot.waitUntil(lambda: not win.library.catalog.captions.missing(), timeout=WAIT_MS)
    assert win.library.catalog.meta.get("captions") == "all"


def test_all_tags_are_judged_again_from_the_tags_menu(qtbot, photos, tmp_path):
    home = tmp_path / "home"
    use_tiny_models(home, COLOURS_AND_SHAPES, "")
    root = next(iter(photos)).parent
    assert run_cli("--home", str(home), "index", str(root), "--model", TINY_MODEL).rc == 0
    lib = Library(home)
    try:
        judged = lib.tags.counts()
        with lib.catalog.transaction() as db:  # an automatic tag a whole judgement drops
            db.execute("INSERT INTO tags(photo_id, tag, source, score) "
                       "SELECT min(id), 'purple', 'auto', 0.5 FROM photos")
    finally:
        lib.close()
    win = qt_app.create_window(str(home))
    qtbot.addWidget(win)
    # the catch-up run starts after the first load: "no index job" alone could be seen
    # before it started, and its "Saving the index…" (or the watcher's first word,
    # "Watching 1 folder…") would then follow "Tags updated."
    with qtbot.waitSignals([win.work.indexed, win.work.watch_said], timeout=WAIT_MS):
        win.show()
    qtbot.waitUntil(lambda: "purple" in win.tags.tags(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: win.index_job is None, timeout=WAIT_MS)
    action = next(a for a in win.menuBar().actions() if a.text() == "&Tags")
    judge = next(a for a in action.menu().actions() if a.text() == "Judge all tags again")
    judge.trigger()
    qtbot.waitUntil(lambda: "purple" not in win.tags.tags(), timeout=WAIT_MS)
    assert win.status_text.full_text() == "Tags updated."
    assert win.library.tags.counts() == judged
