"""The catalog's files on disk, made safe to open before SQLite opens them.

SQLite in WAL mode keeps its wal-index in `catalog.sqlite-shm` and maps that file into
memory. A page of it that the filesystem never allocated (a hole) is allocated on first
touch; on a full disk that touch kills the process with SIGBUS, no message. SQLite
allocates every page it adds itself, and the first process to open the catalog
truncates the file, but while another process holds the catalog (the app, `watch`) a
-shm with holes is mapped as it is: so every open allocates the -shm's pages first, and
a full disk becomes DiskFullError, one line. See https://www.sqlite.org/shm.html.

A -wal or -shm that SQLite made while the catalog was read-only copies its mode, and
stays read-only after the person makes the catalog writable again: every write then
fails. They are given the catalog's mode back.
"""
from __future__ import annotations

import errno
import os
import stat
from contextlib import suppress
from pathlib import Path

from clipdesk.core.errors import CatalogError, DiskFullError

_SIDE_FILES = ("-wal", "-shm")


def prepare(path: Path) -> None:
    """Check and repair the catalog's files before a connection opens them."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return  # a new catalog: SQLite makes it
    except OSError:
        return  # SQLite's own error says it better (a permission, a vanished disk)
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise CatalogError(f"the catalog {path} is {kind}, not a catalog file: move it "
                           "aside (or use another --home), then run again")
    if os.access(path, os.W_OK):
        _writable_like_catalog(path, st)
    _allocate_shm(Path(f"{path}-shm"))


def _writable_like_catalog(path: Path, st: os.stat_result) -> None:
    """A writable catalog's -wal and -shm get the catalog's mode back if they lost it."""
    for suffix in _SIDE_FILES:
        side = Path(f"{path}{suffix}")
        if side.exists() and not os.access(side, os.W_OK):
            # not ours to change (another user's file): SQLite's error says read-only
            with suppress(OSError):
                os.chmod(side, stat.S_IMODE(st.st_mode))


def _allocate_shm(shm: Path) -> None:
    """Allocate every page of an existing -shm (a no-op when none is a hole)."""
    try:
        fd = os.open(shm, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        return  # none, or not writable: SQLite opens it read-only and never extends it
    try:
        size = os.fstat(fd).st_size
        if size:
            os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(shm.parent) from exc
        # EOPNOTSUPP / EINVAL: a filesystem without fallocate; nothing better to do
    finally:
        os.close(fd)
