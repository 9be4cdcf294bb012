"""Deterministic renderer of simple synthetic "photos": coloured shapes on a plain background.

Used both by ``scripts/train_tiny_clip.py`` (to train the tiny test CLIP model) and by the
test-suite (to create photo-sized image files with known content).

Every image is fully determined by ``(color, shape, background, size, seed)``.  The shape gets a
seeded random position, scale and rotation and always lies inside the centred square of side
``min(W, H)`` — the region that survives CLIP's "resize shortest side + centre crop" preprocessing.
A mild, seeded, low-frequency texture plus a fine grain is added so that files are not trivially
identical.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 70, 225),
    "yellow": (245, 215, 30),
    "purple": (135, 45, 180),
    "orange": (250, 135, 20),
}

SHAPES: tuple[str, ...] = ("circle", "square", "triangle")

BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "white": (240, 240, 240),
    "black": (20, 20, 20),
    "gray": (128, 128, 128),
}

# Diameter of the shape's circumscribed circle, as a fraction of min(W, H).
_MIN_EXTENT, _MAX_EXTENT = 0.35, 0.6
_TEXTURE_AMPLITUDE = 10  # +- grey levels of the low-frequency texture
_GRAIN_AMPLITUDE = 6  # +- grey levels of the fine grain


def caption(color: str, shape: str, background: str) -> str:
    """Canonical caption, e.g. ``"a red circle on a white background"``."""
    return f"a {color} {shape} on a {background} background"


def _shape_polygon(shape: str, cx: float, cy: float, radius: float, angle: float
                   ) -> list[tuple[float, float]]:
    """Vertices of a regular polygon (square or triangle) with circumradius ``radius``."""
    n = {"square": 4, "triangle": 3}[shape]
    corners = [angle + 2 * math.pi * k / n for k in range(n)]
    return [(cx + radius * math.cos(a), cy + radius * math.sin(a)) for a in corners]


def _noise_layer(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """RGB noise image centred on 128: a smooth low-frequency texture plus a fine grain.

    Built at a quarter of the resolution and bilinearly upscaled, so it stays cheap for large
    images.
    """
    gw, gh = max(2, size[0] // 4), max(2, size[1] // 4)
    coarse = rng.integers(-_TEXTURE_AMPLITUDE, _TEXTURE_AMPLITUDE + 1,
                          size=(max(2, gh // 16), max(2, gw // 16), 3))
    texture = Image.fromarray((coarse + 128).astype(np.uint8), "RGB").resize(
        (gw, gh), Image.Resampling.BILINEAR)
    grain = rng.integers(-_GRAIN_AMPLITUDE, _GRAIN_AMPLITUDE + 1, size=(gh, gw, 3))
    noise = np.asarray(texture, dtype=np.int16) + grain
    return Image.fromarray(noise.astype(np.uint8), "RGB").resize(size, Image.Resampling.BILINEAR)


def render(
    color: str,
    shape: str,
    background: str,
    size: tuple[int, int] = (640, 480),
    seed: int = 0,
) -> Image.Image:
    """Render ``shape`` filled with ``color`` on ``background`` as an RGB image of
    ``size`` = (W, H)."""
    if color not in COLORS:
        raise ValueError(f"unknown color {color!r}; expected one of {sorted(COLORS)}")
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    if background not in BACKGROUNDS:
        raise ValueError(f"unknown background {background!r}; "
                         f"expected one of {sorted(BACKGROUNDS)}")
    width, height = size
    side = min(width, height)
    rng = np.random.default_rng(seed)

    img = Image.new("RGB", (width, height), BACKGROUNDS[background])
    draw = ImageDraw.Draw(img)

    # Geometry, relative to the centred square that survives the centre crop.
    radius = side * rng.uniform(_MIN_EXTENT, _MAX_EXTENT) / 2
    x0, y0 = (width - side) / 2, (height - side) / 2
    cx = x0 + rng.uniform(radius, side - radius)
    cy = y0 + rng.uniform(radius, side - radius)
    angle = rng.uniform(0, 2 * math.pi)
    fill = COLORS[color]
    if shape == "circle":
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
    else:
        draw.polygon(_shape_polygon(shape, cx, cy, radius, angle), fill=fill)

    # Mild seeded texture so that files are not trivially identical.
    return ImageChops.add(img, _noise_layer(rng, size), offset=-128)


def render_pair(subject: tuple[str, str], other: tuple[str, str], background: str,
                size: tuple[int, int] = (640, 480), seed: int = 0) -> Image.Image:
    """Two shapes apart in the centred square, each 0.25-0.45 of it across: `subject` and
    `other` (color, shape), drawn alike (scenes with more than one thing in them, as real
    photos are: the tiny model learns that "a red circle" still matches a red circle beside
    something else, whichever of the two is larger)."""
    width, height = size
    side = min(width, height)
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", size, BACKGROUNDS[background])
    draw = ImageDraw.Draw(img)
    x0, y0 = (width - side) / 2, (height - side) / 2
    r1, r2 = side * rng.uniform(0.25, 0.45, 2) / 2
    for _ in range(100):  # two places inside the square whose shapes do not touch
        a = rng.uniform(r1, side - r1, 2)
        b = rng.uniform(r2, side - r2, 2)
        if math.dist(a, b) >= r1 + r2 + 0.03 * side:
            break
    for (color, shape), (cx, cy), radius in ((subject, a, r1), (other, b, r2)):
        _draw_shape(draw, shape, COLORS[color], x0 + cx, y0 + cy, radius,
                    rng.uniform(0, 2 * math.pi))
    return ImageChops.add(img, _noise_layer(rng, size), offset=-128)


def scene(seed: int, size: tuple[int, int] = (1600, 1200)) -> Image.Image:
    """A busy photo-like scene: many overlapping shapes in many colours, with edges all
    over the frame (for sharpness tests, where one flat shape carries too little detail).
    The same seed gives the same scene; different seeds give unrelated scenes."""
    rng = np.random.default_rng(seed)
    width, height = size
    img = Image.new("RGB", size, tuple(int(v) for v in rng.integers(40, 216, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(60):
        r = rng.uniform(0.02, 0.12) * min(size)
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
        else:
            draw.polygon(_shape_polygon(str(rng.choice(["square", "triangle"])), cx, cy, r,
                                        rng.uniform(0, 2 * math.pi)), fill=fill)
    return ImageChops.add(img, _noise_layer(rng, size), offset=-128)


def blur(image: Image.Image, sigma: float) -> Image.Image:
    """Out of focus: a Gaussian blur of `sigma` pixels."""
    return image.filter(ImageFilter.GaussianBlur(sigma)) if sigma > 0 else image.copy()


def motion_blur(image: Image.Image, length: int) -> Image.Image:
    """A horizontal shake of `length` pixels (the mean of shifted copies)."""
    arr = np.asarray(image, dtype=np.float32)
    out = np.zeros_like(arr)
    for dx in range(length):
        out += np.roll(arr, dx - length // 2, axis=1)
    return Image.fromarray((out / length).round().astype(np.uint8))


def bokeh(seed: int, size: tuple[int, int] = (1600, 1200), sigma: float = 12.0) -> Image.Image:
    """A sharp subject (the middle third) on a strongly blurred background."""
    background = blur(scene(seed + 1, size), sigma)
    subject = scene(seed, size)
    width, height = size
    box = (width // 3, height // 3, 2 * width // 3, 2 * height // 3)
    background.paste(subject.crop(box), box)
    return background


def huge_png(path, size: tuple[int, int], color: str = "red", background: str = "white",
             ) -> None:
    """A square on a flat background as an 8-bit RGB PNG of any size (a 299 MP one is
    3 MB on disk, written in about a second): the whole image is never in memory. Each
    of the two kinds of row is deflated once, as a piece that ends in a full flush (no
    reference to what came before), and the pieces are repeated."""
    import struct
    import zlib

    width, height = size
    fg, bg = bytes(COLORS[color]), bytes(BACKGROUNDS[background])
    side = min(size) // 2
    left, top = (width - side) // 2, (height - side) // 2
    rows = {False: b"\0" + bg * width,
            True: b"\0" + bg * left + fg * side + bg * (width - left - side)}
    pieces = {}
    for kind, row in rows.items():
        deflate = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, no header
        pieces[kind] = deflate.compress(row) + deflate.flush(zlib.Z_FULL_FLUSH)
    stream, adler = [b"\x78\x01"], 1
    for y in range(height):
        inside = top <= y < top + side
        stream.append(pieces[inside])
        adler = zlib.adler32(rows[inside], adler)
    stream.append(zlib.compressobj(9, zlib.DEFLATED, -15).flush())  # the final block
    stream.append(struct.pack(">I", adler))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n"
                + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", b"".join(stream)) + chunk(b"IEND", b""))


def huge_tiff(path, size: tuple[int, int], color: str = "red", background: str = "white",
              ) -> None:
    """The picture of huge_png as a deflate-compressed RGB TIFF in strips of 16 rows (a
    299 MP one is a few MB on disk, written in a second): each kind of strip is
    compressed once, and the whole image is never in memory."""
    import struct
    import zlib

    from PIL import TiffImagePlugin, TiffTags

    width, height = size
    fg, bg = bytes(COLORS[color]), bytes(BACKGROUNDS[background])
    side = min(size) // 2
    left, top = (width - side) // 2, (height - side) // 2
    rows = {False: bg * width, True: bg * left + fg * side + bg * (width - left - side)}
    per_strip, strips, made = 16, [], {}
    for y in range(0, height, per_strip):
        kinds = tuple(top <= r < top + side for r in range(y, min(y + per_strip, height)))
        if kinds not in made:
            made[kinds] = zlib.compress(b"".join(rows[k] for k in kinds), 6)
        strips.append(made[kinds])
    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    for tag, value in ((256, width), (257, height), (258, (8, 8, 8)), (259, 8), (262, 2),
                       (277, 3), (278, per_strip), (284, 1)):
        ifd[tag] = value
    starts = [0]
    for strip in strips[:-1]:
        starts.append(starts[-1] + len(strip))
    for tag, values in ((273, starts), (279, [len(s) for s in strips])):
        ifd[tag] = tuple(values)  # Pillow adds where the directory ends to the offsets
        ifd.tagtype[tag] = TiffTags.LONG
    with open(path, "wb") as f:
        f.write(b"".join([b"II*\0", struct.pack("<I", 8), ifd.tobytes(8), *strips]))


def render_at_end(color: str, shape: str, background: str, size: tuple[int, int],
                  end: str = "start", seed: int = 0,
                  centre: tuple[str, str] | None = None,
                  extent: tuple[float, float] = (_MIN_EXTENT, _MAX_EXTENT)) -> Image.Image:
    """A photo whose subject sits at one end of the long side (`end`: "start" = left or
    top, "end" = right or bottom), touching the frame's edge, at the sizes `render`
    draws (0.35-0.6 of the short side across): the centre square CLIP's preprocessing
    keeps cuts most of it from a 16:9 frame, about half from a 4:3 one. `centre`:
    (color, shape) of another, smaller shape drawn in the middle of the frame. `extent`:
    the subject's size range, shares of the short side."""
    width, height = size
    side = min(width, height)
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", size, BACKGROUNDS[background])
    draw = ImageDraw.Draw(img)
    long_side = max(width, height)
    margin = 0.02 * side
    radius = side * rng.uniform(*extent) / 2
    inset = radius + margin
    along = inset if end == "start" else long_side - inset
    across = rng.uniform(radius, side - radius)
    cx, cy = (along, across) if width >= height else (across, along)
    if centre is not None:
        r2 = side * 0.3 / 2
        _draw_shape(draw, centre[1], COLORS[centre[0]], width / 2, height / 2, r2,
                    rng.uniform(0, 2 * math.pi))
    _draw_shape(draw, shape, COLORS[color], cx, cy, radius, rng.uniform(0, 2 * math.pi))
    return ImageChops.add(img, _noise_layer(rng, size), offset=-128)


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, fill: tuple[int, int, int],
                cx: float, cy: float, radius: float, angle: float) -> None:
    if shape == "circle":
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
    else:
        draw.polygon(_shape_polygon(shape, cx, cy, radius, angle), fill=fill)
