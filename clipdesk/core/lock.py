"""One indexer per library: an exclusive lock on a file in the library's folder, held for
a whole index run. The operating system drops it when the process ends, killed or not."""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
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
def backup_lock(home: Path) -> Iterator[None]:
    """Held while a backup is made: the app, an index run and a command line's edits may
    each make one, one at a time (a second waits: a backup takes seconds)."""
    fd = os.open(home / "backup.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
