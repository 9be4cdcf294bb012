"""Videos: video seconds indexed per second, and the cost per video, with the keyframe
reading of media/video.py against a naive baseline in the same run: decoding every frame
of the same files (what a reader that does not seek would pay).

The videos: H.264 MP4s encoded here with PyAV from rendered scenes (tests/videos.py), a
scene change every 10 s, a keyframe every 2 s (as phones place them), 25 frames a second.

1. Per video, same files: video.read (at most MAX_FRAMES keyframes, each seek + one
   decode) against decoding every frame; seconds of video per second of work for both.
2. Length does not matter: video.read on a short and a long video (--long seconds).
3. The index run (tiny test model, tests/models/README.md): `clipdesk index` over the
   folder of videos, video seconds indexed per second and seconds per video.

    python benchmarks/bench_video.py [--videos 6] [--seconds 60] [--long 1800] [--size 640x360]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import av  # noqa: E402

from clipdesk.core.library import Library  # noqa: E402
from clipdesk.core.media import formats, video  # noqa: E402
from tests.conftest import TINY_MODEL  # noqa: E402
from tests.synthetic import COLORS, SHAPES  # noqa: E402
from tests.videos import encode  # noqa: E402

FPS = 25
SIDE = 256  # the working side indexing asks for (the tiny model's input, thumbnails)


def scenes(seconds: float, seed: int) -> list[tuple[str, str, str, float]]:
    colors = list(COLORS)
    count = max(1, round(seconds / 10))
    return [(colors[(seed + i) % len(colors)], SHAPES[(seed + i) % len(SHAPES)], "gray",
             seconds / count) for i in range(count)]


def decode_all(path: Path) -> int:
    """The baseline: every frame decoded (and reduced as indexing would)."""
    frames = 0
    with av.open(str(path)) as box:
        stream = box.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in box.decode(stream):
            frame.to_image(width=max(2, frame.width * SIDE // frame.height), height=SIDE)
            frames += 1
    return frames


def keyframes(path: Path) -> video.Video:
    raw = os.fsencode(path)
    with open(path, "rb") as f:
        fmt = formats.identify(raw, f.read(64))
    return video.read(raw, fmt, SIDE)


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--long", type=float, default=1800.0)
    parser.add_argument("--size", default="640x360")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "videos"
        root.mkdir()
        started = time.perf_counter()
        paths = [encode(root / f"VID_{i:03d}.mp4", scenes(args.seconds, i), size, FPS)
                 for i in range(args.videos)]
        print(f"{args.videos} videos of {args.seconds:.0f} s, {size[0]}x{size[1]}, {FPS} fps "
              f"(encoded in {time.perf_counter() - started:.0f} s; "
              f"{sum(p.stat().st_size for p in paths) / len(paths) / 1e6:.1f} MB each)")

        # 1. keyframes against every frame, same files
        ours = [timed(keyframes, p) for p in paths]
        naive = [timed(decode_all, p) for p in paths]
        t_ours = sum(t for t, _ in ours)
        t_naive = sum(t for t, _ in naive)
        total = args.seconds * len(paths)
        frames = sum(len(v.frames) for _, v in ours)
        print(f"keyframes (video.read): {t_ours / len(paths) * 1000:7.1f} ms a video, "
              f"{frames / len(paths):.1f} frames, {total / t_ours:9.0f} video s per s")
        print(f"every frame (baseline): {t_naive / len(paths) * 1000:7.1f} ms a video, "
              f"{sum(n for _, n in naive) / len(paths):.0f} frames, "
              f"{total / t_naive:9.0f} video s per s")
        print(f"ratio: keyframes {t_naive / t_ours:.1f}x faster")

        # 2. a long video costs what a short one does
        long_path = encode(Path(tmp) / "long.mp4", scenes(args.long, 99), size, FPS)
        short_t = min(timed(keyframes, paths[0])[0] for _ in range(3))
        long_t = min(timed(keyframes, long_path)[0] for _ in range(3))
        print(f"length: {args.seconds:.0f} s video {short_t * 1000:.1f} ms, {args.long:.0f} s "
              f"video ({long_path.stat().st_size / 1e6:.0f} MB) {long_t * 1000:.1f} ms: "
              f"{long_t / short_t:.2f}x for {args.long / args.seconds:.0f}x the length")

        # 3. the index run
        lib = Library(Path(tmp) / "home")
        try:
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            t_index, steps = timed(lambda: list(lib.index([str(root)], model=TINY_MODEL)))
            summary = steps[-1].summary
            assert summary is not None and summary.embedded == len(paths), summary
            grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss
            print(f"index run (tiny model, model load included): {t_index:.1f} s, "
                  f"{t_index / len(paths):.2f} s a video, {total / t_index:.0f} video s "
                  f"indexed per s; peak memory grew {grown / 1024:.0f} MB")
        finally:
            lib.close()


if __name__ == "__main__":
    main()
