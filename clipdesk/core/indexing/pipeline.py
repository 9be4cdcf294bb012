"""The per-file half of indexing, run on a pool of decode threads: read once, hash,
and (only for content not embedded yet) decode once into the model input, the thumbnail
and the metadata. Everything that can go wrong with one file ends as a Failed result."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from clipdesk.core.errors import ClipdeskError, DecodeError, DiskFullError
from clipdesk.core.media import formats, imaging, places, quality, video
from clipdesk.core.media.exif import EARLIEST_YEAR
from clipdesk.core.models import nsfw
from clipdesk.core.paths import thumbnail_path
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.store.catalog.crops import label as crop_label
from clipdesk.core.types import FileStatus, PhotoMeta

if TYPE_CHECKING:
    from clipdesk.core.models.embedder import Embedder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    path: bytes
    size: int  # as scanned; the recorded values come from the read itself
    mtime_ns: int


@dataclass(frozen=True)
class Failed:
    path: bytes
    size: int
    mtime_ns: int
    status: FileStatus  # SKIPPED (not a photo: ignored) | ERROR (a problem)
    reason: str
    retry: bool = False  # the environment failed (permission, I/O), not the file


@dataclass(frozen=True)
class Known:
    """Content that already has a vector: a moved, renamed, touched or copied photo."""

    path: bytes
    size: int
    mtime_ns: int
    photo_id: int


@dataclass(frozen=True)
class Prepared:
    path: bytes
    size: int
    mtime_ns: int
    meta: PhotoMeta
    model_input: Any  # a tensor for the embedder: the centre square, the photo's vector
    parts: tuple[tuple[int, Any], ...] = ()  # (part, input) of its extra parts (crops.py)
    times: tuple[float, ...] = ()  # a video: each part's time in seconds (parts: keyframes)


Result = Failed | Known | Prepared


def content_hash(data: bytes) -> str:
    """A photo's identity: the same bytes anywhere are the same photo."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


PrepareParts = Callable[[Any], list[tuple[int, Any]]]


def process(job: Job, known: Callable[[str], int | None], prepare: Callable[[Any], Any],
            working_side: int, home: Path, prepare_parts: PrepareParts | None = None
            ) -> Result:
    """Read, identify and (if needed) decode one file. Never raises for a bad file.
    `prepare_parts`: the model inputs of the photo's extra parts, from the same decode
    (none when not given)."""
    try:
        fmt, data, st = imaging.read_media(job.path)
    except FileNotFoundError:
        return Failed(job.path, job.size, job.mtime_ns, FileStatus.ERROR,
                      "file disappeared during indexing", retry=True)
    except DecodeError as exc:  # not a photo (ignored), or a photo that cannot be read
        status = FileStatus.SKIPPED if exc.skipped else FileStatus.ERROR
        return Failed(job.path, job.size, job.mtime_ns, status, exc.reason)
    except OSError as exc:  # permission, I/O error, a vanished mount: try again next run
        return Failed(job.path, job.size, job.mtime_ns, FileStatus.ERROR,
                      f"cannot read file: {exc.strerror or type(exc).__name__}", retry=True)
    size, mtime = st.st_size, st.st_mtime_ns
    if _changed_since(job.path, st):
        return _changing(job.path, size, mtime)
    if formats.is_video(fmt):
        try:
            digest = video.content_hash(job.path, size)
        except DecodeError as exc:  # no longer a regular file (a pipe put in its place)
            return Failed(job.path, size, mtime, FileStatus.ERROR, exc.reason)
        except OSError as exc:
            return Failed(job.path, size, mtime, FileStatus.ERROR,
                          f"cannot read file: {exc.strerror or type(exc).__name__}", retry=True)
    else:
        digest = content_hash(data)
    photo_id = known(digest)
    if photo_id is not None:
        return Known(job.path, size, mtime, photo_id)
    times: tuple[float, ...] = ()
    try:
        if formats.is_video(fmt):  # its poster frame is its picture, its keyframes parts
            clip = video.read(job.path, fmt, working_side, size)
            decoded = poster_decode(clip)
            times = tuple(k.at for k in clip.frames)
            model_input = prepare(decoded.image)
            parts = tuple((n + 1, prepare(k.image)) for n, k in enumerate(clip.frames))
        else:
            decoded = imaging.decode(data, working_side, job.path)
            model_input = prepare(decoded.image)
            parts = tuple(prepare_parts(decoded.image)) if prepare_parts else ()
        # the second sensitive signal, on this same decode (no second decode)
        meta = replace(measured_meta(decoded, digest, mtime), nsfw=nsfw.score(decoded.image),
                       duration=clip.duration if times else None)
    except DecodeError as exc:  # read_media let only photos and videos through: a problem
        if formats.is_video(fmt) and _changed_since(job.path, st):
            return _changing(job.path, size, mtime)  # a video still being copied in
        if exc.skipped:  # a video container that holds only sound
            return Failed(job.path, size, mtime, FileStatus.SKIPPED, exc.reason)
        return Failed(job.path, size, mtime, FileStatus.ERROR,
                      formats.unreadable(job.path, exc.reason))
    except Exception as exc:  # a bug must cost one file, not the run
        # recorded as the file's problem; the traceback only with -v, not once per file
        log.warning("unexpected failure on %r: %r", job.path, exc,
                    exc_info=log.isEnabledFor(logging.INFO))
        return Failed(job.path, size, mtime, FileStatus.ERROR,
                      f"internal error: {type(exc).__name__}: {imaging.plain(str(exc))}")
    if times and _changed_since(job.path, st):  # a video is read after the stat above
        return _changing(job.path, size, mtime)
    _write_thumbnail(home, digest, decoded)
    return Prepared(job.path, size, mtime, meta, model_input, parts, times)


def _changing(path: bytes, size: int, mtime_ns: int) -> Failed:
    """A file that changed while it was read: recorded with the stat before the read, so
    the next run sees a change and retries it."""
    return Failed(path, size, mtime_ns, FileStatus.ERROR,
                  "file changed while being read; it will be retried on the next run",
                  retry=True)


def poster_decode(clip: video.Video) -> imaging.Decoded:
    """A video as the decode of a photo: its poster frame, and the container's creation
    time (UTC) as local clock time."""
    taken_at = offset = None
    if clip.taken_at is not None:
        with contextlib.suppress(ValueError, OverflowError, OSError):
            when = datetime.fromisoformat(clip.taken_at + "+00:00").astimezone()
            taken_at, _, offset = file_time(int(when.timestamp() * 1e9))
    return imaging.Decoded(image=clip.poster.image, width=clip.width, height=clip.height,
                           format=clip.format, taken_at=taken_at, camera=None,
                           taken_offset=offset)


def measured_meta(decoded: imaging.Decoded, digest: str, mtime_ns: int | None = None
                  ) -> PhotoMeta:
    """What a decode tells about a photo, with its sharpness and exposure; with no date
    in the photo, its file's modification time `mtime_ns` (taken_from 'file')."""
    q = quality.measure(decoded.image)
    taken_at, offset = decoded.taken_at, decoded.taken_offset
    taken_from: str | None = "exif"
    if taken_at is None:
        taken_at, taken_from, offset = file_time(mtime_ns)
    return PhotoMeta(hash=digest, width=decoded.width, height=decoded.height,
                     taken_at=taken_at, camera=decoded.camera, format=decoded.format,
                     sharpness=q.sharpness, motion=q.motion, clipped=q.clipped,
                     crushed=q.crushed, taken_from=taken_from if taken_at else None,
                     taken_offset=offset, lat=decoded.lat, lon=decoded.lon)


def file_time(mtime_ns: int | None) -> tuple[str | None, str | None, str | None]:
    """(taken_at, 'file', offset) of a file modified at `mtime_ns`: the local clock time
    of this computer's zone then, and that zone's offset; Nones when there is none."""
    if mtime_ns is None:
        return None, None, None
    try:
        when = datetime.fromtimestamp(mtime_ns / 1e9).astimezone()
    except (OverflowError, OSError, ValueError):  # a time the platform cannot show
        return None, None, None
    if when.year < EARLIEST_YEAR:
        return None, None, None
    delta = when.utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta is not None else None
    offset = (None if minutes is None else
              f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")
    return when.strftime("%Y-%m-%dT%H:%M:%S"), "file", offset


def _changed_since(path: bytes, before: os.stat_result) -> bool:
    try:
        after = os.stat(path)
    except OSError:
        return True
    return (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)


def _write_thumbnail(home: Path, digest: str, decoded: imaging.Decoded) -> None:
    """A failure here is the library folder's, not the photo's: it stops the run."""
    target = thumbnail_path(home, digest)
    if target.exists():
        return
    tmp = target.with_name(f"{target.name}.{os.getpid()}.{id(decoded)}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(imaging.thumbnail_jpeg(decoded.image))
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):  # e.g. no folder to hold it (ENOTDIR)
            tmp.unlink(missing_ok=True)
        raise home_write_error(home, exc) from exc


def home_write_error(home: Path, exc: OSError) -> ClipdeskError:
    """One line for a write into the library's folder that the system refused."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(home)
    return ClipdeskError(f"cannot write into {home}: {exc.strerror or exc}; check that "
                         "folder's permissions and disk")


AddVectors = Callable[[np.ndarray, np.ndarray], None]


class BatchWriter:
    """Collects per-file results and writes each batch in one transaction, then hands the
    new vectors to `add_vectors` (the answering index; None while switching models: the
    new model's index is built from the catalog at the switch)."""

    def __init__(self, catalog: Catalog, add_vectors: AddVectors | None, embedder: Embedder,
                 stats: dict[str, int], vanished: frozenset[bytes] = frozenset()) -> None:
        self.catalog, self.add_vectors = catalog, add_vectors
        self.embedder, self.stats = embedder, stats
        # paths gone since the last run: known content at a new path is "moved" only when
        # one of its old paths is among them (once per old path), else it is a copy
        self.vanished = set(vanished)
        self.target = embedder.model_id
        self.roots = catalog.files.roots()
        self.prepared: list[tuple[Prepared, bool]] = []
        self.others: list[tuple[Result, bool]] = []
        self._known = catalog.embeddings.hashes(self.target)

    def known_hashes(self) -> dict[str, int]:
        return self._known

    def add(self, result: Result, is_new: bool) -> bool:
        """True when a batch is ready to be written."""
        if isinstance(result, Prepared):
            self.prepared.append((result, is_new))
        else:
            self.others.append((result, is_new))
        return len(self.prepared) >= self.embedder.batch_size or len(self.others) >= 256

    def flush(self) -> None:
        # the photos' centre squares and their extra parts in one model call
        inputs = ([r.model_input for r, _ in self.prepared]
                  + [x for r, _ in self.prepared for _, x in r.parts])
        encoded = (self.embedder.encode_images(inputs) if inputs
                   else np.zeros((0, 0), np.float32))
        vectors = encoded[:len(self.prepared)]
        part_vectors = iter(encoded[len(self.prepared):])
        if any(r.meta.lat is not None for r, _ in self.prepared):
            places.warm_up()  # loaded meanwhile, named after the run's batches (locate.py)
        cat, ids = self.catalog, list[int]()
        with cat.transaction() as db:
            embedded: list[int] = []
            kept: list[np.ndarray] = []
            labels: list[int] = []
            squares_kept: list[np.ndarray] = []
            for (res, is_new), vector in zip(self.prepared, vectors, strict=True):
                # the same content twice in one batch: the second file is a copy
                copy = res.meta.hash in self._known
                squares = [(part, next(part_vectors)) for part, _ in res.parts]
                photo_id = cat.photos.add(db, res.meta)
                cat.files.put(db, res.path, res.size, res.mtime_ns, FileStatus.INDEXED, photo_id)
                ids.append(photo_id)
                if copy:
                    self.stats["copies" if is_new else "changed"] += 1
                    continue
                cat.embeddings.put(db, photo_id, self.target, vector)
                self._known[res.meta.hash] = photo_id
                embedded.append(photo_id)
                kept.append(vector)
                times = res.times or (None,) * len(squares)  # a video's keyframe times
                for (part, square), at in zip(squares, times, strict=True):
                    cat.crops.put(db, photo_id, self.target, part, square, at)
                    labels.append(crop_label(photo_id, part))
                    squares_kept.append(square)
                self.stats["new" if is_new else "changed"] += 1
            for other, is_new in self.others:
                if isinstance(other, Known):
                    kind = self._kind(db, other) if is_new else "changed"
                    cat.files.put(db, other.path, other.size, other.mtime_ns,
                                 FileStatus.INDEXED, other.photo_id)
                    ids.append(other.photo_id)
                    self.stats[kind] += 1
                elif isinstance(other, Failed):
                    cat.files.put(db, other.path, other.size, other.mtime_ns, other.status,
                                 reason=other.reason, retry=other.retry)
                    self.stats["ignored" if other.status == FileStatus.SKIPPED
                               else "problems"] += 1
            cat.words.put_names(db, ids, self.roots)
        self.stats["embedded"] += len(embedded)
        if embedded and self.add_vectors is not None:
            self.add_vectors(np.array(embedded + labels), np.array(kept + squares_kept))
        self.prepared.clear()
        self.others.clear()

    def _kind(self, db: sqlite3.Connection, res: Known) -> str:
        """"moved" when one of the photo's old paths vanished (each counts once), else
        "copies": another file with the same bytes is still there."""
        gone = self.vanished & self.catalog.files.paths_of(db, res.photo_id)
        if gone:
            self.vanished.discard(min(gone))
            return "moved"
        return "copies"
