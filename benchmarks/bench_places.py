"""When and where: what reading dates and GPS and naming places costs.

(a) the back-fill's EXIF header read (exif.read_header, no pixels) per photo, against the
    indexing decode of the same 12 MP JPEGs (imaging.decode at 256 px);
(b) loading the place data once (seconds, peak memory) and naming 10,000 GPS points,
    against the load itself.

    python benchmarks/bench_places.py [--photos 40]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clipdesk.core.media import exif, imaging, places  # noqa: E402
from tests.photolib import exif_bytes  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=40)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(args.photos):
            pixels = rng.integers(0, 255, (3000, 4000, 3), dtype=np.uint8)
            path = Path(tmp) / f"{i}.jpg"
            Image.fromarray(pixels).save(path, quality=90, exif=exif_bytes(
                taken="2019:06:01 12:00:00", offset="+01:00", gps=(38.72, -9.14)))
            paths.append(os.fsencode(path))
        started = time.perf_counter()
        for p in paths:
            imaging.decode(imaging.read_photo(p)[0], 256)
        decode = (time.perf_counter() - started) / len(paths)
        started = time.perf_counter()
        for p in paths:
            assert exif.read_header(p).lat is not None
        header = (time.perf_counter() - started) / len(paths)
    print(f"(a) header read {header * 1e3:.2f} ms a photo, decode {decode * 1e3:.1f} ms: "
          f"{decode / header:.0f}x cheaper; 10,000 photos back-filled in {header * 1e4:.0f} s")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    assert places.available()
    load = time.perf_counter() - started
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    points = [tuple(p) for p in rng.uniform([-60, -180], [70, 180], (10_000, 2))]
    started = time.perf_counter()
    places.name(points)
    naming = time.perf_counter() - started
    print(f"(b) place data loaded in {load:.2f} s, peak memory +{grown:.0f} MB; "
          f"10,000 points named in {naming:.2f} s ({naming / load:.2f}x the load)")


if __name__ == "__main__":
    main()
