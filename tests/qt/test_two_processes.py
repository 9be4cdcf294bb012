"""Two processes, one library: the app waits quietly for another indexer and follows it; a
second launch of the app brings the first window forward instead of opening another."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtNetwork import QLocalSocket
from PySide6.QtWidgets import QApplication

from clipdesk.qt import app as qt_app
from clipdesk.qt.background import FOLLOWING
from clipdesk.qt.single_instance import Instance, claim, server_name
from tests.conftest import TINY_MODEL
from tests.qt.conftest import WAIT_MS, indexed, on_writer

REPO = Path(__file__).resolve().parents[2]

# `clipdesk index FOLDER` in another process, held after it took the library's index lock
# until the test says go (a line on its stdin)
OTHER_INDEXER = """
import sys
from clipdesk.core.library import Library
library = Library(sys.argv[1])
run = library.index([sys.argv[2]], sys.argv[3])
next(run)  # the lock is taken before the first step
print("locked", flush=True)
sys.stdin.readline()
for _ in run:
    pass
library.close()
"""


# an app over the library killed mid-session: its socket file stays behind
KILLED_APP = """
import sys
from PySide6.QtCore import QCoreApplication
from PySide6.QtNetwork import QLocalServer
app = QCoreApplication([])
server = QLocalServer()
assert server.listen(sys.argv[1])
print("listening", flush=True)
app.exec()
"""


def python(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen([sys.executable, *args], env=env, text=True, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def answers(name: str) -> bool:
    socket = QLocalSocket()
    socket.connectToServer(name)
    return socket.waitForConnected(1000)


def test_a_second_launch_brings_the_first_window_forward_and_exits(qtbot, home, photos,
                                                                   tmp_path):
    win = qt_app.launch(str(home))
    assert win is not None
    qtbot.addWidget(win)
    with qtbot.waitSignals([win.work.indexed, win.work.watch_said], timeout=WAIT_MS):
        win.show()
    photo = sorted(photos)[0]
    started = time.monotonic()
    second = python("-m", "clipdesk", "--home", str(home), "gui", str(photo))
    try:
        with qtbot.waitSignal(win.results_shown, timeout=WAIT_MS,
                              check_params_cb=lambda mode: mode == "similar"):
            pass  # the request reaches the first window: it shows the photo's look-alikes
        qtbot.waitUntil(lambda: second.poll() is not None, timeout=WAIT_MS)
        seconds = time.monotonic() - started
    finally:
        second.kill()
        out, err = second.communicate()
    print(f"second launch: answered and gone in {seconds:.1f} s")
    assert second.returncode == 0 and "Traceback" not in err
    assert out == qt_app.ALREADY_OPEN + "\n"
    assert win.heading.text() == f"Photos like {photo.name}"
    assert win.isVisible()
    other = claim(tmp_path, [])  # another library opens beside this one
    assert isinstance(other, Instance) and other.server.isListening()
    assert answers(server_name(home))
    win.close()  # a closed window no longer takes launches
    assert not answers(server_name(home))


def test_a_killed_apps_socket_does_not_stop_the_next_launch(qtbot, home):
    killed = python("-c", KILLED_APP, server_name(home))
    assert killed.stdout.readline() == "listening\n"
    killed.kill()
    killed.wait()
    assert not answers(server_name(home))  # its socket file is there; no one behind it
    win = qt_app.launch(str(home))
    assert win is not None
    qtbot.addWidget(win)
    assert answers(server_name(home))


def indexed_with_more(photos, tmp_path: Path) -> tuple[Path, Path]:
    """A home with 3 photos indexed, and a folder of 4 more that another process adds."""
    theirs, home = tmp_path / "theirs", tmp_path / "home"
    originals = sorted(photos)
    indexed(originals[:3], tmp_path / "mine", home)
    theirs.mkdir()
    for path in originals[3:7]:
        shutil.copy(path, theirs / path.name)
    return home, theirs


def test_the_app_waits_quietly_for_another_indexer_then_shows_its_photos(qtbot, photos,
                                                                         tmp_path):
    home, theirs = indexed_with_more(photos, tmp_path)
    other = python("-c", OTHER_INDEXER, str(home), str(theirs), TINY_MODEL)
    try:
        assert other.stdout.readline() == "locked\n"
        win = qt_app.create_window(str(home))
        qtbot.addWidget(win)
        win.show()  # its catch-up run finds the library busy
        qtbot.waitUntil(lambda: win.status_text.full_text() == FOLLOWING, timeout=WAIT_MS)
        assert win.model.rowCount() == 3  # the window works meanwhile
        assert win.work.progress.isVisible() and win.work.cancel_button.isVisible()
        on_writer(qtbot, win, lambda: win.library.set_captions_mode("off"))  # edits land
        assert win.status_text.full_text() == FOLLOWING  # still waiting, without a fuss
        assert win.dialogs.error_box is None and QApplication.activeModalWidget() is None

        with qtbot.waitSignal(win.work.indexed, timeout=WAIT_MS):
            other.stdin.write("go\n")
            other.stdin.flush()
        assert other.wait(timeout=WAIT_MS / 1000) == 0
    finally:
        other.kill()
        other.wait()
    qtbot.waitUntil(lambda: win.model.rowCount() == 7, timeout=WAIT_MS)  # theirs too
    assert win.library.catalog.meta.get("captions") == "off"
    assert win.dialogs.error_box is None
    assert not win.work.progress.isVisible()


def test_an_open_window_shows_what_a_terminal_index_added(qtbot, photos, tmp_path):
    home, theirs = indexed_with_more(photos, tmp_path)
    win = qt_app.create_window(str(home))
    qtbot.addWidget(win)
    with qtbot.waitSignals([win.work.indexed, win.work.watch_said], timeout=WAIT_MS):
        win.show()
    assert win.model.rowCount() == 3
    terminal = python("-m", "clipdesk", "--home", str(home), "index", str(theirs))
    out, err = terminal.communicate(timeout=WAIT_MS / 1000)
    assert terminal.returncode == 0, err
    # no run of the window's own, no click: the other process's photos show
    qtbot.waitUntil(lambda: win.model.rowCount() == 7, timeout=WAIT_MS)
    assert win.work.index_job is None
