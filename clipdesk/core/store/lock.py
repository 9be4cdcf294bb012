"""Locks between the processes sharing a library, on files in its folder; the operating
system drops them when the process ends, killed or not.

- the index lock: one indexer per library, held for a whole index run;
- the backup lock: one backup at a time;
- the save lock: one writer of the vector index files at a time, held while a process
  checks that no newer file was saved since it loaded its own, and writes;
and SQLite's own lock where SQLite does not wait for it (use_wal)."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from clipdesk.core.errors import LibraryBusyError


@contextmanager
def index_lock(home: Path, wait: bool = False) -> Iterator[None]:
    """Hold the library's index lock; LibraryBusyError at once if another process has it
    (or, with `wait`, block until it is free)."""
    fd = os.open(home / "index.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            who = f" (process {holder})" if holder.isdigit() else ""
            raise LibraryBusyError(
                f"another clipdesk{who} is already indexing this library: wait for it to "
                "finish, or run again with --wait") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)  # named in the message others get
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def waiting_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file `path`, waiting for another holder."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def backup_lock(home: Path) -> AbstractContextManager[None]:
    """Held while a backup is made: the app, an index run and a command line's edits may
    each make one, one at a time (a second waits: a backup takes seconds)."""
    return waiting_lock(home / "backup.lock")


def save_lock(folder: Path) -> AbstractContextManager[None]:
    """Hold the lock on saving the vector index files in `folder` (waits for another
    process's save, a second or two at 100k photos). An OSError if the folder cannot be
    made or written, as the save itself would raise."""
    folder.mkdir(parents=True, exist_ok=True)
    return waiting_lock(folder / "save.lock")


def use_wal(db: sqlite3.Connection, wait_s: float = 30.0) -> None:
    """Put the catalog in WAL mode. Two processes making a new catalog at once: the
    second one's switch meets the first one's lock, and SQLite says "database is locked"
    at once instead of waiting its busy timeout; wait here instead."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
