"""Camera RAWs per second: indexed from the embedded preview (clipdesk) vs demosaiced.

    python benchmarks/bench_raw.py                      # the test samples that have both
    python benchmarks/bench_raw.py ~/Pictures/*.NEF     # your own RAWs (recommended)
    python benchmarks/bench_raw.py --repeat 5 a.CR2 b.ARW

Same files, same process, one thread, each file read into memory first (as the indexer
does). Three ways, each the whole decode to an RGB image:
- preview: raw.read() taking the embedded preview (what indexing does when the preview
  is at least twice the model's input);
- half-size demosaic: raw.read() demosaicing at half size (indexing's fallback);
- full demosaic: rawpy's postprocess() with its defaults (what a RAW editor does).
Printed as RAWs per second and as ratios to the preview. A file without a preview, or
whose sensor data LibRaw cannot decode, is left out (said). The bundled samples are real
camera files stripped small (tests/data/README.md): their previews are tiny (8x8 in the
RW2), so the ratio they give overstates the gain; real cameras embed a 1-24 MP JPEG.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import rawpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clipdesk.core.errors import DecodeError  # noqa: E402
from clipdesk.core.media import imaging, raw  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "raw"


def preview(data: bytes) -> object:
    found = raw.read(data, 0, imaging.MAX_PIXELS)  # side 0: any preview will do
    if not found.from_preview:
        raise DecodeError("no preview")
    return found


def half(data: bytes) -> object:
    return raw.read(data, 0, imaging.MAX_PIXELS, demosaic=True)


def full(data: bytes) -> object:
    import io

    with rawpy.imread(io.BytesIO(data)) as r:
        return r.postprocess()


WAYS: dict[str, Callable[[bytes], object]] = {
    "preview (clipdesk)": preview, "half-size demosaic": half, "full demosaic": full}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the files")
    args = parser.parse_args()
    files = args.files or sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() != ".md")
    usable = []
    for path in files:
        data = path.read_bytes()
        try:
            for way in WAYS.values():
                way(data)  # also the warm-up
        except (DecodeError, rawpy.LibRawError) as exc:
            print(f"left out {path.name}: {exc}")
            continue
        usable.append((path.name, data))
    if not usable:
        sys.exit("no file has both a preview and sensor data LibRaw decodes")
    print(f"{len(usable)} file(s): {', '.join(name for name, _ in usable)}; "
          f"{args.repeat} passes, one thread")
    rates = {}
    for label, way in WAYS.items():
        start = time.perf_counter()
        for _ in range(args.repeat):
            for _, data in usable:
                way(data)
        rates[label] = len(usable) * args.repeat / (time.perf_counter() - start)
    base = rates["preview (clipdesk)"]
    for label, rate in rates.items():
        print(f"{label:>20}: {rate:8.1f} RAW/s   preview is {base / rate:5.1f}x this")


if __name__ == "__main__":
    main()
