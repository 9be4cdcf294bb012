"""Camera RAW photos (NEF, CR2/CR3, ARW, RAF, ORF, RW2, DNG, ...), read with LibRaw
(rawpy) from the bytes the indexer already read (never from a path of its own: the fd-safe
read in imaging.py stays the one way in).

A RAW is indexed from the JPEG (or bitmap) preview its camera embedded: decoding it costs
about as much as decoding a JPEG, where demosaicing the sensor data costs far more (see
benchmarks/bench_raw.py). The sensor data is demosaiced (at half size: 2x2 binning) only
where no preview exists or it is smaller than asked for. The preview is stored as the
sensor saw it; the camera's orientation (LibRaw's flip, from the file's own EXIF) makes
it upright. Date, camera and GPS come from the RAW's own TIFF header (its EXIF), else
from the preview's EXIF, else from LibRaw's timestamp.

LibRaw reads past the end of a truncated file as zeros and only warns: a file whose
structure points past its end is refused here first (a problem saying "truncated"), so
it is never indexed from half an image.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from clipdesk.core.errors import DecodeError

if TYPE_CHECKING:
    import rawpy  # imported when a RAW is read (a search or `status` reads none)

# TIFF-structured RAWs, by their first bytes (ORF and RW2 change the TIFF magic number)
_TIFF_HEADS = {b"II*\x00": b"II*\x00", b"MM\x00*": b"MM\x00*", b"IIRO": b"II*\x00",
               b"IIRS": b"II*\x00", b"MMOR": b"MM\x00*", b"IIU\x00": b"II*\x00"}
# the TIFF tags that point at data: (offsets, byte counts); SubIFDs and the EXIF IFD
_EXTENTS = ((0x0111, 0x0117), (0x0144, 0x0145), (0x0201, 0x0202))
_SUB_IFDS, _EXIF_IFD = 0x014A, 0x8769
# the widest sensors are 16:9 (a panorama is made later, from several shots)
MAX_ASPECT = 4
_UNSET = 0xFFFFFFFF
_MAX_IFDS = 64  # a crafted file can chain IFDs in a loop
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8,
               13: 4, 16: 8}
# what Pillow raises on a damaged JPEG (imaging._DECODE_ERRORS, which imports this module)
_PREVIEW_ERRORS = (OSError, ValueError, SyntaxError, TypeError, RuntimeError, IndexError,
                   KeyError, struct.error, EOFError, Image.DecompressionBombError)
# LibRaw's flip -> the transposes that make the image upright (as EXIF 3, 8, 6)
_FLIP = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90,
         6: Image.Transpose.ROTATE_270}


@dataclass(frozen=True)
class RawImage:
    """One RAW, read: the image upright (RGB, any size), its full upright size, its EXIF."""

    image: Image.Image
    width: int
    height: int
    exif: Image.Exif | None
    timestamp: str | None  # LibRaw's, local clock time, for files without EXIF dates
    from_preview: bool


def read(data: bytes, side: int, max_pixels: int, demosaic: bool = False) -> RawImage:
    """The RAW in `data`, from its embedded preview when its short side is at least
    `side` px (or when the sensor data cannot be demosaiced), else demosaiced at half
    size; `demosaic`: always demosaic (benchmarks). DecodeError saying why not."""
    import rawpy

    check_complete(data)
    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            return _read(raw, data, side, max_pixels, demosaic)
    except rawpy.LibRawError as exc:
        raise DecodeError(f"cannot decode camera raw: {_reason(exc)}") from exc


def _read(raw: rawpy.RawPy, data: bytes, side: int, max_pixels: int,
          demosaic: bool) -> RawImage:
    import rawpy

    sizes = raw.sizes
    width, height, flip = sizes.width, sizes.height, sizes.flip
    if width * height > max_pixels or sizes.raw_width * sizes.raw_height > 2 * max_pixels:
        raise DecodeError(f"camera raw is {width}x{height}, over the "
                          f"{max_pixels // 1_000_000} MP limit")
    if not 0 < min(width, height) * MAX_ASPECT >= max(width, height):
        # a damaged header (demosaicing a 62928x2754 "sensor" took 17 s on a 12 KB file)
        raise DecodeError(f"damaged camera raw: its header says a {width}x{height} "
                          "sensor, which no camera has")
    if flip in (5, 6):
        width, height = height, width
    preview, preview_exif = (None, None) if demosaic else _preview(raw, side)
    image = None
    if preview is None or min(preview.size) < side:
        try:
            # half size: each 2x2 sensor block is one pixel (no interpolation), 8 bits
            image = Image.fromarray(raw.postprocess(half_size=True, use_camera_wb=True,
                                                    output_bps=8))
        except rawpy.LibRawError:
            if preview is None:
                raise
    from_preview = image is None
    if image is None:
        assert preview is not None
        image = preview.transpose(_FLIP[flip]) if flip in _FLIP else preview
    found = header_exif(data) or preview_exif
    # LibRaw's timestamp only without any EXIF: asking for it unpacks the sensor data
    return RawImage(image=image, width=width, height=height, exif=found,
                    timestamp=None if found else _timestamp(raw), from_preview=from_preview)


def _preview(raw: rawpy.RawPy, side: int
             ) -> tuple[Image.Image | None, Image.Exif | None]:
    """The embedded preview, decoded (RGB; a JPEG reduced in the DCT domain to no less
    than `side` px), and its own EXIF; (None, None) when there is none."""
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None, None
    if thumb.format == rawpy.ThumbFormat.JPEG and isinstance(thumb.data, bytes):
        try:
            im = Image.open(io.BytesIO(thumb.data), formats=["JPEG"])
            found = im.getexif() or None
            if side > 0:
                im.draft("RGB", (side, side))
            im.load()
            return im.convert("RGB"), found
        except _PREVIEW_ERRORS:  # a damaged preview: as if none (the sensor data serves)
            return None, None
    array = np.asarray(thumb.data)
    if array.ndim != 3 or array.shape[2] != 3:
        return None, None
    return Image.fromarray(array.astype(np.uint8)).convert("RGB"), None


def header_exif(data: bytes) -> Image.Exif | None:
    """The EXIF of a TIFF-structured RAW's own header (IFD0 and its EXIF and GPS IFDs),
    or of a CR3's CMT1 box; None when there is none or it is damaged."""
    head = _TIFF_HEADS.get(data[:4])
    if head is not None:
        tiff = head + data[4:]
    else:
        at = data.find(b"CMT1", 0, 1 << 16) if data[4:12] == b"ftypcrx " else -1
        if at < 0:
            return None
        tiff = data[at + 4:]
    found = Image.Exif()
    try:
        found.load(tiff)
        return found if len(found) else None
    except (OSError, ValueError, SyntaxError, TypeError, KeyError, IndexError,
            struct.error, EOFError):
        return None


def check_complete(data: bytes) -> None:
    """DecodeError when the structure of the RAW points past the end of `data`: a
    truncated file (a copy cut short, a card pulled out mid-write). Checked: the data
    extents (strips, tiles, JPEG previews) of every IFD of a TIFF-structured RAW, and the
    parts a Fujifilm RAF's header names; ISOBMFF (CR3) is formats.py's to check."""
    if data.startswith(b"FUJIFILMCCD-RAW") and len(data) >= 108:
        offset, length = struct.unpack(">II", data[84:92])
        cfa_offset, cfa_length = struct.unpack(">II", data[100:108])
        end = max(offset + length, cfa_offset + cfa_length)
        if end > len(data):
            raise _truncated(end - len(data))
        return
    head = _TIFF_HEADS.get(data[:4])
    if head is None:
        return
    end = _tiff_end(data, "<" if head.startswith(b"II") else ">")
    if end > len(data):
        raise _truncated(end - len(data))


def _truncated(missing: int) -> DecodeError:
    return DecodeError(f"truncated camera raw ({missing:,} bytes missing)")


def _tiff_end(data: bytes, order: str) -> int:
    """The furthest byte any IFD's data extents reach (IFD chain, SubIFDs, EXIF IFD)."""
    queue: list[int] = [struct.unpack(order + "I", data[4:8])[0]]
    seen: set[int] = set()
    end = 0
    while queue and len(seen) < _MAX_IFDS:
        ifd = queue.pop()
        if ifd in seen or ifd == 0:
            continue
        seen.add(ifd)
        if ifd + 2 > len(data):  # a bad link, or the IFD was cut off: not the data
            continue
        count: int = struct.unpack(order + "H", data[ifd:ifd + 2])[0]
        if ifd + 2 + 12 * count + 4 > len(data):
            continue
        tags = {}
        for n in range(count):
            at = ifd + 2 + 12 * n
            tag, kind, number = struct.unpack(order + "HHI", data[at:at + 8])
            tags[tag] = _values(data, order, at + 8, kind, number)
        for offsets, counts in _EXTENTS:
            for start, length in zip(tags.get(offsets, ()), tags.get(counts, ()),
                                     strict=False):
                if 0 < start < _UNSET:  # Panasonic writes 0xFFFFFFFF (its own tag holds it)
                    end = max(end, start + length)
        queue += [v for t in (_SUB_IFDS, _EXIF_IFD) for v in tags.get(t, ())]
        queue.append(struct.unpack(order + "I", data[ifd + 2 + 12 * count:][:4])[0])
    return end


def _values(data: bytes, order: str, at: int, kind: int, number: int) -> list[int]:
    """A tag's unsigned integer values (SHORT, LONG, IFD); [] for other types."""
    code = {3: "H", 4: "I", 13: "I"}.get(kind)
    if code is None or number > 1 << 16:
        return []
    size = _TYPE_SIZES[kind] * number
    if size > 4:
        at = struct.unpack(order + "I", data[at:at + 4])[0]
    raw = data[at:at + size]
    if len(raw) < size:
        return []
    return list(struct.unpack(f"{order}{number}{code}", raw))


def _timestamp(raw: rawpy.RawPy) -> str | None:
    import rawpy

    try:
        when = raw.other.timestamp
    except (rawpy.LibRawError, AttributeError, ValueError, OverflowError, OSError):
        return None
    if not isinstance(when, datetime):
        return None
    return when.strftime("%Y:%m:%d %H:%M:%S")


def _reason(exc: Exception) -> str:
    message = exc.args[0] if exc.args else ""
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    text = str(message).strip() or type(exc).__name__
    return text[:1].lower() + text[1:]
