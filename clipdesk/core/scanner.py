"""Walks the photo folders. Paths are bytes end to end so every file name round-trips."""
from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """A file found on disk; `problem` is set for entries that can never be photos."""

    path: bytes
    size: int
    mtime_ns: int
    problem: str | None = None


def walk(root: bytes, exclude: tuple[bytes, ...] = ()) -> Iterator[Entry]:
    """Every non-hidden file below `root`, following folder symlinks without looping."""
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
        except OSError as exc:
            log.warning("cannot read folder %r: %s", folder, exc)
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:  # a symlink loop, or two links to one folder
            continue
        seen.add(key)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            log.warning("cannot list folder %r: %s", folder, exc)
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith(b"."):
                continue
            if entry.path in exclude:
                continue
            found = _classify(entry)
            if found is None:
                subfolders.append(entry.path)
            elif found is not False:
                yield found
        stack.extend(reversed(subfolders))


def _classify(entry: os.DirEntry) -> Entry | None | bool:
    """None for a folder to descend into, False to ignore, else the Entry."""
    try:
        st = entry.stat(follow_symlinks=True)
    except FileNotFoundError:
        if entry.is_symlink():
            return Entry(entry.path, -1, -1, "broken symbolic link")
        return False  # vanished since the listing
    except OSError as exc:
        return Entry(entry.path, -1, -1, f"cannot read file information: {exc.strerror}")
    if stat.S_ISDIR(st.st_mode):
        return None
    if not stat.S_ISREG(st.st_mode):
        return Entry(entry.path, -1, -1, "not a regular file (device, pipe or socket)")
    return Entry(entry.path, st.st_size, st.st_mtime_ns)


def is_under(path: bytes, folder: bytes) -> bool:
    folder = folder.rstrip(b"/")
    return path == folder or path.startswith(folder + b"/")
