"""Search latency: the hnswlib index vs exact brute force over the same vectors, and
end-to-end `Library.search` / `Library.similar` over a synthetic catalog, same run.

    python benchmarks/bench_search.py                        # 100,000 photos, ViT-B-32-256
    python benchmarks/bench_search.py --photos 1000000       # a million: the index build
                                                             # takes 15+ min on 2 cores, and
                                                             # the temp folder needs about
                                                             # 7 GB (catalog + index file)
    python benchmarks/bench_search.py --model tiny           # the tiny test model (64-d)
    python benchmarks/bench_search.py --index-only           # the first part only
    python benchmarks/bench_search.py --photos 1000000 --keep DIR   # built once into DIR

Vectors are synthetic but shaped like CLIP embeddings of a photo library: themes
(clusters) in a low-dimensional latent space (CLIP embeddings have an effective
dimension of a few dozen), projected to the model's dimension, plus noise. Isotropic
512-d noise would be far harder for any graph index and unlike real embeddings.

Part 1 (the index alone): build time, median query latency of the index and of exact
brute force, recall@10 of the index against the exact answer, and the ratio.

Part 2 (end to end): the vectors go into a real catalog (SQLite file, with paths under
named folders, so name matching has words to find) as the model's vectors; then
`Library.search` (text encoding with the model, random weights for the default
architecture: the cost is the architecture's; index query, name match, relevance cutoff,
paths) with distinct queries (the text cache never answers), and `Library.similar` for
library photos. p50 and p95 of each, with the model loaded and the index in memory, and
the bytes per photo of the index file and of the stored vectors.
"""
from __future__ import annotations

import argparse
import contextlib
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
from clipdesk.core.paths import catalog_path, index_path  # noqa: E402
from clipdesk.core.store.catalog import Catalog, pack_vector  # noqa: E402
from clipdesk.core.store.vindex import VectorIndex  # noqa: E402

LATENT = 32
ROOT = b"/photos"
FOLDERS = ["beach trip", "birthday", "garden", "mountains", "wedding", "paris", "snow",
           "kids", "work", "dogs"]
WORDS = ["dog", "cat", "beach", "sunset", "car", "tree", "kids", "cake", "snow", "city",
         "bike", "boat", "flower", "house", "mountain", "river", "party", "food"]


def clustered(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    projection = np.random.default_rng(42).normal(size=(LATENT, dim)).astype(np.float32)
    centres = np.random.default_rng(7).normal(size=(max(1, n // 200), LATENT))
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):  # bounded memory at a million
        m = min(100_000, n - start)
        latent = centres[rng.integers(0, len(centres), m)] + 0.5 * rng.normal(size=(m, LATENT))
        vecs = latent.astype(np.float32) @ projection
        vecs += 0.1 * np.linalg.norm(vecs, axis=1, keepdims=True) / np.sqrt(dim) * rng.normal(
            size=(m, dim)).astype(np.float32)
        out[start:start + m] = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    return out


def percentiles(times: list[float]) -> str:
    ms = np.array(times) * 1e3
    return f"p50 {np.percentile(ms, 50):.2f} ms, p95 {np.percentile(ms, 95):.2f} ms"


def index_only(vecs: np.ndarray, queries: np.ndarray, k: int, kept: Path | None,
               model_id: str) -> VectorIndex:
    """The index over `vecs` (built, or loaded from `kept` when an earlier run saved it)."""
    index = VectorIndex.load(kept, model_id) if kept and kept.exists() else None
    if index is None:
        ids = np.arange(1, len(vecs) + 1)  # photo ids start at 1, as in the catalog below
        t = time.perf_counter()
        index = VectorIndex.build(ids, vecs)
        print(f"built index of {len(vecs)} x {vecs.shape[1]} in {time.perf_counter() - t:.1f} s")
        if kept:
            index.save(kept, model_id)
    fast, exact, recall = [], [], []
    for q in queries:
        t = time.perf_counter()
        hits = index.query(q, k)
        fast.append(time.perf_counter() - t)
        t = time.perf_counter()
        scores = vecs @ q
        top = np.argpartition(-scores, k)[:k]
        top = top[np.argsort(-scores[top])]
        exact.append(time.perf_counter() - t)
        recall.append(len({i for i, _ in hits[:10]} & set((top[:10] + 1).tolist())) / 10)
    f_ms, e_ms = statistics.median(fast) * 1e3, statistics.median(exact) * 1e3
    print(f"hnswlib query:     {f_ms:.3f} ms median (k={k})")
    print(f"brute force query: {e_ms:.3f} ms median")
    print(f"recall@10: {statistics.mean(recall):.3f}")
    print(f"ratio: {e_ms / f_ms:.1f}x faster than brute force")
    return index


def photo_path(i: int) -> bytes:
    folder = FOLDERS[i % len(FOLDERS)]
    return ROOT + f"/{2000 + i % 25}/{folder}/IMG_{i:07d}.jpg".encode()


def fill_catalog(home: Path, model_id: str, vecs: np.ndarray) -> None:
    """A real catalog holding len(vecs) photos (files under named folders) with these
    vectors as `model_id`'s, written in large transactions."""
    home.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(catalog_path(home))
    try:
        catalog.files.add_roots([ROOT])
        now = time.time()
        for start in range(0, len(vecs), 20_000):
            ids = range(start + 1, min(start + 20_000, len(vecs)) + 1)
            with catalog.transaction() as db:
                db.executemany(
                    "INSERT INTO photos(id, hash, width, height, taken_at, format, added_at) "
                    "VALUES(?, ?, 4000, 3000, ?, 'JPEG', ?)",
                    ((i, f"{i:032x}", f"20{i % 25:02d}-06-01T12:00:00", now) for i in ids))
                db.executemany(
                    "INSERT INTO files(path, size, mtime_ns, photo_id, status) "
                    "VALUES(?, 4000000, 0, ?, 'indexed')",
                    ((photo_path(i), i) for i in ids))
                db.executemany(
                    "INSERT INTO embeddings VALUES(?, ?, ?)",
                    ((i, model_id, pack_vector(vecs[i - 1])) for i in ids))
                db.executemany(
                    "INSERT INTO photo_words(rowid, names) VALUES(?, ?)",
                    ((i, photo_path(i)[len(ROOT) + 1:].decode()) for i in ids))
            print(f"  catalog: {ids[-1]:,} photos", end="\r", flush=True)
        print()
    finally:
        catalog.close()


def timed(fn: Callable[[], object], runs: list[object]) -> list[float]:
    times = []
    for arg in runs:
        t = time.perf_counter()
        fn(arg)  # type: ignore[call-arg]
        times.append(time.perf_counter() - t)
    return times


def stored_bytes(home: Path) -> tuple[int | None, int]:
    """(bytes of the embeddings table and its index, where SQLite can say; catalog bytes)."""
    import sqlite3

    db = sqlite3.connect(catalog_path(home))
    try:
        row = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name IN "
                         "('embeddings', 'sqlite_autoindex_embeddings_1')").fetchone()
        table = int(row[0]) if row and row[0] is not None else None
    except sqlite3.OperationalError:  # SQLite built without dbstat
        table = None
    finally:
        db.close()
    return table, catalog_path(home).stat().st_size


def end_to_end(vecs: np.ndarray, index: VectorIndex, spec: str, home: Path, queries: int,
               k: int) -> None:
    from clipdesk.core.models.device import precision_for
    from clipdesk.core.models.loading import load_model
    from clipdesk.core.models.spec import parse_spec

    model_id = parse_spec(spec).id
    n = len(vecs)
    if not catalog_path(home).exists():  # (--keep: written by an earlier run)
        t = time.perf_counter()
        fill_catalog(home, model_id, vecs)
        print(f"catalog of {n:,} photos written in {time.perf_counter() - t:.1f} s")
        index.save(index_path(home, model_id), model_id)  # the index of part 1: same vectors
    lib = Library(home)
    try:
        lib.settings.model = model_id
        load_model(spec)
        t = time.perf_counter()
        lib.vector_index()  # loaded, checked and reconciled with the catalog, as at start
        print(f"index loaded and checked against the catalog in {time.perf_counter() - t:.1f} s")
        print(f"the model computes in {precision_for(lib.store.query_embedder().loaded.device)}")
        rng = np.random.default_rng(1)
        texts = [f"{a} and {b} at the {c}" for a, b, c in
                 (rng.choice(WORDS, 3, replace=False) for _ in range(queries))]
        texts[::5] = [f"{w}" for w in rng.choice(FOLDERS, len(texts[::5]))]  # name matches
        lib.search("warm up", k)  # the first query loads the relevance sample
        search = timed(lambda text: lib.search(text, k), texts)
        embedder = lib.store.query_embedder()  # the text encoding alone, other texts
        encode = timed(embedder.encode_text, [f"{t}, seen again" for t in texts])
        picks = [photo_path(int(i)) for i in rng.integers(1, n + 1, queries)]
        similar = timed(lambda path: lib.similar(path, k), picks)
        index_file = index_path(home, model_id).stat().st_size
    finally:
        lib.close()
    table, catalog = stored_bytes(home)
    print(f"Library.search  ({queries} distinct texts, k={k}): {percentiles(search)}")
    print(f"  of which the text encoding alone: {percentiles(encode)}")
    print(f"Library.similar ({queries} library photos, k={k}): {percentiles(similar)}")
    dim = vecs.shape[1]
    print(f"bytes per photo (dim {dim}: {dim * 4:,} B a float32 vector, stored as "
          f"{len(pack_vector(vecs[0])):,} B of int8 codes):")
    print(f"  index file:     {index_file / n:,.0f} B")
    if table is None:
        print("  stored vectors: unknown (SQLite without dbstat here)")
    else:
        print(f"  stored vectors: {table / n:,.0f} B (the catalog's embeddings table, "
              f"its primary key included)")
        print(f"  together:       {(index_file + table) / n:,.0f} B")
    print(f"  (the whole catalog file: {catalog / n:,.0f} B)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--model", choices=["default", "tiny"], default="default")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("-k", type=int, default=20)
    parser.add_argument("--index-only", action="store_true")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="build the model, vectors, index and catalog into DIR once and "
                             "reuse them on later runs (one --photos and --model a DIR)")
    args = parser.parse_args()
    with (contextlib.nullcontext(str(args.keep)) if args.keep
          else tempfile.TemporaryDirectory()) as tmp:
        tmp_path = Path(tmp)
        kept = tmp_path if args.keep else None
        tmp_path.mkdir(parents=True, exist_ok=True)
        if args.model == "tiny":
            spec = f"local-dir:{REPO / 'tests/models/tiny-clip'}"
        elif kept and (kept / "model" / "open_clip_config.json").exists():
            spec = f"local-dir:{kept / 'model'}"
        else:
            from bench_index import default_arch_dir  # beside this file

            spec = default_arch_dir(tmp_path / "model")
        from clipdesk.core.models.loading import load_model
        from clipdesk.core.models.spec import parse_spec

        dim = int(load_model(spec).model.text_projection.shape[-1])
        rng = np.random.default_rng(0)
        t = time.perf_counter()
        saved = kept / "vectors.npy" if kept else None
        vecs = np.load(saved) if saved and saved.exists() else clustered(args.photos, dim, rng)
        if saved and not saved.exists():
            np.save(saved, vecs)
        queries = clustered(args.queries, dim, np.random.default_rng(2))
        print(f"{len(vecs):,} synthetic {dim}-d vectors in {time.perf_counter() - t:.1f} s "
              f"(model: {args.model})")
        print("-- the index alone")
        index = index_only(vecs, queries, args.k, kept / "index.bin" if kept else None,
                           parse_spec(spec).id)
        if not args.index_only:
            print("-- end to end, Library over a real catalog")
            end_to_end(vecs, index, spec, tmp_path / "home", args.queries, args.k)


if __name__ == "__main__":
    main()
