"""The files behind XMP sidecars, handled as untrusted input: only a regular file is read
(a symlink is not followed, a FIFO or device is never opened, the size is bounded), a
file a person made read-only is not replaced, writes go through a temp file named after
the writing process, and the temp files a killed run left behind are cleaned up.

A sidecar that is not a plain file of ours to change is `LeftAlone`: said, not an error.
"""
from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from clipdesk.core.errors import ClipdeskError

log = logging.getLogger(__name__)

TMP_PREFIX = b".clipdesk-"
TMP_SUFFIX = b".xmp.tmp"
# one sidecar's write takes milliseconds: a temp file this old belongs to no live write,
# whoever made it (also those of older versions, whose names carry no process id)
STALE_AFTER_S = 3600
_TMP_NAME = re.compile(rb"\A\.clipdesk-(?:(\d+)-)?[^/]*\.xmp\.tmp\Z")
RUNS = "sidecar-runs"  # in the library home: one marker file per process writing sidecars


class SidecarError(ClipdeskError):
    """One sidecar cannot be read or written; the message names the file."""


class LeftAlone(SidecarError):
    """A sidecar clipdesk does not read or write on purpose (a symlink, a FIFO, a
    read-only file); the message names it and says why."""


@dataclass(frozen=True)
class Existing:
    """A sidecar's bytes, its permission bits, and whether it may be replaced."""

    data: bytes
    mode: int
    writable: bool


def read_regular(path: bytes, limit: int) -> Existing | None:
    """The sidecar at `path` (None when there is none). Only a regular file is opened,
    without following a symlink and without blocking: a FIFO named IMG.jpg.xmp would
    otherwise wait forever for a writer, and a link would let its target's content in."""
    name = os.fsdecode(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SidecarError(f"{name}: cannot read: {exc.strerror or exc}") from None
    _must_be_regular(name, st.st_mode)
    try:  # lstat and open race: O_NOFOLLOW and fstat check again what was opened
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            _must_be_regular(name, stat.S_IFLNK)
        raise SidecarError(f"{name}: cannot read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        _must_be_regular(name, st.st_mode)
        if st.st_size > limit:
            raise SidecarError(f"{name}: too large for a sidecar (over {limit >> 20} MB)")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise SidecarError(f"{name}: too large for a sidecar (over {limit >> 20} MB)")
    # no write bit at all: someone made it read-only on purpose (root's override aside)
    writable = bool(st.st_mode & 0o222) and os.access(path, os.W_OK)
    return Existing(data, stat.S_IMODE(st.st_mode), writable)


def _must_be_regular(name: str, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    what = ("a symbolic link" if stat.S_ISLNK(mode) else "a folder" if stat.S_ISDIR(mode)
            else "a pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device")
    raise LeftAlone(f"{name}: {what}, not a regular file; clipdesk reads and writes only "
                    "regular sidecar files, so it was left alone")


def read_only(path: bytes) -> LeftAlone:
    return LeftAlone(f"{os.fsdecode(path)}: read-only, so it was left alone (make it "
                     "writable to have clipdesk write it)")


def replace(path: bytes, data: bytes, mode: int) -> None:
    """Write `path` atomically: a temp file in the same folder (named after this process,
    so another run can tell a live write from a killed one), fsynced, renamed over it.
    A write that fails for any reason removes its temp file."""
    folder = os.path.dirname(path) or b"."
    name = os.fsdecode(path)
    prefix = TMP_PREFIX + b"%d-" % os.getpid()
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=TMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise SidecarError(f"{name}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        with contextlib.suppress(FileNotFoundError):
            # it was a regular file when read: never put a file in place of anything else
            _must_be_regular(name, os.lstat(path).st_mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise SidecarError(f"{name}: cannot write: {exc.strerror or exc}") from None
        raise


def new_file_mode() -> int:
    return 0o666 & ~_UMASK


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # once, at import: os.umask is process-wide and not thread-safe


# -- temp files a killed run left ---------------------------------------------------------

def clean_folder(folder: bytes) -> int:
    """Remove the sidecar temp files in `folder` that no live write owns: their process
    is gone, or they are older than any write. Returns how many were removed."""
    removed = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                match = _TMP_NAME.match(entry.name)
                if match is None or not entry.is_file(follow_symlinks=False):
                    continue
                pid = int(match.group(1)) if match.group(1) else None
                age = time.time() - entry.stat(follow_symlinks=False).st_mtime
                if age > STALE_AFTER_S or (pid is not None and not _alive(pid)):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        removed += 1
    except OSError as exc:
        log.info("cannot clean sidecar temp files in %s: %s", os.fsdecode(folder), exc)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


@contextlib.contextmanager
def running(home: Path | None) -> Iterator[None]:
    """Marks this process as writing sidecars while the block runs; a marker left behind
    means a run was killed and its folders may hold temp files (`killed_runs`)."""
    marker = home / RUNS / str(os.getpid()) if home is not None else None
    try:
        if marker is not None:
            marker.parent.mkdir(exist_ok=True)
            marker.touch()
    except OSError as exc:  # without the marker only the cleanup after a kill is lost
        log.info("cannot mark the sidecar run: %s", exc)
        marker = None
    try:
        yield
    finally:
        if marker is not None:
            with contextlib.suppress(OSError):
                marker.unlink()


def clean_after_killed_runs(home: Path | None, folders: Callable[[], Iterable[bytes]]) -> int:
    """When a run that wrote sidecars was killed (its marker outlived its process),
    remove the stale temp files from the `folders()` and the markers (listing the
    library's folders only then). Returns how many files were removed."""
    if home is None:
        return 0
    try:
        killed = [m for m in (home / RUNS).iterdir()
                  if not (m.name.isdigit() and _alive(int(m.name)))]
    except OSError:
        return 0  # no run ever marked
    if not killed:
        return 0
    removed = sum(clean_folder(folder) for folder in set(folders()))
    for marker in killed:
        with contextlib.suppress(OSError):
            marker.unlink()
    if removed:
        log.info("removed %d temp files a killed sidecar run left", removed)
    return removed
