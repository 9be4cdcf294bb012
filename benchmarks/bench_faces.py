"""People (models/faces.py, dlib HOG + 5-point landmarks + ResNet descriptor): ms a photo
to find faces and ms a face to describe it on this machine's cores, against the CLIP image
embed of a photo (the index run's cost per photo, the baseline), the grouping of a 10k-photo
library's faces, and what the faces step adds to a 10k-photo library.

    python benchmarks/bench_faces.py                 # the test faces + 12 MP face-less scenes
    python benchmarks/bench_faces.py --repeat 5

The face photos are tests/data/faces (public-domain portraits, one face each); the
face-less photos are the repo's synthetic scenes at 4000x3000. Each cost includes the
decode at DETECT_SIDE (a DCT draft for JPEG), as the pass does. The CLIP baseline is
ViT-B-32-256 with random weights (its cost is the architecture's). Nothing is downloaded.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_ocr import clip_embed  # noqa: E402 (beside this script)

from clipdesk.core.media import imaging  # noqa: E402
from clipdesk.core.models import faces  # noqa: E402
from clipdesk.core.organize import people_rules  # noqa: E402
from tests.synthetic import scene  # noqa: E402

FACES = Path(__file__).resolve().parents[1] / "tests" / "data" / "faces"


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def best_of(repeat: int, run) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with_faces = [p.read_bytes() for p in sorted(FACES.glob("*.jpg"))]
    plain = [jpeg(scene(200 + n, (4000, 3000))) for n in range(3)]
    faces.warm_up()

    def decode(data: bytes) -> Image.Image:
        return imaging.decode(data, faces.DETECT_SIDE).image

    detect = [best_of(args.repeat, lambda d=d: faces.detect(decode(d)))
              for d in with_faces + plain]
    found = [len(faces.find_faces(decode(d))) for d in with_faces]
    whole = [best_of(args.repeat, lambda d=d: faces.find_faces(decode(d))) for d in with_faces]
    per_face = statistics.median((w - t) / max(n, 1)
                                 for w, t, n in zip(whole, detect, found, strict=False))
    decode_only = statistics.median(best_of(args.repeat, lambda d=d: decode(d)) for d in plain)
    det_faces, det_plain = statistics.median(detect[:len(with_faces)]), statistics.median(
        detect[len(with_faces):])
    embed = clip_embed()
    embed(imaging.decode(plain[0], 256).image)
    clip = statistics.median(best_of(args.repeat, lambda d=d: embed(imaging.decode(d, 256).image))
                             for d in plain)
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores, dlib HOG at {faces.DETECT_SIDE} px short side "
          f"(long side at most {faces.DETECT_LONG}), {sum(found)} faces in "
          f"{len(with_faces)} portraits")
    print(f"find faces, ~1 MP portrait:     {det_faces * 1000:6.0f} ms a photo (decode + HOG)")
    print(f"find faces, 12 MP scene:        {det_plain * 1000:6.0f} ms a photo (decode + HOG; "
          f"the decode {decode_only * 1000:.0f} ms)")
    print(f"describe a face:                {per_face * 1000:6.0f} ms a face "
          "(landmarks + ResNet descriptor)")
    print(f"CLIP embed, 12 MP (baseline):   {clip * 1000:6.0f} ms a photo -> finding faces "
          f"costs {det_plain / clip:.1f}x the embed")
    print(f"faces per second (12 MP photos with one face): "
          f"{1 / (det_plain + per_face):.1f}")
    rng = np.random.default_rng(0)
    for n in (5_000, 15_000):  # a 10k library: 0.5 to 1.5 faces a photo
        people = rng.normal(size=(n // 10, 128)).astype(np.float32) * 0.09
        vectors = people[rng.integers(0, len(people), n)] + rng.normal(
            size=(n, 128)).astype(np.float32) * 0.02
        grouping = best_of(1, lambda v=vectors, m=n: people_rules.cluster(
            v, [None] * m, [frozenset()] * m))
        print(f"grouping {n:,} faces:          {grouping:6.2f} s")
    for per_photo in (0.5, 1.0, 1.5):
        hours = 10_000 * (det_plain + per_photo * per_face) / 3600
        print(f"10k photos, {per_photo} faces a photo: faces step about {hours:4.2f} h "
              f"({(det_plain + per_photo * per_face) / clip:.1f}x the embed a photo)")


if __name__ == "__main__":
    main()
