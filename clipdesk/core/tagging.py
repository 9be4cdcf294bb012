"""Zero-shot auto-tags from the stored embeddings: no image is decoded again.

A tag goes on a photo only where the photo really shows it. Two tests, both needed:
- calibrated per tag against this library and model: the tag's similarities over the
  library must split into two well separated groups (see `split`), and the photo must be
  in the upper one (so "beach" is judged against how beach-like this library is under
  this model, not by one global cosine);
- the tag is not negligible for this photo: its zero-shot probability among all tags
  (softmax at the model's own logit scale) is at least P_MIN. A tag whose concept is
  absent from the library loses to the concepts each photo does show, so it is assigned
  to nothing, although some photos always rank in its top few percent.
A photo keeps at most MAX_TAGS, best first. Manual tags and removals are stored apart and
always win (see Catalog.set_auto_tags).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SEPARATION = 3.0
P_MIN = 0.01
MAX_TAGS = 5
RESOURCES = Path(__file__).resolve().parents[1] / "resources"
DEFAULT_VOCABULARY = RESOURCES / "tags.txt"
# Sensitive concepts are tags with this prefix: found the same way, and a person's
# removal of one (this photo is fine) is kept like any other.
SENSITIVE = "sensitive:"


@dataclass(frozen=True)
class TagDef:
    name: str
    prompts: tuple[str, ...]


def parse_vocabulary(text: str) -> list[TagDef]:
    """One tag a line: `name` or `name: prompt | prompt`; `#` starts a comment."""
    tags: dict[str, TagDef] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, prompts = line.partition(":")
        name = name.strip().lower()
        variants = tuple(p.strip() for p in prompts.split("|") if p.strip())
        tags[name] = TagDef(name, variants or (f"a photo of {name}",))
    return list(tags.values())


def edit_vocabulary(text: str, old: str, new: str | None) -> str:
    """The vocabulary file's text with tag `old` renamed to `new` (None: removed); its
    prompts, comments and the other lines stay as they were."""
    lines = []
    for line in text.splitlines():
        body = line.split("#", 1)[0]
        name, colon, rest = body.partition(":")
        if name.strip().lower() != old.lower() or not body.strip():
            lines.append(line)
        elif new is not None:
            lines.append(f"{new}{colon}{rest}" + line[len(body):])
    return "\n".join(lines) + "\n"


def tag_vectors(tags: list[TagDef],
                encode_texts: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """One unit vector per tag: the mean of its prompts' embeddings."""
    prompts = [p for tag in tags for p in tag.prompts]
    vectors = encode_texts(prompts)
    rows, start = [], 0
    for tag in tags:
        mean = vectors[start:start + len(tag.prompts)].mean(axis=0)
        start += len(tag.prompts)
        rows.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
    return np.asarray(rows, dtype=np.float32)


def split(scores: np.ndarray) -> tuple[float, float]:
    """Otsu's split of one tag's similarities over the library: the threshold that best
    separates the photos into two groups, and how far apart the groups are (difference
    of means over the pooled standard deviation). A concept shown by 5% or 60% of the
    library splits cleanly; one absent from it does not."""
    ordered = np.sort(scores.astype(np.float64))
    n = len(ordered)
    if n < 4:
        return float("inf"), 0.0
    below = np.cumsum(ordered)[:-1]
    counts = np.arange(1, n)
    mean_lo = below / counts
    mean_hi = (ordered.sum() - below) / (n - counts)
    between = counts * (n - counts) * (mean_hi - mean_lo) ** 2
    cut = int(np.argmax(between))
    lo, hi = ordered[:cut + 1], ordered[cut + 1:]
    pooled = np.sqrt((lo.var() * len(lo) + hi.var() * len(hi)) / n) + 1e-6
    return float(hi[0]), float((hi.mean() - lo.mean()) / pooled)


def assign(photo_vectors: np.ndarray, tag_vecs: np.ndarray, logit_scale: float
           ) -> list[list[tuple[int, float]]]:
    """For each photo, [(tag index, similarity)] of the tags it really shows, best first."""
    if len(photo_vectors) == 0 or len(tag_vecs) == 0:
        return [[] for _ in range(len(photo_vectors))]
    sims = photo_vectors @ tag_vecs.T
    logits = logit_scale * sims
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    chosen = probs >= P_MIN
    for col in range(sims.shape[1]):
        threshold, separation = split(sims[:, col])
        chosen[:, col] &= (sims[:, col] >= threshold) & (separation >= SEPARATION)
    out = []
    for row in range(len(sims)):
        cols = np.flatnonzero(chosen[row])
        best = cols[np.argsort(-sims[row, cols])][:MAX_TAGS]
        out.append([(int(c), float(sims[row, c])) for c in best])
    return out
