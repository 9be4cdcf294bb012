"""Photo quality from the one decode indexing already does: sharpness (and the kind of
blur), exposure, and the best shot of a group of near-duplicates.

Sharpness is measured on a copy whose short side is QUALITY_SIDE pixels (derivatives of
all three colour channels, so colour edges of equal brightness count), in
GRID×GRID tiles, along four directions (0, 45, 90, 135 degrees). A tile's score along a
direction is sqrt(mean second derivative² / mean first derivative²): for an edge blurred
by a Gaussian of sigma s it falls like 1/s whatever the edge's contrast, so a dim sharp
photo is not judged softer than a bright one. Tiles with too little gradient that way
(sky, walls) carry no evidence and are skipped. Per direction, the photo scores the mean
of its best TOP_TILES fraction of tiles, so a sharp subject on a deliberately blurred
background (bokeh) counts as sharp; the photo is as sharp as its softest direction, so a
shake (which blurs one direction only) counts as blur, and is told apart from
out-of-focus blur by how unequal the directions are.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from clipdesk.core.types import GroupMember

QUALITY_SIDE = 320  # the thumbnail scale: every decode reaches it
GRID = 8  # tiles per side
TOP_TILES = 0.1
MIN_GRADIENT = 2.0  # RMS gradient (grey levels per pixel) below which a tile is flat that way
# words for scores, calibrated on rendered 1600x1200 and 4000x3000 scenes (see
# benchmarks/README.md): unblurred 0.76-0.92 ("sharp"), a Gaussian blur of sigma 0.17%
# of the short side 0.56-0.67 ("slightly soft"), 0.33% 0.35-0.42 and a horizontal shake
# of 1.5% of the width 0.32-0.48 ("blurry", the shake as motion)
SHARP = 0.68
BLURRY = 0.50
MOTION_SPREAD = 0.6  # softest over sharpest direction below this in a blurry photo: motion
FULL_SCALE = 1.5  # a ratio that counts as fully sharp (score 1)
SAME_SHARPNESS = 0.05  # copies of one photo differ by up to about 0.02
CLIPPED, CRUSHED = 250, 5  # grey levels counted as blown-out highlights / crushed shadows


@dataclass(frozen=True)
class Quality:
    sharpness: float  # about 0 (no detail) to 1 (crisp at the thumbnail scale)
    motion: bool  # the blur has a direction (camera or subject moved)
    clipped: float  # fraction of pixels blown out
    crushed: float  # fraction of pixels crushed to black


def measure(image: Image.Image) -> Quality:
    """Sharpness and exposure of a decoded (RGB) image."""
    rgb = image.convert("RGB")
    short = min(rgb.size)
    if short > QUALITY_SIDE:
        scale = QUALITY_SIDE / short
        rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))),
                         Image.Resampling.BOX)
    gray = np.asarray(rgb.convert("L"), dtype=np.float32)
    clipped = float((gray >= CLIPPED).mean())
    crushed = float((gray <= CRUSHED).mean())
    # derivatives of all three channels: a green shape on a grey wall of the same
    # brightness has edges, though not in luminance
    g = np.ascontiguousarray(np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1))
    if min(g.shape[1:]) < 3 * GRID:
        return Quality(0.0, False, clipped, crushed)
    # per tile and direction (0, 45, 90, 135 degrees): the ratio of second to first
    # derivative energy along that direction; blur along a direction (motion) lowers it
    # there only, so a tile is as sharp as its softest direction
    ratios = np.stack([_tile_ratios(g, dy, dx) for dy, dx in ((0, 1), (1, 1), (1, 0), (1, -1))])
    by_direction = []
    for tiles in ratios:
        tiles = np.sort(tiles[np.isfinite(tiles)])[::-1]
        if len(tiles):
            by_direction.append(float(np.mean(tiles[:max(2, round(len(tiles) * TOP_TILES))])))
    if len(by_direction) < 2:  # detail in one direction only cannot be told from motion
        return Quality(0.0, False, clipped, crushed)
    sharpness = float(np.clip(min(by_direction) / FULL_SCALE, 0.0, 1.0))
    motion = min(by_direction) / max(by_direction) < MOTION_SPREAD
    return Quality(sharpness, bool(sharpness < BLURRY and motion), clipped, crushed)


def _tile_ratios(g: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """sqrt(mean second derivative² / mean first derivative²) along (dy, dx) in each of
    GRID×GRID tiles of the channels-first image `g`; NaN where the tile has too little
    gradient that way to judge."""
    h, w = g.shape[1:]
    ahead = g[:, 1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx]
    behind = g[:, 1 - dy:h - 1 - dy, 1 - dx:w - 1 - dx]
    centre = g[:, 1:h - 1, 1:w - 1]
    step2 = float(dy * dy + dx * dx)  # the step's length, squared
    slope = ahead - behind  # 2 x step x the first derivative
    bend = ahead + behind  # step² x the second derivative, once the centre is taken twice
    bend -= centre
    bend -= centre
    # squares summed over the channels without temporaries (7x faster than square().mean())
    first = np.einsum("chw,chw->hw", slope, slope) * np.float32(1 / (4 * step2 * len(g)))
    second = np.einsum("chw,chw->hw", bend, bend) * np.float32(1 / (step2 * step2 * len(g)))
    th, tw = first.shape[0] // GRID, first.shape[1] // GRID  # the few leftover pixels
    energy = first[:th * GRID, :tw * GRID].reshape(GRID, th, GRID, tw).mean(axis=(1, 3))
    curvature = second[:th * GRID, :tw * GRID].reshape(GRID, th, GRID, tw).mean(axis=(1, 3))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.sqrt(curvature / energy)
    return np.where(energy >= MIN_GRADIENT ** 2, ratios, np.nan).ravel()


def describe(sharpness: float | None, motion: bool = False) -> str:
    """A score in words: sharp, slightly soft, or blurry (saying which kind)."""
    if sharpness is None:
        return "not measured yet"
    if sharpness >= SHARP:
        return "sharp"
    if sharpness >= BLURRY:
        return "slightly soft"
    return "blurry (motion)" if motion else "blurry (out of focus)"


def best_first(members: list[GroupMember]) -> list[GroupMember]:
    """A group's photos, best shot first: a photo before a camera raw (a RAW+JPEG pair
    shows its JPEG, as the camera rendered it), then the sharpest, then the best exposed,
    then the largest. Photos within SAME_SHARPNESS of the sharpest count as equally sharp,
    so a larger, better exposed copy beats a re-encode that is sharper by noise alone."""
    top = max((m.sharpness or 0.0) for m in members)

    def key(m: GroupMember) -> tuple[bool, bool, float, int, float]:
        sharp = m.sharpness or 0.0
        badly_exposed = (m.clipped or 0.0) + (m.crushed or 0.0)
        tied = sharp >= top - SAME_SHARPNESS
        return (not m.raw, tied, -round(badly_exposed, 2) if tied else 0.0,
                m.pixels if tied else 0, sharp)
    return sorted(members, key=key, reverse=True)
