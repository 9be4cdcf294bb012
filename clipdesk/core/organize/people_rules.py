"""Grouping faces into people: pure maths over the 128-d descriptors, no I/O.

Single-link clustering under a person's choices: face pairs closer than THRESHOLD
(euclidean) are joined, nearest first, unless the join would put together faces a person
placed in two different people, or put a face into a person it was marked "not" for.
So a person's choices always win and a re-cluster never undoes them. dlib's descriptor
calls two faces one person below 0.6 (99.38% on LFW); 0.5 is stricter, because single
links chain: one look-alike must not join two families."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

THRESHOLD = 0.5
BLOCK = 2048  # rows of the distance matrix computed at once (memory stays ~ BLOCK * n)


def close_pairs(descriptors: np.ndarray, threshold: float = THRESHOLD
                ) -> list[tuple[float, int, int]]:
    """(distance, i, j) for every pair i < j closer than `threshold`, nearest first."""
    x = np.asarray(descriptors, np.float32)
    n = len(x)
    squares = (x * x).sum(axis=1)
    pairs: list[tuple[float, int, int]] = []
    for start in range(0, n, BLOCK):
        block = x[start:start + BLOCK]
        d2 = squares[start:start + BLOCK, None] + squares[None, :] - 2.0 * block @ x.T
        rows, cols = np.nonzero(d2 < threshold * threshold)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + r
            if i < c:
                pairs.append((float(np.sqrt(max(d2[r, c], 0.0))), i, c))
    pairs.sort()
    return pairs


def cluster(descriptors: np.ndarray, fixed: Sequence[int | None],
            forbidden: Sequence[frozenset[int]], threshold: float = THRESHOLD) -> list[int]:
    """A group number for each face (0..), given each face's person where a person chose
    it (`fixed`, else None) and the people each face must not join (`forbidden`)."""
    n = len(descriptors)
    parent = list(range(n))
    person: list[int | None] = list(fixed)  # per root: the chosen person of its group
    never: list[set[int]] = [set(f) for f in forbidden]  # per root: people it must not be

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for _, i, j in close_pairs(descriptors, threshold):
        a, b = root(i), root(j)
        if a == b:
            continue
        pa, pb = person[a], person[b]
        if pa is not None and pb is not None and pa != pb:
            continue
        chosen = pa if pa is not None else pb
        if chosen is not None and (chosen in never[a] or chosen in never[b]):
            continue
        parent[b] = a
        person[a] = chosen
        never[a] |= never[b]
    numbers: dict[int, int] = {}
    return [numbers.setdefault(root(i), len(numbers)) for i in range(n)]
