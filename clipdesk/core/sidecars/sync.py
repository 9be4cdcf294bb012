"""Sidecars: a photo's tags, caption, reject and people's names written to its XMP
sidecars (xmp.py holds the format, regions.py the face regions), and the keywords and face
names other tools wrote there read back as a person's.

What a person decided is written; what a model guessed only when asked (include_auto),
marked as automatic in the sidecar. Read back: keywords become manual tags (a removal
made in clipdesk stands) except those marked automatic; an automatic one a person took
out in another tool is removed here too; a caption becomes the photo's caption unless a
person wrote one in clipdesk, and Rating -1 a reject. A person's keywords taken out in
another tool are not taken off in clipdesk: a manual tag does not remember whether it
came from a sidecar. A sidecar that is a symlink, a FIFO or read-only is left alone and
said (SidecarSummary.left_alone; when reading, a symlink is a problem of that file).
"""
from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.organize.tags import tag_name
from clipdesk.core.sidecars import files as sidecar_files
from clipdesk.core.sidecars import regions, xmp
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.types import FileStatus, Problem, SidecarSummary

log = logging.getLogger(__name__)

MANUAL = "manual"  # catalog: a person's tag or caption
# before the text read in a photo in a sidecar's description (only when a person asks:
# include_text); reading a sidecar back, the description up to it is the caption
TEXT_LABEL = "Text in photo:"


class Sidecars:
    def __init__(self, catalog: Catalog, home: Path | None = None) -> None:
        self.catalog = catalog
        self.home = home  # where a run that writes sidecars leaves its marker

    # -- writing ----------------------------------------------------------------------

    def write(self, photo_ids: Iterable[int] | None = None,
              include_auto: bool = False, include_text: bool = False) -> SidecarSummary:
        """Merge each photo's tags, caption and reject into the sidecar of each of its
        files (all photos when None); the text read in it too with `include_text`. A
        sidecar that cannot be read or written is listed in the summary; the others are
        written."""
        self.clean_after_killed_runs()
        with sidecar_files.running(self.home):
            return self._write(photo_ids, include_auto, include_text)

    def _write(self, photo_ids: Iterable[int] | None, include_auto: bool,
               include_text: bool) -> SidecarSummary:
        rejected = self.catalog.groups.rejected()
        written = unchanged = 0
        failed: list[Problem] = []
        left_alone: list[Problem] = []
        cleaned: set[bytes] = set()
        for photo_id, paths in self.catalog.files.indexed(photo_ids).items():
            tags, removed, auto = self._tags(photo_id, include_auto)
            text, by = self.catalog.captions.get(photo_id)
            caption = text if by == MANUAL or include_auto else None
            faces, size = self.catalog.faces.named_in(photo_id)
            if include_text:
                caption = _with_text(caption, self.catalog.texts.get(photo_id)[0])
            for path in paths:
                folder = os.path.dirname(path)
                if folder not in cleaned:  # what a killed run left in a folder we write to
                    cleaned.add(folder)
                    sidecar_files.clean_folder(folder)
                try:
                    changed = xmp.write(path, tags, removed, caption, photo_id in rejected,
                                        auto, faces, size)
                except xmp.LeftAlone as exc:
                    left_alone.append(Problem(xmp.sidecar_path(path), FileStatus.ERROR,
                                              str(exc)))
                    continue
                except xmp.SidecarError as exc:
                    failed.append(Problem(xmp.sidecar_path(path), FileStatus.ERROR, str(exc)))
                    continue
                written += changed
                unchanged += not changed
        return SidecarSummary(written, unchanged, tuple(failed), tuple(left_alone))

    def clean_after_killed_runs(self) -> int:
        """The temp files a killed run left beside the photos (index and xmp runs call
        this; it lists the folders only when a run was killed)."""
        def folders() -> set[bytes]:
            return {os.path.dirname(p) for paths in self.catalog.files.indexed().values()
                    for p in paths}
        return sidecar_files.clean_after_killed_runs(self.home, folders)

    def _tags(self, photo_id: int, include_auto: bool
              ) -> tuple[list[str], list[str], list[str]]:
        """(tags to write, tags a person took off, those of the first that are automatic).
        Sensitive flags are never written."""
        tags, removed, auto = [], [], []
        for tag, source in self.catalog.tags.rows(photo_id):
            if ":" in tag:
                continue
            if source == "removed":
                removed.append(tag)
            elif source == MANUAL or include_auto:
                tags.append(tag)
                if source != MANUAL:
                    auto.append(tag)
        return tags, removed, auto

    # -- reading ----------------------------------------------------------------------

    def read(self, paths: Iterable[bytes]) -> SidecarSummary:
        """Take in the sidecars of these new or changed files: each file that is a
        sidecar, and the sidecar beside each file that is a photo."""
        pairs: dict[bytes, bytes] = {}  # sidecar -> photo file
        for path in paths:
            photo = xmp.photo_of(path)
            if photo is not None:
                pairs[path] = photo
            elif os.path.lexists(xmp.sidecar_path(path)):  # a link or FIFO: said below
                pairs[xmp.sidecar_path(path)] = path
        changed = unchanged = 0
        failed: list[Problem] = []
        left_alone: list[Problem] = []
        rejected = self.catalog.groups.rejected() if pairs else set()
        for sidecar, photo in sorted(pairs.items()):
            photo_id, status = self.catalog.files.photo_for(photo)
            if photo_id is None or status != FileStatus.INDEXED:
                continue  # the sidecar of a file that is not a photo in the library
            try:
                found = xmp.read(sidecar)
            except xmp.LeftAlone as exc:  # a problem of its own (below), or the scanner's
                log.info("%s", exc)
                left_alone.append(Problem(sidecar, FileStatus.ERROR, str(exc)))
                continue
            except xmp.SidecarError as exc:
                log.warning("%s", exc)
                failed.append(Problem(sidecar, FileStatus.ERROR, str(exc)))
                continue
            if self._take(photo_id, found, photo_id in rejected):
                changed += 1
            else:
                unchanged += 1
        # a sidecar that would not parse is logged, as before
        return SidecarSummary(changed, unchanged, tuple(failed), self._record(left_alone))

    def _record(self, problems: list[Problem]) -> tuple[Problem, ...]:
        """Sidecars left alone (a symlink) show among the library's problems, until the
        file changes, as a damaged photo does: its keywords were not taken in. Returns
        those recorded (a pipe or a dangling link is the scanner's already)."""
        recorded: list[Problem] = []
        if not problems:
            return ()
        with self.catalog.transaction() as db:
            for problem in problems:
                try:  # the scanner's view: a link's target (a pipe or a dangling link
                    st = os.stat(problem.path)  # is the scanner's problem already)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                self.catalog.files.put(db, problem.path, st.st_size, st.st_mtime_ns,
                                      FileStatus.ERROR, reason=problem.reason)
                recorded.append(problem)
        return tuple(recorded)

    def _take(self, photo_id: int, found: xmp.Sidecar, rejected: bool) -> bool:
        auto = {k.casefold() for k in found.auto}
        names = _tag_names(k for k in found.keywords if k.casefold() not in auto)
        changed = self.catalog.tags.add_person([(photo_id, n) for n in names]) > 0
        sources = dict(self.catalog.tags.rows(photo_id))
        for name in _tag_names(found.auto_removed):  # clipdesk's guess, taken out elsewhere
            if sources.get(name) in (None, "auto"):
                self.catalog.tags.set(photo_id, name, on=False)
                changed = True
        text, by = self.catalog.captions.get(photo_id)
        caption = " ".join((found.caption or "").split(TEXT_LABEL)[0].split())
        if caption and by != MANUAL and caption != text:
            self.catalog.captions.set(photo_id, caption, MANUAL)
            changed = True
        changed = take_names(self.catalog, photo_id, found.faces) or changed
        if found.rating == -1 and not rejected:
            self.catalog.groups.set_rejected([photo_id], True)
            changed = True
        return changed


def take_names(catalog: Catalog, photo_id: int,
               named: Iterable[tuple[str, regions.Box]]) -> bool:
    """Names another tool gave faces in a photo (its sidecar's face regions): each face a
    region covers joins the person of that name, unless a person placed it already in
    clipdesk; whether any face moved. Faces not found yet take them when they are."""
    faces = [(f[0], f[1]) for f in catalog.faces.of_photo(photo_id)]
    changed = False
    for name, region in named:
        face = next((i for i, box in faces
                     if regions.covers(box, region) or regions.covers(region, box)), None)
        if face is not None:
            changed = catalog.faces.name_face(face, name) or changed
            faces = [f for f in faces if f[0] != face]
    return changed


def read_names(catalog: Catalog, photo_id: int) -> bool:
    """take_names() from the sidecars of each of a photo's files (the faces pass calls it
    once a photo's faces are found); a sidecar that cannot be read is passed over (the
    index run said so)."""
    changed = False
    for paths in catalog.files.indexed([photo_id]).values():
        for path in paths:
            if not os.path.lexists(xmp.sidecar_path(path)):
                continue
            try:
                found = xmp.read(xmp.sidecar_path(path))
            except xmp.SidecarError as exc:
                log.info("%s", exc)
                continue
            changed = take_names(catalog, photo_id, found.faces) or changed
    return changed


def _with_text(caption: str | None, read: str | None) -> str | None:
    """A description: the caption, then the text read in the photo after TEXT_LABEL."""
    if not read:
        return caption
    said = f"{TEXT_LABEL} {' / '.join(read.splitlines())}"
    return f"{caption}\n{said}" if caption else said


def _tag_names(keywords: Iterable[str]) -> list[str]:
    names = []
    for keyword in keywords:
        try:
            names.append(tag_name(keyword))
        except ClipdeskError:
            log.info("keyword %r is not a tag name here; left out", keyword)
    return names
