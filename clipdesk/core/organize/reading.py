"""Text in photos: which photos are worth reading (a zero-shot check on their stored CLIP
vectors), reading them with OCR (models/ocr.py, about half a second to 3 s a photo on 2
cores) and the text kept; the front ends reach it as `library.text`.

Reading every photo would cost hours on a large library, so the pass reads only photos
the check says hold text, once each: a photo read with no text is recorded as read. A
person can ask for any photo (`read(ids)`), or again (`again=True`).
"""
from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from clipdesk.core.models import ocr
from clipdesk.core.organize.per_photo import guarded
from clipdesk.core.photos import Photos
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.store.vectors import VectorStore
from clipdesk.core.types import Phase, Problem, Progress, ProgressJob

# The check: a photo's vector against prompts for things that carry text and for common
# scenes without; it is read when the text prompts take at least TEXT_SHARE of a softmax at
# CLIP's logit scale. Relative to the same photo's scene prompts, so the rule holds across
# models whose cosines sit at different levels.
TEXT_PROMPTS = (
    "a photo of a sign with text", "a screenshot", "a photo of a document",
    "a page of text", "a poster with words", "a photo of a shop sign",
    "a cake with writing on it", "a sports jersey with a name and number",
    "a banner with words", "a label with text", "a whiteboard with writing",
    "a book cover", "a receipt", "a slide with text", "a street name sign",
)
SCENE_PROMPTS = (
    "a photo", "a landscape", "a photo of people", "a portrait of a person",
    "a photo of an animal", "a photo of food", "a photo of a building", "a beach",
    "a city street", "a photo of a room", "a photo of a car", "a photo of flowers",
    "a photo of the sky", "a photo of a forest", "a group of friends",
)
TEXT_SHARE = 0.5
LOGIT_SCALE = 100.0


class Reading:
    def __init__(self, catalog: Catalog, store: VectorStore, photos: Photos) -> None:
        self.catalog, self.store, self.photos = catalog, store, photos

    def of(self, photo_id: int) -> str | None:
        """The text read in the photo (None: none found, or not read yet)."""
        return self.catalog.texts.get(photo_id)[0]

    def was_read(self, photo_id: int) -> bool:
        return self.catalog.texts.get(photo_id)[1] is not None

    def unread(self) -> list[int]:
        """Every photo never read, newest first."""
        return self.catalog.texts.unread()

    def counts(self) -> tuple[int, int]:
        """(photos read, of them holding text)."""
        return self.catalog.texts.count_read()

    def likely_text(self, photo_ids: Sequence[int] | None = None) -> list[int]:
        """Those photos (or all) that the check says hold text, in the order given."""
        model_id, _ = self.store.answering()
        ids, vectors = self.catalog.embeddings.vectors(
            model_id, None if photo_ids is None else list(photo_ids))
        if not len(ids):
            return []
        prompts = self.store.embedder(model_id).encode_texts(TEXT_PROMPTS + SCENE_PROMPTS)
        share = text_share(vectors, np.asarray(prompts, np.float32))
        chosen = {int(i) for i, s in zip(ids.tolist(), share.tolist(), strict=True)
                  if s >= TEXT_SHARE}
        order = list(photo_ids) if photo_ids is not None else ids.tolist()
        return [i for i in order if i in chosen]

    def pending(self) -> list[int]:
        """Photos never read that the check says hold text, newest first: the pass's work."""
        unread = self.catalog.texts.unread()
        return self.likely_text(unread) if unread else []

    def read(self, photo_ids: Sequence[int] | None = None, again: bool = False) -> ProgressJob:
        """Read the text in these photos (None: `pending()`); photos read before only
        `again`. A step per photo; a photo that cannot be read is a step's `problem` (it
        stays unread) and the job goes on. Closing the job stops it after the photo in hand."""
        if photo_ids is None:
            ids = self.pending()
        else:
            ids = list(dict.fromkeys(photo_ids))
            if not again:
                ids = self.catalog.texts.unread(ids)
        if ids:
            ocr.warm_up()  # a missing reader is one ModelLoadError, before any photo
        started = time.monotonic()
        for done, photo_id in enumerate(ids, 1):
            problem = self.read_one(photo_id)
            rate = done / max(time.monotonic() - started, 1e-6)
            yield Progress(Phase.READ_TEXT, done=done, total=len(ids), rate=rate,
                           eta=(len(ids) - done) / rate, problem=problem)

    def read_one(self, photo_id: int) -> Problem | None:
        """Read and store one photo's text; the problem when its file cannot be read."""
        info = self.photos.info(photo_id)
        if info is None:
            return None  # gone from the library meanwhile
        text = guarded(info.path, "read its text", lambda: ocr.read_text(
            self.photos.preview(photo_id, ocr.READ_SIDE)))
        if isinstance(text, Problem):
            return text
        self.catalog.texts.set(photo_id, text or None, ocr.READER_ID)
        return None


def text_share(vectors: np.ndarray, prompts: np.ndarray) -> np.ndarray:
    """For each photo vector (rows, unit length), the softmax share of the text prompts
    (the first len(TEXT_PROMPTS) rows of `prompts`) among all prompts."""
    logits = LOGIT_SCALE * (vectors @ prompts.T)
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    share: np.ndarray = weights[:, :len(TEXT_PROMPTS)].sum(axis=1) / weights.sum(axis=1)
    return share
