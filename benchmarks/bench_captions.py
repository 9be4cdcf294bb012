"""Caption time per photo: clipdesk's greedy decoding vs open_clip's default beam search.

    python benchmarks/bench_captions.py            # coca_ViT-B-32, 3 photos each way
    python benchmarks/bench_captions.py --tokens 12

The default caption model's architecture (coca_ViT-B-32) with random weights: the real
weights cannot be downloaded here, and the cost of a caption depends only on the
architecture and the number of tokens written. Random weights never write the end
token, so every caption runs to --tokens (real captions stop at their end, typically
10-15 tokens). Both ways run the same model on the same images in this process; the
ratio is beam search's time over greedy's.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import open_clip  # noqa: E402

from tests.synthetic import scene  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="coca_ViT-B-32")
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--photos", type=int, default=3)
    args = parser.parse_args()
    model, _, preprocess = open_clip.create_model_and_transforms(args.arch)
    model.eval()
    images = [preprocess(scene(i, (1600, 1200))).unsqueeze(0) for i in range(args.photos)]
    common = dict(seq_len=args.tokens, min_seq_len=args.tokens - 1)
    ways = {
        "greedy (clipdesk)": dict(generation_type="top_k", top_k=1),
        "beam search, 6 beams (open_clip's default)": dict(generation_type="beam_search"),
    }
    times = {}
    with torch.inference_mode():
        model.generate(images[0], **common, **ways["greedy (clipdesk)"])  # warm-up
        for name, options in ways.items():
            spent = []
            for image in images:
                t = time.perf_counter()
                model.generate(image, **common, **options)
                spent.append(time.perf_counter() - t)
            times[name] = statistics.median(spent)
            print(f"{name}: {times[name]:.2f} s per photo ({args.tokens} tokens, "
                  f"{torch.get_num_threads()} threads)")
    greedy, beam = times.values()
    print(f"ratio: beam search takes {beam / greedy:.1f}x as long as greedy")


if __name__ == "__main__":
    main()
