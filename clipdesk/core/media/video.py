"""Videos: a few keyframes per video, read with PyAV (FFmpeg inside its wheel), so a search
finds the moment. formats.py says a file is a video; this module reads it.

Bounded whatever the file: the container is probed with FFmpeg's default limits, then
the decoder seeks to at most MAX_FRAMES places spread over the duration and decodes only
the first keyframe after each (skip_frame NONKEY: the frames between keyframes are
dropped undecoded), reading at most MAX_PACKETS packets a place, within DEADLINE seconds
in all. A 2 GB file costs a few seeks and a few decodes, never a read of the whole file,
and memory holds one frame at a time (reduced to the working size at once).

The identity of a video's content is a hash of its size and three 1 MB samples (start,
middle, end), not of its bytes: a moved or renamed video keeps its tags without a read of
gigabytes.
"""
from __future__ import annotations

import hashlib
import math
import os
import stat
import time
from dataclasses import dataclass
from typing import Any, BinaryIO

from PIL import Image

from clipdesk.core.errors import DecodeError
from clipdesk.core.media import formats

# one keyframe per this many seconds of video, at most MAX_FRAMES (the vector index names
# at most 8 parts of a photo: catalog/crops.py MAX_LABEL_PARTS)
SECONDS_PER_FRAME = 5.0
MAX_FRAMES = 8
MAX_PACKETS = 600  # read after one seek before giving that place up
DEADLINE = 60.0  # seconds for one video's keyframes; what was decoded by then serves
SAMPLE = 1 << 20  # bytes of each of the three samples the content hash reads
# FFmpeg's probing limits, set explicitly (its defaults): the header read is bounded
_OPTIONS = {"probesize": "5000000", "analyzeduration": "5000000"}


@dataclass(frozen=True)
class Keyframe:
    at: float  # seconds from the start
    image: Image.Image  # RGB, upright, shortest side reduced to about the working size


@dataclass(frozen=True)
class Video:
    width: int  # as shown (upright)
    height: int
    duration: float  # seconds
    format: str  # formats.VIDEO
    frames: tuple[Keyframe, ...]  # in time order; the first is the poster frame
    taken_at: str | None = None  # the container's creation time (UTC clock), if any

    @property
    def poster(self) -> Keyframe:
        return self.frames[0]


def _open(path: bytes) -> BinaryIO:
    """The video at `path`, opened only while it is still a regular file: a FIFO or a
    device put in its place since the scan must not block a reader for good."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise formats.not_regular(path, photo=True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def content_hash(path: bytes, size: int) -> str:
    """A video's identity: its size and samples of its start, middle and end."""
    digest = hashlib.blake2b(f"video {size}".encode(), digest_size=16)
    with _open(path) as f:
        for offset in sorted({0, max(0, size // 2 - SAMPLE // 2), max(0, size - SAMPLE)}):
            f.seek(offset)
            digest.update(f.read(SAMPLE))
    return digest.hexdigest()


def times(duration: float) -> list[float]:
    """Where to look: one place per SECONDS_PER_FRAME, at most MAX_FRAMES, each in the
    middle of its share of the duration (the first, the poster, near the start)."""
    count = max(1, min(MAX_FRAMES, math.ceil(duration / SECONDS_PER_FRAME)))
    return [duration * (i + 0.5) / count for i in range(count)]


def read(path: bytes, fmt: str, working_side: int, size: int | None = None) -> Video:
    """The keyframes of the video at `path` (identified as `fmt`), or a DecodeError that
    says what is wrong with it (damaged, truncated, no picture)."""
    if fmt in ("MP4", "QuickTime", "3GP"):
        _check_boxes(path, size if size is not None else os.path.getsize(path), fmt)
    try:
        import av  # a heavy import, paid when a library holds videos
    except ImportError as exc:  # pragma: no cover - PyAV is a dependency
        raise DecodeError("videos need PyAV (pip install av)") from exc
    try:
        with _open(path) as f, av.open(f, options=_OPTIONS, metadata_errors="ignore") as box:
            return _read(box, fmt, working_side)
    except DecodeError:
        raise
    except MemoryError as exc:
        raise DecodeError("not enough memory to decode this video") from exc
    except (av.FFmpegError, OSError, ValueError, RuntimeError, IndexError) as exc:
        raise DecodeError(f"damaged {fmt} video: {_plain(exc)}") from exc


def poster(path: bytes, side: int) -> Image.Image:
    """The poster frame of the video at `path` (for a preview, a caption, find similar)."""
    with _open(path) as f:
        head = f.read(64)
    fmt = formats.identify(path, head)
    if not formats.is_video(fmt):
        raise DecodeError("not a video")
    return read(path, fmt, side).poster.image


def _read(box: Any, fmt: str, working_side: int) -> Video:
    if not box.streams.video:
        if box.streams.audio:  # a sound recording (a voice memo saved as .mp4): ignored
            raise DecodeError(f"not a photo (sound only, no picture in this {fmt} file)",
                              skipped=True)
        raise DecodeError(f"damaged {fmt} video: no picture or sound found in it")
    stream = box.streams.video[0]
    stream.codec_context.skip_frame = "NONKEY"
    stream.thread_type = "AUTO"
    duration = _duration(box, stream)
    started = time.monotonic()
    frames: list[Keyframe] = []
    seen: set[int] = set()
    for at in times(duration):
        if time.monotonic() - started > DEADLINE:
            break
        frame = _keyframe_after(box, stream, at)
        if frame is None or frame.pts in seen:
            continue  # a place past the data, or the same keyframe as the last one
        seen.add(frame.pts)
        when = float(frame.time) if frame.time is not None else at
        frames.append(Keyframe(max(0.0, when - _start(stream)),
                               _image(frame, working_side)))
    if not frames:
        raise DecodeError(f"damaged {fmt} video: no picture could be decoded")
    first = frames[0].image
    width, height = _display_size(stream, first)
    return Video(width=width, height=height, duration=duration, format=fmt,
                 frames=tuple(sorted(frames, key=lambda k: k.at)),
                 taken_at=_creation_time(box))


def _keyframe_after(box: Any, stream: Any, at: float) -> Any | None:
    """The first keyframe at or before `at` (FFmpeg seeks backwards to a keyframe),
    decoded; None when none comes within MAX_PACKETS packets."""
    target = int((at + _start(stream)) / stream.time_base) if stream.time_base else 0
    box.seek(target, stream=stream, backward=True, any_frame=False)
    stream.codec_context.flush_buffers()
    for count, packet in enumerate(box.demux(stream)):
        if count >= MAX_PACKETS:
            return None
        for frame in packet.decode():
            return frame
    return None


def _duration(box: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if box.duration is not None:
        return float(box.duration) / 1_000_000  # av.time_base
    return 0.0


def _start(stream: Any) -> float:
    if stream.start_time is None or not stream.time_base:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _image(frame: Any, working_side: int) -> Image.Image:
    """The frame as an upright RGB image, shortest side at most `working_side` (scaled by
    FFmpeg before conversion: one small RGB copy, however large the video)."""
    w, h = frame.width, frame.height
    scale = min(1.0, working_side / max(1, min(w, h)))
    image: Image.Image = frame.to_image(width=max(2, round(w * scale)),
                                        height=max(2, round(h * scale)))
    turn = int(getattr(frame, "rotation", 0) or 0) % 360
    if turn == 90:
        image = image.transpose(Image.Transpose.ROTATE_90)
    elif turn == 180:
        image = image.transpose(Image.Transpose.ROTATE_180)
    elif turn == 270:
        image = image.transpose(Image.Transpose.ROTATE_270)
    return image.convert("RGB")


def _display_size(stream: Any, first: Image.Image) -> tuple[int, int]:
    w, h = stream.codec_context.width or first.width, stream.codec_context.height or first.height
    if (first.width > first.height) != (w > h) and first.width != first.height:
        w, h = h, w  # a phone video turned upright
    return int(w), int(h)


def _creation_time(box: Any) -> str | None:
    value = str(box.metadata.get("creation_time", ""))[:19]
    if len(value) == 19 and value[4] == "-" and value[10] == "T" and value[:4] > "1970":
        return value
    return None


def _check_boxes(path: bytes, size: int, fmt: str) -> None:
    """A truncated MP4/MOV: its top-level boxes run past the end of the file."""
    with _open(path) as f:

        def read_at(offset: int, n: int) -> bytes:
            f.seek(offset)
            return f.read(n)

        formats.check_isobmff_complete(read_at, size, kind=f"{fmt} video")


def _plain(exc: BaseException) -> str:
    """FFmpeg's message without the file name it appends."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).split(": '")[0].rstrip(".")
