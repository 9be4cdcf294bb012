"""What a photo's EXIF says about it: when it was taken (local clock time and, where the
camera wrote one, its UTC offset), the camera, and where (GPS degrees). The one place that
reads EXIF tags; imaging.py hands it the EXIF of its one decode, and `read_header` reads
only a file's header (no pixels) for photos indexed before these fields were kept.

Cameras and phones write garbage often ("0000:00:00 00:00:00", GPS with zero
denominators, 0,0 from a phone without a fix): each gives no value, never an error.
"""
from __future__ import annotations

import math
import os
import re
import struct
from dataclasses import dataclass
from datetime import datetime

from PIL import Image

from clipdesk.core.errors import DecodeError
from clipdesk.core.media import formats
from clipdesk.core.media.bigimage import png_exif
from clipdesk.core.media.raw import header_exif

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATE_TIME, DATE_TIME_ORIGINAL = 0x0132, 0x9003
OFFSET_TIME, OFFSET_TIME_ORIGINAL = 0x9010, 0x9011
MAKE, MODEL = 0x010F, 0x0110
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON = 1, 2, 3, 4
# A date before this is a camera's unset clock, not a photo's date
EARLIEST_YEAR = 1826
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
# Everything Pillow is known to raise on a damaged EXIF block
EXIF_ERRORS = (OSError, ValueError, SyntaxError, TypeError, RuntimeError, KeyError,
               IndexError, struct.error, EOFError, ZeroDivisionError, OverflowError,
               NotImplementedError, MemoryError, Image.DecompressionBombError)


@dataclass(frozen=True)
class Facts:
    """When and where, from one photo's EXIF (each None when absent or not believable)."""

    taken_at: str | None = None  # local clock time, 'YYYY-MM-DDTHH:MM:SS'
    taken_offset: str | None = None  # '+02:00'
    camera: str | None = None
    lat: float | None = None
    lon: float | None = None


def facts(exif: Image.Exif | None) -> Facts:
    if exif is None:
        return Facts()
    taken, offset = _when(exif)
    position = gps(exif)
    return Facts(taken_at=taken, taken_offset=offset, camera=camera(exif),
                 lat=position[0] if position else None, lon=position[1] if position else None)


def _ifd(exif: Image.Exif, tag: int) -> dict[int, object]:
    try:
        return dict(exif.get_ifd(tag))
    except EXIF_ERRORS:
        return {}


def _when(exif: Image.Exif) -> tuple[str | None, str | None]:
    """DateTimeOriginal with OffsetTimeOriginal, else DateTime with OffsetTime."""
    sub = _ifd(exif, EXIF_IFD)
    try:
        pairs = ((sub.get(DATE_TIME_ORIGINAL), sub.get(OFFSET_TIME_ORIGINAL)),
                 (exif.get(DATE_TIME), sub.get(OFFSET_TIME)))
    except EXIF_ERRORS:
        return None, None
    for value, offset in pairs:
        taken = clock_time(value)
        if taken is not None:
            return taken, utc_offset(offset)
    return None, None


def clock_time(value: object) -> str | None:
    """'2019:06:01 14:03:22' -> '2019-06-01T14:03:22'; None for anything not a real time."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip("\x00 ")
    try:
        when = datetime.strptime(value[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        try:  # some software writes dashes
            when = datetime.strptime(value[:19], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return None
    if when.year < EARLIEST_YEAR:
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%S")


def utc_offset(value: object) -> str | None:
    """'+02:00' as written by OffsetTimeOriginal, when it is a real zone's offset."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    m = _OFFSET.fullmatch(value.strip("\x00 "))
    if not m:
        return None
    hours, minutes = int(m.group(2)), int(m.group(3))
    if hours > 14 or minutes >= 60 or (hours == 14 and minutes):
        return None
    return f"{m.group(1)}{hours:02d}:{minutes:02d}"


def camera(exif: Image.Exif) -> str | None:
    try:
        parts = [exif.get(MAKE), exif.get(MODEL)]
    except EXIF_ERRORS:
        return None
    words = [str(p).strip("\x00 ") for p in parts if isinstance(p, str) and p.strip("\x00 ")]
    if len(words) == 2 and words[1].lower().startswith(words[0].lower()):
        words = words[1:]  # "Canon" + "Canon EOS R6" -> "Canon EOS R6"
    return " ".join(words) or None


def gps(exif: Image.Exif) -> tuple[float, float] | None:
    """(latitude, longitude) in degrees from the GPS IFD, or None: missing, a missing or
    unknown N/S/E/W reference, zero denominators, out of range, or 0,0 (a phone without
    a fix writes it: nobody's photos are all taken at "null island")."""
    info = _ifd(exif, GPS_IFD)
    lat = _degrees(info.get(GPS_LAT), info.get(GPS_LAT_REF), "N", "S", 90.0)
    lon = _degrees(info.get(GPS_LON), info.get(GPS_LON_REF), "E", "W", 180.0)
    if lat is None or lon is None or (abs(lat) < 1e-6 and abs(lon) < 1e-6):
        return None
    return lat, lon


def _degrees(value: object, ref: object, plus: str, minus: str, limit: float
             ) -> float | None:
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if not isinstance(ref, str) or ref.strip("\x00 ").upper() not in (plus, minus):
        return None
    sign = -1.0 if ref.strip("\x00 ").upper() == minus else 1.0
    parts = value if isinstance(value, tuple | list) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    total = 0.0
    for part, scale in zip(parts, (1.0, 60.0, 3600.0), strict=False):
        try:
            number = float(part)  # type: ignore[arg-type,unused-ignore]
        except EXIF_ERRORS:
            return None
        if not math.isfinite(number) or number < 0 or (scale > 1 and number >= 60):
            return None
        total += number / scale
    if total > limit:
        return None
    return sign * total


def read_header(path: bytes) -> Facts:
    """The EXIF facts of the photo at `path`, reading its header only (no pixel decode).
    OSError when the file cannot be read; a damaged or EXIF-less file gives empty Facts."""
    with open(path, "rb") as f:
        head = f.read(64)
        try:
            fmt = formats.identify(path, head)
        except DecodeError:
            return Facts()
        f.seek(0)
        try:
            if fmt == "PNG":  # its eXIf chunk may follow the pixels (see bigimage.png_exif)
                return facts(png_exif(f.read(min(os.fstat(f.fileno()).st_size, 1 << 30))))
            if fmt == formats.RAW:  # its own TIFF header (raw.py)
                return facts(header_exif(f.read(min(os.fstat(f.fileno()).st_size, 1 << 30))))
            with Image.open(f, formats=formats.PILLOW_OPENERS[fmt]) as im:
                return facts(im.getexif())
        except EXIF_ERRORS:
            return Facts()
