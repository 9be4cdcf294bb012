"""The timeline and places in the sidebar: counts from real EXIF, clicks that write query
terms into the search field (the contract with the query language), the details panel's
date and place."""
from __future__ import annotations

from PySide6.QtCore import Qt

from clipdesk.qt.main_window import MainWindow
from clipdesk.qt.when_where_ui import with_term
from tests.conftest import TINY_MODEL, run_cli, use_tiny_models
from tests.photolib import exif_bytes
from tests.qt.conftest import WAIT_MS, opened
from tests.synthetic import render

SHOTS = {  # name: (DateTimeOriginal, OffsetTimeOriginal, GPS)
    "lisbon.jpg": ("2019:06:01 18:30:00", "+01:00", (38.7223, -9.1393)),
    "lisbon-2.jpg": ("2019:06:02 10:00:00", "+01:00", (38.7139, -9.1334)),
    "porto.jpg": ("2019:08:15 12:00:00", None, (41.1496, -8.6110)),
    "nyc.jpg": ("2023:12:24 20:00:00", "-05:00", (40.7128, -74.0060)),
}


def click(qtbot, tree, item) -> None:
    tree.scrollToItem(item)
    rect = tree.visualItemRect(item)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def window_on_shots(qtbot, tmp_path, colors: tuple[str, ...]) -> MainWindow:
    """A window over SHOTS (a circle each, in `colors`) with their real EXIF, indexed by
    the command line first."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for seed, (name, (taken, offset, gps)) in enumerate(SHOTS.items()):
        render(colors[seed], "circle", "white", (640, 480), seed=seed).save(
            folder / name, quality=90, exif=exif_bytes(taken=taken, offset=offset, gps=gps))
    home = tmp_path / "home"
    use_tiny_models(home)
    assert run_cli("--home", str(home), "index", str(folder), "--model", TINY_MODEL).rc == 0
    win = opened(qtbot, home)
    return win


def test_the_timeline_and_places_write_query_terms(qtbot, tmp_path):
    win = window_on_shots(qtbot, tmp_path, ("red", "green", "blue", "yellow"))
    side = win.when_where
    qtbot.waitUntil(lambda: "2019" in side.timeline.items, timeout=WAIT_MS)
    labels = [side.timeline.topLevelItem(i).text(0)
              for i in range(side.timeline.topLevelItemCount())]
    assert labels == ["2023 (1)", "2019 (3)"]
    year = side.timeline.items["2019"]
    assert [year.child(i).text(0) for i in range(year.childCount())] == [
        "August (1)", "June (2)"]
    countries = [side.places.topLevelItem(i).text(0)
                 for i in range(side.places.topLevelItemCount())]
    assert countries == ["Portugal (3)", "United States (1)"]
    portugal = side.places.items["in Portugal"]
    assert [portugal.child(i).text(0) for i in range(portugal.childCount())] == [
        "Lisbon (2)", "Porto (1)"]

    click(qtbot, side.timeline, year)
    assert win.search.text() == "2019"
    year.setExpanded(True)
    click(qtbot, side.timeline, side.timeline.items["2019-06"])
    assert win.search.text() == "2019-06"  # another date replaces the sidebar's date
    side.places.items["in Portugal"].setExpanded(True)
    click(qtbot, side.places, side.places.items["in Lisbon"])
    assert win.search.text() == "2019-06 in Lisbon"
    click(qtbot, side.timeline, side.timeline.items["2019-06"])  # again: out
    assert win.search.text() == "in Lisbon"
    win.search.setText("sunset in Lisbon")  # the person's own words stay
    side.places.items['in "United States"'].setExpanded(True)
    click(qtbot, side.places, side.places.items['in "New York City"'])
    assert win.search.text() == 'sunset in "New York City"'
    click(qtbot, side.places, side.places.items['in "New York City"'])
    assert win.search.text() == "sunset"
    click(qtbot, side.timeline, side.timeline.items["2019"])
    click(qtbot, side.places, side.places.items["in Porto"])
    assert side.timeline.selectedItems() and side.places.selectedItems()
    win.search.setText("harbour")  # typed over: neither shows as chosen any more
    assert not side.timeline.selectedItems() and not side.places.selectedItems()

    # the details panel: date with its offset, and the place
    win.search.setText("")
    qtbot.waitUntil(lambda: win.model.rowCount() == len(SHOTS), timeout=WAIT_MS)
    with qtbot.waitSignal(win.details_shown, timeout=10_000):
        win.grid.setCurrentIndex(win.model.index(0))  # newest first: New York
    assert win.details.fields["Taken"].text() == "24 Dec 2023, 20:00 (UTC-05:00)"
    assert win.details.fields["Place"].text() == "New York City, New York, United States"


def test_a_term_is_taken_out_as_whole_words_only():
    assert with_term("2019 beach", "2019", "2020") == "beach 2020"
    assert with_term("20190 beach", "2019", None) == "20190 beach"
    assert with_term('dog in "New York"', 'in "New York"', "in Lisbon") == "dog in Lisbon"
    assert with_term("", None, "2019-06") == "2019-06"
