"""Very large photos (a 299 MP scan or panorama) decoded in bounded memory.

Pillow decodes a PNG or TIFF whole, 4 bytes a pixel for RGB, and the conversions after
it copy the whole again: 4.6-6.3 GB for one 299 MP PNG, 11.3 GB for five in one run
(JPEG and HEIC are reduced while they decode, see imaging). Here:

- An 8-bit, non-interlaced PNG is decoded in bands of rows: its compressed stream is
  inflated a band at a time, each band is wrapped as a small PNG of its own (led by the
  row above it, unfiltered, which the next band's filters refer to), decoded by Pillow,
  made RGB and box-reduced at once. Memory: a few bands, whatever the image's size.
- A TIFF in strips (8- or 1-bit samples, one plane) is decoded the same way, a band of
  strips at a time, each wrapped as a TIFF of its own (the tags that decode it, those
  strips); rows short of a whole box wait for the next band.
- Anything else this large (tiled or 16-bit TIFF, WebP, GIF, BMP, interlaced or 16-bit
  PNG) is decoded whole when that fits MAX_WHOLE_BYTES, and is otherwise a problem that
  says so.
- One large decode at a time (the pipeline decodes on a thread per core): a run's peak is
  one large decode, not one per thread.
"""
from __future__ import annotations

import io
import struct
import threading
import zlib
from collections.abc import Callable, Iterator

from PIL import Image, TiffImagePlugin, TiffTags

from clipdesk.core.errors import DecodeError

# Above this many pixels a PNG, TIFF, WebP, ... takes the careful way (a 40 MP RGB image
# is 160 MB in Pillow; below it a whole decode is cheap enough on a thread per core).
LARGE_PIXELS = 40_000_000
# The most one whole decode may take (Pillow's image plus its RGB copy).
MAX_WHOLE_BYTES = 3 << 29  # 1.5 GiB
# The inflated (raw) bytes of one PNG band: its decode takes about 5x this at the peak.
BAND_BYTES = 16 << 20
_INFLATE_STEP = 16 << 10  # deflate expands at most ~1032x: at most ~17 MB a step
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples a pixel
_one_at_a_time = threading.Lock()


def is_large(im: Image.Image) -> bool:
    return im.width * im.height > LARGE_PIXELS


def decode_reduced(im: Image.Image, data: bytes, fmt: str, working_side: int,
                   to_rgb: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """`im` (opened, not loaded) as RGB, box-reduced by whole factors as Pillow's resize
    with reducing_gap=3 (imaging._reduce) would: that resize then gives the same pixels."""
    scale = min(1.0, working_side / min(im.size))
    fx, fy = (int(side / max(1, round(side * scale)) / 3) or 1 for side in im.size)
    factor = (fx, fy)
    with _one_at_a_time:
        header = _png_header(data) if fmt == "PNG" else None
        if header is not None:
            try:
                return _png_in_bands(data, header, im.size, factor, to_rgb)
            except zlib.error as exc:
                raise DecodeError("cannot decode PNG: the image data is damaged") from exc
        strips = _tiff_strips(im) if fmt == "TIFF" else None
        if strips is not None:
            try:
                return _tiff_in_bands(data, im, strips, factor, to_rgb)
            except (OSError, ValueError, SyntaxError, struct.error, KeyError):
                pass  # a kind of TIFF the bands miss: decoded whole below, as before
        per_pixel = 1 if im.mode in ("1", "L", "P") else 2 if im.mode.startswith("I;16") else 4
        need = im.width * im.height * (per_pixel + (0 if im.mode == "RGB" else 4))
        if need > MAX_WHOLE_BYTES:
            raise DecodeError(
                f"image is {im.width}x{im.height} ({im.width * im.height / 1e6:.0f} MP): "
                f"decoding this {fmt} needs about {need / 1e9:.1f} GB of memory, over the "
                f"{MAX_WHOLE_BYTES / 1e9:.1f} GB limit for one photo; an 8-bit PNG or a "
                "JPEG copy of it can be indexed")
        im.load()
        return _box_reduce(to_rgb(im), factor)


def png_exif(data: bytes) -> Image.Exif | None:
    """A PNG's EXIF (its eXIf chunk), read without decoding the image: Pillow's
    PngImageFile.getexif() decodes the whole image first, in case the chunk follows it."""
    try:
        body = next((b for k, b in _png_chunks(data) if k == b"eXIf"), None)
        if body is None:
            return None
        exif = Image.Exif()
        exif.load(bytes(body))
        return exif
    except (DecodeError, ValueError, SyntaxError, struct.error, OSError):
        return None


def _box_reduce(im: Image.Image, factor: tuple[int, int],
                box: tuple[int, int, int, int] | None = None) -> Image.Image:
    if factor == (1, 1):
        return im if box is None else im.crop(box)
    return im.reduce(factor, box)


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, memoryview]]:
    view, offset = memoryview(data), len(_PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", view[offset:offset + 8])
        body = view[offset + 8:offset + 8 + length]
        if len(body) < length:
            raise DecodeError("cannot decode PNG: the file is truncated")
        yield kind, body
        if kind == b"IEND":
            return
        offset += 12 + length


def _png_header(data: bytes) -> tuple[int, int] | None:
    """(colour type, channels) of a PNG that can be decoded in bands, else None."""
    for kind, body in _png_chunks(data):
        if kind != b"IHDR" or len(body) < 13:
            return None
        _, _, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body[:13])
        if depth != 8 or interlace or colour not in _CHANNELS:
            return None
        return colour, _CHANNELS[colour]
    return None


def _chunk(kind: bytes, body: bytes) -> bytes:
    check = zlib.crc32(body, zlib.crc32(kind))
    return b"".join((struct.pack(">I", len(body)), kind, body, struct.pack(">I", check)))


def _stored_idat(parts: tuple[bytes, ...]) -> list[bytes | memoryview]:
    """An IDAT chunk holding `parts` as a zlib stream of stored (uncompressed) blocks, as
    pieces to join: one copy of the pixels, where zlib.compress(level 0) and the chunk's
    assembly took three. Its CRC is 0: Pillow streams IDAT and does not check it."""
    pieces: list[bytes | memoryview] = [b"\x78\x01"]
    adler = 1
    for part in parts:
        view = memoryview(part)
        for start in range(0, len(view), 0xFFFF):
            block = view[start:start + 0xFFFF]
            pieces += [struct.pack("<BHH", 0, len(block), 0xFFFF ^ len(block)), block]
        adler = zlib.adler32(part, adler)
    pieces += [b"\x01\0\0\xff\xff", struct.pack(">I", adler)]  # an empty final block
    length = sum(len(p) for p in pieces)
    return [struct.pack(">I", length), b"IDAT", *pieces, b"\0\0\0\0"]


def _inflated(data: bytes, size: int) -> Iterator[bytes]:
    """The PNG's inflated image data, `size` bytes at a time."""
    inflater, pieces, held = zlib.decompressobj(), [], 0
    for kind, body in _png_chunks(data):
        if kind != b"IDAT":
            continue
        for start in range(0, len(body), _INFLATE_STEP):
            piece = inflater.decompress(body[start:start + _INFLATE_STEP])
            pieces.append(piece)
            held += len(piece)
            if held >= size:
                joined = b"".join(pieces)
                for cut in range(0, len(joined) - size + 1, size):
                    yield joined[cut:cut + size]
                rest = joined[len(joined) - len(joined) % size:]
                pieces, held = [rest], len(rest)
    rest = b"".join(pieces) + inflater.flush()
    for cut in range(0, len(rest), size):
        yield rest[cut:cut + size]


def _png_in_bands(data: bytes, header: tuple[int, int], size: tuple[int, int],
                  factor: tuple[int, int],
                  to_rgb: Callable[[Image.Image], Image.Image]) -> Image.Image:
    colour, channels = header
    width, height = size
    row = 1 + width * channels  # a filter byte, then the samples
    fx, fy = factor
    rows = max(fy, BAND_BYTES // row // fy * fy)  # whole boxes per band
    # the chunks a band needs besides its pixels: the palette and the transparency
    extra = b"".join(_chunk(k, bytes(b)) for k, b in _png_chunks(data)
                     if k in (b"PLTE", b"tRNS"))
    out = Image.new("RGB", (-(-width // fx), -(-height // fy)))
    above = b""  # the row above the band, unfiltered, with filter byte 0 ("none")
    top = 0
    for raw in _inflated(data, rows * row):
        n = min(len(raw) // row, height - top)
        if n <= 0:
            break
        lead = 1 if above else 0
        ihdr = struct.pack(">IIBBBBB", width, n + lead, 8, colour, 0, 0, 0)
        png = b"".join([_PNG_SIGNATURE, _chunk(b"IHDR", ihdr), extra,
                        *_stored_idat((above, raw[:n * row])), _chunk(b"IEND", b"")])
        with Image.open(io.BytesIO(png), formats=["PNG"]) as band:
            band.load()
            last = band.crop((0, band.height - 1, width, band.height)).tobytes()
            # the row above is left out by reduce()'s box (a crop would copy the band)
            reduced = _box_reduce(to_rgb(band), factor, (0, lead, width, band.height))
            out.paste(reduced, (0, top // fy))
        above = b"\0" + last
        top += n
    if top < height:
        raise DecodeError("cannot decode PNG: the image data is shorter than its size says")
    return out


# The tags a band of strips needs to decode as the whole would (not its metadata).
_TIFF_BAND_TAGS = (256, 258, 259, 262, 266, 277, 278, 284, 317, 320, 338, 339, 347, 529,
                   530, 531, 532)
_BAND_MODES = ("1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "YCbCr")


def _tiff_strips(im: Image.Image) -> tuple[int, tuple[int, ...], tuple[int, ...]] | None:
    """(rows a strip, strip offsets, strip sizes) of a TIFF that can be decoded in bands
    of strips: 8-bit (or 1-bit) samples in strips, not tiles, one plane; else None."""
    tags = getattr(im, "tag_v2", None)
    if tags is None or im.mode not in _BAND_MODES or 322 in tags or tags.get(284, 1) != 1:
        return None
    bits = tags.get(258, (1,))
    if any(b not in (1, 8) for b in (bits if isinstance(bits, tuple) else (bits,))):
        return None
    if tags.get(317, 1) == 3:  # the floating-point predictor
        return None
    rows, offsets, counts = int(tags.get(278, im.height)), tags.get(273), tags.get(279)
    if not (isinstance(offsets, tuple) and isinstance(counts, tuple)) or rows < 1 \
            or len(offsets) != len(counts) or len(offsets) != -(-im.height // rows) \
            or len(offsets) < 2:
        return None
    return rows, offsets, counts


def _tiff_band(data: bytes, im: Image.Image, offsets: list[int], counts: list[int],
               rows: int) -> Image.Image:
    """Strips of `im` as a TIFF of their own (its tags, these strips), decoded."""
    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    for tag in _TIFF_BAND_TAGS:
        if tag in im.tag_v2:  # type: ignore[attr-defined]
            ifd[tag] = im.tag_v2[tag]  # type: ignore[attr-defined]
            ifd.tagtype[tag] = im.tag_v2.tagtype[tag]  # type: ignore[attr-defined]
    ifd[257] = rows
    # the strips follow the directory; Pillow adds where it ends to StripOffsets
    starts = [sum(counts[:i]) for i in range(len(counts))]
    for tag, values in ((273, starts), (279, counts)):
        ifd[tag] = tuple(values)
        ifd.tagtype[tag] = TiffTags.LONG
    strips = [memoryview(data)[o:o + c] for o, c in zip(offsets, counts, strict=True)]
    tiff = b"".join([b"II*\0", struct.pack("<I", 8), ifd.tobytes(8), *strips])
    band = Image.open(io.BytesIO(tiff), formats=["TIFF"])
    band.load()
    return band


def _tiff_in_bands(data: bytes, im: Image.Image,
                   strips: tuple[int, tuple[int, ...], tuple[int, ...]],
                   factor: tuple[int, int], to_rgb: Callable[[Image.Image], Image.Image]
                   ) -> Image.Image:
    rows, offsets, counts = strips
    width, height = im.size
    fx, fy = factor
    per_band = max(1, BAND_BYTES // max(1, rows * width * 4))  # strips a band
    out = Image.new("RGB", (-(-width // fx), -(-height // fy)))
    carry: Image.Image | None = None  # rows short of a whole box, from the band before
    done = 0  # rows of `out` filled
    for first in range(0, len(offsets), per_band):
        last = min(first + per_band, len(offsets))
        n = min((last - first) * rows, height - first * rows)
        band = to_rgb(_tiff_band(data, im, list(offsets[first:last]),
                                 list(counts[first:last]), n))
        if carry is not None:
            joined = Image.new("RGB", (width, carry.height + band.height))
            joined.paste(carry, (0, 0))
            joined.paste(band, (0, carry.height))
            band = joined
        whole = band.height if last == len(offsets) else band.height // fy * fy
        if whole:
            reduced = _box_reduce(band, factor, (0, 0, width, whole))
            out.paste(reduced, (0, done))
            done += reduced.height
        carry = band.crop((0, whole, width, band.height)) if whole < band.height else None
    return out
