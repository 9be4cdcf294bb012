"""The whole frame: which squares of a photo are embedded besides its centre square.

CLIP models see a square: open_clip's preprocessing resizes the shortest side and crops
the centre square, so a 3:2 photo loses a third of its width and a 16:9 one 44%, and a
subject near an end of the long side is never seen. The centre square stays the photo's
one whole-photo vector (find-similar, tags, grouping use it); these extra squares, of the
same side, cover the rest of the long side. A text query scores a photo by its best
square (the vector index's query_best). A near-square photo gets none: its centre square
already holds nearly all of it.

Squares are placed evenly from one end of the long side to the other, as few as cover it
(two for anything up to 2:1, three up to 3:1, ...); one that would land on the centre
square is left out (the whole-photo vector is that square). Portrait photos get theirs
along their height. A part number is the square's position along the long side
(1 = left or top end), so it names the same square in every run.
"""
from __future__ import annotations

import math

from PIL import Image

# long side / short side below which a photo gets no extra squares: at 1.1 the centre
# square keeps 91% of the frame (4.5% lost at each end), a 5:4 photo (1.25) keeps 80%
MIN_RATIO = 1.1
# at most this many extra squares (a 5:1 panorama gets 5 squares across, 4 kept besides
# the centre: beyond that, wider panoramas are covered more coarsely)
MAX_PARTS = 4
# a square whose offset is within this share of the short side from the centre square's
# is the centre square (it adds nothing)
_SAME = 0.1

Box = tuple[int, int, int, int]  # left, upper, right, lower (Pillow's crop box)


def has_parts(width: int, height: int) -> bool:
    """Whether a photo of this size gets extra squares."""
    short, long = sorted((width, height))
    return short > 0 and long >= MIN_RATIO * short


def part_boxes(width: int, height: int) -> list[tuple[int, Box]]:
    """(part, box) for each extra square of a `width` x `height` image, ends first."""
    if not has_parts(width, height):
        return []
    short, long = sorted((width, height))
    count = min(math.ceil(long / short - 1e-6), MAX_PARTS + 1)
    count = max(count, 2)
    span = long - short
    centre = span / 2
    boxes: list[tuple[int, Box]] = []
    for i in range(count):
        offset = round(span * i / (count - 1))
        if abs(offset - centre) < _SAME * short:
            continue
        box = ((offset, 0, offset + short, short) if width >= height
               else (0, offset, short, offset + short))
        boxes.append((i + 1, box))
    return boxes[:MAX_PARTS]


def part_images(image: Image.Image) -> list[tuple[int, Image.Image]]:
    """(part, square) for each extra square of `image`, cut from it (part_boxes)."""
    return [(part, image.crop(box)) for part, box in part_boxes(image.width, image.height)]
