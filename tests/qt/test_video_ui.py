"""Videos in the app: the grid shows a video's poster frame with its length, a search hit
says at what moment it matched, and opening a video hands it to the system's player."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QImage

from clipdesk.qt.panels import ProblemsDialog
from tests.qt.conftest import WAIT_MS, indexed, opened
from tests.synthetic import render
from tests.videos import encode


class Player(QObject):
    """Stands in for the system's handler of file URLs (nothing is launched)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toLocalFile())


def _dark_badge(win, row: int) -> bool:
    """Whether the tile at `row` shows the length badge: a dark band at its bottom left
    (the poster and the photos here are mid-gray)."""
    rect = win.grid.visualRect(win.model.index(row))
    shot: QImage = win.grid.viewport().grab(rect).toImage()
    return any(shot.pixelColor(x, rect.height() - 16).value() < 60 for x in range(9, 15))


def test_a_video_in_the_grid_details_search_and_open(qtbot, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    encode(source / "day.mp4", [("blue", "square", "gray", 10), ("red", "circle", "gray", 10),
                                ("green", "triangle", "gray", 10)])
    for i, (color, shape) in enumerate([("yellow", "square"), ("purple", "triangle")]):
        render(color, shape, "gray", seed=i).save(source / f"p{i}.jpg")
    whole = (source / "day.mp4").read_bytes()
    (source / "cut.mp4").write_bytes(whole[:len(whole) // 3])
    home = tmp_path / "home"
    indexed(sorted(source.iterdir()), tmp_path / "photos", home)
    win = opened(qtbot, home)
    qtbot.waitUntil(lambda: win.model.rowCount() == 3, timeout=WAIT_MS)
    video = win.library.photos.id_of(tmp_path / "photos" / "day.mp4")
    row = win.model.row_of(video)
    assert row is not None
    # the tile: the poster frame, with the length drawn on it once loaded
    qtbot.waitUntil(lambda: win.model.tile(row).duration is not None, timeout=WAIT_MS)
    assert win.model.tile(row).duration == 30.0
    photo_row = next(r for r in range(3) if r != row)
    qtbot.waitUntil(lambda: win.library.photos.thumbnail(win.library.photos.info(
        win.model.photo_at(photo_row)).hash).exists(), timeout=WAIT_MS)
    assert _dark_badge(win, row) and not _dark_badge(win, photo_row)

    with qtbot.waitSignal(win.results_shown, timeout=WAIT_MS,
                          check_params_cb=lambda mode: mode == "search"):
        win.search.setText("a red circle")
    row = win.model.row_of(video)
    assert row == 0 and win.model.moment_at(row) is not None
    assert "best match at 0:1" in win.model.tooltip_at(row)  # 0:10 to 0:19
    win.grid.setCurrentIndex(win.model.index(row))
    qtbot.waitUntil(lambda: "best match at 0:1" in win.details.fields["File"].text(),
                    timeout=10_000)
    rect = win.grid.visualRect(win.model.index(row))  # selected, its poster still shows
    shot = win.grid.viewport().grab(rect).toImage()
    assert shot.pixelColor(rect.width() // 4, rect.height() // 2).value() > 90  # mid-gray
    assert win.details.fields["File"].text().startswith("MP4 video, 0:30 long, ")

    player = Player()
    QDesktopServices.setUrlHandler("file", player, "open")
    try:
        win.photo_actions.open_preview(row)  # what a double-click does
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert player.opened == [str(tmp_path / "photos" / "day.mp4")]
    assert win.photo_actions.preview is None  # not the still-photo preview

    # Library > Problems…: the truncated video, counted as a video
    dialog = ProblemsDialog(win.library.problems(), win)
    assert dialog.windowTitle() == "Problems (1, of them 1 video)"
    assert dialog.table.item(0, 2).text().startswith("truncated MP4 video file (")
