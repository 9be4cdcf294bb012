"""The whole frame: how often a subject at an end of a non-square photo is found by its
words, against a centred one, with the extra parts (media/crops.py) off (the centre square
only), as whole squares at the ends (before 2026-12-07), and as indexing makes them (end
strips to crops.END_SHARE of the long side), same photos, same run. Tiny test model (it
knows coloured shapes: tests/models/README.md).

The library: for each of the 18 subjects (6 colours x 3 shapes), in each frame (16:9,
3:2, 4:3 landscape and 9:16 portrait): one photo with it centred (tests/synthetic.render),
one with it touching the start of the long side, and one with it touching the end and
another shape (next colour, next shape) in the middle of the frame: 216 photos.

Found-rate: for each subject, Library.search("a COLOUR SHAPE", k=16) (16 photos show it:
12 as their subject, 4 as another's centre shape; k=20 with --large); a photo is found
when it is among those hits and marked relevant (above the relevance cutoff, as the app
shows it; --rank-only: among the hits). Printed per position and frame, and the
edge/centred ratio, for the subject photos; and how many hits counted showed the subject
nowhere.

--background white|black: the same photos on another plain background (gray by default).
--large: a fourth photo of each subject and frame, the subject large (0.75-0.95 of the
short side) and touching the start: more than a strip holds (288 photos, k=20). Not part
of the edge / centred ratio.
--end-share X: the strips' reach in from each end, a share of the long side (default
crops.END_SHARE, 0.4: the middle fifth is left to the centre square alone).

    python benchmarks/bench_frame.py [--rank-only] [--background white] [--large]
                                     [--end-share 0.35]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clipdesk.core.library import Library  # noqa: E402
from clipdesk.core.media import crops  # noqa: E402
from tests.conftest import TINY_MODEL  # noqa: E402
from tests.synthetic import COLORS, SHAPES, render, render_at_end  # noqa: E402

FRAMES = {"16:9": (640, 360), "3:2": (600, 400), "4:3": (640, 480), "9:16": (360, 640)}
POSITIONS = ("centred", "edge", "edge+centre shape")
LARGE = (0.75, 0.95)  # a large subject's size, shares of the short side
RANK_ONLY = "--rank-only" in sys.argv
WRONG: dict[str, list[int]] = {}  # library -> [hits showing another subject, hits]


def make_library(root: Path, background: str, large: bool = False
                 ) -> dict[str, tuple[str, str, str, str]]:
    """Photo name -> (subject query, position, frame, the centre shape's query or "")."""
    root.mkdir(parents=True)
    colors, truth = list(COLORS), {}
    seed = 0
    for ci, color in enumerate(colors):
        for si, shape in enumerate(SHAPES):
            other = (colors[(ci + 1) % len(colors)], SHAPES[(si + 1) % len(SHAPES)])
            for frame, size in FRAMES.items():
                seed += 1
                photos = {
                    "centred": render(color, shape, background, size, seed=seed),
                    "edge": render_at_end(color, shape, background, size, "start", seed=seed),
                    "edge+centre shape": render_at_end(color, shape, background, size, "end",
                                                       seed=seed, centre=other)}
                if large:
                    photos["large at an end"] = render_at_end(
                        color, shape, background, size, "start", seed=seed, extent=LARGE)
                for position, image in photos.items():
                    # names say nothing (search matches words in file names first)
                    file = f"IMG_{len(truth):04d}.jpg"
                    image.save(root / file, quality=90)
                    shown = "" if position != "edge+centre shape" else f"a {other[0]} {other[1]}"
                    truth[file] = (f"a {color} {shape}", position, frame, shown)
    return truth


def found_rates(root: Path, home: Path, truth: dict[str, tuple[str, str, str, str]]
                ) -> dict[tuple[str, str], list[bool]]:
    """(position, frame) -> found or not for each photo."""
    lib = Library(home)
    try:
        for _ in lib.index([str(root)], model=TINY_MODEL):
            pass
        found: dict[tuple[str, str], list[bool]] = {}
        wrong = WRONG.setdefault(home.name, [0, 0])
        for query in sorted({t[0] for t in truth.values()}):
            showing = [f for f, t in truth.items() if query in (t[0], t[3])]
            results = lib.search(query, k=len(showing))
            hits = {Path(h.path.decode()).name for h in results if h.relevant or RANK_ONLY}
            wrong[0] += sum(name not in showing for name in hits)
            wrong[1] += len(hits)
            for file, (q, position, frame, _) in truth.items():
                if q == query:
                    found.setdefault((position, frame), []).append(file in hits)
        return found
    finally:
        lib.close()


def rate(found: dict[tuple[str, str], list[bool]], position: str | None = None,
         frame: str | None = None) -> float:
    values = [v for (p, f), vs in found.items() for v in vs
              if (position is None or p == position) and (frame is None or f == frame)]
    return sum(values) / len(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rank-only", action="store_true",
                        help="found: among the hits, relevant or not")
    parser.add_argument("--background", default="gray", choices=("gray", "white", "black"))
    parser.add_argument("--large", action="store_true",
                        help="add a photo of each with a large subject at an end")
    parser.add_argument("--end-share", type=float, default=crops.END_SHARE,
                        help="the end strips' reach, a share of the long side")
    args = parser.parse_args()
    runs: dict[str, dict[tuple[str, str], list[bool]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "photos"
        truth = make_library(root, args.background, args.large)
        positions = [*POSITIONS, "large at an end"] if args.large else POSITIONS
        print(f"{len(truth)} photos: 18 subjects x {len(FRAMES)} frames x {len(positions)} "
              f"positions, {args.background} background")
        boxes, share = crops.part_boxes, crops.END_SHARE
        try:
            crops.part_boxes = lambda width, height: []  # the centre square only
            runs["centre square only"] = found_rates(root, Path(tmp) / "off", truth)
            crops.part_boxes = boxes
            crops.END_SHARE = 1.0  # whole squares at the ends
            runs["whole squares at the ends"] = found_rates(root, Path(tmp) / "squares", truth)
            crops.END_SHARE = args.end_share
            runs[f"end strips to {args.end_share:g} (as indexed)"] = found_rates(
                root, Path(tmp) / "strips", truth)
        finally:
            crops.part_boxes, crops.END_SHARE = boxes, share
    print(f"{'found-rate':<22}" + "".join(f"{f:>8}" for f in FRAMES) + f"{'all':>8}")
    for (name, found), home in zip(runs.items(), ("off", "squares", "strips"), strict=True):
        print(name)
        for position in positions:
            print(f"  {position:<20}" + "".join(f"{rate(found, position, f):8.2f}"
                                               for f in FRAMES)
                  + f"{rate(found, position):8.2f}")
        edge = (rate(found, "edge") + rate(found, "edge+centre shape")) / 2
        print(f"  edge / centred: {edge / max(rate(found, 'centred'), 1e-9):.2f}")
        bad, shown = WRONG[home]
        print(f"  hits counted showing another subject: {bad} of {shown}")


if __name__ == "__main__":
    main()
