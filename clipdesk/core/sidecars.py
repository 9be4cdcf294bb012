"""Sidecars: a photo's tags, caption and reject written to its XMP sidecars (xmp.py holds
the format), and the keywords other tools wrote there read back as a person's tags.

What a person decided is written; what a model guessed only when asked (include_auto).
Read back: keywords become manual tags (a removal made in clipdesk stands), a caption
becomes the photo's caption unless a person wrote one in clipdesk, and Rating -1 a reject.
Keywords taken out in another tool are not taken off in clipdesk: a manual tag does not
remember whether it came from a sidecar.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable

from clipdesk.core import xmp
from clipdesk.core.catalog import Catalog
from clipdesk.core.errors import ClipdeskError
from clipdesk.core.tags_service import tag_name
from clipdesk.core.types import FileStatus, Problem, SidecarSummary

log = logging.getLogger(__name__)

MANUAL = "manual"  # catalog: a person's tag or caption


class Sidecars:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    # -- writing ----------------------------------------------------------------------

    def write(self, photo_ids: Iterable[int] | None = None,
              include_auto: bool = False) -> SidecarSummary:
        """Merge each photo's tags, caption and reject into the sidecar of each of its
        files (all photos when None). A sidecar that cannot be read or written is listed
        in the summary; the others are written."""
        rejected = self.catalog.rejected_ids()
        written = unchanged = 0
        failed: list[Problem] = []
        for photo_id, paths in self.catalog.indexed_paths(photo_ids).items():
            tags, removed = self._tags(photo_id, include_auto)
            text, by = self.catalog.caption(photo_id)
            caption = text if by == MANUAL or include_auto else None
            for path in paths:
                try:
                    changed = xmp.write(path, tags, removed, caption, photo_id in rejected)
                except xmp.SidecarError as exc:
                    failed.append(Problem(xmp.sidecar_path(path), FileStatus.ERROR, str(exc)))
                    continue
                written += changed
                unchanged += not changed
        return SidecarSummary(written, unchanged, tuple(failed))

    def _tags(self, photo_id: int, include_auto: bool) -> tuple[list[str], list[str]]:
        """(tags to write, tags a person took off). Sensitive flags are never written."""
        tags, removed = [], []
        for tag, source in self.catalog.tag_rows(photo_id):
            if ":" in tag:
                continue
            if source == "removed":
                removed.append(tag)
            elif source == MANUAL or include_auto:
                tags.append(tag)
        return tags, removed

    # -- reading ----------------------------------------------------------------------

    def read(self, paths: Iterable[bytes]) -> SidecarSummary:
        """Take in the sidecars of these new or changed files: each file that is a
        sidecar, and the sidecar beside each file that is a photo."""
        pairs: dict[bytes, bytes] = {}  # sidecar -> photo file
        for path in paths:
            photo = xmp.photo_of(path)
            if photo is not None:
                pairs[path] = photo
            elif os.path.isfile(xmp.sidecar_path(path)):
                pairs[xmp.sidecar_path(path)] = path
        changed = unchanged = 0
        failed: list[Problem] = []
        rejected = self.catalog.rejected_ids() if pairs else set()
        for sidecar, photo in sorted(pairs.items()):
            photo_id, status = self.catalog.photo_for_path(photo)
            if photo_id is None or status != FileStatus.INDEXED:
                continue  # the sidecar of a file that is not a photo in the library
            try:
                found = xmp.read(sidecar)
            except xmp.SidecarError as exc:
                log.warning("%s", exc)
                failed.append(Problem(sidecar, FileStatus.ERROR, str(exc)))
                continue
            if self._take(photo_id, found, photo_id in rejected):
                changed += 1
            else:
                unchanged += 1
        return SidecarSummary(changed, unchanged, tuple(failed))

    def _take(self, photo_id: int, found: xmp.Sidecar, rejected: bool) -> bool:
        names = []
        for keyword in found.keywords:
            try:
                names.append(tag_name(keyword))
            except ClipdeskError:
                log.info("keyword %r is not a tag name here; left out", keyword)
        changed = self.catalog.add_person_tags([(photo_id, n) for n in names]) > 0
        text, by = self.catalog.caption(photo_id)
        caption = " ".join((found.caption or "").split())
        if caption and by != MANUAL and caption != text:
            self.catalog.set_caption(photo_id, caption, MANUAL)
            changed = True
        if found.rating == -1 and not rejected:
            self.catalog.set_rejected([photo_id], True)
            changed = True
        return changed
