"""Screenshots of the real window on a generated library, for people to look at.

    xvfb-run -a -s "-screen 0 1400x900x24" python scripts/screenshots.py [OUT_DIR]

Builds a photo library (tests/photolib.py), indexes it with the tiny test model (with
colour and shape tags, and purple standing in for sensitive content), opens the app and
saves PNGs of: the library grid (bursts stacked), a search result, similar results, the
details panel with a caption, the first-run folder picker, an opened stack, the blurry
filter, the teaching bar, the flagged photos (blurred, labelled) and the status bar after
writing XMP sidecars. Exits non-zero if a shot is missing or blank, or if a detail
in the details panel is cut off. Runs under any Qt platform; under xvfb it is the real
X11 window.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from clipdesk.cli import main as cli  # noqa: E402
from clipdesk.core.library import Library  # noqa: E402
from clipdesk.qt.app import create_window  # noqa: E402
from clipdesk.qt.grid import PHOTO_ID_ROLE, STACK_ROLE  # noqa: E402
from tests.photolib import make_bursts, make_library  # noqa: E402

TINY_MODEL = f"local-dir:{REPO / 'tests/models/tiny-clip'}"
TINY_COCA = f"local-dir:{REPO / 'tests/models/tiny-coca'}"


def wait_until(app: QApplication, condition, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.02)


def settle(app: QApplication, seconds: float = 0.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def shoot(widget: QWidget, path: Path) -> None:
    screen = widget.screen()
    image = screen.grabWindow(widget.winId()).toImage() if screen else QImage()
    if image.isNull() or _is_blank(image):  # platforms without window grabbing
        image = widget.grab().toImage()
    if _is_blank(image):
        raise RuntimeError(f"{path.name} came out blank")
    image.save(str(path))
    print(f"saved {path}")


def _is_blank(image: QImage) -> bool:
    small = image.scaled(40, 30)
    colours = {small.pixel(x, y) for x in range(small.width()) for y in range(small.height())}
    return len(colours) < 4


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "screenshots").absolute()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # a home folder with a Pictures folder, as a person has: the first run suggests it
        os.environ["HOME"] = tmp
        app = QApplication.instance() or QApplication([])
        lib = make_library(Path(tmp) / "Pictures")
        (lib.root / "bursts").mkdir()
        make_bursts(lib.root / "bursts")
        home = Path(tmp) / "home"
        home.mkdir()
        library = Library(home)
        library.captions.choose_captioner(TINY_COCA)
        library.close()
        # the tiny model knows only colours and shapes: give it tags it can see, and let
        # purple play the sensitive content (the real prompts mean nothing to it)
        (home / "tags.txt").write_text("\n".join(
            f"{w}: a {w} shape | {w}" for w in ("red", "green", "blue", "yellow", "orange"))
            + "\ncircle: a circle\nsquare: a square\ntriangle: a triangle\n")
        (home / "sensitive.txt").write_text("unwanted: a purple shape | purple\n")
        if cli(["--home", str(home), "index", str(lib.root), "--model", TINY_MODEL]) != 0:
            return 1
        window = create_window(str(home))
        window.resize(1280, 820)
        window.show()
        wait_until(app, lambda: window.model.rowCount() > 0 and window.index_job is None)
        settle(app, 1.5)  # thumbnails
        shoot(window, out / "1-library.png")

        window.search.setText("a red circle")
        wait_until(app, lambda: window.views.mode == "search")
        settle(app, 1.0)
        shoot(window, out / "2-search.png")

        rect = window.grid.visualRect(window.model.index(0))
        window.grid.customContextMenuRequested.emit(rect.center())
        window.photo_actions.context_menu.actions()[0].trigger()
        window.photo_actions.context_menu.close()
        wait_until(app, lambda: window.views.mode == "similar")
        settle(app, 1.0)
        shoot(window, out / "3-similar.png")

        window.grid.setCurrentIndex(window.model.index(1))
        wait_until(app, lambda: window.details.fields["Name"].text() != "" and
                   "Writing" not in window.details.caption.text())
        settle(app, 0.5)
        shoot(window, out / "4-details.png")
        labels = (window.details.caption, *window.details.fields.values())
        cut_off = [label.text() for label in labels
                   if label.height() < label.heightForWidth(label.width())]
        if cut_off:
            raise RuntimeError(f"details cut off in 4-details.png: {cut_off}")

        window.views.show_library()
        wait_until(app, lambda: window.views.mode == "library" and any(
            (window.model.index(r).data(STACK_ROLE) or 1) > 1
            for r in range(window.model.rowCount())))
        row = next(r for r in range(window.model.rowCount())
                   if (window.model.index(r).data(STACK_ROLE) or 1) > 1)
        window.photo_actions.show_stack(window.model.index(row).data(PHOTO_ID_ROLE))
        wait_until(app, lambda: window.views.mode == "stack")
        window.photo_actions.set_rejected(window.model.ids[2:], True)
        settle(app, 1.5)
        shoot(window, out / "6-stack.png")

        window.photo_actions.show_blurry()
        wait_until(app, lambda: window.views.mode == "blurry")
        settle(app, 1.0)
        shoot(window, out / "7-blurry.png")

        window.views.show_library()
        # the library's load done before the teach writes: else the two race, and the tag
        # list shows "favourites (1)" or not by chance
        wait_until(app, lambda: window.views.mode == "library" and not window.views.refreshing)
        window.grid.selectionModel().select(window.model.index(0),
                                            window.grid.selectionModel().SelectionFlag.Select)
        window.tagging.teaching = "favourites"
        window.tagging.teach("favourites", window.selection.selected_ids(), [])
        wait_until(app, lambda: window.views.mode == "teach")
        settle(app, 1.0)
        shoot(window, out / "8-teach.png")

        window.photo_actions.show_flagged()  # blurred, each saying why
        wait_until(app, lambda: window.views.mode == "flagged")
        settle(app, 1.0)
        shoot(window, out / "9-flagged.png")

        window.views.show_library()
        window.keep_sidecars_action.trigger()  # writes every sidecar now, then keeps them
        wait_until(app, lambda: "XMP sidecar" in window.status_text.full_text()
                   and "Writing" not in window.status_text.full_text())
        settle(app, 1.0)
        shoot(window, out / "10-sidecars.png")
        window.close()

        first = create_window(str(Path(tmp) / "new-home"))
        first.resize(1280, 820)
        first.show()
        wait_until(app, lambda: getattr(first, "first_run", None) is not None)
        settle(app, 0.5)
        shoot(first.first_run, out / "5-first-run.png")
        first.first_run.reject()
        first.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
