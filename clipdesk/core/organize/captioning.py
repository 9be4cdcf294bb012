"""Captions: stored ones, a person's own, and new ones written by a CoCa model (the model
code itself is models/captions.py); the front ends reach it as `library.captions`."""
from __future__ import annotations

import logging
import time

from clipdesk.core.errors import ClipdeskError, ModelLoadError
from clipdesk.core.models import captions
from clipdesk.core.models.loading import load_model
from clipdesk.core.models.spec import parse_spec
from clipdesk.core.photos import PathArg, Photos, absolute, decode_file
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.store.edits import Edits
from clipdesk.core.store.settings import Settings
from clipdesk.core.types import Phase, Progress, ProgressJob

log = logging.getLogger(__name__)

MANUAL = "manual"  # the writer of a person's caption


class Captioning:
    def __init__(self, catalog: Catalog, settings: Settings, photos: Photos,
                 edits: Edits) -> None:
        self.catalog, self.settings, self.photos, self.edits = catalog, settings, photos, edits

    @property
    def captioner_id(self) -> str:
        return self.settings.caption_model or captions.DEFAULT_CAPTIONER

    def choose_captioner(self, spec: str) -> None:
        """Write new captions with `spec` (a CoCa model); existing ones are kept."""
        self.settings.caption_model = parse_spec(spec).id

    def of(self, photo_id: int) -> tuple[str | None, str | None]:
        """The stored caption and who wrote it (a model id or "manual"), without writing."""
        return self.catalog.captions.get(photo_id)

    def get(self, photo_id: int, write: bool = True) -> str | None:
        """The photo's caption; when it has none and `write`, one is written and stored
        (about a second on a CPU; the caption model loads on first use)."""
        text, _ = self.catalog.captions.get(photo_id)
        if text is None and write:
            text, by = self.draft(photo_id)
            self.catalog.captions.set(photo_id, text, by)
        return text

    def draft(self, photo_id: int) -> tuple[str, str]:
        """A caption the model writes for the photo, and the model's id; not stored (the
        app writes it on a reader, then stores it on its writer)."""
        loaded = load_model(self.captioner_id)
        photo = self.photos.preview(photo_id, loaded.image_size)
        return captions.write_caption(loaded, photo), loaded.spec.id

    def of_file(self, path: PathArg) -> str | None:
        """The caption of any image file: the stored one for a library photo."""
        photo_id = self.photos.find(path)
        if photo_id is not None:
            return self.get(photo_id)
        loaded = load_model(self.captioner_id)
        return captions.write_caption(loaded, decode_file(absolute(path), loaded.image_size))

    def set(self, photo_id: int, text: str) -> None:
        """A person's caption (an edit): kept for good (an empty one lets the model write
        again)."""
        with self.edits.editing([photo_id]):
            text = " ".join(text.split())
            self.catalog.captions.set(photo_id, text or None, MANUAL)

    def store(self, photo_id: int, text: str, by: str) -> str:
        """Store a model's caption unless a person's (or any) caption is there already;
        returns the caption now stored."""
        current, _ = self.catalog.captions.get(photo_id)
        if current is None:
            self.catalog.captions.set(photo_id, text, by)
        return current or text

    def count_missing(self) -> int:
        return len(self.catalog.captions.missing())

    def write_all(self) -> ProgressJob:
        """Caption every photo that has none, newest first (a low-priority pass). A photo
        that cannot be read is left for the next pass."""
        ids = self.catalog.captions.missing()
        started = time.monotonic()
        for done, photo_id in enumerate(ids, 1):
            try:
                self.get(photo_id)
            except ModelLoadError:
                raise
            except ClipdeskError as exc:
                log.warning("no caption for photo %d: %s", photo_id, exc)
            rate = done / max(time.monotonic() - started, 1e-6)
            yield Progress(Phase.CAPTION, done=done, total=len(ids), rate=rate,
                           eta=(len(ids) - done) / rate)
