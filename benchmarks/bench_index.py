"""Indexing throughput on 12 MP JPEGs (or HEICs): clipdesk vs a naive rclip-style loop, same run.

The naive loop is what a first attempt (and rclip) looks like: for each photo, a full
decode, convert to RGB, the model's own preprocessing, then one model call per batch of 8,
all on one Python thread. clipdesk decodes at reduced size (JPEG draft) on a thread pool,
overlapped with embedding, and also hashes, writes a thumbnail, measures sharpness, writes
the catalog and the vector index, tags (a fresh home encodes its tag prompts first),
groups and backs up: its whole index run is timed. Both start with the model loaded
(the torch import and the model load are the same for both and are left out).

clipdesk embeds the whole frame (issue 22: each 4:3 photo's centre square and two end
strips, three model inputs from one decode); the naive loop, as rclip, the centre square
only. The whole frame's cost per photo is printed against a clipdesk first index of the
same photos with the centre square only (the extra parts switched off). That library is
then indexed again with them on: (c), what an older library pays once for the whole frame
(its non-square photos decoded again for their parts: indexing/backfill.py, as after
migration 14).

Two figures, as photos/s and the ratio:
  (a) first index: --photos photos into a fresh home;
  (b) --added new photos added to that indexed library (the run a person pays for
      importing a card).
Then the cosine similarity of clipdesk's stored vectors (draft decode, or a HEIC's
embedded preview) against the naive path's (full decode) for the same photos: the fast
path must stay within 0.99 (tiny model).

    python benchmarks/bench_index.py                     # ViT-B-32-256, random weights
    python benchmarks/bench_index.py --model tiny --photos 16 --added 16
    python benchmarks/bench_index.py --progressive       # progressive JPEGs
    python benchmarks/bench_index.py --heic              # HEICs with a 1024 px preview
    python benchmarks/bench_index.py --heic --preview 0  # HEICs decoded in full

Random weights are fine for speed: the architecture decides the cost (not for the cosine
check, which needs a trained model: use --model tiny).
"""
from __future__ import annotations

import argparse
import functools
import io
import json
import os
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clipdesk.core.indexing import cpu  # noqa: E402
from clipdesk.core.library import Library  # noqa: E402
from clipdesk.core.media import crops  # noqa: E402
from clipdesk.core.models import int8_tower  # noqa: E402
from clipdesk.core.models.device import PRECISION_ENV  # noqa: E402
from clipdesk.core.models.embedder import Embedder  # noqa: E402
from clipdesk.core.models.imports import torch_module  # noqa: E402
from clipdesk.core.models.loading import load_model  # noqa: E402
from clipdesk.core.types import Phase  # noqa: E402
from tests.synthetic import COLORS, SHAPES, render  # noqa: E402

SIZE_12MP = (4000, 3000)
FOLLOW_UP = {Phase.TAG, Phase.QUALITY, Phase.GROUP, Phase.BACKUP, Phase.DONE}
NAIVE_BATCH = 8  # rclip's batch size
PILLOW_HEIF_THREADS = 4  # pillow_heif's default (clipdesk sets 1)
HEIC_QUALITY = 50  # about 2 MB at 12 MP, as a phone's


def _scenes() -> list[Image.Image]:
    return [render(c, s, "gray", SIZE_12MP, seed=i)
            for i, (c, s) in enumerate((c, s) for c in list(COLORS)[:2] for s in SHAPES[:2])]


def _noisy(scene: Image.Image, noise: np.ndarray, i: int) -> Image.Image:
    arr = np.asarray(scene, dtype=np.int16) + np.roll(noise, i * 7, axis=1)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _noise() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(-12, 13, size=(SIZE_12MP[1], SIZE_12MP[0], 3), dtype=np.int16)


def make_photos(folder: Path, n: int, first: int = 0, progressive: bool = False) -> list[Path]:
    """Photo-like 12 MP JPEGs: a rendered scene plus sensor-like noise (so they do not
    compress to nothing, as real photos do not). `first` numbers a later import."""
    folder.mkdir(parents=True, exist_ok=True)
    scenes, noise = _scenes(), _noise()
    paths = []
    for i in range(first, first + n):
        path = folder / f"IMG_{i:04d}.jpg"
        _noisy(scenes[i % len(scenes)], noise, i).save(path, quality=92,
                                                       progressive=progressive)
        paths.append(path)
    return paths


@functools.cache
def _heic_scenes(preview: int) -> tuple[bytes, ...]:
    scenes, noise = _scenes(), _noise()
    encoded = []
    for i, scene in enumerate(scenes):
        buf = io.BytesIO()
        _noisy(scene, noise, i).save(buf, "HEIF", quality=HEIC_QUALITY, tile_size=512,
                                     thumbnails=[preview] if preview else [],
                                     enc_params={"preset": "ultrafast"})
        encoded.append(buf.getvalue())
    return tuple(encoded)


def make_heics(folder: Path, n: int, first: int = 0, preview: int = 1024) -> list[Path]:
    """12 MP HEICs in 512 px tiles as a phone writes them, with an embedded preview whose long
    side is `preview` pixels (0: none). Encoding 12 MP HEVC takes seconds, so the four
    scenes are encoded once and each file made unique by a trailing `free` box (same
    decode work, a new photo to clipdesk)."""
    folder.mkdir(parents=True, exist_ok=True)
    scenes = _heic_scenes(preview)
    paths = []
    for i in range(first, first + n):
        path = folder / f"IMG_{i:04d}.HEIC"
        path.write_bytes(scenes[i % len(scenes)] + struct.pack(">I4sI", 12, b"free", i))
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
    """photos/s of the naive loop, and its vectors by path (the reference path). It
    computes in fp32 in torch, as open_clip and rclip do on a CPU (clipdesk may use bf16,
    or an int8 image tower)."""
    chosen = {name: os.environ.get(name) for name in (PRECISION_ENV, int8_tower.INT8_ENV)}
    os.environ.update({PRECISION_ENV: "fp32", int8_tower.INT8_ENV: "0"})
    try:
        return _naive(paths, Embedder(load_model(spec)))
    finally:
        for name, value in chosen.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


def _naive(paths: list[Path], embedder: Embedder) -> tuple[float, dict[bytes, np.ndarray]]:
    torch = torch_module()
    ours = torch.get_num_threads()
    torch.set_num_threads(cpu.cores())  # torch's own default: a thread per core
    vectors: dict[bytes, np.ndarray] = {}
    clipdesk_threads = pillow_heif.options.DECODE_THREADS
    pillow_heif.options.DECODE_THREADS = PILLOW_HEIF_THREADS  # a first attempt's setting
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
    pillow_heif.options.DECODE_THREADS = clipdesk_threads
    return rate, vectors


def clipdesk_index(folder: Path, home: Path, spec: str, whole_frame: bool = True
                   ) -> tuple[float, int, float, float]:
    """One whole index run: (photos/s over the photos it embedded, photos, seconds,
    seconds until the photos were searchable: committed, in the index and saved, before
    tagging, grouping and the backup). `whole_frame` False: the centre square only, as
    before issue 22 (no extra squares: media/crops.py)."""
    load_model(spec)  # both sides start with the model loaded
    lib = Library(home)
    boxes = crops.part_boxes
    if not whole_frame:
        crops.part_boxes = lambda width, height: []
    try:
        start = time.perf_counter()
        summary, searchable = None, None
        for step in lib.index([str(folder)], model=spec):
            summary = step.summary or summary
            if searchable is None and step.phase in FOLLOW_UP:
                searchable = time.perf_counter() - start
        elapsed = time.perf_counter() - start
    finally:
        crops.part_boxes = boxes
        lib.close()
    embedded = summary.embedded if summary else 0
    return embedded / elapsed, embedded, elapsed, searchable or elapsed


def stored_vectors(home: Path) -> dict[bytes, np.ndarray]:
    lib = Library(home)
    try:
        model = lib.model_id
        assert model is not None
        ids, vecs = lib.catalog.embeddings.vectors(model)
        paths = lib.photos.paths(ids.tolist())
        return {paths[int(i)]: v for i, v in zip(ids, vecs, strict=True)}
    finally:
        lib.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["default", "tiny"], default="default")
    parser.add_argument("--photos", type=int, default=96, help="first index (a fresh home)")
    parser.add_argument("--added", type=int, default=96, help="new photos added afterwards")
    parser.add_argument("--progressive", action="store_true", help="progressive JPEGs")
    parser.add_argument("--centre-only", action="store_true",
                        help="(a) and (b) with the centre square only (no extra parts)")
    parser.add_argument("--heic", action="store_true", help="12 MP HEICs instead of JPEGs")
    parser.add_argument("--preview", type=int, default=1024, metavar="PX",
                        help="HEIC: long side of the embedded preview (0: none; used from twice "
                             "the working size on, 854 px at 320; 320: an iPhone's); default 1024")
    parser.add_argument("--heif-threads", type=int, metavar="N",
                        help="HEIC: libheif threads per decode for clipdesk (default: "
                             f"clipdesk's, {pillow_heif.options.DECODE_THREADS}; the naive "
                             f"loop keeps pillow_heif's {PILLOW_HEIF_THREADS})")
    args = parser.parse_args()
    if args.heif_threads:
        pillow_heif.options.DECODE_THREADS = args.heif_threads
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.model == "default":  # its random weights are new each run: a cache of its own
            os.environ["XDG_CACHE_HOME"] = str(tmp_path / "cache")
        folder = tmp_path / "photos"
        t = time.perf_counter()
        added_dir = tmp_path / "card"
        if args.heic:
            first = make_heics(folder, args.photos, preview=args.preview)
            added = make_heics(added_dir, args.added, first=args.photos, preview=args.preview)
            kind = (f"HEICs with a {args.preview} px preview" if args.preview
                    else "HEICs without a preview")
            kind += f", clipdesk decoding with {pillow_heif.options.DECODE_THREADS} thread(s)"
        else:
            first = make_photos(folder, args.photos, progressive=args.progressive)
            added = make_photos(added_dir, args.added, first=args.photos,
                                progressive=args.progressive)
            kind = f"{'progressive' if args.progressive else 'baseline'} JPEGs"
        print(f"made {len(first) + len(added)} 12 MP {kind} in {time.perf_counter() - t:.0f} s")
        spec = (default_arch_dir(tmp_path / "model") if args.model == "default"
                else f"local-dir:{REPO / 'tests/models/tiny-clip'}")
        home = tmp_path / "home"
        # prepared with the model, once a machine (as its download): not in the timings
        t = time.perf_counter()
        int8_tower.tower_for(load_model(spec))
        prepared = time.perf_counter() - t

        whole = not args.centre_only
        fresh, n_fresh, s_fresh, ready_fresh = clipdesk_index(folder, home, spec, whole)
        centre, _, s_centre, _ = clipdesk_index(folder, tmp_path / "centre-only", spec,
                                                whole_frame=False)
        s_upgrade = clipdesk_index(folder, tmp_path / "centre-only", spec)[2] if whole else 0
        base_fresh, reference = naive(first, spec)
        for path in added:  # the card's photos land in the indexed folder
            path.rename(folder / path.name)
        moved = [folder / p.name for p in added]
        more, n_more, s_more, ready_more = clipdesk_index(folder, home, spec, whole)
        base_more, more_reference = naive(moved, spec)
        reference.update(more_reference)
        stored = stored_vectors(home)

    cosines = np.array([float(stored[p] @ v) for p, v in reference.items() if p in stored])
    print(f"model: {args.model} ({spec.rsplit('/', 1)[-1]}); clipdesk: "
          f"{Embedder(load_model(spec)).precision}; the naive loop: torch fp32")
    if int8_tower.in_use(load_model(spec)):
        print(f"the int8 image tower was built (or read from {int8_tower.default_cache()}) "
              f"in {prepared:.1f} s before the runs: once a model and machine")
    print(f"(a) first index, {n_fresh} photos in a fresh home: clipdesk {fresh:.2f} photos/s "
          f"({s_fresh:.1f} s, tags' prompts included; searchable after {ready_fresh:.1f} s), "
          f"naive {base_fresh:.2f} photos/s ({n_fresh / base_fresh:.1f} s), "
          f"ratio {fresh / base_fresh:.2f}x "
          f"(time to searchable: {n_fresh / base_fresh / ready_fresh:.2f}x)")
    if not args.centre_only:
        print(f"the whole frame's cost (first index, 4:3 photos: two end strips each): "
              f"{(s_fresh - s_centre) / n_fresh * 1000:.0f} ms a photo (centre square only: "
              f"{centre:.2f} photos/s, {s_centre:.1f} s; ratio to naive "
              f"{centre / base_fresh:.2f}x)")
    print(f"(b) {n_more} photos added to the indexed library: clipdesk {more:.2f} photos/s "
          f"({s_more:.1f} s; searchable after {ready_more:.1f} s), naive {base_more:.2f} "
          f"photos/s ({n_more / base_more:.1f} s), ratio {more / base_more:.2f}x")
    if s_upgrade:
        print(f"(c) the whole frame for an older library of {n_fresh} photos (indexed with "
              f"the centre square only): {n_fresh / s_upgrade:.2f} photos/s "
              f"({s_upgrade:.1f} s; 10,000 photos: {10_000 * s_upgrade / n_fresh / 60:.0f} min)")
    print(f"cosine, clipdesk vs naive vectors of the same {len(cosines)} photos: "
          f"min {cosines.min():.4f}, mean {cosines.mean():.4f}"
          + ("" if args.model == "tiny" else " (random weights: only --model tiny is "
             "meaningful)"))


if __name__ == "__main__":
    main()
