"""Where the walk over the photo folders may go through a folder link, and where a photo
folder may be at all. People link other photo folders into their library and that link
is followed; a link to `/`, to a folder holding a photo folder, to clipdesk's own data
folder or to a system folder would index the whole disk or clipdesk's own thumbnails
(each run adding the last one's), so it is not. Paths are real paths (symlinks
resolved), bytes, as everywhere in the scanner."""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

# never photos, and endless (/proc/self/root is `/` again, /sys loops through devices)
SYSTEM_FOLDERS = (b"/proc", b"/sys", b"/dev")


def is_under(path: bytes, folder: bytes) -> bool:
    """`path` is `folder` or below it (whole names: /photos-old is not under /photos)."""
    folder = folder.rstrip(b"/")
    return path == folder or path.startswith(folder + b"/")


def real(path: bytes) -> bytes:
    return os.path.realpath(path)


@dataclass(frozen=True)
class Fence:
    """The real paths of the photo folders (roots) and of the folders a walk never
    enters: the data folder (when there is one) and the system folders."""

    roots: tuple[bytes, ...]
    keep_out: tuple[bytes, ...] = SYSTEM_FOLDERS
    mounts: frozenset[bytes] = frozenset()  # mount points seen before (paths as walked)

    @classmethod
    def around(cls, roots: Iterable[bytes], home: bytes | None = None,
               mounts: frozenset[bytes] = frozenset()) -> Fence:
        data = () if home is None else (real(home),)
        return cls(tuple(real(r) for r in roots), data + SYSTEM_FOLDERS, mounts)

    def refuses_root(self, root: bytes) -> str | None:
        """Why `root` cannot be a photo folder, or None."""
        target = real(root)
        if any(is_under(target, system) for system in SYSTEM_FOLDERS):
            return "it is a system folder"
        if any(is_under(target, k) for k in self.keep_out):
            return "it is clipdesk's own data folder (or inside it)"
        return None

    def refuses_link(self, link: bytes, target: bytes, followed: Iterable[bytes]) -> str | None:
        """Why the folder link `link`, which leads to the real folder `target`, is not
        followed, or None. `followed`: the targets of the links this walk followed."""
        if any(is_under(target, k) for k in self.keep_out):
            return "it leads into clipdesk's data folder or a system folder"
        if any(is_under(r, target) for r in self.roots):
            return "it leads to a folder that holds a photo folder"
        if any(is_under(target, r) for r in self.roots):
            return "it leads inside a photo folder, indexed there"
        if is_under(real(os.path.dirname(link)), target):
            return "it leads back to a folder that holds it (a loop)"
        if any(is_under(target, f) for f in followed):
            return "it leads to a folder already indexed through another link"
        return None
