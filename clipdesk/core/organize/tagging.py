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
always win (see Tags.set_auto in store/catalog/tags.py).

The cuts are made over the whole library only when the model or the vocabulary changes
(or a person asks, or the library has more than doubled since: see GROWTH) and are kept
(`Cuts`); photos added in between are judged against the kept cuts, so adding a photo
never changes another photo's tags.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SEPARATION = 3.0
P_MIN = 0.01
MAX_TAGS = 5
# the cuts are made again over the whole library once more photos have been added since
# they were made than they were made over (the library more than doubled)
GROWTH = 1.0
RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DEFAULT_VOCABULARY = RESOURCES / "tags.txt"
# Sensitive concepts are tags with this prefix: found the same way, and a person's
# removal of one (this photo is fine) is kept like any other.
SENSITIVE = "sensitive:"


@dataclass(frozen=True)
class TagDef:
    name: str
    prompts: tuple[str, ...]


@dataclass(frozen=True)
class Cuts:
    """Each tag's cut from the last judgement of the whole library, and what it covers."""

    version: str  # the model + vocabulary fingerprint they were made for (Tags._version)
    photos: int   # how many photos they were made over
    added: int    # photos judged against them since
    until: int    # the newest photo id judged (ids are never reused)
    by_tag: dict[str, float | None]  # None: the tag did not split, it goes on no photo

    def array(self, tags: list[TagDef]) -> np.ndarray:
        """The cuts in the order of `tags` (inf: a tag on no photo)."""
        return np.array([math.inf if (c := self.by_tag.get(t.name)) is None else c
                         for t in tags])

    def grown(self, more: int) -> bool:
        """Whether `more` new photos take the library past GROWTH since the cut."""
        return self.added + more > GROWTH * self.photos

    def to_json(self) -> str:
        return json.dumps({"version": self.version, "photos": self.photos,
                           "added": self.added, "until": self.until, "cuts": self.by_tag})

    @staticmethod
    def from_json(text: str) -> Cuts | None:
        """None for text this version cannot read (then everything is judged again)."""
        try:
            d = json.loads(text)
            return Cuts(str(d["version"]), int(d["photos"]), int(d["added"]), int(d["until"]),
                        {str(k): None if v is None else float(v) for k, v in d["cuts"].items()})
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


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


def similarities(photo_vectors: np.ndarray, tag_vecs: np.ndarray) -> np.ndarray:
    """Cosine similarity of each photo (row) to each tag (column)."""
    if len(photo_vectors) == 0 or len(tag_vecs) == 0:
        return np.zeros((len(photo_vectors), len(tag_vecs)), np.float32)
    sims: np.ndarray = photo_vectors @ tag_vecs.T
    return sims


def cuts(sims: np.ndarray) -> np.ndarray:
    """Each tag's cut over these photos (the library): the similarity from which a photo
    is in the upper group of `split`, or inf where the groups are not well separated (the
    tag goes on no photo)."""
    out = np.full(sims.shape[1], np.inf)
    for col in range(sims.shape[1]):
        threshold, separation = split(sims[:, col])
        if separation >= SEPARATION:
            out[col] = threshold
    return out


def assign(sims: np.ndarray, tag_cuts: np.ndarray, logit_scale: float
           ) -> list[list[tuple[int, float]]]:
    """For each photo (a row of `similarities`), [(tag index, similarity)] of the tags it
    really shows, best first: at or over the tag's cut, and not negligible for it."""
    if sims.size == 0:
        return [[] for _ in range(len(sims))]
    logits = logit_scale * sims
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    chosen = (probs >= P_MIN) & (sims >= tag_cuts[None, :])
    out = []
    for row in range(len(sims)):
        cols = np.flatnonzero(chosen[row])
        best = cols[np.argsort(-sims[row, cols])][:MAX_TAGS]
        out.append([(int(c), float(sims[row, c])) for c in best])
    return out
