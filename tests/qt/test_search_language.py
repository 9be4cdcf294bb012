"""The search bar speaks the search language: it says how the typed text was understood,
filters by the date typed, and orders results newest first when the sort box says so."""
from __future__ import annotations

from tests.qt.conftest import WAIT_MS


def searched(qtbot, window, text: str) -> list[int]:
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "search"):
        window.search.setText(text)
    return list(window.model.ids)


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
