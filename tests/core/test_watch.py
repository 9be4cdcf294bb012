"""Live folder watching: copies, renames and deletions in a watched folder reach search
within seconds (polled with a deadline; nothing here sleeps a fixed time to wait)."""
from __future__ import annotations

import errno
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from clipdesk.core.indexing import watch
from clipdesk.core.library import Library
from tests.conftest import TINY_MODEL, use_tiny_models
from tests.synthetic import render

DEADLINE = 10.0


def eventually(check: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < end, f"not within {DEADLINE:.0f} s: {what}"
        time.sleep(0.05)


def found(lib: Library, word: str) -> set[str]:
    return {Path(os.fsdecode(h.path)).name for h in lib.search(word, k=10)}


@pytest.fixture
def watched(tmp_path):
    photos, spare = tmp_path / "photos", tmp_path / "spare"
    photos.mkdir()
    spare.mkdir()
    render("red", "circle", "white", (640, 480), seed=1).save(photos / "red.jpg")
    render("green", "square", "white", (640, 480), seed=2).save(photos / "green.jpg")
    render("yellow", "triangle", "black", (640, 480), seed=3).save(spare / "sunflower.jpg")
    use_tiny_models(tmp_path / "home")
    lib = Library(tmp_path / "home")
    for _ in lib.index([str(photos)], model=TINY_MODEL):
        pass
    batches: list[watch.Batch] = []
    statuses: list[str] = []
    watcher = watch.Watcher(lib, on_batch=batches.append, on_status=statuses.append,
                            quiet=0.3, settle=0.2, rescan=0.5)
    yield lib, watcher, photos, spare, batches, statuses
    watcher.stop()
    lib.close()


def test_copies_renames_and_deletions_reach_search(watched):
    lib, watcher, photos, spare, batches, statuses = watched
    watcher.start()
    eventually(lambda: statuses == ["Watching 1 folder for changes"], "the watch, ready")
    assert len(batches) == 1  # the catch-up run came first

    shutil.copyfile(spare / "sunflower.jpg", photos / "sunflower.jpg")
    eventually(lambda: "sunflower.jpg" in found(lib, "sunflower"), "a copied photo")

    os.rename(photos / "sunflower.jpg", photos / "tulip.jpg")
    eventually(lambda: "tulip.jpg" in found(lib, "tulip")
               and "sunflower.jpg" not in found(lib, "sunflower"), "a renamed photo")
    assert lib.status().photos == 3  # moved, not a new photo

    (photos / "tulip.jpg").unlink()
    eventually(lambda: lib.status().photos == 2 and "tulip.jpg" not in found(lib, "tulip"),
               "a deleted photo")
    assert all(b.summary is not None for b in batches)


def test_a_file_still_being_written_is_taken_once_complete(watched):
    lib, watcher, photos, spare, batches, _ = watched
    watcher.start()
    eventually(lambda: len(batches) >= 1, "the catch-up run")
    data = (spare / "sunflower.jpg").read_bytes()
    written = len(batches)

    def slow_copy() -> None:
        with open(photos / "sunflower.jpg", "wb") as f:
            for start in range(0, len(data), len(data) // 20 + 1):
                f.write(data[start:start + len(data) // 20 + 1])
                f.flush()
                time.sleep(0.05)  # a slow network copy

    copier = threading.Thread(target=slow_copy)
    copier.start()
    copier.join()
    eventually(lambda: "sunflower.jpg" in found(lib, "sunflower"), "the completed photo")
    # no run met the half-written file: it was never recorded as a broken photo
    assert all(b.summary and b.summary.problems == 0 for b in batches[written:])
    assert lib.problems() == []


def test_a_burst_of_files_is_one_run(watched):
    lib, watcher, photos, spare, batches, _ = watched
    watcher.start()
    eventually(lambda: len(batches) >= 1, "the catch-up run")
    before = len(batches)
    for i in range(8):  # a camera import
        shutil.copyfile(spare / "sunflower.jpg", photos / f"import-{i}.jpg")
    eventually(lambda: sum(len(b.paths) for b in batches[before:]) >= 8, "the import's runs")
    assert lib.status().files == 10
    assert len(batches) - before <= 2  # one run (two if the copy paused mid-way)


def test_while_another_process_indexes_it_waits_then_catches_up(watched, monkeypatch):
    from clipdesk.core.store.lock import index_lock

    lib, watcher, photos, spare, batches, statuses = watched
    monkeypatch.setattr(watch, "BUSY_RETRY", 0.2)
    with index_lock(lib.home):  # as `clipdesk index` in another process would
        watcher.start()
        eventually(lambda: len(statuses) == 2, "word of the other indexer")
        assert "another clipdesk is indexing" in statuses[0]
        assert statuses[1] == "Watching 1 folder for changes"
        shutil.copyfile(spare / "sunflower.jpg", photos / "sunflower.jpg")
        assert batches == []
    eventually(lambda: "sunflower.jpg" in found(lib, "sunflower"), "the photo copied meanwhile")
    assert len(statuses) == 2  # said once, not at every try


def test_a_linked_photo_folder_is_watched_and_slash_and_the_data_folder_are_not(watched,
                                                                              tmp_path):
    lib, watcher, photos, spare, batches, statuses = watched
    linked = tmp_path / "linked"
    linked.mkdir()
    (photos / "linked").symlink_to(linked)
    (photos / "everything").symlink_to("/")
    (photos / "data").symlink_to(lib.home)
    watcher.start()
    eventually(lambda: statuses == ["Watching 1 folder for changes"], "the watch, ready")
    watched_folders = {e.watch.path for e in watcher._observer.emitters}
    assert watched_folders == {str(photos), str(linked)}  # not /, not the data folder
    shutil.copyfile(spare / "sunflower.jpg", linked / "sunflower.jpg")
    eventually(lambda: "sunflower.jpg" in found(lib, "sunflower"),
               "a photo copied into the linked folder")
    assert lib.status().photos == 3


class NoWatchesLeft:
    """An Observer on a system whose inotify watch limit is reached."""

    def schedule(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    def stop(self) -> None:
        pass

    def is_alive(self) -> bool:
        return False


def test_at_the_watch_limit_it_rescans_and_says_so(watched, monkeypatch):
    lib, watcher, photos, spare, batches, statuses = watched
    monkeypatch.setattr(watch, "Observer", NoWatchesLeft)
    watcher.start()
    eventually(lambda: watcher.polling and len(batches) >= 1, "the fallback")
    assert len(statuses) == 1 and "inotify watch limit reached" in statuses[0]
    assert "every 0.5 s" in statuses[0] and "fs.inotify.max_user_watches" in statuses[0]
    shutil.copyfile(spare / "sunflower.jpg", photos / "sunflower.jpg")
    eventually(lambda: "sunflower.jpg" in found(lib, "sunflower"), "a copied photo")
    assert any(b.rescan for b in batches)


def test_which_changes_count():
    """Below a root (even one inside a hidden folder); not hidden files below it (editors'
    temp files, clipdesk's own .tmp), not the library's home, not reads."""
    from watchdog.events import FileClosedNoWriteEvent, FileCreatedEvent, FileMovedEvent

    pending = watch._Pending()
    collector = watch._Collector(pending, threading.Lock(), threading.Event(),
                                 [b"/u/.pictures"], (b"/u/.pictures/home",))
    for event in (FileCreatedEvent("/u/.pictures/a.jpg"),
                  FileCreatedEvent("/u/.pictures/.a.jpg.swp"),
                  FileCreatedEvent("/u/.pictures/trip/.clipdesk-x.xmp.tmp"),
                  FileCreatedEvent("/u/.pictures/home/thumbs/1.jpg"),
                  FileClosedNoWriteEvent("/u/.pictures/b.jpg"),
                  FileMovedEvent("/u/.pictures/c.jpg", "/u/.pictures/trip/d.jpg")):
        collector.dispatch(event)
    assert list(pending.paths) == [b"/u/.pictures/a.jpg", b"/u/.pictures/c.jpg",
                                   b"/u/.pictures/trip/d.jpg"]
