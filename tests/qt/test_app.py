"""The real window, driven offscreen with pytest-qt, over the tiny test model."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QThread, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from clipdesk.core.errors import ModelLoadError
from clipdesk.core.library import Library
from clipdesk.core.models.embedder import Embedder
from clipdesk.core.models.loading import load_model
from clipdesk.core.types import Progress
from clipdesk.qt import app as qt_app
from clipdesk.qt.main_window import MainWindow
from clipdesk.qt.worker import Jobs
from tests.conftest import TINY_MODEL
from tests.qt.conftest import WAIT_MS, on_writer, shown_paths, window_with_vocabulary
from tests.synthetic import COLORS, SHAPES, render


def test_first_launch_asks_for_folders_and_indexes_through_the_worker(qtbot, photos, tmp_path):
    win = qt_app.create_window(str(tmp_path / "home"))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: getattr(win, "first_run", None) is not None
                    and win.first_run.isVisible(), timeout=10_000)
    dialog = win.first_run
    dialog.folders.clear()
    dialog.folders.addItem(str(next(iter(photos)).parent))
    progress: list[Progress] = []
    # as if picked in settings (no download in tests); like every write, on the writer
    on_writer(qtbot, win, lambda: win.library.choose_model(TINY_MODEL))
    dialog.start.click()
    assert win.index_job is not None
    win.index_job.progress.connect(progress.append)
    with qtbot.waitSignal(win.index_job.finished, timeout=WAIT_MS):
        pass
    qtbot.waitUntil(lambda: win.model.rowCount() == len(photos), timeout=WAIT_MS)
    assert any(p.phase == "index" for p in progress)
    assert "Library — 18 photos" in win.heading.text()
    assert all(isinstance(i, int) for i in win.model.ids)


def test_typing_a_query_ranks_the_right_photos_first(qtbot, window, photos):
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "search"):
        qtbot.keyClicks(window.search, "a blue triangle")
    assert photos[shown_paths(window, 1)[0]] == ("blue", "triangle")
    assert window.model.rowCount() < len(photos)  # the unrelated ones are held back
    assert window.more.isVisible()
    window.more.click()
    assert window.model.rowCount() == len(photos)
    tooltip = window.model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip is None or tooltip.startswith("score ")
    # the status bar counts what is shown: the clear results and the weaker ones
    clear, weaker = window.status_text.text().split(" and ")
    assert clear in ("1 result", "2 results", "3 results")
    assert weaker == f"{len(photos) - int(clear.split()[0])} weaker matches"
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "library"):
        qtbot.keyClick(window.search, Qt.Key.Key_Escape)
    assert "result" not in window.status_text.text()  # the count left with the results
    assert window.search.text() == ""


def test_dropping_an_image_file_finds_its_look_alikes(qtbot, window, photos, tmp_path):
    original = next(p for p, c in photos.items() if c == ("orange", "square"))
    copy = tmp_path / "downloaded.png"
    with Image.open(original) as im:
        im.resize((600, 450)).save(copy)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(copy))])
    enter = QDragEnterEvent(QPointF(300, 300), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(300, 300), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "similar"):
        QApplication.sendEvent(window, event)
    assert window.views.mode == "similar"
    assert shown_paths(window, 1)[0] == original
    # only the clear look-alikes, as a word search; the dropped image beside the title
    assert window.model.rowCount() < len(photos) and window.more.isVisible()
    qtbot.waitUntil(lambda: window.query_image.isVisible(), timeout=10_000)
    assert window.query_image.pixmap().height() == window.query_image.height()
    window.views.show_library()
    assert not window.query_image.isVisible()


def test_right_click_find_similar(qtbot, window, photos):
    rect = window.grid.visualRect(window.model.index(0))
    first = shown_paths(window, 1)[0]
    window.grid.customContextMenuRequested.emit(rect.center())
    menu = window.photo_actions.context_menu
    labels = [a.text() for a in menu.actions()]
    assert labels == ["Find similar", "Find sharper versions", "Read text in photo", "",
                      "Teach a tag from the selected photos…", "Mark as reject", "",
                      "Open", "Show in folder", "Copy path"]
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "similar"):
        menu.actions()[0].trigger()
    menu.close()
    # each photo here is one of a kind: no clear look-alike, the rest one click away
    assert window.model.rowCount() < len(photos) and window.more.isVisible()
    window.more.click()
    results = shown_paths(window, 5)
    assert first not in results  # the photo itself is not its own look-alike
    assert len(results) == 5
    next(a for a in menu.actions() if a.text() == "Copy path").trigger()
    assert QApplication.clipboard().text() == str(first)


def test_selecting_a_photo_fills_the_details_panel(qtbot, window):
    window.grid.setCurrentIndex(window.model.index(0))
    qtbot.waitUntil(lambda: window.details.fields["Name"].text() != "", timeout=10_000)
    assert window.details.fields["Size"].text().startswith("1200 × 900")
    assert window.details.fields["File"].text().startswith("JPEG")
    photo_id = window.model.photo_at(0)
    window.details.tag_added.emit("holiday")  # typed in the panel: saved by the writer
    qtbot.waitUntil(lambda: "holiday" in [t for t, _, _ in
                                          window.library.catalog.tags.of(photo_id)],
                    timeout=10_000)
    window.grid.setCurrentIndex(window.model.index(1))
    window.grid.setCurrentIndex(window.model.index(0))
    qtbot.waitUntil(lambda: "holiday" in window.details.tags.text(), timeout=10_000)
    for tag, _, _ in window.library.catalog.tags.of(photo_id):
        assert f'{tag} <a href="{tag}"' in window.details.tags.text()  # with its × link


def test_back_to_library_shows_no_details_of_a_photo_nobody_chose(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=10_000)
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "search"):
        qtbot.keyClicks(window.search, "a blue triangle")
    for button in (window.more, window.back):  # "Show N weaker matches", "Back to library"
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda button=button: not button.isVisible(), timeout=10_000)
        qtbot.wait(300)  # the button hid itself; had it held the focus, the grid took it
        # and made its first photo current without selecting it
        assert not window.grid.selectionModel().selectedIndexes()
        assert window.details.fields["Name"].text() == "", button.text()
    assert window.heading.text().startswith("Library")


def test_a_tag_typed_while_the_details_load_stays_shown(qtbot, window, monkeypatch):
    """On a slow disk the details read can end after the person's edit: the panel must
    not go back to the tags from before it."""
    was_read = window.library.text.was_read  # read after the tags

    def slow(photo_id):
        time.sleep(1.0)
        return was_read(photo_id)
    monkeypatch.setattr(window.library.text, "was_read", slow)
    window.grid.setCurrentIndex(window.model.index(2))
    window.details.tag_added.emit("late-lunch")
    qtbot.waitUntil(lambda: window.details.fields["Name"].text() != "", timeout=10_000)
    qtbot.waitUntil(lambda: "late-lunch" in window.details.tags.text(), timeout=10_000)
    qtbot.wait(1500)  # the second read, too, has landed
    assert "late-lunch" in window.details.tags.text()


def test_space_opens_a_preview_and_arrows_move_through_photos(qtbot, window):
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.model.index(0))
    qtbot.keyClick(window.grid, Qt.Key.Key_Space)
    preview = window.photo_actions.preview
    assert preview is not None and preview.isVisible()
    qtbot.waitUntil(lambda: not preview.image.pixmap().isNull(), timeout=10_000)
    assert preview.caption.text() == f"1 of {window.model.rowCount()}"
    qtbot.keyClick(preview, Qt.Key.Key_Right)
    assert window.grid.currentIndex().row() == 1
    qtbot.waitUntil(lambda: preview.caption.text().startswith("2 of"), timeout=10_000)
    preview.close()


def test_cancel_then_resume_indexing(qtbot, tmp_path):
    # cancelled at its first step, a run has written one batch and may finish the (at most
    # two) batches in flight: four batches always leave some photos for the next run
    count = 4 * Embedder(load_model(TINY_MODEL)).batch_size  # 128 on a CPU, 512 on CUDA
    root = tmp_path / "many"
    root.mkdir()
    for i in range(count):
        render(list(COLORS)[i % 6], SHAPES[i % 3], "gray", (800, 600), seed=i).save(
            root / f"{i:03d}.jpg")
    library = Library(str(tmp_path / "home"))
    library.choose_model(TINY_MODEL)  # set up before the app, as the CLI would
    win = MainWindow(library)
    qtbot.addWidget(win)
    win.start_index([str(root)])
    job = win.index_job
    with qtbot.waitSignal(job.progress, timeout=WAIT_MS,
                          check_params_cb=lambda p: p.phase == "index"):
        pass
    assert "photos/s" in win.status_text.text()
    assert win.work.progress.maximum() == count
    with qtbot.waitSignal(job.cancelled, timeout=WAIT_MS):
        win.work.cancel_button.click()
    partial = win.library.status().photos
    assert 0 < partial < count
    assert "cancelled" in win.status_text.text()
    win.start_index()
    with qtbot.waitSignal(win.index_job.finished, timeout=WAIT_MS):
        pass
    assert win.library.status().photos == count


def test_pause_holds_the_job_between_steps(qtbot):
    jobs = Jobs()
    gate = threading.Event()
    started: list[int] = []

    def steps():
        for i in range(3):
            started.append(i)
            gate.wait(5)
            yield Progress("index", done=i + 1, total=3)

    job = jobs.create(steps)
    seen: list[int] = []
    job.progress.connect(lambda p: seen.append(p.done))
    jobs.start_writer(job)
    job.pause()
    gate.set()
    try:
        qtbot.waitUntil(lambda: seen == [1], timeout=5_000)
        # A short write runs between two steps of the long job, paused or not: when it
        # has run, the job stood between steps 1 and 2, and is still there (no sleep).
        probe: list[list[int]] = []
        jobs.write(lambda: list(started), done=probe.append)
        qtbot.waitUntil(lambda: probe != [], timeout=5_000)
        assert probe == [[0]] and seen == [1]  # held while paused
    finally:
        with qtbot.waitSignal(job.finished, timeout=5_000):
            job.resume()
    assert seen == [1, 2, 3]


def test_job_signals_reach_slots_on_the_gui_thread(qtbot):
    jobs = Jobs()
    ran_on: list[object] = []
    slot_on: list[object] = []

    def work():
        ran_on.append(QThread.currentThread())
        yield Progress("index", done=1, total=1)

    job = jobs.create(work)
    job.progress.connect(lambda _p: slot_on.append(QThread.currentThread()))
    job.finished.connect(lambda _r: slot_on.append(QThread.currentThread()))
    with qtbot.waitSignal(job.finished, timeout=5_000):
        jobs.start_reader(job)
    gui = QApplication.instance().thread()
    assert ran_on and ran_on[0] is not gui
    assert slot_on and all(t is gui for t in slot_on)


def test_a_model_that_cannot_load_offers_a_local_folder(qtbot, window):
    window.dialogs.show_error(ModelLoadError("cannot load model X: offline"))
    box = window.dialogs.error_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "cannot load model X" in box.text()
    assert any(b.text() == "Choose model folder…" for b in box.buttons())
    box.close()


def test_problems_view_lists_bad_files(qtbot, window, photos, tmp_path):
    bad = next(iter(photos)).parent / "zz-broken.jpg"
    bad.write_bytes(b"<html>not a photo</html>")
    try:
        window.start_index()
        with qtbot.waitSignal(window.index_job.finished, timeout=WAIT_MS):
            pass
        problems = window.library.problems()
        assert [os.fsdecode(p.path) for p in problems] == [str(bad)]
        from clipdesk.qt.panels import ProblemsDialog

        dialog = ProblemsDialog(problems, window)
        assert dialog.table.rowCount() == 1
        assert "HTML" in dialog.table.item(0, 2).text()
    finally:
        bad.unlink()


def test_flagged_photos_are_blurred_until_clicked_hidden_or_listed(qtbot, photos, tmp_path):
    win = window_with_vocabulary(
        qtbot, photos, tmp_path / "home",
        "red: a red shape\nblue: a blue shape\ncircle: a circle\n",
        "unwanted: a purple shape | purple\n")
    qtbot.waitUntil(lambda: win.model.rowCount() == len(photos), timeout=WAIT_MS)
    purple = {p for p, c in photos.items() if c[0] == "purple"}
    paths = win.library.catalog.files.paths_for(win.views.flagged)
    assert {Path(os.fsdecode(p)) for p in paths.values()} == purple
    assert win.model.veiled == win.views.flagged  # blur is the default

    row = next(r for r in range(win.model.rowCount())
               if win.model.photo_at(r) in win.views.flagged)
    photo_id = win.model.photo_at(row)
    qtbot.waitUntil(lambda: win.thumbnails.get(photo_id) is not None, timeout=10_000)
    shown = win.model.index(row).data(Qt.ItemDataRole.DecorationRole).toImage()
    real = win.thumbnails.get(photo_id).toImage()
    assert shown.size() == real.size() and shown != real  # blurred
    assert win.model.tile(row).veiled  # and labelled "Sensitive / click to show"
    label_band = win.grid.visualRect(win.model.index(row)).center()
    before = win.grid.viewport().grab().toImage().pixelColor(label_band)
    win.grid.setCurrentIndex(win.model.index(row))  # a click reveals it
    assert win.model.index(row).data(Qt.ItemDataRole.DecorationRole).toImage() == real
    assert not win.model.tile(row).veiled
    assert win.grid.viewport().grab().toImage().pixelColor(label_band) != before
    # the details say why in words, not as the raw tag "sensitive:unwanted"
    qtbot.waitUntil(lambda: "sensitive (unwanted)" in win.details.tags.text(), timeout=10_000)

    win.photo_actions.set_sensitive("hide")
    qtbot.waitUntil(lambda: win.model.rowCount() == len(photos) - len(purple) + 1,
                    timeout=10_000)  # the one already revealed stays
    with qtbot.waitSignal(win.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "flagged"):
        win.photo_actions.show_flagged()
    assert set(shown_paths(win, 50)) == purple
    win.photo_actions.set_sensitive("blur")


def test_the_tag_list_counts_filters_and_combines_with_a_query(qtbot, photos, tmp_path):
    win = window_with_vocabulary(
        qtbot, photos, tmp_path / "home", "red: a red shape | red\nblue: a blue shape | blue\n"
        "circle: a circle\nsquare: a square\n", "")
    qtbot.waitUntil(lambda: win.tags.list.count() > 1, timeout=WAIT_MS)
    items = {win.tags.list.item(i).data(Qt.ItemDataRole.UserRole): win.tags.list.item(i)
             for i in range(1, win.tags.list.count())}
    red_ids = win.library.catalog.tags.photos_with(["red"])
    assert items["red"].text() == f"red ({len(red_ids)})" and red_ids
    with qtbot.waitSignal(win.results_shown, timeout=WAIT_MS):
        win.tags.list.itemClicked.emit(items["red"])
    assert set(win.model.ids) == red_ids
    assert win.heading.text().startswith("Tagged “red”")
    assert all(photos[p][0] == "red" for p in shown_paths(win, 50))
    with qtbot.waitSignal(win.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "search"):
        win.search.setText("a circle")
    assert win.views.hits and {h.photo_id for h in win.views.hits} <= red_ids
    assert photos[shown_paths(win, 1)[0]] == ("red", "circle")
    win.search.clear()
    with qtbot.waitSignal(win.results_shown, timeout=WAIT_MS):
        win.tags.list.itemClicked.emit(win.tags.list.item(0))  # "All photos"
    qtbot.waitUntil(lambda: win.model.rowCount() == len(photos), timeout=10_000)
    with qtbot.waitSignal(win.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "flagged"):
        win.photo_actions.show_flagged()  # no sensitive concepts here, nothing flagged
    assert win.model.rowCount() == 0
    assert win.empty.text() == "No photo is flagged as sensitive."


def test_a_drop_proposed_as_a_move_is_accepted_as_a_copy(qtbot, window, photos, tmp_path):
    """A source told "moved" may delete its file: the app only ever takes a copy."""
    dropped = tmp_path / "from-the-file-manager.jpg"
    dropped.write_bytes(next(iter(photos)).read_bytes())
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dropped))])
    both = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction
    args = (both, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier)
    enter = QDragEnterEvent(QPointF(300, 300), *args)
    move = QDragMoveEvent(QPointF(310, 300), *args)
    drop = QDropEvent(QPointF(310, 300), *args)
    assert drop.proposedAction() == Qt.DropAction.MoveAction  # Shift: the source proposes a move
    QApplication.sendEvent(window, enter)
    QApplication.sendEvent(window, move)
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        QApplication.sendEvent(window, drop)
    for event in (enter, move, drop):
        assert event.isAccepted()
        assert event.dropAction() == Qt.DropAction.CopyAction
    assert dropped.exists()


def test_shift_f10_opens_the_photo_menu_at_the_current_photo(qtbot, window):
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.model.index(1))
    qtbot.keyClick(window.grid, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    menu = window.photo_actions.context_menu
    assert menu is not None and menu.isVisible()
    assert menu.actions()[0].text() == "Find similar"
    menu.close()


def test_folder_dialogs_open_in_pictures_or_home_not_the_start_directory(
        qtbot, window, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # where the app happened to be started from
    opened: list[str] = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        lambda parent, title, folder="": opened.append(folder) or "")
    window.dialogs.add_folder()
    window.dialogs._model_folder()
    assert len(opened) == 2
    assert all(Path(f) in (Path.home(), Path.home() / "Pictures") for f in opened), opened


def test_every_row_of_the_grid_is_filled_at_every_size(qtbot, window):
    """No column's worth of empty space at the right, at any thumbnail size (a row used
    to hold 3 photos where 4 fit, and 1 at the largest size with half the pane empty)."""
    for width in (1000, 1200):
        window.resize(width, 800)
        for size in (96, 160, 224, 320):
            window.zoom.setValue(size)
            qtbot.waitUntil(lambda: window.grid.visualRect(window.model.index(0)).width()
                            == window.delegate.cell, timeout=5_000)
            cell = window.delegate.cell
            columns = len({window.grid.visualRect(window.model.index(r)).x()
                           for r in range(window.model.rowCount())})
            room = window.grid.viewport().width()
            assert columns * cell <= room < (columns + 1) * cell, (width, size, columns, cell)
            assert abs(cell - size) <= size / 2  # still about the size asked for


def test_indexing_never_stacks_up_library_reloads(qtbot, window):
    """While photos stream in, a reload starts only when the last one is done: on a busy
    machine queued reloads would take both reader threads and starve the thumbnails."""
    window.views.last_refresh = 0.0
    window._photos_added()
    first = window.views.refreshing
    assert first is not None
    window.views.last_refresh = 0.0  # a second later, the first still loading
    window._photos_added()
    assert window.views.refreshing is first
    qtbot.waitUntil(lambda: window.views.refreshing is None, timeout=WAIT_MS)
    window.views.last_refresh = 0.0
    window._photos_added()
    assert window.views.refreshing not in (None, first)


def test_a_library_reload_that_ends_before_it_is_watched_still_ends(qtbot, window,
                                                                       monkeypatch):
    """A reload whose load has finished (and said so) before refresh_library returns, as
    on a busy GUI thread: it still ends, so later reloads are not held back for good."""
    read = window.jobs.read

    def read_and_finish(*args, **kwargs):
        job = read(*args, **kwargs)
        window.jobs._readers.waitForDone(WAIT_MS)  # the load has ended and emitted
        return job

    monkeypatch.setattr(window.jobs, "read", read_and_finish)
    window.views.refresh_library()
    qtbot.waitUntil(lambda: window.views.refreshing is None, timeout=10_000)
