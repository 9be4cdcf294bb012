"""Indexing throughput on a GPU: photos/s, and how the time splits between decoding and the
model. Self-contained (generates its photos, random model weights: no download); a lent
CUDA machine runs it in well under 5 minutes:

    python benchmarks/bench_gpu.py                    # ViT-B-32-256, 1024 photos of 12 MP
    python benchmarks/bench_gpu.py --arch ViT-B-16-SigLIP2 --photos 2048
    python benchmarks/bench_gpu.py --gpu-decode       # also torchvision's decode_jpeg on CUDA

What it runs is clipdesk's own path: `imaging.decode` (JPEG draft to the model's input
size, EXIF orientation) and the model's preprocessing on a pool of cores - 1 decode
threads, overlapped through a bounded queue with the model on the main thread: fp16,
batches pinned in host memory and moved with non_blocking copies, the batch size chosen
from the free GPU memory (a probe batch measures the memory one photo takes). It prints:

  decode alone   photos/s of the decode pool (every worker busy, no model)
  model alone    photos/s of the model on ready batches (inputs already on the GPU)
  pipeline       photos/s of the two overlapped, and the share of its wall time the model
                 was busy vs the main thread waited for decoded photos

On a machine without CUDA it runs a smoke version (the tiny test model, small photos,
a few batches) and says so: the numbers then mean nothing.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clipdesk.core.media import imaging  # noqa: E402
from clipdesk.core.models.device import PRECISIONS, precision_for  # noqa: E402
from clipdesk.core.models.imports import open_clip_module, torch_module  # noqa: E402
from clipdesk.core.models.loading import load_model  # noqa: E402

torch: Any = torch_module()
SIZE_12MP = (4000, 3000)
DISTINCT = 32  # distinct files; the photo list repeats them (each is decoded every time)


def make_jpegs(n: int, size: tuple[int, int], workers: int) -> list[bytes]:
    """Photo-like JPEGs in memory: smooth scenes plus sensor-like noise (made in parallel:
    numpy and Pillow's encoder release the interpreter lock)."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)

    def one(i: int) -> bytes:
        rng = np.random.default_rng(i)
        colour = rng.uniform(0, 255, size=3).astype(np.float32)
        scene = np.sin(xx / (50 + 7 * i)) * 60 + np.cos(yy / (70 + 5 * i)) * 60
        pixels = scene[..., None] + colour + rng.integers(-12, 13, size=(h, w, 3),
                                                         dtype=np.int16)
        buf = io.BytesIO()
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=92)
        return buf.getvalue()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(n)))


def load(arch: str | None, device: str) -> tuple[Any, Any, int, Any]:
    """(model, preprocess, input side, the inputs' dtype): random weights, in the precision
    clipdesk picks for `device` (fp16 on CUDA). The dtype is not the first parameter's:
    open_clip leaves some (the class embedding) in fp32."""
    open_clip, torch = open_clip_module(), torch_module()
    if arch is None:
        loaded = load_model(f"local-dir:{REPO / 'tests/models/tiny-clip'}", device)
        return loaded.model, loaded.preprocess, loaded.image_size, loaded.dtype
    precision = precision_for(device)
    model, _, preprocess = open_clip.create_model_and_transforms(
        arch, pretrained=None, precision=precision, device=device)
    size = model.visual.image_size
    return (model.eval(), preprocess, int(max(size) if isinstance(size, (tuple, list)) else size),
            getattr(torch, PRECISIONS[precision]))


def prepare(data: bytes, side: int, preprocess: Any) -> Any:
    return preprocess(imaging.decode(data, side).image)


def batch_size(model: Any, side: int, device: str, dtype: Any) -> int:
    """The largest power of two whose activations fit in half the free GPU memory (a probe
    batch of 32 measures them), at most 1024; 4 on the CPU smoke run."""
    if device != "cuda":
        return 4
    probe = 32
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    with torch.inference_mode():
        model.encode_image(torch.zeros(probe, 3, side, side, device=device, dtype=dtype))
    torch.cuda.synchronize()
    per_photo = max(1, (torch.cuda.max_memory_allocated() - before) // probe)
    free, _ = torch.cuda.mem_get_info()
    size = 32
    while size * 2 <= 1024 and size * 2 * per_photo < free // 2:
        size *= 2
    print(f"batch size {size} ({per_photo / 2**20:.1f} MiB a photo, "
          f"{free / 2**30:.0f} GiB free)")
    return size


def to_device(inputs: list[Any], device: str, dtype: Any) -> Any:
    batch = torch.stack(inputs)
    if device == "cuda":
        batch = batch.pin_memory()
    return batch.to(device, dtype, non_blocking=True)


def decode_alone(files: list[bytes], side: int, preprocess: Any, workers: int) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(lambda d: prepare(d, side, preprocess), files):
            pass
    return len(files) / (time.perf_counter() - start)


def model_alone(model: Any, inputs: list[Any], bs: int, n: int, device: str, dtype: Any
                ) -> float:
    batch = to_device([inputs[i % len(inputs)] for i in range(bs)], device, dtype)
    with torch.inference_mode():
        model.encode_image(batch)  # warm-up (kernels, cuDNN choices)
        sync(device)
        start = time.perf_counter()
        done = 0
        while done < n:
            model.encode_image(batch).float().cpu()
            done += bs
        sync(device)
    return done / (time.perf_counter() - start)


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def pipeline(files: list[bytes], model: Any, side: int, preprocess: Any, bs: int,
             workers: int, device: str, dtype: Any) -> tuple[float, float, float]:
    """(photos/s, share of wall time the model was busy, share waiting for decodes). As in
    clipdesk's index run: decodes submitted in order, at most 3 batches in flight."""
    busy = waited = 0.0
    done = 0
    pending = iter(files)
    in_flight: deque[Future[Any]] = deque()
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool, torch.inference_mode():
        while True:
            while len(in_flight) < 3 * bs:  # the decoders work ahead of the model
                data = next(pending, None)
                if data is None:
                    break
                in_flight.append(pool.submit(prepare, data, side, preprocess))
            if not in_flight:
                break
            t = time.perf_counter()
            inputs = [in_flight.popleft().result() for _ in range(min(bs, len(in_flight)))]
            waited += time.perf_counter() - t
            t = time.perf_counter()
            model.encode_image(to_device(inputs, device, dtype)).float().cpu()  # waits for it
            busy += time.perf_counter() - t
            done += len(inputs)
    wall = time.perf_counter() - start
    return done / wall, busy / wall, waited / wall


def gpu_decode(files: list[bytes], side: int, bs: int) -> float | None:
    """photos/s of torchvision.io.decode_jpeg on CUDA (baseline JPEGs) plus a resize to the
    model's side, in batches: the other way to feed a GPU."""
    try:
        from torchvision.io import decode_jpeg
        from torchvision.transforms.v2.functional import resize
    except ImportError:
        return None
    datas = [torch.frombuffer(bytearray(d), dtype=torch.uint8) for d in files]
    try:
        decode_jpeg(datas[:2], device="cuda")  # warm-up, and a check it works here
    except Exception as exc:  # an old torchvision or a build without nvjpeg
        print(f"GPU decode unavailable: {exc}")
        return None
    torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(0, len(datas), bs):
        images = decode_jpeg(datas[i:i + bs], device="cuda")
        [resize(im, [side], antialias=True) for im in images]
    torch.cuda.synchronize()
    return len(datas) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="ViT-B-32-256", help="an open_clip architecture")
    parser.add_argument("--photos", type=int, default=1024)
    parser.add_argument("--gpu-decode", action="store_true")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    workers = max(1, (os.cpu_count() or 2) - 1)
    if cuda:
        print(f"CUDA: {torch.cuda.get_device_name()}, {os.cpu_count()} cores, "
              f"{workers} decode threads, {args.arch} {precision_for(device)} "
              "(random weights)")
        arch, n, size = args.arch, args.photos, SIZE_12MP
    else:
        print("No CUDA here: a smoke run only (tiny model, 8 small photos); "
              "the numbers mean nothing. Run this on a GPU machine.")
        arch, n, size = None, 8, (800, 600)
    t = time.perf_counter()
    distinct = make_jpegs(min(DISTINCT, n), size, workers)
    files = [distinct[i % len(distinct)] for i in range(n)]
    print(f"made {len(distinct)} distinct {size[0]}x{size[1]} JPEGs in "
          f"{time.perf_counter() - t:.0f} s; {n} photos to index")
    model, preprocess, side, dtype = load(arch, device)
    fits = batch_size(model, side, device, dtype)
    bs = min(fits, max(4, n // 8))  # at least 8 batches, or nothing overlaps
    if bs < fits:
        print(f"batch size {bs} (memory allows {fits}; more --photos for larger batches)")
    sample = [prepare(d, side, preprocess) for d in distinct[:8]]

    dec = decode_alone(files, side, preprocess, workers)
    mod = model_alone(model, sample, bs, max(n, 4 * bs) if cuda else 8, device, dtype)
    rate, busy, waited = pipeline(files, model, side, preprocess, bs, workers, device, dtype)
    print(f"decode alone: {dec:,.0f} photos/s ({workers} threads, "
          f"{dec / workers:.1f} photos/s a thread)")
    print(f"model alone:  {mod:,.0f} photos/s (batch {bs}, {dtype})")
    print(f"pipeline:     {rate:,.0f} photos/s; of its wall time the model was busy "
          f"{busy:.0%}, the main thread waited for decodes {waited:.0%} "
          f"({'decode' if waited > busy else 'model'}-bound)")
    if cuda and args.gpu_decode:
        gpu = gpu_decode(files, side, min(bs, 64))
        if gpu is not None:
            print(f"GPU JPEG decode + resize: {gpu:,.0f} photos/s (torchvision decode_jpeg)")
    if not cuda:
        print("(smoke run: no CUDA)")


if __name__ == "__main__":
    main()
