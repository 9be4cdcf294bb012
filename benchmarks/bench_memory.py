"""Peak memory of an index run over five 299 MP photos (PNG and TIFF, flat colour with a
square: a few MB each on disk): clipdesk's large-image decode vs the old whole decode,
same run.

Each figure is the peak resident memory (getrusage's ru_maxrss) of a whole
`clipdesk index` run in its own process, with the tiny test model:
  baseline  one small JPEG (the model, torch and the rest of a run)
  before    the five files, decoded whole as before (bigimage switched off)
  after     the five files, as clipdesk decodes them now
Prints each peak, what the five photos add to the baseline, and the ratio.

    python benchmarks/bench_memory.py              # 3 PNGs + 2 TIFFs of 299 MP
    python benchmarks/bench_memory.py --png 5 --tiff 0 --megapixels 150
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import TINY_MODEL, use_tiny_models  # noqa: E402
from tests.synthetic import BACKGROUNDS, COLORS, huge_png, render  # noqa: E402

# `clipdesk index ...` in this process, with the large-image path on or off
RUN = """
import sys
from clipdesk.core.media import bigimage
if sys.argv.pop(1) == "off":
    bigimage.LARGE_PIXELS = 1 << 62  # every photo decoded whole, as before
from clipdesk.cli import main
raise SystemExit(main(sys.argv[1:]))
"""
PEAK = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)")


def huge_tiff(path: Path, size: tuple[int, int], color: str) -> None:
    """A deflate-compressed RGB TIFF (Pillow holds the whole image while writing it)."""
    image = Image.new("RGB", size, BACKGROUNDS["white"])
    side = min(size) // 2
    left, top = (size[0] - side) // 2, (size[1] - side) // 2
    ImageDraw.Draw(image).rectangle((left, top, left + side, top + side), fill=COLORS[color])
    image.save(path, compression="tiff_adobe_deflate")


def make(folder: Path, pngs: int, tiffs: int, size: tuple[int, int]) -> None:
    colors = list(COLORS)
    for i in range(pngs + tiffs):
        color = colors[i % len(colors)]
        if i < pngs:
            huge_png(folder / f"scan-{i}.png", size, color)
        else:  # (this process's memory is not measured: each run's is its own)
            huge_tiff(folder / f"scan-{i}.tif", size, color)


def peak_mb(home: Path, root: Path, mode: str) -> tuple[float, float, str]:
    shutil.rmtree(home, ignore_errors=True)
    use_tiny_models(home)
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-c", RUN, mode,
                          "--home", str(home), "index", str(root), "--model", TINY_MODEL],
                         capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - start
    *out, last = run.stdout.splitlines()
    peak_kb, rc = map(int, last.split())
    if rc != 0:
        raise SystemExit(f"index failed: {run.stderr}")
    return peak_kb / 1024, seconds, out[0] if out else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--png", type=int, default=3)
    ap.add_argument("--tiff", type=int, default=2)
    ap.add_argument("--megapixels", type=float, default=299)
    args = ap.parse_args()
    side = int((args.megapixels * 1e6) ** 0.5)
    size = (side + 20, int(args.megapixels * 1e6) // (side + 20))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        small, big = work / "small", work / "big"
        small.mkdir()
        big.mkdir()
        render("blue", "circle", "white", (640, 480), seed=1).save(small / "small.jpg")
        make(big, args.png, args.tiff, size)
        on_disk = sum(p.stat().st_size for p in big.iterdir()) / 1e6
        print(f"{args.png} PNG + {args.tiff} TIFF of {size[0]}x{size[1]} "
              f"({size[0] * size[1] / 1e6:.0f} MP), {on_disk:.1f} MB on disk")
        base, _, _ = peak_mb(work / "home", small, "on")
        print(f"baseline (one small JPEG): peak {base:7.0f} MB")
        results = {}
        for label, mode in (("before (whole decode)", "off"), ("after (clipdesk)", "on")):
            peak, seconds, summary = peak_mb(work / "home", big, mode)
            results[mode] = peak - base
            print(f"{label:22s} peak {peak:7.0f} MB, {peak - base:6.0f} MB over the baseline, "
                  f"{seconds:5.1f} s: {summary}")
        print(f"ratio of the photos' share, before/after: "
              f"{results['off'] / max(results['on'], 1.0):.1f}x")


if __name__ == "__main__":
    main()
