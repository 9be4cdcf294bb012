"""Indexing throughput on 12 MP JPEGs: clipdesk vs a naive rclip-style loop, same run.

The naive loop is what a first attempt (and rclip) looks like: for each photo, a full
decode, convert to RGB, the model's own preprocessing, then one model call per batch of 8,
all on one Python thread. clipdesk decodes at reduced size (JPEG draft) on a thread pool,
overlapped with embedding, and also hashes, writes a thumbnail, measures sharpness, writes
the catalog and the vector index, tags (a fresh home encodes its tag prompts first),
groups and backs up: its whole index run is timed. Both start with the model loaded
(the torch import and the model load are the same for both and are left out).

Two figures, as photos/s and the ratio:
  (a) first index: --photos photos into a fresh home;
  (b) --added new photos added to that indexed library (the run a person pays for
      importing a card).
Then the cosine similarity of clipdesk's stored vectors (draft decode) against the naive
path's (full decode) for the same photos: the fast path must stay within 0.99 (tiny model).

    python benchmarks/bench_index.py                     # ViT-B-32-256, random weights
    python benchmarks/bench_index.py --model tiny --photos 16 --added 16
    python benchmarks/bench_index.py --progressive       # progressive JPEGs

Random weights are fine for speed: the architecture decides the cost (not for the cosine
check, which needs a trained model: use --model tiny).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clipdesk.core import cpu  # noqa: E402
from clipdesk.core.embedder import Embedder  # noqa: E402
from clipdesk.core.library import Library  # noqa: E402
from clipdesk.core.models import load_model, torch_module  # noqa: E402
from clipdesk.core.types import Phase  # noqa: E402
from tests.synthetic import COLORS, SHAPES, render  # noqa: E402

SIZE_12MP = (4000, 3000)
FOLLOW_UP = {Phase.TAG, Phase.QUALITY, Phase.GROUP, Phase.BACKUP, Phase.DONE}
NAIVE_BATCH = 8  # rclip's batch size


def make_photos(folder: Path, n: int, first: int = 0, progressive: bool = False) -> list[Path]:
    """Photo-like 12 MP JPEGs: a rendered scene plus sensor-like noise (so they do not
    compress to nothing, as real photos do not). `first` numbers a later import."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    base = [render(c, s, "gray", SIZE_12MP, seed=i)
            for i, (c, s) in enumerate((c, s) for c in list(COLORS)[:2] for s in SHAPES[:2])]
    noise = rng.integers(-12, 13, size=(SIZE_12MP[1], SIZE_12MP[0], 3), dtype=np.int16)
    paths = []
    for i in range(first, first + n):
        arr = np.asarray(base[i % len(base)], dtype=np.int16) + np.roll(noise, i * 7, axis=1)
        path = folder / f"IMG_{i:04d}.jpg"
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(
            path, quality=92, progressive=progressive)
        paths.append(path)
    return paths


def default_arch_dir(folder: Path) -> str:
    """ViT-B-32-256 with random weights in the local-dir layout."""
    import open_clip
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    cfg = open_clip.get_model_config("ViT-B-32-256")
    pre = open_clip.get_pretrained_cfg("ViT-B-32-256", "datacomp_s34b_b86k")
    (folder / "open_clip_config.json").write_text(json.dumps({
        "model_cfg": cfg,
        "preprocess_cfg": {k: pre[k] for k in ("mean", "std", "interpolation", "resize_mode")}}))
    model = open_clip.create_model("ViT-B-32-256")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              folder / "open_clip_model.safetensors")
    return f"local-dir:{folder}"


def naive(paths: list[Path], spec: str) -> tuple[float, dict[bytes, np.ndarray]]:
    """photos/s of the naive loop, and its vectors by path (the reference path)."""
    embedder = Embedder(load_model(spec))
    torch = torch_module()
    ours = torch.get_num_threads()
    torch.set_num_threads(cpu.cores())  # torch's own default: a thread per core
    vectors: dict[bytes, np.ndarray] = {}
    start = time.perf_counter()
    batch: list[object] = []
    names: list[bytes] = []

    def flush() -> None:
        vectors.update(zip(names, embedder.encode_images(batch), strict=True))
        batch.clear()
        names.clear()

    for path in paths:
        with Image.open(path) as im:
            batch.append(embedder.prepare(im.convert("RGB")))
        names.append(bytes(path))
        if len(batch) == NAIVE_BATCH:
            flush()
    if batch:
        flush()
    rate = len(paths) / (time.perf_counter() - start)
    torch.set_num_threads(ours)
    return rate, vectors


def clipdesk_index(folder: Path, home: Path, spec: str) -> tuple[float, int, float, float]:
    """One whole index run: (photos/s over the photos it embedded, photos, seconds,
    seconds until the photos were searchable: committed, in the index and saved, before
    tagging, grouping and the backup)."""
    load_model(spec)  # both sides start with the model loaded
    lib = Library(home)
    start = time.perf_counter()
    summary, searchable = None, None
    for step in lib.index([str(folder)], model=spec):
        summary = step.summary or summary
        if searchable is None and step.phase in FOLLOW_UP:
            searchable = time.perf_counter() - start
    elapsed = time.perf_counter() - start
    lib.close()
    embedded = summary.embedded if summary else 0
    return embedded / elapsed, embedded, elapsed, searchable or elapsed


def stored_vectors(home: Path) -> dict[bytes, np.ndarray]:
    lib = Library(home)
    try:
        model = lib.model_id
        assert model is not None
        ids, vecs = lib.catalog.vectors(model)
        paths = lib.paths_for(ids.tolist())
        return {paths[int(i)]: v for i, v in zip(ids, vecs, strict=True)}
    finally:
        lib.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["default", "tiny"], default="default")
    parser.add_argument("--photos", type=int, default=96, help="first index (a fresh home)")
    parser.add_argument("--added", type=int, default=96, help="new photos added afterwards")
    parser.add_argument("--progressive", action="store_true", help="progressive JPEGs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        folder = tmp_path / "photos"
        t = time.perf_counter()
        first = make_photos(folder, args.photos, progressive=args.progressive)
        added_dir = tmp_path / "card"
        added = make_photos(added_dir, args.added, first=args.photos,
                            progressive=args.progressive)
        print(f"made {len(first) + len(added)} 12 MP "
              f"{'progressive' if args.progressive else 'baseline'} JPEGs "
              f"in {time.perf_counter() - t:.0f} s")
        spec = (default_arch_dir(tmp_path / "model") if args.model == "default"
                else f"local-dir:{REPO / 'tests/models/tiny-clip'}")
        home = tmp_path / "home"

        fresh, n_fresh, s_fresh, ready_fresh = clipdesk_index(folder, home, spec)
        base_fresh, reference = naive(first, spec)
        for path in added:  # the card's photos land in the indexed folder
            path.rename(folder / path.name)
        moved = [folder / p.name for p in added]
        more, n_more, s_more, ready_more = clipdesk_index(folder, home, spec)
        base_more, more_reference = naive(moved, spec)
        reference.update(more_reference)
        stored = stored_vectors(home)

    cosines = np.array([float(stored[p] @ v) for p, v in reference.items() if p in stored])
    print(f"model: {args.model} ({spec.rsplit('/', 1)[-1]})")
    print(f"(a) first index, {n_fresh} photos in a fresh home: clipdesk {fresh:.2f} photos/s "
          f"({s_fresh:.1f} s, tags' prompts included; searchable after {ready_fresh:.1f} s), "
          f"naive {base_fresh:.2f} photos/s ({n_fresh / base_fresh:.1f} s), "
          f"ratio {fresh / base_fresh:.2f}x "
          f"(time to searchable: {n_fresh / base_fresh / ready_fresh:.2f}x)")
    print(f"(b) {n_more} photos added to the indexed library: clipdesk {more:.2f} photos/s "
          f"({s_more:.1f} s; searchable after {ready_more:.1f} s), naive {base_more:.2f} "
          f"photos/s ({n_more / base_more:.1f} s), ratio {more / base_more:.2f}x")
    print(f"cosine, clipdesk vs naive vectors of the same {len(cosines)} photos: "
          f"min {cosines.min():.4f}, mean {cosines.mean():.4f}"
          + ("" if args.model == "tiny" else " (random weights: only --model tiny is "
             "meaningful)"))


if __name__ == "__main__":
    main()
