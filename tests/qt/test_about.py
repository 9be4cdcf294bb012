"""Help > About says the version, the model, where and how photos are encoded (device and
number format) and where the library's data is."""
from __future__ import annotations

from clipdesk import __version__
from tests.conftest import TINY_MODEL
from tests.qt.conftest import opened


def test_about_says_the_model_the_device_and_the_precision(qtbot, home) -> None:
    win = opened(qtbot, home)
    about = next(a for m in win.menuBar().actions() if m.text() == "&Help"
                 for a in m.menu().actions() if a.text() == "About clipdesk")
    about.trigger()
    qtbot.waitUntil(lambda: win.dialogs.about_box is not None, timeout=10_000)
    box = win.dialogs.about_box
    assert box.isVisible() and box.text() == f"clipdesk {__version__}"
    said = box.informativeText()
    # the suite computes in fp32 (conftest.py): photos go through the int8 image tower
    assert "Runs on: cpu, int8 image tower (fp32 text)" in said
    assert f"Model: {TINY_MODEL}" in said
    assert f"Data in: {home}" in said
    box.close()
