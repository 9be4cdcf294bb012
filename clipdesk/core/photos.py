"""Photo lookups: path -> id, the ordered id lists the views show, details, paths,
sharpness, previews and thumbnails (the front ends reach them as `library.photos`), and the
one read + decode + error wording for a single image file."""
from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from clipdesk.core.errors import ClipdeskError, DecodeError
from clipdesk.core.indexing.scanner import is_under
from clipdesk.core.media import formats, imaging, video
from clipdesk.core.paths import thumbnail_path
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.types import Hit, Month, PhotoInfo, Place, Sort


def decode_file(path: bytes, side: int) -> Image.Image:
    """An upright RGB image at least `side` px on its short side, or a ClipdeskError
    that says what is wrong with the file."""
    name = os.fsdecode(path)
    try:
        if formats.is_video(formats.photo_name(path) or ""):
            return video.poster(path, side)  # a video: its poster frame
        data, _ = imaging.read_file(path)
        return imaging.decode(data, side, path).image
    except FileNotFoundError:
        raise ClipdeskError(f"{name}: no such file") from None
    except OSError as exc:
        raise ClipdeskError(f"{name}: cannot read file: {exc.strerror or exc}") from None
    except DecodeError as exc:
        raise ClipdeskError(f"{name}: {exc.reason}") from None


PathArg = str | bytes | os.PathLike[str] | os.PathLike[bytes]  # any path a caller has


def absolute(path: PathArg) -> bytes:
    """A path as the catalog stores it (bytes, absolute; any name the OS allows)."""
    return os.path.abspath(os.fsencode(path))


class Photos:
    def __init__(self, home: Path, catalog: Catalog) -> None:
        self.home, self.catalog = home, catalog

    def find(self, path: PathArg) -> int | None:
        """The library photo at `path`, or None."""
        return self.catalog.files.photo_for(absolute(path))[0]

    def id_of(self, path: PathArg) -> int:
        photo_id = self.find(path)
        if photo_id is None:
            raise ClipdeskError(f"{os.fsdecode(absolute(path))} is not in the library")
        return photo_id

    def ids_at(self, paths: Iterable[PathArg]) -> list[int]:
        """The photos at these paths: a file's photo, or every photo with a file below a
        folder (ClipdeskError for a file or folder that holds none)."""
        ids: dict[int, None] = {}
        every: dict[int, list[bytes]] | None = None
        for path in paths:
            where = absolute(path)
            if not os.path.isdir(where):
                ids[self.id_of(where)] = None
                continue
            every = self.catalog.files.indexed() if every is None else every
            below = [pid for pid, files in every.items()
                     if any(is_under(f, where) for f in files)]
            if not below:
                raise ClipdeskError(f"no library photos in {os.fsdecode(where)}")
            ids.update(dict.fromkeys(below))
        return list(ids)

    def ids(self, tags: list[str] | None = None, sort: str = Sort.DATE) -> list[int]:
        """Every photo (or those with all `tags`), newest first by date taken (or
        sharpest first: Sort.SHARPNESS)."""
        ids = (self.catalog.quality.sharpest_first() if Sort(sort) is Sort.SHARPNESS
               else self.catalog.photos.newest_first())
        if tags:
            allowed = self.catalog.tags.photos_with(tags)
            ids = [i for i in ids if i in allowed]
        return ids

    def info(self, photo_id: int) -> PhotoInfo | None:
        return self.catalog.photos.info(photo_id)

    def timeline(self) -> list[Month]:
        """(year, month, photos) of every month with photos, newest first (by the local
        clock time they were taken; a photo with no date in it by its file's time)."""
        return self.catalog.places.timeline()

    def places(self) -> list[Place]:
        """(country, region, city, photos) of every place with photos (EXIF GPS named
        offline), by country, then city."""
        return self.catalog.places.places()

    def place_names(self) -> set[str]:
        """Every country, region and city name of the library (for the query language)."""
        return self.catalog.places.names()

    def preview(self, photo_id: int, side: int = 1600) -> Image.Image:
        """A large upright RGB rendering of a photo (PIL image), for viewing."""
        info = self.info(photo_id)
        if info is None:
            raise ClipdeskError("this photo is no longer in the library")
        return decode_file(info.path, side)

    def thumbnail(self, content_hash: str) -> Path:
        return thumbnail_path(self.home, content_hash)

    def paths(self, photo_ids: Iterable[int]) -> dict[int, bytes]:
        """The paths of those photos still in the library."""
        return self.catalog.files.paths_for(photo_ids)

    def sharpness(self, photo_ids: Iterable[int]) -> dict[int, float | None]:
        """The measured sharpness of those photos (None: not measured yet)."""
        return self.catalog.quality.sharpness_of(photo_ids)

    def hits(self, ranked: Iterable[tuple[int, float]],
             threshold: float = -math.inf) -> list[Hit]:
        """(photo id, score) pairs as hits with paths, dropping photos gone meanwhile;
        relevant: scoring at least `threshold`."""
        ranked = list(ranked)
        paths = self.catalog.files.paths_for(i for i, _ in ranked)
        return [Hit(i, paths[i], score, relevant=score >= threshold)
                for i, score in ranked if i in paths]

    def by_sharpness(self, hits: list[Hit]) -> list[Hit]:
        """The same hits, sharpest first (unmeasured last)."""
        sharp = self.catalog.quality.sharpness_of(h.photo_id for h in hits)

        def sharpness(hit: Hit) -> float:
            value = sharp.get(hit.photo_id)
            return -1.0 if value is None else value
        return sorted(hits, key=sharpness, reverse=True)
