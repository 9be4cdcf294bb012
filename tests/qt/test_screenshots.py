"""The screenshot script opens the real window under Xvfb and saves every view."""
import os
import shutil
import subprocess
import sys

from PIL import Image

from tests.conftest import REPO

SHOTS = ["1-library.png", "2-search.png", "3-similar.png", "4-details.png", "5-first-run.png",
         "6-stack.png", "7-blurry.png", "8-teach.png", "9-flagged.png", "10-sidecars.png"]


def test_screenshot_script_saves_every_view_in_a_real_window(tmp_path):
    xvfb = shutil.which("xvfb-run")
    assert xvfb, "install Debian's xvfb (see the README's test command)"
    result = subprocess.run(
        [xvfb, "-a", "-s", "-screen 0 1400x900x24", sys.executable,
         str(REPO / "scripts" / "screenshots.py"), str(tmp_path)],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "QT_QPA_PLATFORM": "xcb"})
    assert result.returncode == 0, result.stderr[-3000:]
    for name in SHOTS:
        with Image.open(tmp_path / name) as shot:
            assert shot.width >= 500 and shot.height >= 300
            assert len(shot.convert("RGB").getcolors(1 << 20) or []) > 50  # not blank
