"""The rules that make burst and near-duplicate groups, as pure maths over the vector
index's neighbours (organize/grouping.py applies them to the library), and their version.

To change how photos are grouped, change the numbers or `links` here and bump REVISION
when the code changes: a library grouped under another VERSION is grouped again, whole,
at its next index run (the way automatic tags follow `tags_version`)."""
from __future__ import annotations

import numpy as np

from clipdesk.core.paths import fingerprint

REVISION = 2  # bump when `links`, `twins` or `components` change what they decide

# Cosine from which two photos are the same picture (re-encode, resize, modest crop): on
# CLIP-like synthetic vectors no two distinct photos of 100k came this close (the closest
# 0.1% of nearest neighbours: 0.95). Immich's duplicate finder uses 0.99.
DUPLICATE = 0.97
BURST = 0.90  # cosine from which two photos taken within BURST_SECONDS are one moment
BURST_SECONDS = 30.0
NEIGHBOURS = 8  # candidates looked at per photo


def version(model_id: str) -> str:
    """What a library's groups were made with: the model and every rule above."""
    rules = f"{REVISION}:{DUPLICATE}:{BURST}:{BURST_SECONDS}:{NEIGHBOURS}"
    return fingerprint(f"{model_id}\n{rules}")


def links(ids: np.ndarray, neighbours: np.ndarray, similarities: np.ndarray,
          taken: dict[int, float]) -> list[tuple[int, int]]:
    """Pairs (photo, neighbour) that belong together: near duplicates at any time, and
    look-alikes taken seconds apart (a burst). `taken`: capture time (epoch seconds)."""
    pairs = []
    rows, cols = np.nonzero((similarities >= BURST) & (neighbours != ids[:, None]))
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        a, b = int(ids[r]), int(neighbours[r, c])
        if similarities[r, c] >= DUPLICATE or (
                a in taken and b in taken and abs(taken[a] - taken[b]) <= BURST_SECONDS):
            pairs.append((a, b))
    return pairs


def twins(candidates: list[tuple[int, int, str | None, str | None]]
          ) -> list[tuple[int, int]]:
    """Pairs (camera raw, JPEG) that are one photo: same folder and name but the extension
    (the catalog's candidates), and the same capture time to the second when both files
    carry one (a later IMG_1.JPG from another card is another photo)."""
    return [(raw, jpeg) for raw, jpeg, raw_taken, jpeg_taken in candidates
            if raw_taken is None or jpeg_taken is None or raw_taken == jpeg_taken]


def components(pairs: list[tuple[int, int]]) -> dict[int, int]:
    """photo -> group (the smallest photo id in it), for photos linked to another."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: root(x) for x in parent}
