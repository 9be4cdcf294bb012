"""Videos for tests, encoded here with PyAV from rendered scenes (synthetic.render): each
scene is held for some seconds, with a keyframe at each scene's start, so a test knows
what each keyframe shows and when."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tests.synthetic import render

Scene = tuple[str, str, str, float]  # colour, shape, background, seconds


def encode(path: Path, scenes: list[Scene], size: tuple[int, int] = (320, 240),
           fps: int = 5, codec: str = "libx264", gop_seconds: float = 2.0,
           created: str | None = None) -> Path:
    """Write the scenes as one video (container by `path`'s extension). A keyframe at
    the start of each scene and every `gop_seconds` (as cameras place them); `created`
    ("2021-07-04T10:00:00.000000Z", UTC) as its creation time, as cameras write it."""
    with av.open(str(path), "w") as box:
        if created is not None:
            box.metadata["creation_time"] = created
        stream = box.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.codec_context.gop_size = max(1, round(gop_seconds * fps))
        pts = 0
        for n, (color, shape, background, seconds) in enumerate(scenes):
            image = np.asarray(render(color, shape, background, size, seed=n))
            for i in range(round(seconds * fps)):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = pts
                if i == 0:
                    frame.pict_type = av.video.frame.PictureType.I
                pts += 1
                for packet in stream.encode(frame):
                    box.mux(packet)
        for packet in stream.encode():
            box.mux(packet)
    return path
