"""The tagging step of an index run that added photos to a tagged library.

A library of --photos synthetic vectors (tiny model, the default 275-tag vocabulary: the
prompts are encoded once, before timing) gets --added new photos, then the index run's
follow-up tagging runs (`Tags.retagging()`, as indexing.py calls it): it judges only the
new photos against the kept per-tag cuts. The baseline, in the same run and on the same
library, is judging the whole library again (`Tags.retag()`), which is what every index
run that changed anything did before the cuts were kept. Median of --repeat rounds.

    python benchmarks/bench_tagging.py                  # 10,000 photos, 96 added
    python benchmarks/bench_tagging.py --photos 2000 --added 10
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clipdesk.core.library import Library  # noqa: E402
from clipdesk.core.models.spec import parse_spec  # noqa: E402
from clipdesk.core.types import FileStatus, PhotoMeta  # noqa: E402

TINY_MODEL = f"local-dir:{REPO / 'tests' / 'models' / 'tiny-clip'}"


def add_photos(lib: Library, concepts: np.ndarray, n: int, rng: np.random.Generator,
               first: int) -> None:
    """n photos straight into the catalog and the index: each a concept plus noise."""
    picks = concepts[rng.integers(0, len(concepts), n)]
    vectors = picks + 0.7 * rng.standard_normal(picks.shape) / np.sqrt(picks.shape[1])
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    model, root = lib.settings.model, lib.catalog.files.roots()[0]
    assert model is not None
    ids = []
    with lib.catalog.transaction() as db:
        for i, vector in enumerate(vectors, start=first):
            pid = lib.catalog.photos.add(db, PhotoMeta(
                hash=f"h{i}", width=640, height=480, taken_at=None, camera=None,
                format="JPEG"))
            lib.catalog.files.put(db, os.path.join(root, b"p%d.jpg" % i), 1000, 1,
                                 FileStatus.INDEXED, pid)
            lib.catalog.embeddings.put(db, pid, model, vector)
            ids.append(pid)
    lib.store.add(np.array(ids), vectors)


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--added", type=int, default=96)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library(Path(tmp) / "home")
        try:
            lib.catalog.files.add_roots([os.fsencode(Path(tmp) / "photos")])
            lib.settings.model = parse_spec(TINY_MODEL).id
            embedder = lib.store.query_embedder()
            names = [t.name for t in lib.tags.vocabulary()][:60]  # what the photos show
            concepts = embedder.encode_texts([f"a photo of {n}" for n in names])
            rng = np.random.default_rng(0)
            add_photos(lib, concepts, args.photos, rng, 0)
            lib.tags.retag()  # encodes the prompts once, makes the cuts
            follow_up, whole = [], []
            for r in range(args.repeat):
                add_photos(lib, concepts, args.added, rng, args.photos + r * args.added)
                follow_up.append(timed(lambda: list(lib.tags.retagging())))
                whole.append(timed(lib.tags.retag))
            new, old = statistics.median(follow_up), statistics.median(whole)
            print(f"{args.photos} photos, {args.added} added, "
                  f"{len(lib.tags.vocabulary())} tags, median of {args.repeat}")
            print(f"  index follow-up (new photos, kept cuts): {new * 1000:8.1f} ms")
            print(f"  whole library judged again (baseline):   {old * 1000:8.1f} ms")
            print(f"  ratio: {old / new:.1f}x faster")
        finally:
            lib.close()


if __name__ == "__main__":
    main()
