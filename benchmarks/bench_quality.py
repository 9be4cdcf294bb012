"""Quality costs: the sharpness score per photo, and grouping bursts and duplicates.

    python benchmarks/bench_quality.py                  # 100,000 photos
    python benchmarks/bench_quality.py --photos 20000

1. Sharpness: 12 MP photo-like JPEGs are decoded the way indexing does (draft + reduce to
   the 320 px working size); the score is measured on that decode. Prints ms per photo
   for both and the ratio (the score's share of what indexing already pays).
2. Grouping: a library of synthetic CLIP-like vectors (bench_search.clustered) with
   planted groups of 2-5: copies of one picture (cosine 0.975-0.995 to the original, any
   time) and bursts (cosine 0.91-0.97, two seconds apart); every other photo has a capture
   time spread over five years.
   library.groups.regroup() runs on a real catalog and index. The baseline is exact all-pairs
   similarity in numpy blocks over a subset (the "all pairs" way), extrapolated by n².
   Prints the time to group the whole library, an incremental regroup after 100 new
   photos, and the precision / recall of the planted groups.
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_search import clustered  # noqa: E402
from clipdesk.core.library import Library  # noqa: E402
from clipdesk.core.media import imaging, quality  # noqa: E402
from clipdesk.core.organize import group_rules  # noqa: E402
from clipdesk.core.paths import catalog_path  # noqa: E402
from clipdesk.core.store.catalog import Catalog  # noqa: E402
from clipdesk.core.types import PhotoMeta  # noqa: E402
from tests.synthetic import scene  # noqa: E402

MODEL = "bench:synthetic"


def bench_sharpness(n: int = 8) -> None:
    files = []
    for seed in range(n):
        buf = io.BytesIO()
        scene(seed, (4000, 3000)).save(buf, "JPEG", quality=90)
        files.append(buf.getvalue())
    t = time.perf_counter()
    decoded = [imaging.decode(data, 320).image for data in files]
    decode = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for image in decoded:
        quality.measure(image)
    measure = (time.perf_counter() - t) / n
    print(f"sharpness + exposure: {measure * 1000:.1f} ms per photo; the decode indexing "
          f"already does: {decode * 1000:.1f} ms (12 MP JPEG); ratio {measure / decode:.2f}")


def planted_library(n: int, dim: int, rng: np.random.Generator):
    """Vectors, capture times and the planted groups (lists of row numbers)."""
    vecs = clustered(n, dim, rng)
    times = rng.uniform(0, 5 * 365 * 86400, n)
    groups, row = [], 0
    while row < int(n * 0.15):
        size = int(rng.integers(2, 6))
        burst = rng.random() < 0.5
        base = vecs[row]
        for j in range(1, size):
            # cosine to the original 1 / sqrt(1 + noise²): 0.975-0.995 for copies of one
            # picture, 0.91-0.97 for the other shots of a burst
            cosine = rng.uniform(0.91, 0.97) if burst else rng.uniform(0.975, 0.995)
            noise = np.sqrt(1 / cosine ** 2 - 1)
            v = base + noise * rng.normal(size=dim).astype(np.float32) / np.sqrt(dim)
            vecs[row + j] = v / np.linalg.norm(v)
            times[row + j] = times[row] + (j * 2.0 if burst else rng.uniform(0, 86400 * 300))
        groups.append(list(range(row, row + size)))
        row += size
    return vecs, times, groups


def add_photos(home: Path, vecs: np.ndarray, times: np.ndarray, rows: range) -> None:
    """Catalog rows as indexing writes them (photo id = row + 1)."""
    cat = Catalog(catalog_path(home))
    with cat.transaction() as db:
        cat.meta.set("model", MODEL)
        for i in rows:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(times[i]))
            pid = cat.photos.add(db, PhotoMeta(f"{i:032x}", 4000, 3000, stamp, None, "JPEG",
                                              sharpness=0.7))
            cat.embeddings.put(db, pid, MODEL, vecs[i])
            cat.files.put(db, f"/nowhere/{i}.jpg".encode(), 1, 1, "indexed", pid)
    cat.close()


def all_pairs_seconds(vecs: np.ndarray, block: int = 2048) -> float:
    t = time.perf_counter()
    for start in range(0, len(vecs), block):
        sims = vecs[start:start + block] @ vecs.T
        np.nonzero(sims >= group_rules.BURST)
    return time.perf_counter() - t


def bench_grouping(n: int, dim: int) -> None:
    rng = np.random.default_rng(0)
    vecs, times, planted = planted_library(n, dim, rng)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        add_photos(home, vecs, times, range(n - 100))
        lib = Library(home)
        t = time.perf_counter()
        lib.vector_index()
        print(f"index of {n - 100:,} vectors built in {time.perf_counter() - t:.1f} s "
              "(once per library, not part of grouping)")
        t = time.perf_counter()
        count = lib.groups.regroup()
        full = time.perf_counter() - t
        lib.close()
        add_photos(home, vecs, times, range(n - 100, n))
        lib = Library(home)
        lib.vector_index()  # repaired from the catalog: the 100 new photos are added
        t = time.perf_counter()
        lib.groups.regroup(lib.groups.ungrouped())
        incremental = time.perf_counter() - t
        found = [[m.photo_id - 1 for m in g] for g in lib.groups.all()]  # ids start at 1
        lib.close()
    subset = min(n, 20_000)
    baseline = all_pairs_seconds(vecs[:subset]) * (n / subset) ** 2
    true_pairs = {p for g in planted for p in combinations(sorted(g), 2)}
    found_pairs = {p for g in found for p in combinations(sorted(g), 2)}
    precision = len(true_pairs & found_pairs) / max(1, len(found_pairs))
    recall = len(true_pairs & found_pairs) / max(1, len(true_pairs))
    print(f"grouping {n:,} photos: {full:.1f} s ({count:,} groups); all pairs in numpy "
          f"(measured on {subset:,}, scaled by n²): {baseline:.0f} s; ratio {baseline / full:.1f}x")
    print(f"incremental regroup after 100 new photos: {incremental * 1000:.0f} ms")
    print(f"planted groups: {len(planted):,}; pair precision {precision:.3f}, "
          f"recall {recall:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    args = parser.parse_args()
    bench_sharpness()
    bench_grouping(args.photos, args.dim)


if __name__ == "__main__":
    main()
