"""Builds a photo library on disk for the tests: photo-sized files of known content in
every supported format, EXIF-rotated ones, re-encodes, the bad input real folders hold, and
the files that are not photos beside them."""
from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import pillow_heif
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from tests.synthetic import blur, bokeh, render

pillow_heif.register_heif_opener()

PHOTO_SIZE = (1600, 1200)
ORIENTATION_TAG = 0x0112


@dataclass
class PhotoLibrary:
    root: Path
    # (color, shape) of every good photo, by path
    content: dict[Path, tuple[str, str]] = field(default_factory=dict)
    # photos that cannot be read: path -> a word the problem's reason must contain
    bad: dict[Path, str] = field(default_factory=dict)
    # files that are not photos: ignored and counted, never problems
    ignored: set[Path] = field(default_factory=set)

    def paths_of(self, color: str, shape: str) -> set[Path]:
        return {p for p, c in self.content.items() if c == (color, shape)}


def exif_bytes(orientation: int = 1, taken: str | None = None, make: str | None = None,
               model: str | None = None, offset: str | None = None,
               gps: tuple[float, float] | None = None, gps_raw: dict | None = None) -> bytes:
    """Real EXIF as a camera writes it (Pillow): DateTimeOriginal `taken` ('2019:06:01
    12:00:00'), OffsetTimeOriginal `offset` ('+01:00'), GPS `gps` (lat, lon in degrees,
    written as degree / minute / second rationals with N/S/E/W references) or the GPS
    IFD's tags as given (`gps_raw`, for broken values)."""
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    if offset:
        exif.get_ifd(0x8769)[0x9011] = offset
    if gps is not None:
        gps_raw = {1: "N" if gps[0] >= 0 else "S", 2: dms(gps[0]),
                   3: "E" if gps[1] >= 0 else "W", 4: dms(gps[1])}
    if gps_raw is not None:
        ifd = exif.get_ifd(0x8825)
        ifd[0] = b"\x02\x02\x00\x00"  # GPSVersionID
        ifd.update(gps_raw)
    return exif.tobytes()


def dms(degrees: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """Degrees as a camera writes them: whole degrees, whole minutes, seconds / 100."""
    value = abs(degrees)
    whole = int(value)
    minutes = int((value - whole) * 60)
    seconds = round(((value - whole) * 60 - minutes) * 60 * 100)
    return IFDRational(whole, 1), IFDRational(minutes, 1), IFDRational(seconds, 100)


def save(image: Image.Image, path: Path, fmt: str, **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, fmt, **options)
    return path


def make_library(root: Path, with_bad: bool = True) -> PhotoLibrary:
    lib = PhotoLibrary(root)
    seed = 0

    def add(color: str, shape: str, bg: str, path: Path, fmt: str, size=PHOTO_SIZE,
            transform=None, **options) -> Path:
        nonlocal seed
        seed += 1
        image = render(color, shape, bg, size, seed=seed)
        if transform is not None:
            image = transform(image)
        save(image, path, fmt, **options)
        lib.content[path] = (color, shape)
        return path

    # Two JPEGs of every colour x shape, on varying backgrounds, in nested folders.
    backgrounds = ["white", "gray", "black"]
    n = 0
    for color in ("red", "green", "blue", "yellow", "orange"):
        for shape in ("circle", "square", "triangle"):
            for copy in range(2):
                bg = backgrounds[(n + copy) % 3]
                folder = root / ("2023" if copy == 0 else "2024/trip")
                add(color, shape, bg, folder / f"{color}-{shape}-{copy}.jpg", "JPEG",
                    quality=90, exif=exif_bytes(taken=f"202{3 + copy}:07:0{1 + n % 9} 10:00:00",
                                                make="Canon", model="Canon EOS R6"))
            n += 1
    # Every other format clipdesk reads (purple appears only here).
    fmt_dir = root / "formats"
    add("purple", "circle", "white", fmt_dir / "purple-circle.png", "PNG")
    add("purple", "square", "white", fmt_dir / "purple-square.webp", "WEBP", quality=90)
    # (HEIC encoding is slow: a smaller photo keeps the suite quick)
    add("purple", "triangle", "gray", fmt_dir / "purple-triangle.heic", "HEIF", size=(800, 600),
        quality=80)
    add("purple", "circle", "gray", fmt_dir / "purple-circle.avif", "AVIF", quality=80)
    add("purple", "square", "black", fmt_dir / "purple-square.tiff", "TIFF")
    add("purple", "triangle", "white", fmt_dir / "purple-triangle.bmp", "BMP")
    add("purple", "circle", "black", fmt_dir / "purple-circle.gif", "GIF")
    # Odd but valid: CMYK, 16-bit, palette, animated, a wrong extension, EXIF-rotated.
    odd = root / "odd"
    add("green", "circle", "white", odd / "cmyk.jpg", "JPEG",
        transform=lambda im: im.convert("CMYK"))
    add("blue", "square", "white", odd / "palette.png", "PNG",
        transform=lambda im: im.convert("P", palette=Image.Palette.ADAPTIVE))
    add("red", "triangle", "white", odd / "really-a-png.jpg", "PNG")
    _add_animated(lib, odd / "animated.webp")
    _add_16bit(lib, odd / "gray16.png")
    add("orange", "circle", "white", odd / "rotated.jpg", "JPEG",
        transform=lambda im: im.transpose(Image.Transpose.ROTATE_90),
        exif=exif_bytes(orientation=6))
    # A non-UTF-8 file name must round-trip.
    weird = os.fsencode(str(odd)) + b"/caf\xe9-\xff.jpg"
    image = render("yellow", "circle", "black", PHOTO_SIZE, seed=999)
    with open(weird, "wb") as f:
        image.save(f, "JPEG", quality=90)
    lib.content[Path(os.fsdecode(weird))] = ("yellow", "circle")
    if with_bad:
        _add_bad(lib, root / "bad")
    return lib


def _add_animated(lib: PhotoLibrary, path: Path) -> None:
    frames = [render("blue", "circle", "black", (800, 600), seed=500 + i) for i in range(3)]
    frames[0].save(path, "WEBP", save_all=True, append_images=frames[1:], duration=100)
    lib.content[path] = ("blue", "circle")


def _add_16bit(lib: PhotoLibrary, path: Path) -> None:
    import numpy as np

    grey = np.asarray(render("yellow", "square", "black", (800, 600), seed=77).convert("L"))
    Image.fromarray(grey.astype(np.uint16) * 257).save(path, "PNG")
    # colourless, so it is a valid photo with no colour to search for
    lib.content[path] = ("grey", "square")


def _add_bad(lib: PhotoLibrary, bad: Path) -> None:
    bad.mkdir(parents=True)
    good = render("red", "circle", "white", PHOTO_SIZE, seed=4242)
    jpeg = io.BytesIO()
    good.save(jpeg, "JPEG", quality=90)
    heic = io.BytesIO()
    good.resize((800, 600)).save(heic, "HEIF", quality=80)

    (bad / "empty.jpg").write_bytes(b"")
    lib.bad[bad / "empty.jpg"] = "empty"
    (bad / "truncated.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    lib.bad[bad / "truncated.jpg"] = "truncated"
    (bad / "truncated.heic").write_bytes(heic.getvalue()[: len(heic.getvalue()) * 2 // 3])
    lib.bad[bad / "truncated.heic"] = "truncated"
    (bad / "saved-page.jpg").write_text("<!DOCTYPE html><html><body>404</body></html>")
    lib.bad[bad / "saved-page.jpg"] = "HTML"
    # A photo format this version cannot read (the first bytes of a JPEG XL codestream).
    (bad / "holiday.jxl").write_bytes(b"\xff\x0a\xfa\x7f\x01\x90\x08\x06\x01\x00\x48\x00")
    lib.bad[bad / "holiday.jxl"] = "unsupported photo format (JPEG XL)"
    # What lives beside photos and is not one: ignored quietly, counted.
    (bad / "notes.txt").write_text("shopping list: milk, eggs\n")
    (bad / "LICENSE").write_text("CC BY 4.0: share and adapt, with credit.\n")
    (bad / "README.md").write_text("# Bad input\n\nEach file here is wrong on purpose.\n")
    (bad / "truncated.jpg.xmp").write_text(
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf="
        "'http://www.w3.org/1999/02/22-rdf-syntax-ns#'/></x:xmpmeta>\n")
    lib.ignored |= {bad / n for n in ("notes.txt", "LICENSE", "README.md", "truncated.jpg.xmp")}
    # A decompression bomb: 400 MP declared in a tiny PNG.
    Image.new("1", (20000, 20000)).save(bad / "bomb.png", "PNG")
    lib.bad[bad / "bomb.png"] = "bomb"
    # Not regular files / broken links: never opened, never hang the scan.
    os.mkfifo(bad / "pipe.jpg")
    lib.bad[bad / "pipe.jpg"] = "regular"
    os.symlink(bad / "gone.jpg", bad / "dangling.jpg")
    lib.bad[bad / "dangling.jpg"] = "symbolic link"
    # A folder symlink loop: must not be followed forever.
    os.symlink(bad, bad / "loop")


SIGMAS = (0, 2, 4, 8)  # out-of-focus blur of each burst shot, in pixels at 1600x1200
# Bursts and near-duplicates differ in colour, shape and background from each other and
# from the single photos: the tiny model cannot tell two renders of one class apart.
BURSTS = (("red", "circle", "white"), ("blue", "triangle", "black"), ("yellow", "square", "gray"))
DUPLICATED = ("green", "circle", "black")
SINGLES = (("purple", "square", "white"), ("orange", "triangle", "gray"))


def make_bursts(root: Path) -> tuple[list[list[Path]], list[Path], list[Path]]:
    """Bursts (one scene, sharp then more and more blurred, taken a second apart; each
    sharpest first), near-duplicates (the original first, then re-encoded, resized and
    cropped copies), and single photos (the last one a sharp subject on a blurred
    background)."""
    bursts, duplicates, singles = [], [], []
    for b, (color, shape, bg) in enumerate(BURSTS):
        base = render(color, shape, bg, (1600, 1200), seed=500 + b)
        burst = []
        for j, sigma in enumerate(SIGMAS):
            # names do not follow sharpness, so no order can come from the file system
            path = root / f"burst{b}-{(j * 7) % 4}.jpg"
            blur(base, sigma).save(path, quality=92, exif=exif_bytes(
                taken=f"2024:07:0{b + 1} 10:00:0{j}"))
            burst.append(path)
        bursts.append(burst)
    original = render(*DUPLICATED, (1600, 1200), seed=600)
    duplicates.append(root / "dup-original.jpg")
    original.save(duplicates[-1], quality=95)
    duplicates.append(root / "dup-reencoded.jpg")
    original.save(duplicates[-1], quality=60)
    duplicates.append(root / "dup-small.jpg")
    original.resize((800, 600)).save(duplicates[-1], quality=90)
    duplicates.append(root / "dup-cropped.jpg")
    original.crop((80, 60, 1520, 1140)).save(duplicates[-1], quality=90)
    for i, (color, shape, bg) in enumerate(SINGLES):
        singles.append(root / f"single{i}.jpg")
        render(color, shape, bg, (1600, 1200), seed=700 + i).save(singles[-1])
    singles.append(root / "bokeh.jpg")
    bokeh(42).save(singles[-1], quality=92)
    return bursts, duplicates, singles
