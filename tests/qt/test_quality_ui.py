"""The app's quality tools: stacks of bursts and duplicates, rejects, the sharpness sort,
the blurry filter, sharper versions, and the details panel's words."""
from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from clipdesk.qt import app as qt_app
from tests.photolib import SIGMAS
from tests.qt.conftest import WAIT_MS, shown_paths


@pytest.fixture(scope="module")
def shots(quality_shots):
    return quality_shots


@pytest.fixture
def window(qtbot, shots, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(shots[0], home)  # rejects and settings stay in this test
    win = qt_app.create_window(str(home))
    win.set_captions("off")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model.rowCount() > 0 and win.index_job is None, timeout=WAIT_MS)
    return win


def row_of(win, path: Path) -> int:
    return next(r for r, p in enumerate(shown_paths(win, win.model.rowCount())) if p == path)


def menu_item(win, starts: str):
    """The open right-click menu's entry whose text starts with `starts`."""
    return next(a for a in win.photo_actions.context_menu.actions()
                if a.text().startswith(starts))


def test_bursts_and_duplicates_are_stacked_under_their_best_shot(qtbot, window, shots):
    _, _, bursts, duplicates, singles = shots
    total = sum(map(len, bursts)) + len(duplicates) + len(singles)
    qtbot.waitUntil(lambda: window.model.rowCount() == len(bursts) + 1 + len(singles),
                    timeout=WAIT_MS)
    shown = set(shown_paths(window, window.model.rowCount()))
    assert {b[0] for b in bursts} | {duplicates[0]} | set(singles) == shown
    stacked = {window.model.stack_at(row_of(window, b[0])) for b in bursts}
    assert stacked == {len(SIGMAS)}
    assert window.model.stack_at(row_of(window, singles[0])) == 1
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        window.photo_actions.set_stacking(False)
    qtbot.waitUntil(lambda: window.model.rowCount() == total, timeout=WAIT_MS)


def test_a_stack_opens_and_its_others_become_rejects(qtbot, window, shots):
    _, _, bursts, _, _ = shots
    qtbot.waitUntil(lambda: window.model.rowCount() < 19, timeout=WAIT_MS)
    row = row_of(window, bursts[0][0])
    window.grid.customContextMenuRequested.emit(
        window.grid.visualRect(window.model.index(row)).center())
    action = menu_item(window, "Show all")
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "stack"):
        action.trigger()
    assert shown_paths(window, 10) == bursts[0]  # best shot first, then by sharpness
    window.grid.customContextMenuRequested.emit(
        window.grid.visualRect(window.model.index(0)).center())
    keep = menu_item(window, "Keep the best")
    keep.trigger()
    others = [window.model.photo_at(r) for r in range(1, len(bursts[0]))]
    qtbot.waitUntil(lambda: set(others) <= window.library.catalog.groups.rejected(), timeout=10_000)
    qtbot.waitUntil(lambda: window.model.rejected_at(1), timeout=10_000)
    assert not window.model.rejected_at(0)
    assert all(p.exists() for p in bursts[0])  # nothing deleted or moved


def test_rejects_stay_shown_when_a_library_load_overlaps(qtbot, window, shots, monkeypatch):
    """New photos arriving (the watcher, an index run) reload the library in the
    background; a load that began before the person's "Mark as reject" must not draw the
    photo as a keeper again when it ends."""
    rejected, places = window.library.groups.rejected, window.library.photos.places
    read = threading.Event()

    def noted():
        found = rejected()
        read.set()
        return found

    def slow():  # read after the rejects
        time.sleep(1.0)
        return places()
    monkeypatch.setattr(window.library.groups, "rejected", noted)
    monkeypatch.setattr(window.library.photos, "places", slow)
    qtbot.waitUntil(lambda: window.views.refreshing is None, timeout=WAIT_MS)
    read.clear()
    window.views.refresh_library()
    qtbot.waitUntil(read.is_set, timeout=WAIT_MS)  # the load has the rejects of before
    window.grid.setCurrentIndex(window.model.index(1))
    window.grid.customContextMenuRequested.emit(
        window.grid.visualRect(window.model.index(1)).center())
    menu_item(window, "Mark as reject").trigger()
    qtbot.waitUntil(lambda: window.model.rejected_at(1), timeout=10_000)
    qtbot.waitUntil(lambda: window.views.refreshing is None, timeout=WAIT_MS)
    assert window.model.rejected_at(1)


def test_sorting_by_sharpness_orders_the_library_and_results(qtbot, window):
    window.photo_actions.set_stacking(False)
    qtbot.waitUntil(lambda: window.model.rowCount() == 19, timeout=WAIT_MS)
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        window.sort.setCurrentIndex(window.sort.findData("sharpness"))
    ids = window.model.ids
    sharp = window.library.catalog.quality.sharpness_of(ids)
    assert [sharp[i] for i in ids] == sorted(sharp.values(), reverse=True)
    # the red circle burst, found by its file names (a name match is relevant whatever
    # the cutoff of this 19-photo library, where a fifth of the photos share one subject)
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "search"):
        window.search.setText("burst0")
    ids = window.model.ids
    sharp = window.library.catalog.quality.sharpness_of(ids)
    burst = {p.name for p in shown_paths(window, len(ids)) if p.name.startswith("burst0-")}
    assert len(burst) == 4 and [sharp[i] for i in ids] == sorted(sharp.values(), reverse=True)


def test_the_blurry_filter_lists_blurred_shots_and_its_threshold_moves(qtbot, window, shots):
    _, _, bursts, _, singles = shots
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "blurry"):
        window.photo_actions.show_blurry()
    blurred = {p for b in bursts for p, s in zip(b, SIGMAS, strict=True) if s >= 4}
    assert set(shown_paths(window, 50)) == blurred and window.blur_limit.isVisible()
    scores = [h.score for h in window.views.hits]
    assert scores == sorted(scores)
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "blurry"):
        window.blur_limit.setValue(72)  # now slightly soft shots count too
    softer = {p for b in bursts for p, s in zip(b, SIGMAS, strict=True) if s >= 2}
    assert set(shown_paths(window, 50)) == softer
    assert singles[-1] not in shown_paths(window, 50)  # the bokeh shot stays sharp
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "blurry"):
        window.blur_limit.setValue(window.blur_limit.minimum())  # nothing is that blurry
    assert window.model.rowCount() == 0
    assert window.empty.text() == "No photo is blurrier than that."  # not "Nothing matches"


def test_a_blurry_photo_shows_its_words_and_finds_its_sharper_versions(qtbot, window, shots):
    _, _, bursts, _, _ = shots
    window.photo_actions.set_stacking(False)
    qtbot.waitUntil(lambda: window.model.rowCount() == 19, timeout=WAIT_MS)
    row = row_of(window, bursts[1][3])
    with qtbot.waitSignal(window.details_shown, timeout=10_000):
        window.grid.setCurrentIndex(window.model.index(row))
    assert window.details.fields["Sharpness"].text().startswith("blurry")
    assert window.details.fields["Stack"].text().startswith("one of 4")
    window.grid.customContextMenuRequested.emit(
        window.grid.visualRect(window.model.index(row)).center())
    action = menu_item(window, "Find sharper versions")
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "similar"):
        action.trigger()
    assert shown_paths(window, 10) == bursts[1][:3]
    assert os.path.basename(bursts[1][3]) in window.heading.text()
