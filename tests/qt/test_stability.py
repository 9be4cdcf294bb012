"""The app under stress: one writer, a locked catalog, overlapping index runs, long errors,
a caption model that cannot load."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtWidgets import QInputDialog

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.library import Library
from clipdesk.core.store.lock import index_lock
from clipdesk.qt import app as qt_app
from clipdesk.qt.background import FOLLOWING
from clipdesk.qt.main_window import MainWindow
from tests.conftest import TINY_MODEL, run_cli, use_tiny_models
from tests.qt.conftest import WAIT_MS


def tags_of(win: MainWindow, photo_id: int) -> dict[str, str]:
    return {tag: source for tag, _, source in win.library.catalog.tags.of(photo_id)}


def test_every_edit_from_the_app_lands_through_the_writer_thread(qtbot, window, monkeypatch):
    window.library.catalog.check_writer = True  # any write off the writer thread raises
    errors: list[ClipdeskError] = []
    window.work.failed.connect(errors.append)
    monkeypatch.setattr(window.dialogs, "show_error", errors.append)
    first, second = window.model.photo_at(0), window.model.photo_at(1)
    window.grid.setCurrentIndex(window.model.index(0))

    window.details.tag_added.emit("picnic")
    window.details.caption_edited.emit("a plate on a table")
    window.photo_actions.set_rejected([second], True)
    window.photo_actions.set_sensitive("show")
    window.photo_actions.set_stacking(False)
    window.set_captions("off")
    window.grid.selectionModel().select(window.model.index(1),
                                        window.grid.selectionModel().SelectionFlag.Select)
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("Outdoors", True))
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "teach"):
        window.tagging.teach_dialog()

    catalog = window.library.catalog
    qtbot.waitUntil(lambda: tags_of(window, first).get("picnic") == "manual", timeout=WAIT_MS)
    assert catalog.captions.get(first) == ("a plate on a table", "manual")
    assert second in catalog.groups.rejected()
    assert window.library.captions_mode() == "off"  # the library's setting, in its catalog
    assert (window.prefs.sensitive, window.prefs.stack) == ("show", False)  # the view's
    assert tags_of(window, first).get("outdoors") == "manual"  # taught: a yes example
    assert tags_of(window, second).get("outdoors") == "manual"
    assert errors == []


def test_a_locked_catalog_does_not_freeze_the_window(qtbot, window):
    """Another writer holds the catalog (a long transaction): the GUI thread never waits
    on it; the edit lands once the lock is gone."""
    window.grid.setCurrentIndex(window.model.index(0))
    photo = window.model.photo_at(0)
    other = sqlite3.connect(window.library.catalog.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        window.details.tag_added.emit("queued")  # returns at once: queued on the writer
        qtbot.keyClicks(window.search, "still typing")  # the window answers meanwhile
        assert window.search.text() == "still typing"
        assert "queued" not in tags_of(window, photo)  # reads go on
    finally:
        other.execute("COMMIT")
        other.close()
    qtbot.waitUntil(lambda: tags_of(window, photo).get("queued") == "manual", timeout=WAIT_MS)


def test_a_second_index_run_keeps_its_progress_bar_until_it_ends(qtbot, window):
    bar = window.work
    window.start_index()
    replaced = window.index_job
    ended: list[bool] = []
    replaced.cancelled.connect(lambda: ended.append(True))
    replaced.finished.connect(lambda _: ended.append(True))
    window.start_index()  # at once: the first run is cancelled, this one covers its work
    current = window.index_job
    assert current is not replaced
    current.pause()  # held after its first step, so it is still running below
    steps: list[object] = []
    current.progress.connect(steps.append)
    qtbot.waitUntil(lambda: bool(ended and steps), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: current.paused and len(steps) >= 1, timeout=WAIT_MS)
    assert window.index_job is current
    for widget in (bar.progress, bar.pause_button, bar.cancel_button):
        assert widget.isVisible()
    window.set_captions("off")  # an edit does not wait for the paused run to go on
    qtbot.waitUntil(lambda: window.library.catalog.meta.get("captions") == "off",
                    timeout=WAIT_MS)
    assert current.paused and window.index_job is current
    with qtbot.waitSignal(current.finished, timeout=WAIT_MS):
        bar.toggle_pause()  # Resume
    assert window.index_job is None
    assert not bar.progress.isVisible() and not bar.cancel_button.isVisible()


def test_a_run_waiting_for_another_indexer_can_be_cancelled(qtbot, window):
    with index_lock(window.library.home):  # as `clipdesk index` in another terminal
        window.start_index()
        qtbot.waitUntil(lambda: window.status_text.full_text() == FOLLOWING, timeout=WAIT_MS)
        waiting = window.index_job
        with qtbot.waitSignal(waiting.cancelled, timeout=WAIT_MS):
            window.work.cancel_index()
    assert window.index_job is None
    assert window.status_text.full_text() == "Indexing cancelled; it resumes next time."
    assert window.dialogs.error_box is None  # no box about it, then or now
    with qtbot.waitSignal(window.work.indexed, timeout=WAIT_MS):
        window.start_index()  # the other run is over: indexing goes on


def test_a_long_error_stays_on_one_line_of_the_status_bar(qtbot, window):
    width = window.width()
    wall = ("Indexing stopped: cannot load the model hf-hub:someone/model: "
            + "connection refused " * 30 + "\nTraceback (most recent call last):\n"
            + "  File ...\n" * 20)
    window.status_text.setText(wall)
    qtbot.waitUntil(lambda: window.status_text.text() != "", timeout=5_000)
    shown = window.status_text.text()
    assert "\n" not in shown and shown.endswith("…")
    metrics = window.status_text.fontMetrics()
    assert metrics.horizontalAdvance(shown) <= window.status_text.width()
    assert window.status_text.toolTip() == wall  # the whole text, on hover
    assert window.width() == width
    window.dialogs.show_error(ClipdeskError("cannot read the catalog; run clipdesk restore-backup\n"
                                    "  File ...\nsqlite3.DatabaseError: malformed"))
    assert window.dialogs.error_box.text() == "cannot read the catalog; run clipdesk restore-backup"
    window.dialogs.error_box.close()


def test_a_caption_model_that_cannot_load_is_said_once_not_retried(qtbot, photos, tmp_path):
    home = tmp_path / "home"
    use_tiny_models(home)
    assert run_cli("--home", str(home), "index", str(next(iter(photos)).parent),
                   "--model", TINY_MODEL).rc == 0
    empty = tmp_path / "no-model-here"
    empty.mkdir()
    library = Library(home)
    library.captions.choose_captioner(f"local-dir:{empty}")
    library.catalog.meta.set("captions", "selected")
    library.close()
    win = qt_app.create_window(str(home))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model.rowCount() == len(photos), timeout=WAIT_MS)

    def select(row: int) -> str:
        with qtbot.waitSignal(win.details_shown, timeout=WAIT_MS):
            win.grid.setCurrentIndex(win.model.index(row))
        return win.details.caption.text()

    assert select(0) == "Writing a caption…"
    qtbot.waitUntil(lambda: win.details.caption.text().startswith("No captions: "),
                    timeout=WAIT_MS)
    said = win.details.caption.text()
    assert "\n" not in said and str(empty) in said
    assert select(1) == said  # at once: no new attempt
    assert select(2) == said
    win.set_captions("selected")  # the person changed the setting: try again
    assert select(3) == "Writing a caption…"
    qtbot.waitUntil(lambda: win.details.caption.text() == said, timeout=WAIT_MS)


def test_the_writer_check_is_off_for_the_command_line(tmp_path):
    library = Library(Path(tmp_path) / "home")  # one thread: it is the writer
    library.catalog.meta.set("captions", "off")
    assert library.catalog.meta.get("captions") == "off"
    library.close()
