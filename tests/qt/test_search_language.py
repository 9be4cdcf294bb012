"""The search bar speaks the search language: it says how the typed text was understood,
filters by the date typed, and orders results newest first when the sort box says so."""
from __future__ import annotations

from tests.qt.conftest import WAIT_MS, searched


def taken(window, ids: list[int]) -> list[str]:
    return [window.library.photos.info(i).taken_at or "" for i in ids]


def test_the_bar_shows_how_the_query_was_understood_and_filters_by_it(qtbot, window):
    # (these photos have no EXIF: each is dated by its file, written today)
    assert searched(qtbot, window, "a red circle 2019") == []
    assert window.understood.text() == "→ a red circle · 2019"
    ids = searched(qtbot, window, "a circle this year -blue")
    assert window.understood.text() == "→ a circle · this year · not blue"
    paths = window.library.catalog.files.paths_for(ids)
    assert ids and not any(b"blue" in paths[i] for i in ids)
    assert any(b"blue" in p for p in window.library.catalog.files.paths_for(
        searched(qtbot, window, "a circle this year")).values())
    by_match = searched(qtbot, window, "a circle")
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        window.sort.setCurrentIndex(window.sort.findData("newest"))
    by_date = list(window.model.ids)  # the same results again, by date taken
    assert sorted(by_date) == sorted(by_match) and len(by_date) > 1
    dates = taken(window, by_date)
    assert dates == sorted(dates, reverse=True)
    window.search.clear()
    assert window.understood.text() == ""


def test_a_sidebar_click_lists_the_photos_of_that_month_and_place(qtbot, tmp_path):
    from tests.qt.test_when_where_ui import click, window_on_shots

    win = window_on_shots(qtbot, tmp_path, ("red",) * 4)
    side = win.when_where
    qtbot.waitUntil(lambda: "in Porto" in side.places.items, timeout=WAIT_MS)

    def names() -> set[str]:
        paths = win.library.catalog.files.paths_for(win.model.ids)
        return {bytes(p).rsplit(b"/", 1)[-1].decode() for p in paths.values()}
    with qtbot.waitSignal(win.results_shown, timeout=WAIT_MS):
        click(qtbot, side.places, side.places.items["in Porto"])
    assert (win.search.text(), names()) == ("in Porto", {"porto.jpg"})
    qtbot.waitUntil(lambda: win.understood.text() == "→ in Porto", timeout=WAIT_MS)
    win.search.setText("2019")
    # waited for by what it shows: a late results_shown of "in Porto" may come first
    qtbot.waitUntil(lambda: win.understood.text() == "→ 2019" and names() == {
        "lisbon.jpg", "lisbon-2.jpg", "porto.jpg"}, timeout=WAIT_MS)
