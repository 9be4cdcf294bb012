"""Search latency: the hnswlib index vs exact brute force over the same vectors, same run.

    python benchmarks/bench_search.py              # 100,000 photos, 512-d
    python benchmarks/bench_search.py --photos 1000000

Vectors are synthetic but shaped like CLIP embeddings of a photo library: themes
(clusters) in a low-dimensional latent space (CLIP embeddings have an effective
dimension of a few dozen), projected to 512-d, plus noise. Isotropic 512-d noise would be
far harder for any graph index and unlike real embeddings. Prints build time, median
query latency for both, recall@10 of the index against the exact answer, and the ratio.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clipdesk.core.vindex import VectorIndex  # noqa: E402

LATENT = 32


def clustered(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    projection = np.random.default_rng(42).normal(size=(LATENT, dim)).astype(np.float32)
    centres = np.random.default_rng(7).normal(size=(max(1, n // 200), LATENT))
    latent = centres[rng.integers(0, len(centres), n)] + 0.5 * rng.normal(size=(n, LATENT))
    vecs = latent.astype(np.float32) @ projection
    vecs += 0.1 * np.linalg.norm(vecs, axis=1, keepdims=True) / np.sqrt(dim) * rng.normal(
        size=(n, dim)).astype(np.float32)
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("-k", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    vecs = clustered(args.photos, args.dim, rng)
    queries = clustered(args.queries, args.dim, rng)
    ids = np.arange(args.photos)

    t = time.perf_counter()
    index = VectorIndex.build(ids, vecs)
    print(f"built index of {args.photos} x {args.dim} in {time.perf_counter() - t:.1f} s")

    fast, exact, recall = [], [], []
    for q in queries:
        t = time.perf_counter()
        hits = index.query(q, args.k)
        fast.append(time.perf_counter() - t)
        t = time.perf_counter()
        scores = vecs @ q
        top = np.argpartition(-scores, args.k)[: args.k]
        top = top[np.argsort(-scores[top])]
        exact.append(time.perf_counter() - t)
        recall.append(len({i for i, _ in hits[:10]} & set(top[:10].tolist())) / 10)
    f_ms, e_ms = statistics.median(fast) * 1e3, statistics.median(exact) * 1e3
    print(f"hnswlib query:     {f_ms:.3f} ms median (k={args.k})")
    print(f"brute force query: {e_ms:.3f} ms median")
    print(f"recall@10: {statistics.mean(recall):.3f}")
    print(f"ratio: {e_ms / f_ms:.1f}x faster than brute force")


if __name__ == "__main__":
    main()
