"""Shared by the app tests: a generated library, a window over it."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from clipdesk.qt import app as qt_app
from clipdesk.qt.main_window import MainWindow
from tests.conftest import TINY_MODEL, run_cli, use_tiny_models
from tests.synthetic import COLORS, SHAPES, render

WAIT_MS = 120_000

# The app's one-writer rule, checked: a catalog write from any thread but the writer's raises.
os.environ["CLIPDESK_CHECK_WRITER"] = "1"


def indexed(chosen: list[Path], folder: Path, home: Path) -> None:
    """`chosen` photos copied into a new `folder`, indexed into a new `home` with the tiny
    models, by the command line (the way a person's library is before the app opens)."""
    folder.mkdir()
    for path in chosen:
        shutil.copy(path, folder / path.name)
    use_tiny_models(home)
    assert run_cli("--home", str(home), "index", str(folder), "--model", TINY_MODEL).rc == 0


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[Path, tuple[str, str]]:
    root = tmp_path_factory.mktemp("qt-photos")
    content = {}
    for i, color in enumerate(COLORS):
        for j, shape in enumerate(SHAPES):
            path = root / f"{color}-{shape}.jpg"
            render(color, shape, ("white", "gray", "black")[(i + j) % 3], (1200, 900),
                   seed=i * 10 + j).save(path, quality=90)
            content[path] = (color, shape)
    return content


@pytest.fixture(scope="module")
def home(photos, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("qt-home")
    use_tiny_models(home)
    root = next(iter(photos)).parent
    assert run_cli("--home", str(home), "index", str(root), "--model", TINY_MODEL).rc == 0
    return home


def opened(qtbot, home: Path) -> MainWindow:
    """A window over `home`, shown, once its launch's catch-up run and the watcher's first
    word are over: the catch-up run starts after the grid's first load, and the watcher
    after it (saying so in the status bar); waiting for "no index job" alone could return
    before either started, and they would then run into the test."""
    win = qt_app.create_window(str(home))
    qtbot.addWidget(win)
    with qtbot.waitSignals([win.work.indexed, win.work.watch_said], timeout=WAIT_MS):
        win.show()
    return win


@pytest.fixture
def window(qtbot, home) -> MainWindow:
    win = opened(qtbot, home)
    qtbot.waitUntil(lambda: win.model.rowCount() > 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: win.index_job is None, timeout=WAIT_MS)
    return win


def shown_paths(win: MainWindow, n: int) -> list[Path]:
    ids = [win.model.photo_at(r) for r in range(min(n, win.model.rowCount()))]
    paths = win.library.catalog.files.paths_for(ids)
    return [Path(os.fsdecode(paths[i])) for i in ids]


def on_writer(qtbot, win: MainWindow, fn):
    """Run `fn` as the app runs every write, on its writer thread; its result. The
    handlers are connected before the job starts: a write that ends before this thread
    gets to wait for it is not missed, and a failure says so at once."""
    outcome: list[tuple[str, object]] = []
    win.jobs.write(fn, done=lambda result: outcome.append(("done", result)),
                   failed=lambda error: outcome.append(("failed", error)))
    qtbot.waitUntil(lambda: outcome != [], timeout=WAIT_MS)
    kind, value = outcome[0]
    assert kind == "done", f"the write failed: {value}"
    return value


def window_with_vocabulary(qtbot, photos, home: Path, tags: str, sensitive: str) -> MainWindow:
    """A window over `photos` indexed with these tags.txt and sensitive.txt."""
    use_tiny_models(home, tags, sensitive)
    root = next(iter(photos)).parent
    assert run_cli("--home", str(home), "index", str(root), "--model", TINY_MODEL).rc == 0
    win = qt_app.create_window(str(home))
    qtbot.addWidget(win)
    win.show()
    return win




def searched(qtbot, win: MainWindow, text: str) -> list[int]:
    """Type `text`; once its own results are on screen, their ids. Waited for by the
    heading they set, not by the next results_shown: a reload of the view before (after
    another process's change, or the launch's catch-up run) may emit that first."""
    win.search.setText(text)
    qtbot.waitUntil(lambda: win.heading.text().endswith(f"matching “{text.strip()}”"),
                    timeout=WAIT_MS)
    return list(win.model.ids)
