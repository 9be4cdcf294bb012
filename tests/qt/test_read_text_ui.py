"""Text in photos in the app: right-click "Read text in photo" reads it in the background
(progress and result in the status bar), as does the Library menu's pass over the photos
the text check picks; the details panel shows it, search finds it."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from tests.qt.conftest import WAIT_MS, indexed, opened
from tests.synthetic import render


def test_read_text_in_photo_from_the_photo_menu(qtbot, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    sign = Image.new("RGB", (1200, 800), (214, 226, 238))
    ImageDraw.Draw(sign).text((70, 320), "PARIS 1998", fill=(25, 25, 30),
                              font=ImageFont.load_default(size=120))
    sign.save(source / "trip.jpg", quality=92)
    render("blue", "square", "white", (800, 600), seed=3).save(source / "shape.jpg")
    home = tmp_path / "home"
    indexed(sorted(source.iterdir()), tmp_path / "photos", home)
    win = opened(qtbot, home)
    qtbot.waitUntil(lambda: win.model.rowCount() == 2 and win.work.text_job is None,
                    timeout=WAIT_MS)
    row = next(r for r in range(2) if win.library.photos.paths(
        [win.model.photo_at(r)])[win.model.photo_at(r)].endswith(b"trip.jpg"))
    trip = win.model.photo_at(row)
    win.grid.setCurrentIndex(win.model.index(row))
    qtbot.waitUntil(lambda: win.details.fields["Name"].text() == "trip.jpg", timeout=10_000)
    assert "not read" in win.details.fields["Text"].text()  # indexing reads no text

    # Library > Read text in photos: the pass over the photos the text check picks
    ids = {win.model.photo_at(r) for r in range(2)}
    picked = set(win.library.text.likely_text())
    pass_action = next(a for m in win.menuBar().actions() for a in m.menu().actions()
                       if a.text() == "Read text in photos")
    with qtbot.waitSignal(win.work.text_read, timeout=WAIT_MS):
        pass_action.trigger()
    assert {i for i in ids if win.library.text.was_read(i)} == picked

    win.grid.customContextMenuRequested.emit(win.grid.visualRect(win.model.index(row)).center())
    menu = win.photo_actions.context_menu
    action = next(a for a in menu.actions() if a.text() == "Read text in photo")
    with qtbot.waitSignal(win.work.text_read, timeout=WAIT_MS):
        action.trigger()
    menu.close()
    assert win.status_text.full_text() == "Text read in 1 photo."
    win.grid.setCurrentIndex(win.model.index(1 - row))
    win.grid.setCurrentIndex(win.model.index(row))
    qtbot.waitUntil(lambda: "PARIS 1998" in win.details.fields["Text"].text(), timeout=10_000)
    hits = win.library.search("paris")
    assert hits[0].photo_id == trip and hits[0].relevant
