"""Live folder watching: files added, changed, renamed or deleted under the library's
folders reach the catalog within seconds, through the ordinary incremental index run.

The operating system's notifications (watchdog: inotify, FSEvents, ReadDirectoryChanges)
only say *that* something changed; the index run finds *what* (unchanged files cost a
stat), so a missed or reordered event cannot leave the catalog wrong. Bursts are
debounced into one run (a camera import of 500 files is one job), a run waits until the
files it was told about stop growing, and when the system cannot watch (Linux's
fs.inotify.max_user_watches reached, say) the watcher rescans every RESCAN seconds instead
and says so through its status callback. No Qt here: the app and `clipdesk watch` both
drive this.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from clipdesk.core.errors import ClipdeskError, LibraryBusyError
from clipdesk.core.indexing.scanner import Fence, Reached, is_under, walk
from clipdesk.core.types import IndexSummary, Phase, Progress

if TYPE_CHECKING:
    from clipdesk.core.library import Library

log = logging.getLogger(__name__)

QUIET = 1.0  # seconds without a new event before a batch runs
SETTLE = 0.5  # a file whose size or time changes over this long is still being written
LONGEST_WAIT = 30.0  # a stream of events that never pauses still gets a run this often
RESCAN = 60.0  # seconds between rescans when the system cannot watch
BUSY_RETRY = 5.0  # seconds between tries while another process indexes the library
# what changes a folder's content; not reads (the index run's own opens would loop)
WATCHED_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent, FileModifiedEvent, FileMovedEvent, FileDeletedEvent, FileClosedEvent,
    DirCreatedEvent, DirMovedEvent, DirDeletedEvent]


@dataclass(frozen=True)
class Batch:
    """One run for a burst of changes: the paths the system named (both ends of a move)
    and what the index run made of them (None when it could not run)."""

    paths: tuple[bytes, ...]
    summary: IndexSummary | None
    seconds: float
    rescan: bool = False  # a periodic rescan (no watching), not a burst of events


@dataclass
class _Pending:
    paths: dict[bytes, None] = field(default_factory=dict)  # ordered set
    first: float = 0.0
    last: float = 0.0


class _Collector(FileSystemEventHandler):
    """Called on watchdog's thread: notes changed paths under the roots."""

    def __init__(self, pending: _Pending, lock: threading.Lock, wake: threading.Event,
                 roots: list[bytes], ignore: tuple[bytes, ...]) -> None:
        self.pending, self.lock, self.wake = pending, lock, wake
        self.roots, self.ignore = roots, ignore

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in ("created", "modified", "moved", "deleted", "closed"):
            return
        paths = [event.src_path] + ([event.dest_path] if event.dest_path else [])
        wanted = [p for p in map(os.fsencode, paths) if self._wanted(p)]
        if not wanted:
            return
        now = time.monotonic()
        with self.lock:
            if not self.pending.paths:
                self.pending.first = now
            self.pending.paths.update(dict.fromkeys(wanted))
            self.pending.last = now
        self.wake.set()

    def _wanted(self, path: bytes) -> bool:
        """Below a root, not hidden there (the scanner skips those: editors' temp files,
        .clipdesk-*.tmp), not the library's own files."""
        root = next((r for r in self.roots if is_under(path, r)), None)
        if root is None or any(is_under(path, folder) for folder in self.ignore):
            return False
        below = path[len(root.rstrip(b"/")):].split(b"/")
        return not any(part.startswith(b".") for part in below)


class Watcher:
    """Keeps `library` current while it runs. `on_batch` hears of each run, `on_status`
    of how the folders are watched (a sentence a person can read). `index` runs the index
    (default: here, on the watcher's thread); the app passes one that hands the run to its
    writer thread and returns None."""

    def __init__(self, library: Library, *, on_batch: Callable[[Batch], None] | None = None,
                 on_status: Callable[[str], None] | None = None,
                 index: Callable[[], IndexSummary | None] | None = None, quiet: float = QUIET,
                 settle: float = SETTLE, rescan: float = RESCAN) -> None:
        self.library = library
        self.run_index = index or (lambda: _last_summary(library.index()))
        self.on_batch = on_batch or (lambda batch: None)
        self.on_status = on_status or (lambda text: None)
        self.quiet, self.settle, self.rescan = quiet, settle, rescan
        self.polling = False  # True when the system cannot watch: periodic rescans
        self._busy = False  # another process held the index lock at the last try
        self._pending = _Pending()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: BaseObserver | None = None

    # -- running ----------------------------------------------------------------------

    def start(self, catch_up: bool = True) -> None:
        """Watch on a background thread (stop() ends it)."""
        self._thread = threading.Thread(target=self.run, args=(catch_up,),
                                        name="clipdesk-watch", daemon=True)
        self._thread.start()

    def stop(self, wait: bool = True) -> None:
        """End the watching (with `wait`, once its thread is done)."""
        self._stop.set()
        self._wake.set()
        if wait and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def run(self, catch_up: bool = True) -> None:
        """Watch on this thread until stop() (or Ctrl+C in the CLI): one index run first
        (catch up with what changed while nobody watched), then one per burst."""
        roots = self._watch()
        try:
            if catch_up:
                self._index((), rescan=True)
            self._warm_up()
            if self._observer is not None:  # ready: said once the model is loaded
                self.on_status(f"Watching {len(roots)} folder{'s' * (len(roots) != 1)} "
                               "for changes")
            while not self._stop.is_set():
                if self.polling:
                    if not self._stop.wait(self.rescan):
                        self._index((), rescan=True)
                    continue
                self._wake.wait(1.0)
                self._wake.clear()
                if self._observer_died(roots):
                    continue
                batch = self._ready()
                if batch:
                    self._index(batch)
        finally:
            self._unwatch()

    def _warm_up(self) -> None:
        """Load the model now: the first photo copied should not wait for it (the torch
        import and the model load take seconds)."""
        try:
            self.library.warm_up()
        except ClipdeskError as exc:
            self.on_status(str(exc))

    # -- watching ---------------------------------------------------------------------

    def _watch(self) -> list[bytes]:
        roots = [r for r in self.library.roots() if os.path.isdir(r)]
        roots = [r for r in roots if not any(r != o and is_under(r, o) for o in roots)]
        home = os.fsencode(str(self.library.home))
        # the system's watches never follow links (or a link to / would watch the whole
        # disk); the folders the index reaches through links are watched as themselves
        linked = linked_folders(roots, Fence.around(self.library.roots(), home))
        handler = _Collector(self._pending, self._lock, self._wake, roots + linked, (home,))
        observer = Observer()
        try:
            for folder in roots + linked:
                observer.schedule(handler, os.fsdecode(folder), recursive=True,
                                  event_filter=WATCHED_EVENTS, follow_symlink=False)
            observer.start()
        except OSError as exc:
            self._fall_back(exc)
            return roots
        self._observer = observer
        return roots

    def _observer_died(self, roots: list[bytes]) -> bool:
        """A folder created later can hit the watch limit inside watchdog's thread,
        which then ends: from there on, rescan."""
        observer = self._observer
        if observer is None or all(e.is_alive() for e in observer.emitters):
            return False
        self._fall_back(OSError("a folder could not be watched (the system's limit)"))
        return True

    def _fall_back(self, exc: OSError) -> None:
        self._unwatch()
        self.polling = True
        reason = exc.strerror or str(exc)
        self.on_status(f"Cannot watch the folders ({reason}; on Linux raise "
                       f"fs.inotify.max_user_watches): looking for changes every "
                       f"{self.rescan:g} s instead")

    def _unwatch(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            if observer.is_alive():
                observer.join()

    def _ready(self) -> tuple[bytes, ...]:
        """The paths of a burst that is over: no event for `quiet` seconds (or the burst
        has gone on for LONGEST_WAIT), and the files named no longer growing."""
        with self._lock:
            if not self._pending.paths:
                return ()
            now = time.monotonic()
            waited, idle = now - self._pending.first, now - self._pending.last
        if idle < self.quiet and waited < LONGEST_WAIT:
            self._wake.set()  # look again shortly
            self._stop.wait(min(self.quiet - idle, 0.2))
            return ()
        with self._lock:
            paths = tuple(self._pending.paths)
        if waited < LONGEST_WAIT and not self._settled(paths):
            return ()
        with self._lock:
            taken = tuple(self._pending.paths)
            self._pending.paths.clear()
        return taken

    def _settled(self, paths: tuple[bytes, ...]) -> bool:
        before = [_size_and_time(p) for p in paths]
        if self._stop.wait(self.settle):
            return False
        if [_size_and_time(p) for p in paths] == before:
            return True
        self._wake.set()
        return False

    # -- indexing ---------------------------------------------------------------------

    def _index(self, paths: tuple[bytes, ...], rescan: bool = False) -> None:
        started = time.monotonic()
        summary = None
        try:
            summary = self.run_index()
        except LibraryBusyError:  # the app or `clipdesk index`: wait for it
            if not self._busy:
                self.on_status("another clipdesk is indexing this library: the changes "
                               "are indexed once it is done")
            self._busy = True
            self._requeue(paths)
            self._stop.wait(BUSY_RETRY)
            return
        except ClipdeskError as exc:
            self.on_status(str(exc))
        self._busy = False
        self.on_batch(Batch(paths, summary, time.monotonic() - started, rescan))

    def _requeue(self, paths: tuple[bytes, ...]) -> None:
        now = time.monotonic()
        with self._lock:
            self._pending.paths.update(dict.fromkeys(paths or (b"",)))
            self._pending.first = self._pending.last = now
        self._wake.set()


def linked_folders(roots: list[bytes], fence: Fence) -> list[bytes]:
    """The real folders the index reaches through folder links below `roots` (the
    links the fence allows: other photo folders)."""
    reached = Reached()
    for root in roots:
        for _ in walk(root, fence, reached):
            pass
    return reached.followed


def _size_and_time(path: bytes) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _last_summary(steps: Iterator[Progress]) -> IndexSummary | None:
    summary = None
    for step in steps:
        if step.phase is Phase.DONE:
            summary = step.summary
    return summary
