"""Safe decoding: one decode per photo gives the model input, the thumbnail and metadata.
What kind of file it is (and whether to read it at all) is formats.py's to say.

Everything a broken or hostile file can do here ends as a DecodeError with a reason a
person can read; the caller records it and moves on.
"""
from __future__ import annotations

import ctypes
import io
import os
import re
import stat
import struct
import sys
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from clipdesk.core.errors import DecodeError
from clipdesk.core.media import bigimage, exif, formats, raw

try:  # HEIC/HEIF (phones); AVIF comes with Pillow >= 11.3 itself
    import pillow_heif

    # libheif decodes the 512 px tiles of a phone's HEIC on up to `decode_threads` threads
    # (its default: 4). Indexing already decodes one photo per core (cpu.decode_workers), so more
    # would oversubscribe the cores. (Measured on a shared 2-core machine, 2 decoding
    # threads, 12 MP HEIC: 4 per decode 0.85x-1.15x the rate of 1, within its noise.)
    pillow_heif.register_heif_opener(decode_threads=1)
except ImportError:  # pragma: no cover - pillow-heif is a dependency; tolerate a broken build
    pass

# A 200 MP phone photo is a real photo; 300 MP is where we stop and call it a bomb.
MAX_PIXELS = 300_000_000
MAX_FILE_BYTES = 1 << 30
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow itself refuses at 2x this
ImageFile.LOAD_TRUNCATED_IMAGES = False
# Pillow's (and pillow-heif's) warnings about a file ("Corrupt EXIF data", a large image)
# are not for a person's terminal: a file's real trouble becomes its DecodeError. Set once
# for the process: warnings.catch_warnings() around each decode was not thread-safe (one
# decode thread leaving it restored the filters under another, which then printed).
warnings.filterwarnings("ignore", module=r"(PIL|pillow_heif)(\.|$)")
THUMBNAIL_SIZE = 320
# A HEIC's embedded preview is used when it is at least this many times the working size.
# Sharpness (quality.py) is calibrated on images reduced from far larger ones; a preview
# barely above the working size reads sharper (measured, 12 MP with a 512x384 preview at
# 320: a blurry photo 0.60 instead of 0.39); from 1.5x on it reads like the full image.
PREVIEW_MARGIN = 2

_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Everything Pillow and its plugins are known to raise on real-world broken files.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, TypeError, RuntimeError,
                  NotImplementedError, IndexError, KeyError, struct.error, EOFError,
                  MemoryError, Image.DecompressionBombError)


@dataclass(frozen=True)
class Decoded:
    """The one decode of a photo, reduced to what every consumer needs."""

    image: Image.Image  # RGB, upright, shortest side reduced to at most the working size
    width: int  # full size, upright
    height: int
    format: str
    taken_at: str | None  # local clock time (exif.py)
    camera: str | None
    taken_offset: str | None = None  # '+02:00'
    lat: float | None = None  # EXIF GPS, degrees
    lon: float | None = None


def read_photo(path: bytes) -> tuple[bytes, os.stat_result]:
    """Read a whole photo. A file that is not a photo (by its name and first bytes, see
    formats.identify) is never read past those bytes: DecodeError with `skipped` (ignored
    quietly). A photo that cannot be read: DecodeError saying why (a problem)."""
    fmt, data, st = read_media(path)
    if formats.is_video(fmt):
        raise DecodeError(f"a video ({fmt}), not a still image")
    return data, st


def read_media(path: bytes) -> tuple[str, bytes, os.stat_result]:
    """(format, data, stat) of a photo or a video, as read_photo; a video is not read
    past its first bytes here (data b"": media/video.py reads its keyframes)."""
    return _read(path, photo=True)


def read_file(path: bytes) -> tuple[bytes, os.stat_result]:
    """Read a whole file, refusing anything that is not a regular file."""
    return _read(path, photo=False)[1:]


def _read(path: bytes, photo: bool) -> tuple[str, bytes, os.stat_result]:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise formats.not_regular(path, photo)
        head, fmt = b"", ""
        if photo:
            head = os.read(fd, 64)
            fmt = formats.identify(path, head)
            if formats.is_video(fmt):
                return fmt, b"", st
        if st.st_size > MAX_FILE_BYTES:
            raise DecodeError(f"file is {st.st_size >> 20} MB, over the 1 GB limit",
                              skipped=not photo)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = head + f.read()
        return fmt, data, st
    finally:
        os.close(fd)


def decode(data: bytes, working_side: int, path: bytes | None = None) -> Decoded:
    """Decode `data` once, reduced so its shortest side is about `working_side` pixels.
    `path`: the file's name, which tells a camera raw from a TIFF (formats.decodable)."""
    fmt = formats.decodable(data, path)
    try:
        if fmt == formats.RAW:
            return _decode_raw(data, working_side)
        return _decode(data, fmt, working_side)
    except DecodeError:
        raise
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"image too large, possible decompression bomb ({exc})") from exc
    except MemoryError as exc:
        raise DecodeError("not enough memory to decode this image") from exc
    except UnidentifiedImageError as exc:
        raise DecodeError(f"cannot decode {fmt}: the file is damaged, or a kind of {fmt} "
                          "this version cannot read") from exc
    except _DECODE_ERRORS as exc:
        raise DecodeError(f"cannot decode {fmt}: {plain(str(exc)) or type(exc).__name__}"
                          ) from exc


# Pillow names the stream it read in its messages by repr ("<_io.BytesIO object at 0x...>")
_REPR = re.compile(r"<[^<>]*? at 0x[0-9a-fA-F]+>")
# Pillow's codec status codes (ImageFile.ERRORS), which some decoders report bare
_CODEC_STATUS = {"-1": "the image data is longer than its size says",
                 "-2": "the image data is damaged", "-3": "the image data is damaged",
                 "-8": "an encoding this version cannot read",
                 "-9": "not enough memory to decode it"}


def plain(message: str) -> str:
    """A library's message in words a person can read: no object reprs, no bare codes."""
    message = _REPR.sub("the file", message)
    return re.sub(r"\b(?:decoder error|decoding error) (-\d+)\b",
                  lambda m: _CODEC_STATUS.get(m.group(1), m.group(0)), message)


def _decode(data: bytes, fmt: str, working_side: int) -> Decoded:
    im: Image.Image = Image.open(io.BytesIO(data), formats=formats.PILLOW_OPENERS[fmt])
    width, height = im.size
    if width * height > MAX_PIXELS:
        raise DecodeError(
            f"image is {width}x{height} ({width * height / 1e6:.0f} MP), over the "
            f"{MAX_PIXELS // 1_000_000} MP limit (possible decompression bomb)")
    large = fmt not in ("JPEG", "HEIF") and bigimage.is_large(im)  # those two reduce below
    found = bigimage.png_exif(data) if large and fmt == "PNG" else _exif(im)
    orientation = _orientation(found)
    facts = exif.facts(found)
    if fmt == "JPEG":  # DCT-domain downscale: 4-5x faster than a full decode
        im.draft("RGB", (working_side, working_side))
    elif fmt == "HEIF":
        # the embedded preview (thumbnail) instead of the image when its short side is at
        # least PREVIEW_MARGIN x working_side. pillow_heif takes it only when it is a scaled
        # copy of the image (same rotation, mirroring, crop and colour profile: it comes out
        # upright like the image), and decodes the image when none fits or the preview is
        # damaged. The size, orientation and metadata read above are the full image's.
        side = PREVIEW_MARGIN * working_side
        im.draft("RGB", (side, side))
    if large:
        im = bigimage.decode_reduced(im, data, fmt, working_side, _to_rgb)
    else:
        im.load()
        im = _to_rgb(im)
    im = _reduce(im, working_side)
    if orientation in _ORIENTATION:
        im = im.transpose(_ORIENTATION[orientation])
        if orientation >= 5:
            width, height = height, width
    return Decoded(image=im, width=width, height=height, format=fmt,
                   taken_at=facts.taken_at, camera=facts.camera,
                   taken_offset=facts.taken_offset, lat=facts.lat, lon=facts.lon)


def _decode_raw(data: bytes, working_side: int) -> Decoded:
    """A camera raw (raw.py), from its embedded preview when that is large enough."""
    found = raw.read(data, PREVIEW_MARGIN * working_side, MAX_PIXELS)
    facts = exif.facts(found.exif)
    taken = facts.taken_at or exif.clock_time(found.timestamp)
    im = _reduce(_to_rgb(found.image), working_side)
    return Decoded(image=im, width=found.width, height=found.height, format=formats.RAW,
                   taken_at=taken, camera=facts.camera,
                   taken_offset=facts.taken_offset if facts.taken_at else None,
                   lat=facts.lat, lon=facts.lon)


def _exif(im: Image.Image) -> Image.Exif | None:
    try:
        return im.getexif()
    except _DECODE_ERRORS:
        return None


def _orientation(found: Image.Exif | None) -> int:
    try:
        value = found.get(0x0112, 1) if found is not None else 1
    except _DECODE_ERRORS:
        return 1
    return value if isinstance(value, int) else 1


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit or float grey
        arr = np.asarray(im, dtype=np.float32)
        top = float(arr.max()) or 1.0
        scale = 255.0 / (65535.0 if top > 255 else 255.0)
        return Image.fromarray(np.clip(arr * scale, 0, 255).astype(np.uint8)).convert("RGB")
    if im.mode in ("P", "PA") or "A" in im.getbands() or "transparency" in im.info:
        rgba = im.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return im.convert("RGB")


def _reduce(im: Image.Image, working_side: int) -> Image.Image:
    short = min(im.size)
    if short <= working_side:
        return im
    scale = working_side / short
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    return im.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)


def thumbnail_jpeg(image: Image.Image, size: int = THUMBNAIL_SIZE) -> bytes:
    thumb = image.copy()
    thumb.thumbnail((size, size), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=85, optimize=True)
    return buf.getvalue()


# -- libtiff's own messages --------------------------------------------------------------
# libtiff prints warnings and errors ("LZWDecode: Using code not yet in table.") straight
# to file descriptor 2 from C, bypassing Python; the reason a file failed is recorded
# anyway, so they stay silent unless asked for (clipdesk -v). Pillow exposes no setting
# for this: its own libtiff is found among the loaded libraries and told through ctypes.
# Redirecting fd 2 around decodes was rejected: decodes run on a thread pool, and a
# redirect would swallow everything else the process writes meanwhile.
_TIFF_HANDLERS: dict[str, int | None] = {}


def _libtiff() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None  # elsewhere the messages stay (they are harmless)
    from PIL import _imaging  # noqa: F401  (loads libtiff)

    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            paths = sorted({p for p in (line.split()[-1] for line in maps)
                            if os.path.basename(p).startswith("libtiff") and ".so" in p})
        lib = ctypes.CDLL(paths[0]) if paths else None
    except (OSError, IndexError):
        return None
    if lib is not None:
        for name in ("TIFFSetErrorHandler", "TIFFSetWarningHandler"):
            getattr(lib, name).restype = ctypes.c_void_p
            getattr(lib, name).argtypes = [ctypes.c_void_p]
    return lib


def show_native_messages(show: bool) -> None:
    """Let libtiff print its messages to stderr (show) or keep them quiet (the default)."""
    lib = _libtiff()
    if lib is None:
        return
    for name in ("TIFFSetErrorHandler", "TIFFSetWarningHandler"):
        setter = getattr(lib, name)
        if show:
            if name in _TIFF_HANDLERS:
                setter(_TIFF_HANDLERS.pop(name))
        else:
            previous = setter(None)
            _TIFF_HANDLERS.setdefault(name, previous)


show_native_messages(False)



