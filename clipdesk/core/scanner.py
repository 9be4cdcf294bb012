"""Walks the photo folders. Paths are bytes end to end so every file name round-trips."""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal


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


def walk(root: bytes, exclude: tuple[bytes, ...] = ()) -> Iterator[Entry]:
    """Every non-hidden file below `root`, following folder symlinks without looping."""
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            key = (st.st_dev, st.st_ino)
            if key in seen:  # a symlink loop, or two links to one folder
                continue
            seen.add(key)
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Entry(folder, -1, -1, f"cannot open folder: {_reason(exc)}",
                        transient=True, folder=True)
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


def _classify(entry: os.DirEntry[bytes]) -> Entry | None | Literal[False]:
    """None for a folder to descend into, False to ignore, else the Entry."""
    try:
        st = entry.stat(follow_symlinks=True)
    except FileNotFoundError:
        if entry.is_symlink():
            return Entry(entry.path, -1, -1, "broken symbolic link")
        return False  # vanished since the listing
    except OSError as exc:
        return Entry(entry.path, -1, -1, f"cannot read file information: {_reason(exc)}",
                     transient=True)
    if stat.S_ISDIR(st.st_mode):
        return None
    if not stat.S_ISREG(st.st_mode):
        return Entry(entry.path, -1, -1, "not a regular file (device, pipe or socket)")
    return Entry(entry.path, st.st_size, st.st_mtime_ns)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def is_under(path: bytes, folder: bytes) -> bool:
    folder = folder.rstrip(b"/")
    return path == folder or path.startswith(folder + b"/")
