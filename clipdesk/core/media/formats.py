"""What a file is, from its name and its bytes: a photo in a format read here, a photo in
a format this version cannot read (a problem: "unsupported photo format (JPEG XL)"), a
photo whose content is not what its name promises (a problem: "damaged JPEG: ..."), or
a video (its keyframes are read by media/video.py, never the whole file), or not a photo
at all (notes, sidecars, audio: ignored quietly and counted).

The one place that decides a file's kind (extensions, first bytes, container structure);
imaging.py only decodes what this module lets through.
"""
from __future__ import annotations

import struct
from collections.abc import Callable

from clipdesk.core.errors import DecodeError

# The formats read here, each with the Pillow plugins allowed to open it (an explicit
# allowlist for Image.open: a broken HEIC must never be tried as, say, a huge TGA).
PILLOW_OPENERS = {
    "JPEG": ["JPEG", "MPO"], "PNG": ["PNG"], "GIF": ["GIF"], "BMP": ["BMP"],
    "TIFF": ["TIFF"], "WEBP": ["WEBP"], "HEIF": ["HEIF"], "AVIF": ["AVIF", "HEIF"],
}
RAW = "RAW"  # a camera raw, read by raw.py (LibRaw) rather than Pillow
READABLE = frozenset(PILLOW_OPENERS) | {RAW}
# Video containers read by media/video.py (PyAV's FFmpeg): a catalog photo each, whose
# picture is its poster frame and whose keyframes are searched
VIDEO = frozenset({"MP4", "QuickTime", "3GP", "Matroska", "WebM", "AVI"})
_VIDEO_EXTENSIONS = {
    b"mp4": "MP4", b"m4v": "MP4", b"mov": "QuickTime", b"qt": "QuickTime", b"3gp": "3GP",
    b"3g2": "3GP", b"mkv": "Matroska", b"webm": "WebM", b"avi": "AVI",
}
# ISOBMFF brands that are sound only (not a video, not a photo: ignored)
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
# ISOBMFF (ftyp) brands of the readable HEIF and AVIF photos
_ISOBMFF_BRANDS = {
    b"heic": "HEIF", b"heix": "HEIF", b"heim": "HEIF", b"heis": "HEIF", b"hevc": "HEIF",
    b"hevx": "HEIF", b"mif1": "HEIF", b"msf1": "HEIF", b"avif": "AVIF", b"avis": "AVIF",
    b"crx ": RAW,
}
# Photo formats this version cannot read, by their first bytes and by their ISOBMFF brand:
# such a file is a photo that cannot be read (a problem), never "not a photo".
_UNSUPPORTED_MAGIC = (
    (b"\xff\x0a", "JPEG XL"), (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"), (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"8BPS", "Photoshop PSD"), (b"FOVb", "camera raw, Sigma X3F"),
)
_UNSUPPORTED_BRANDS = {b"jxl ": "JPEG XL", b"jp2 ": "JPEG 2000"}
# Camera RAWs that are not a plain TIFF, by their first bytes (read by raw.py); a
# TIFF-structured RAW (NEF, ARW, DNG, ...) is told from a TIFF by its name (decodable)
_RAW_MAGIC = (b"FUJIFILMCCD-RAW", b"IIRO", b"IIRS", b"MMOR", b"IIU\x00",
              b"II\x1a\x00\x00\x00HEAPCCDR", b"\x00MRM")
# What a camera, phone or editor names a photo, and the format that name promises. A file
# named so is a photo: failing to read it is a problem. Any other file is a photo only when
# its first bytes say so; the rest (notes, sidecars, videos, ...) is ignored quietly.
_RAW = {
    b"cr2": "Canon CR2", b"cr3": "Canon CR3", b"crw": "Canon CRW", b"nef": "Nikon NEF",
    b"nrw": "Nikon NRW", b"arw": "Sony ARW", b"srf": "Sony SRF", b"sr2": "Sony SR2",
    b"dng": "DNG", b"orf": "Olympus ORF", b"rw2": "Panasonic RW2", b"raf": "Fujifilm RAF",
    b"pef": "Pentax PEF", b"srw": "Samsung SRW", b"x3f": "Sigma X3F", b"3fr": "Hasselblad 3FR",
    b"iiq": "Phase One IIQ", b"erf": "Epson ERF", b"kdc": "Kodak KDC", b"dcr": "Kodak DCR",
    b"mos": "Leaf MOS", b"mrw": "Minolta MRW", b"rwl": "Leica RWL",
}
_RAW_UNREADABLE = frozenset({b"x3f"})  # LibRaw 0.21 dropped Sigma's Foveon files
_PHOTO_EXTENSIONS = {
    b"jpg": "JPEG", b"jpeg": "JPEG", b"jpe": "JPEG", b"jfif": "JPEG", b"mpo": "JPEG",
    b"png": "PNG", b"gif": "GIF", b"bmp": "BMP", b"tif": "TIFF", b"tiff": "TIFF",
    b"webp": "WEBP", b"heic": "HEIF", b"heif": "HEIF", b"hif": "HEIF", b"avif": "AVIF",
    b"jxl": "JPEG XL", b"jp2": "JPEG 2000", b"j2k": "JPEG 2000", b"jpf": "JPEG 2000",
    b"jpx": "JPEG 2000", b"psd": "Photoshop PSD", b"psb": "Photoshop PSB",
    **{ext: f"camera raw, {name}" for ext, name in _RAW.items()},
}


def photo_name(path: bytes) -> str | None:
    """The photo (or video) format a file's name promises (its extension, any case),
    else None."""
    _, dot, ext = path.rpartition(b"/")[2].rpartition(b".")
    if not dot:
        return None
    return _PHOTO_EXTENSIONS.get(ext.lower()) or _VIDEO_EXTENSIONS.get(ext.lower())


def is_video(fmt: str) -> bool:
    """Whether a format identify() returned is a video's."""
    return fmt in VIDEO


def raw_name(path: bytes) -> str | None:
    """The camera raw a file's name promises ("Nikon NEF"), any one, else None."""
    _, dot, ext = path.rpartition(b"/")[2].rpartition(b".")
    return _RAW.get(ext.lower()) if dot else None


def _raw_readable(path: bytes | None) -> bool:
    if path is None or raw_name(path) is None:
        return False
    return path.rpartition(b".")[2].lower() not in _RAW_UNREADABLE


def identify(path: bytes, head: bytes) -> str:
    """The supported format of the file at `path` that starts with `head`. DecodeError
    for a photo that cannot be read: its content is a photo format this version cannot
    read, or its name promises a photo and its content is not one ("damaged JPEG: ...");
    DecodeError with `skipped` for anything else (notes, sidecars, videos)."""
    promised = photo_name(path)
    if not head:
        if promised is None:
            raise DecodeError("not a photo (empty file)", skipped=True)
        raise DecodeError("empty file (0 bytes)")
    try:
        return _as_raw(sniff(head), head, path)
    except DecodeError as exc:
        if not exc.skipped or promised is None:
            raise
        if promised in READABLE or promised in VIDEO:
            what = "video" if promised in VIDEO else "image"
            raise DecodeError(f"damaged {promised}: no {promised} {what} data in the file "
                              f"({_describe(head[:64])})") from None
        if _raw_readable(path):
            raise DecodeError(f"damaged camera raw ({raw_name(path)}): not a camera raw "
                              f"({_describe(head[:64])})") from None
        raise DecodeError(f"unsupported photo format ({promised})") from None


def not_regular(path: bytes, photo: bool) -> DecodeError:
    """The verdict on a file that is not a regular file (a pipe, a device): a problem when
    a photo was asked for and its name promises one, else ignored quietly (skipped)."""
    if photo and photo_name(path) is None:
        return DecodeError("not a photo (not a regular file)", skipped=True)
    return DecodeError("not a regular file", skipped=not photo)


def decodable(data: bytes, path: bytes | None = None) -> str:
    """The format to decode a whole file's `data` as (sniff; RAW for a TIFF-structured
    camera raw, told by its name `path`), once its container is whole: HEIC/AVIF (and
    CR3) decoders accept truncated files silently."""
    fmt = _as_raw(sniff(data), data, path)
    if fmt in VIDEO:
        raise DecodeError(f"a video ({fmt}), not a still image")
    if fmt in ("HEIF", "AVIF") or (fmt == RAW and data[4:8] == b"ftyp"):
        check_isobmff_complete(
            data, kind="camera raw (Canon CR3)" if fmt == RAW else "HEIF/AVIF")
    return fmt


def _as_raw(fmt: str, head: bytes, path: bytes | None) -> str:
    """RAW for a TIFF that is a camera raw (a Canon CR2 by its bytes, any other by a
    name LibRaw reads: NEF, ARW, DNG, ...), else `fmt`."""
    if fmt == "TIFF" and (head[8:10] == b"CR" or _raw_readable(path)):
        return RAW
    return fmt


def check_isobmff_complete(data: bytes | Callable[[int, int], bytes], total: int = -1,
                           kind: str = "HEIF/AVIF") -> None:
    """DecodeError unless the top-level boxes of an ISOBMFF file (HEIF/AVIF, MP4/MOV)
    exactly tile it. `data`: the whole file, or a read(offset, n) of a `total`-byte file
    (a video's box headers are read, never the whole file)."""
    read: Callable[[int, int], bytes]
    if isinstance(data, bytes):
        whole, total = data, len(data)
        read = lambda offset, n: whole[offset:offset + n]  # noqa: E731
    else:
        read = data
    offset = 0
    while offset < total:
        header = read(offset, 16)
        if len(header) < 8:
            raise DecodeError(f"truncated {kind} file (incomplete box header)")
        size, = struct.unpack(">I", header[:4])
        if size == 1:
            if len(header) < 16:
                raise DecodeError(f"truncated {kind} file (incomplete box header)")
            size, = struct.unpack(">Q", header[8:16])
        elif size == 0:  # box runs to the end of the file
            return
        if size < 8:
            raise DecodeError(f"corrupt {kind} file (box of {size} bytes)")
        if offset + size > total:
            missing = offset + size - total
            raise DecodeError(f"truncated {kind} file ({missing} bytes missing)")
        offset += size


def unreadable(path: bytes, reason: str) -> str:
    """The reason a photo that sniffed as a readable format failed to decode, said as the
    format its name promises when that one is not readable here (a Sigma X3F, say)."""
    promised = photo_name(path)
    if (promised is None or promised in READABLE or promised in VIDEO
            or _raw_readable(path)):
        return reason
    return f"unsupported photo format ({promised}): {reason}"


def sniff(data: bytes) -> str:
    """The photo format by content, not extension. DecodeError for a photo format this
    version cannot read (JPEG XL, camera raw, ...), and, with `skipped`, for everything
    that is not a photo."""
    head = data[:64]
    if not data:
        raise DecodeError("empty file (0 bytes)")
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head.startswith(b"BM") and len(head) >= 18:
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska or WebM
        return "WebM" if b"webm" in head else "Matroska"
    if head.startswith(_RAW_MAGIC):
        return RAW
    for magic, name in _UNSUPPORTED_MAGIC:
        if head.startswith(magic):
            raise DecodeError(f"unsupported photo format ({name})")
    if head[4:8] == b"ftyp":
        brands = [head[8:12]] + [head[i:i + 4] for i in range(16, min(len(head), 40), 4)]
        for brand in brands:
            if brand in _ISOBMFF_BRANDS:
                return _ISOBMFF_BRANDS[brand]
        for brand in brands:
            if brand in _UNSUPPORTED_BRANDS:
                raise DecodeError(f"unsupported photo format ({_UNSUPPORTED_BRANDS[brand]})")
        if head[8:12] in _AUDIO_BRANDS:
            raise DecodeError(f"not a photo (audio, brand {head[8:12]!r})", skipped=True)
        return _video_brand(head[8:12])
    if head[4:8] in (b"moov", b"mdat", b"wide"):  # an old QuickTime movie, no ftyp
        return "QuickTime"
    raise DecodeError(f"not a photo ({_describe(head)})", skipped=True)


def _video_brand(brand: bytes) -> str:
    if brand == b"qt  ":
        return "QuickTime"
    if brand.startswith((b"3gp", b"3g2")):
        return "3GP"
    return "MP4"


def _describe(head: bytes) -> str:
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "looks like an HTML page"
    if text.startswith(b"<"):
        return "looks like XML or HTML text"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith((b"PK\x03\x04", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")):
        return "an archive"
    if all(32 <= c < 127 or c in (9, 10, 13) for c in head):
        return "looks like text"
    return "unrecognised format"
