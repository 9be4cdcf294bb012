"""Small immutable values passed between the engine and its front ends."""
from __future__ import annotations

from collections.abc import Generator
from dataclasses import KW_ONLY, dataclass, field
from enum import StrEnum
from typing import NamedTuple


@dataclass(frozen=True)
class Hit:
    """One search result: a photo, the path of one of its files and a score (higher is
    better). `relevant` is False below the query's relevance cutoff."""

    photo_id: int
    path: bytes
    score: float
    relevant: bool = True
    at: float | None = None  # a video: the time (seconds) of its best-matching keyframe


@dataclass(frozen=True)
class PhotoMeta:
    """What one decode tells about a photo's content (stored once per distinct content)."""

    hash: str
    width: int
    height: int
    taken_at: str | None
    camera: str | None
    format: str
    _: KW_ONLY
    sharpness: float | None = None  # see quality.py; None until measured
    motion: bool = False  # blurry because something moved
    clipped: float | None = None  # fraction of blown-out pixels
    crushed: float | None = None  # fraction of pixels crushed to black
    nsfw: float | None = None  # open_nsfw's P(nsfw) (see nsfw.py); None: not measured
    # when and where (media/exif.py, media/places.py): taken_at is local clock time;
    # taken_from 'exif' (the camera's) or 'file' (no date in it: the file's time), None
    # when there is no date at all
    taken_from: str | None = None
    taken_offset: str | None = None  # the UTC offset of taken_at ('+02:00'), None unknown
    lat: float | None = None  # EXIF GPS in degrees
    lon: float | None = None
    country: str | None = None  # GeoNames English names, from lat/lon offline
    region: str | None = None
    city: str | None = None
    duration: float | None = None  # a video's length in seconds (media/video.py)


@dataclass(frozen=True)
class PhotoInfo(PhotoMeta):
    """What the details panel shows about one photo: its metadata and one of its files."""

    id: int
    path: bytes
    file_size: int
    _: KW_ONLY
    rejected: bool = False
    group_size: int = 1  # photos in its burst / near-duplicate group (1: none)


class Month(NamedTuple):
    """A month of the timeline: photos taken then (by local clock time)."""

    year: int
    month: int
    photos: int


class Place(NamedTuple):
    """A city of the places list (region: the country's first-level division)."""

    country: str
    region: str | None
    city: str | None
    photos: int


@dataclass(frozen=True)
class GroupMember:
    """A photo in a burst / near-duplicate group, with what picks the best shot."""

    photo_id: int
    path: bytes
    sharpness: float | None
    clipped: float | None
    crushed: float | None
    pixels: int
    rejected: bool
    raw: bool = False  # a camera raw: its JPEG twin (or any JPEG) shows first


@dataclass(frozen=True)
class Person:
    """A person in People: faces grouped as one (library.people)."""

    id: int
    name: str | None  # None until a person names them
    photos: int
    face_id: int  # a face to show for them


@dataclass(frozen=True)
class FaceInfo:
    """A face found in a photo, and its person."""

    id: int
    box: tuple[float, float, float, float]  # x0, y0, x1, y1: fractions of the upright photo
    person_id: int | None
    name: str | None


@dataclass(frozen=True)
class Problem:
    """A photo that could not be read (damaged, an unsupported format) or a file the
    environment kept from being read, with the reason. Files that are not photos are
    not problems: they are ignored and counted (IndexSummary.ignored, Status.ignored)."""

    path: bytes
    status: str  # "error"
    reason: str
    video: bool = False  # a video's problem (by its name), counted apart


@dataclass(frozen=True)
class IndexSummary:
    """One index run: what it found (per file) and what the library holds after it."""

    new: int = 0
    changed: int = 0
    moved: int = 0  # a known photo at a new path whose old path is gone
    removed: int = 0
    reembedded: int = 0
    problems: int = 0  # photos that cannot be read (clipdesk problems)
    ignored: int = 0  # files that are not photos (notes, sidecars, videos): not problems
    unchanged: int = 0
    seconds: float = 0.0
    embedded: int = 0  # photos decoded and embedded by this run
    framed: int = 0  # photos indexed before the whole frame that got it (indexing/backfill.py)
    copies: int = 0  # new files whose content the library already holds
    photos: int = 0  # photos in the library after the run
    # one sentence per folder that could not be listed (unplugged, no permission): its
    # photos were kept; front ends say each once per run
    unavailable: tuple[str, ...] = ()

    @property
    def photos_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Progress:
    """One step of a long job. `total` is 0 while unknown; `summary` is set on the last step."""

    phase: Phase  # a str enum: comparing with "scan", "index", ... still works
    done: int = 0
    total: int = 0
    rate: float = 0.0  # items per second
    eta: float | None = None  # seconds
    message: str = ""
    summary: IndexSummary | None = field(default=None)
    problem: Problem | None = None  # a photo this step could not do (the job went on)


@dataclass(frozen=True)
class SidecarSummary:
    """Writing or reading XMP sidecars: how many files changed, how many already agreed,
    the sidecars that could not be read or written (the rest went on), and those left
    alone on purpose (a symlink, a FIFO, a read-only file)."""

    written: int = 0  # sidecars written, or photos whose tags / caption a sidecar changed
    unchanged: int = 0
    failed: tuple[Problem, ...] = ()
    left_alone: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class Status:
    photos: int
    files: int
    problems: int
    model: str | None
    pending_model: str | None
    roots: list[str]
    index_state: str
    home: str
    ignored: int = 0  # files under the folders that are not photos
    videos: int = 0  # of the photos, those that are videos
    video_problems: int = 0  # of the problems, those of videos
    raw: int = 0  # of the photos, camera raws (media/raw.py)
    raw_problems: int = 0  # of the problems, camera raws
    # where and how photos are encoded, e.g. "cpu, int8 image tower (fp32 text)", "cuda,
    # fp16": this process's model if loaded, else the last index run's; None: never indexed
    encoding: str | None = None


# Choices as str-valued enums: the catalog, JSON and the GUI keep the same plain strings.

class Phase(StrEnum):
    """The step a long job is at (Progress.phase)."""

    SCAN = "scan"
    DOWNLOAD = "download"
    INDEX = "index"
    SAVE = "save"
    TAG = "tag"
    QUALITY = "quality"
    GROUP = "group"
    BACKUP = "backup"
    CAPTION = "caption"
    READ_TEXT = "read-text"  # reading the text in photos (OCR)
    FACES = "faces"  # finding faces in photos, grouping them into people
    SIDECARS = "sidecars"  # reading the XMP sidecars of new and changed files
    PLACES = "places"  # reading dates and GPS of older photos, naming places offline
    WAIT = "wait"  # another process holds the library's index lock: this run waits its turn
    DONE = "done"


class FileStatus(StrEnum):
    """What indexing made of a file (the catalog's files.status)."""

    INDEXED = "indexed"
    SKIPPED = "skipped"  # not a photo (notes, sidecars, videos): ignored quietly, counted
    ERROR = "error"  # a problem: a photo that cannot be read (damaged, an unsupported
    # format; not retried) or the environment's failure (retried: the row's retry flag)


class Sort(StrEnum):
    """The order of a photo list: DATE is the natural one (the library newest first by date
    taken, a result list best match first); the GUI calls it "default", the CLI
    "relevance". NEWEST orders a result list by date taken, newest first."""

    DATE = "date"
    SHARPNESS = "sharpness"
    NEWEST = "newest"  # a result list by date taken, newest first (the library's DATE)

    @classmethod
    def _missing_(cls, value: object) -> Sort | None:
        return cls.DATE if value in ("default", "relevance") else None


# A long job: a generator of its steps; closing it cancels the job and runs its clean-up.
ProgressJob = Generator[Progress, None, None]
