"""Indexing throughput on 12 MP JPEGs: clipdesk's pipeline vs a naive baseline, same run.

The naive baseline is what a first attempt looks like: for each photo, a full decode,
convert to RGB, the model's preprocessing, then one model call per batch, all on one
thread. clipdesk decodes at reduced size (JPEG draft) on a thread pool, overlapped with
embedding, and also writes a thumbnail and the catalog.

    python benchmarks/bench_index.py                 # default architecture, random weights
    python benchmarks/bench_index.py --model tiny    # the tiny test model
    python benchmarks/bench_index.py --photos 64

Random weights are fine for speed: the architecture decides the cost.
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

from clipdesk.core.embedder import Embedder  # noqa: E402
from clipdesk.core.library import Library  # noqa: E402
from clipdesk.core.models import load_model  # noqa: E402
from tests.synthetic import COLORS, SHAPES, render  # noqa: E402

SIZE_12MP = (4000, 3000)


def make_photos(folder: Path, n: int) -> list[Path]:
    """Photo-like 12 MP JPEGs: a rendered scene plus sensor-like noise (so they do not
    compress to nothing, as real photos do not)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    base = [render(c, s, "gray", SIZE_12MP, seed=i)
            for i, (c, s) in enumerate((c, s) for c in list(COLORS)[:2] for s in SHAPES[:2])]
    noise = rng.integers(-12, 13, size=(SIZE_12MP[1], SIZE_12MP[0], 3), dtype=np.int16)
    paths = []
    for i in range(n):
        arr = np.asarray(base[i % len(base)], dtype=np.int16) + np.roll(noise, i * 7, axis=1)
        path = folder / f"IMG_{i:04d}.jpg"
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path, quality=92)
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


def naive(paths: list[Path], spec: str) -> float:
    embedder = Embedder(load_model(spec))
    start = time.perf_counter()
    batch = []
    for path in paths:
        with Image.open(path) as im:
            batch.append(embedder.prepare(im.convert("RGB")))
        if len(batch) == embedder.batch_size:
            embedder.encode_images(batch)
            batch = []
    if batch:
        embedder.encode_images(batch)
    return len(paths) / (time.perf_counter() - start)


def clipdesk_index(folder: Path, home: Path, spec: str) -> float:
    load_model(spec)  # both sides start with the model loaded
    lib = Library(home)
    start = time.perf_counter()
    for _ in lib.index([str(folder)], model=spec):
        pass
    elapsed = time.perf_counter() - start
    photos = lib.status().photos
    lib.close()
    return photos / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["default", "tiny"], default="default")
    parser.add_argument("--photos", type=int, default=48)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        t = time.perf_counter()
        paths = make_photos(tmp_path / "photos", args.photos)
        print(f"made {len(paths)} 12 MP JPEGs in {time.perf_counter() - t:.0f} s")
        spec = (default_arch_dir(tmp_path / "model") if args.model == "default"
                else f"local-dir:{REPO / 'tests/models/tiny-clip'}")
        ours = clipdesk_index(tmp_path / "photos", tmp_path / "home", spec)
        base = naive(paths, spec)
    print(f"model: {args.model} ({spec.rsplit('/', 1)[-1]})")
    print(f"naive baseline: {base:.1f} photos/s")
    print(f"clipdesk index: {ours:.1f} photos/s (with thumbnails and catalog)")
    print(f"ratio: {ours / base:.2f}x")


if __name__ == "__main__":
    main()
