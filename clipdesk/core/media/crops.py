"""The whole frame: which parts of a photo are embedded besides its centre square.

CLIP models see a square: open_clip's preprocessing resizes the shortest side and crops
the centre square, so a 3:2 photo loses a third of its width and a 16:9 one 44%, and a
subject near an end of the long side is never seen. The centre square stays the photo's
one whole-photo vector (find-similar, tags, grouping use it); these extra parts cover the
rest of the long side. A text query scores a photo by its best part (the vector index's
query_best). A near-square photo gets none: its centre square already holds nearly all
of it.

Parts are placed evenly from one end of the long side to the other, as few squares as
cover it (two for anything up to 2:1, three up to 3:1, ...); one that would land on the
centre square is left out (the whole-photo vector is that square). The two end parts
reach at most END_SHARE of the long side in from their end, padded to a square with their
own median colour: a whole square at the end of a 4:3 photo holds 5/6 of the centre
square, so a subject at the end shared its vector with whatever stood in the middle and
was found 0.58 as often as a centred one (benchmarks/bench_frame.py; 0.96 as strips).
Portrait photos get theirs along their height. A part number is the part's position along
the long side (1 = left or top end), so it names the same part in every run.
"""
from __future__ import annotations

import math

from PIL import Image, ImageStat

# long side / short side below which a photo gets no extra parts: at 1.1 the centre
# square keeps 91% of the frame (4.5% lost at each end), a 5:4 photo (1.25) keeps 80%
MIN_RATIO = 1.1
# at most this many extra parts (a 5:1 panorama gets 5 squares across, 4 kept besides
# the centre: beyond that, wider panoramas are covered more coarsely)
MAX_PARTS = 4
# a part whose offset is within this share of the short side from the centre square's
# is the centre square (it adds nothing)
_SAME = 0.1
# an end part reaches this share of the long side in from its end, when that is less
# than a square (photos up to 2.5:1): the middle fifth is the centre square's alone.
# bench_frame.py, edge / centred found: 0.3 -> 0.94, 0.35 -> 0.96, 0.4 -> 0.97, 0.45 ->
# 0.95, 0.5 -> 0.87, whole squares 0.80
END_SHARE = 0.4

Box = tuple[int, int, int, int]  # left, upper, right, lower (Pillow's crop box)


def has_parts(width: int, height: int) -> bool:
    """Whether a photo of this size gets extra parts."""
    short, long = sorted((width, height))
    return short > 0 and long >= MIN_RATIO * short


def part_boxes(width: int, height: int) -> list[tuple[int, Box]]:
    """(part, box) for each extra part of a `width` x `height` image, ends first."""
    if not has_parts(width, height):
        return []
    short, long = sorted((width, height))
    count = min(math.ceil(long / short - 1e-6), MAX_PARTS + 1)
    count = max(count, 2)
    span = long - short
    centre = span / 2
    reach = round(END_SHARE * long)
    boxes: list[tuple[int, Box]] = []
    for i in range(count):
        offset = round(span * i / (count - 1))
        if abs(offset - centre) < _SAME * short:
            continue
        start, stop = offset, offset + short
        if i == 0:
            stop = min(stop, reach)
        elif i == count - 1:
            start = max(start, long - reach)
        box = (start, 0, stop, short) if width >= height else (0, start, short, stop)
        boxes.append((i + 1, box))
    return boxes[:MAX_PARTS]


def part_images(image: Image.Image) -> list[tuple[int, Image.Image]]:
    """(part, square) for each extra part of `image` (RGB, as decoded), cut from it
    (part_boxes); an end part narrower than a square is padded to one with its median
    colour."""
    out = []
    for part, box in part_boxes(image.width, image.height):
        cut = image.crop(box)
        side = max(cut.size)
        if cut.width != cut.height:
            fill = tuple(int(v) for v in ImageStat.Stat(cut).median)
            square = Image.new("RGB", (side, side), fill)
            square.paste(cut, ((side - cut.width) // 2, (side - cut.height) // 2))
            cut = square
        out.append((part, cut))
    return out
