"""The library's settings, kept in the catalog's meta table (so they travel with the
library and its backups): one typed accessor per key, the key names in one place.
View preferences (sort, thumbnail size, window layout) are the app's, in QSettings."""
from __future__ import annotations

import json
import os
from enum import StrEnum

from clipdesk.core.models import nsfw
from clipdesk.core.organize import tagging
from clipdesk.core.store.catalog import Catalog

MODEL = "model"                  # the model whose vectors answer queries
TARGET_MODEL = "target_model"    # a model being switched to (re-embedding under way)
TAGS_VERSION = "tags_version"    # fingerprint of model + vocabulary the auto tags came from
TAG_CUTS = "tag_cuts"            # tagging.Cuts (JSON): each tag's cut, for photos added later
CAPTION_MODEL = "caption_model"  # the CoCa model that writes new captions
CAPTIONS = "captions"            # CaptionsMode
GROUPED_VERSION = "grouped_version"  # model + rules the burst / duplicate groups came from
GROUPED_UNTIL = "grouped_until"  # the newest photo id looked at for groups
KEEP_SIDECARS = "keep_sidecars"  # "1": a person's edits are written to XMP sidecars at once
NSFW_THRESHOLD = "nsfw_threshold"  # open_nsfw score that flags a photo, or "off"
FACES = "faces"  # "1": faces are found and grouped into people (off: none kept)
MOUNTS = "mounts"  # JSON: the mount points below the roots (scanner.Reached.mounts)
ENCODED_ON = "encoded_on"  # where and how the last index run encoded photos (Embedder.precision)


class CaptionsMode(StrEnum):
    """When the app writes captions (the stored value is the string)."""

    SELECTED = "selected"  # the photo a person looks at
    ALL = "all"            # a background pass over the library
    OFF = "off"
    AUTO = "auto"          # all on a GPU, selected on a CPU


class Settings:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    @property
    def model(self) -> str | None:
        return self.catalog.meta.get(MODEL)

    @model.setter
    def model(self, model_id: str | None) -> None:
        self.catalog.meta.set(MODEL, model_id)

    @property
    def target_model(self) -> str | None:
        return self.catalog.meta.get(TARGET_MODEL)

    @target_model.setter
    def target_model(self, model_id: str | None) -> None:
        self.catalog.meta.set(TARGET_MODEL, model_id)

    @property
    def tags_version(self) -> str | None:
        return self.catalog.meta.get(TAGS_VERSION)

    @tags_version.setter
    def tags_version(self, version: str) -> None:
        self.catalog.meta.set(TAGS_VERSION, version)

    @property
    def tag_cuts(self) -> tagging.Cuts | None:
        stored = self.catalog.meta.get(TAG_CUTS)
        return tagging.Cuts.from_json(stored) if stored else None

    @tag_cuts.setter
    def tag_cuts(self, cuts: tagging.Cuts) -> None:
        self.catalog.meta.set(TAG_CUTS, cuts.to_json())

    @property
    def caption_model(self) -> str | None:
        return self.catalog.meta.get(CAPTION_MODEL)

    @caption_model.setter
    def caption_model(self, model_id: str) -> None:
        self.catalog.meta.set(CAPTION_MODEL, model_id)

    @property
    def captions(self) -> CaptionsMode:
        stored = self.catalog.meta.get(CAPTIONS)
        try:
            return CaptionsMode(stored or CaptionsMode.AUTO)
        except ValueError:  # written by a newer version: the safe default
            return CaptionsMode.AUTO

    @captions.setter
    def captions(self, mode: str) -> None:
        self.catalog.meta.set(CAPTIONS, CaptionsMode(mode).value)

    @property
    def grouped_version(self) -> str | None:
        return self.catalog.meta.get(GROUPED_VERSION)

    @property
    def grouped_until(self) -> int:
        return int(self.catalog.meta.get(GROUPED_UNTIL) or 0)

    def set_grouped(self, version: str, until: int) -> None:
        self.catalog.meta.set(GROUPED_VERSION, version)
        self.catalog.meta.set(GROUPED_UNTIL, str(until))

    @property
    def keep_sidecars(self) -> bool:
        return self.catalog.meta.get(KEEP_SIDECARS) == "1"

    @keep_sidecars.setter
    def keep_sidecars(self, on: bool) -> None:
        self.catalog.meta.set(KEEP_SIDECARS, "1" if on else "0")

    @property
    def nsfw_threshold(self) -> float | None:
        """The open_nsfw score (0..1) at or over which a photo is flagged sensitive; None:
        that signal is off (the CLIP prompts still flag). Default nsfw.DEFAULT_THRESHOLD."""
        stored = self.catalog.meta.get(NSFW_THRESHOLD)
        if stored == "off":
            return None
        try:
            value = float(stored) if stored else nsfw.DEFAULT_THRESHOLD
        except ValueError:  # written by a newer version: the default
            return nsfw.DEFAULT_THRESHOLD
        return value if 0.0 < value <= 1.0 else nsfw.DEFAULT_THRESHOLD

    @nsfw_threshold.setter
    def nsfw_threshold(self, value: float | None) -> None:
        if value is not None and not 0.0 < value <= 1.0:
            raise ValueError(f"the nsfw threshold is a score in (0, 1], not {value}")
        self.catalog.meta.set(NSFW_THRESHOLD, "off" if value is None else repr(float(value)))

    @property
    def encoded_on(self) -> str | None:
        return self.catalog.meta.get(ENCODED_ON)

    @encoded_on.setter
    def encoded_on(self, described: str) -> None:
        self.catalog.meta.set(ENCODED_ON, described)

    @property
    def faces(self) -> bool:
        return self.catalog.meta.get(FACES) == "1"

    @faces.setter
    def faces(self, on: bool) -> None:
        self.catalog.meta.set(FACES, "1" if on else "0")

    @property
    def mounts(self) -> frozenset[bytes]:
        """The folders below the roots (and the roots) that were mount points: empty and
        unmounted, such a folder is a drive not there, not a folder emptied."""
        stored = self.catalog.meta.get(MOUNTS)
        return frozenset(map(os.fsencode, json.loads(stored))) if stored else frozenset()

    @mounts.setter
    def mounts(self, folders: frozenset[bytes]) -> None:
        self.catalog.meta.set(MOUNTS, json.dumps(sorted(map(os.fsdecode, folders))))
