"""Watch latency: a photo copied into a watched folder -> found by search, with the
watcher's default debounce (watch.QUIET, watch.SETTLE), against the index run alone.

    python benchmarks/bench_watch.py              # 5 copies into a 20-photo library

The tiny test model (tests/models/tiny-clip): the time that matters here is the wait
for a burst to end plus one incremental index run; a real model adds its embedding time
(about 60 ms a photo on 2 CPU cores for the default model) to both columns.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clipdesk.core.indexing import watch  # noqa: E402
from clipdesk.core.library import Library  # noqa: E402
from tests.conftest import TINY_MODEL, use_tiny_models  # noqa: E402
from tests.synthetic import render  # noqa: E402

COLORS = ("red", "green", "blue", "yellow", "orange", "purple")
SHAPES = ("circle", "square", "triangle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--copies", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        photos, spare = base / "photos", base / "spare"
        photos.mkdir()
        spare.mkdir()
        for i in range(args.photos + args.copies):
            image = render(COLORS[i % 6], SHAPES[i % 3], "white", (1200, 900), seed=i)
            image.save((photos if i < args.photos else spare) / f"photo{i}.jpg")
        use_tiny_models(base / "home")
        lib = Library(base / "home")
        for _ in lib.index([str(photos)], model=TINY_MODEL):
            pass
        latencies, runs = [], []
        watcher = watch.Watcher(lib, on_batch=lambda b: runs.append(b.seconds))
        watcher.start()
        while not runs:
            time.sleep(0.01)
        for source in sorted(spare.iterdir()):
            name = f"copied{source.stem}"
            started = time.monotonic()
            shutil.copyfile(source, photos / f"{name}.jpg")
            while name + ".jpg" not in {os.path.basename(os.fsdecode(h.path))
                                        for h in lib.search(name, k=5)}:
                time.sleep(0.01)
            latencies.append(time.monotonic() - started)
        watcher.stop()
        lib.close()
    run = statistics.median(runs[1:])
    latency = statistics.median(latencies)
    print(f"copied -> searchable: median {latency:.2f} s (max {max(latencies):.2f} s) over "
          f"{len(latencies)} copies; the index run alone: median {run:.2f} s; "
          f"ratio {latency / run:.1f}x (the rest is the debounce: quiet {watch.QUIET} s + "
          f"settle {watch.SETTLE} s)")


if __name__ == "__main__":
    main()
