"""XMP sidecars from the app: written on request, or kept written as a person edits."""
from __future__ import annotations

import os
import shutil

from PySide6.QtWidgets import QMessageBox

from clipdesk.core.sidecars import xmp
from clipdesk.qt import app as qt_app
from tests.qt.conftest import WAIT_MS, indexed, opened, shown_paths
from tests.unit.test_xmp import DIGIKAM


def keywords(path) -> set[str]:
    return set(xmp.read(os.fsencode(f"{path}.xmp")).keywords)


def test_tags_menu_writes_sidecars_and_keeps_them_written(qtbot, photos, tmp_path,
                                                          monkeypatch):
    root, home = tmp_path / "photos", tmp_path / "home"
    indexed(sorted(photos)[:3], root, home)
    originals = {p.name: p.read_bytes() for p in root.iterdir() if p.suffix == ".jpg"}
    win = opened(qtbot, home)
    qtbot.waitUntil(lambda: win.model.rowCount() == 3, timeout=WAIT_MS)
    first = shown_paths(win, 1)[0]
    win.grid.setCurrentIndex(win.model.index(0))
    win.details.tag_added.emit("picnic")
    qtbot.waitUntil(lambda: "picnic" in win.details.tags.text(), timeout=WAIT_MS)
    assert not os.path.exists(f"{first}.xmp")  # nothing written unless asked

    second = shown_paths(win, 2)[1]
    outside = tmp_path / "elsewhere.xmp"  # another photo's sidecar: a link out of the library
    shutil.copyfile(DIGIKAM, outside)
    os.symlink(outside, f"{second}.xmp")
    errors: list[Exception] = []
    monkeypatch.setattr(win.dialogs, "show_error", errors.append)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    win.tagging.write_sidecars()
    qtbot.waitUntil(lambda: "written" in win.status_text.full_text(), timeout=WAIT_MS)
    assert "picnic" in keywords(first)
    assert win.status_text.full_text().endswith(", 1 left alone.")
    assert [str(e) for e in errors] == [
        f"{second}.xmp: a symbolic link, not a regular file; clipdesk reads and writes only "
        "regular sidecar files, so it was left alone"]
    assert outside.read_bytes() == DIGIKAM.read_bytes()
    os.remove(f"{second}.xmp")

    win.keep_sidecars_action.trigger()  # on: each edit goes to the sidecar at once
    assert win.keep_sidecars_action.isChecked()
    win.details.tag_added.emit("sunny")
    qtbot.waitUntil(lambda: "sunny" in keywords(first), timeout=WAIT_MS)
    assert {p.name: p.read_bytes() for p in root.iterdir()
            if p.suffix != ".xmp"} == originals  # the photos themselves untouched

    os.remove(f"{first}.xmp")
    os.mkdir(f"{first}.xmp")  # a sidecar that cannot be written: the tag is kept, and said
    win.details.tag_added.emit("windy")
    qtbot.waitUntil(lambda: "windy" in win.details.tags.text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "XMP sidecar was not written" in win.status_text.full_text(),
                    timeout=WAIT_MS)
    assert win.status_text.full_text().startswith(
        f"Saved, but the XMP sidecar was not written: {first}.xmp: ")
    os.rmdir(f"{first}.xmp")
    win.close()

    again = qt_app.create_window(str(home))  # the choice belongs to the library
    qtbot.addWidget(again)
    assert again.keep_sidecars_action.isChecked()
    again.close()
