"""Walks the photo folders. Paths are bytes end to end so every file name round-trips."""
from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from clipdesk.core.indexing.fence import Fence, is_under

__all__ = ["BROKEN_LINK", "Entry", "Fence", "Reached", "is_under", "walk"]  # is_under: as always

BROKEN_LINK = "broken symbolic link"
NOT_MOUNTED = "its drive is not mounted"


@dataclass(frozen=True)
class Entry:
    """A file found on disk; `problem` is set for entries that can never be photos."""

    path: bytes
    size: int
    mtime_ns: int
    problem: str | None = None
    # the problem is the environment's (a permission, an I/O error), not the file's:
    # retried on every run; for a folder, the photos recorded below it are kept
    transient: bool = False
    folder: bool = False


@dataclass
class Reached:
    """What one run's walks met on the way (shared between the walks of one run)."""

    # the real folders that links led to: a folder linked from two roots is walked once
    followed: list[bytes] = field(default_factory=list)
    # mount points (a folder on another device than the one it was reached from),
    # mounted or not, as paths walked; and mount points that now hold an ordinary folder
    mounts: list[bytes] = field(default_factory=list)
    unmounts: list[bytes] = field(default_factory=list)


def walk(root: bytes, fence: Fence | None = None,
         reached: Reached | None = None) -> Iterator[Entry]:
    """Every non-hidden file below `root`, following folder links the fence allows
    (default: a fence around `root` alone), each real folder once (no loops). A
    mount point of an earlier run found empty on its parent's device (the drive is not
    mounted) is a folder that cannot be listed, not a folder emptied."""
    fence = fence or Fence.around([root])
    reached = reached or Reached()
    # the data folder and the system folders are never entered, however they are
    # reached (a link, a link inside a followed folder, the data folder inside a root)
    seen = _keys(fence.keep_out)
    stack = [(root, _device(os.path.dirname(root)))]
    while stack:
        folder, parent = stack.pop()
        try:
            st = os.stat(folder)
            key = st.st_dev, st.st_ino
            if key in seen:  # a loop, two links to one folder, or a folder kept out
                continue
            seen.add(key)
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Entry(folder, -1, -1, f"cannot open folder: {_reason(exc)}",
                        transient=True, folder=True)
            continue
        if folder in fence.mounts and st.st_dev == parent:
            if not entries:
                reached.mounts.append(folder)
                yield Entry(folder, -1, -1, NOT_MOUNTED, transient=True, folder=True)
                continue
            reached.unmounts.append(folder)  # an ordinary folder now
        elif st.st_dev != parent:
            reached.mounts.append(folder)
        subfolders = []
        for entry in entries:
            if entry.name.startswith(b"."):
                continue
            found = _classify(entry)
            if found is None and entry.is_symlink():
                target = os.path.realpath(entry.path)
                if fence.refuses_link(entry.path, target, reached.followed):
                    continue  # not a photo folder of its own: passed over, as hidden files
                reached.followed.append(target)
            if found is None:
                subfolders.append(entry.path)
            elif found is not False:
                yield found
        stack.extend((path, st.st_dev) for path in reversed(subfolders))


def _device(path: bytes) -> int | None:
    try:
        return os.stat(path).st_dev
    except OSError:
        return None


def _keys(folders: tuple[bytes, ...]) -> set[tuple[int, int]]:
    keys = set()
    for folder in folders:
        with contextlib.suppress(OSError):  # a data folder not made yet: nothing to avoid
            st = os.stat(folder)
            keys.add((st.st_dev, st.st_ino))
    return keys


def _classify(entry: os.DirEntry[bytes]) -> Entry | None | Literal[False]:
    """None for a folder to descend into, False to ignore, else the Entry."""
    try:
        st = entry.stat(follow_symlinks=True)
    except FileNotFoundError:
        if entry.is_symlink():
            return Entry(entry.path, -1, -1, BROKEN_LINK)
        return False  # vanished since the listing
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # links that lead to each other: never a file
            return Entry(entry.path, -1, -1, "symbolic link loop")
        return Entry(entry.path, -1, -1, f"cannot read file information: {_reason(exc)}",
                     transient=True)
    if stat.S_ISDIR(st.st_mode):
        return None
    if not stat.S_ISREG(st.st_mode):
        return Entry(entry.path, -1, -1, "not a regular file (device, pipe or socket)")
    return Entry(entry.path, st.st_size, st.st_mtime_ns)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
