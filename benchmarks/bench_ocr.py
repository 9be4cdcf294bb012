"""Reading text in photos (models/ocr.py, rapidocr PP-OCRv6 small on onnxruntime): seconds
a photo on this machine's cores, against the CLIP image embed of the same decode (the
index run's cost per photo, the baseline), and what the text pass would take on a 10k-photo
library for shares of photos the text check picks.

    python benchmarks/bench_ocr.py                       # 12 MP JPEGs, 6 with text, 6 without
    python benchmarks/bench_ocr.py --photos 3 --size 4000x3000

The photos are rendered: a sign with words on a textured wall, and the repo's synthetic
scenes (no text). Cost is the decode at READ_SIDE (DCT draft) + detection + recognition; a
photo with no text stops after detection. The CLIP baseline is ViT-B-32-256 with random
weights (its cost is the architecture's). Nothing is downloaded.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clipdesk.core.media import imaging  # noqa: E402
from clipdesk.core.models import ocr  # noqa: E402
from tests.synthetic import scene  # noqa: E402

WORDS = ["HAPPY BIRTHDAY ANNA", "Paris 1998", "NO PARKING", "Rua Augusta 24", "SALE -50%",
         "Welcome to Lisbon"]


def sign(n: int, size: tuple[int, int]) -> Image.Image:
    image = scene(n, size)
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rectangle((w // 8, h // 3, 7 * w // 8, 2 * h // 3), fill=(235, 235, 225))
    font = ImageFont.load_default(size=h // 12)
    draw.text((w // 8 + h // 20, h // 3 + h // 12), WORDS[n % len(WORDS)], fill=(20, 20, 30),
              font=font)
    return image


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def timed(data: bytes, side: int, run) -> float:  # noqa: ANN001
    started = time.perf_counter()
    run(imaging.decode(data, side).image)
    return time.perf_counter() - started


def clip_embed():  # noqa: ANN201
    from clipdesk.core.models.imports import open_clip_module, torch_module

    torch = torch_module()
    model, _, preprocess = open_clip_module().create_model_and_transforms("ViT-B-32-256")
    model.eval()

    def embed(image: Image.Image) -> None:
        with torch.inference_mode():
            model.encode_image(preprocess(image).unsqueeze(0))
    return embed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=6, help="of each kind")
    parser.add_argument("--size", default="4000x3000")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    texts = [jpeg(sign(n, size)) for n in range(args.photos)]
    plain = [jpeg(scene(100 + n, size)) for n in range(args.photos)]
    ocr.warm_up()
    ocr.read_text(imaging.decode(texts[0], ocr.READ_SIDE).image)  # first-run costs
    found = sum(bool(ocr.read_text(imaging.decode(d, ocr.READ_SIDE).image)) for d in texts)
    with_text = [timed(d, ocr.READ_SIDE, ocr.read_text) for d in texts]
    without = [timed(d, ocr.READ_SIDE, ocr.read_text) for d in plain]
    embed = clip_embed()
    embed(imaging.decode(plain[0], 256).image)
    clip = [timed(d, 256, embed) for d in plain]
    t, p, c = (statistics.median(x) for x in (with_text, without, clip))
    cores = len(os.sched_getaffinity(0))
    print(f"{size[0]}x{size[1]} JPEG, {cores} cores, {args.photos} photos of each kind")
    print(f"OCR, photo with text:    {t:6.2f} s  ({found}/{len(texts)} signs read)")
    print(f"OCR, photo without text: {p:6.2f} s")
    print(f"CLIP embed (baseline):   {c:6.2f} s  -> OCR costs {t / c:.1f}x / {p / c:.1f}x "
          "the embed")
    for share in (0.05, 0.10, 0.20, 1.0):
        hours = 10_000 * share * (t + p) / 2 / 3600
        print(f"10k photos, check picks {share:4.0%}: text pass about {hours:5.2f} h")


if __name__ == "__main__":
    main()
