"""Text encoding: clipdesk's short-context path vs open_clip's encode_text (full context),
same model, same run.

open_clip pads every text to the full context (77 tokens for the CLIP models) and runs the
text transformer over all of it; clipdesk stops at the batch's last end-of-text token.

    python benchmarks/bench_text.py                  # ViT-B-32, random weights
    python benchmarks/bench_text.py --model tiny     # the tiny test model
    python benchmarks/bench_text.py --model ViT-B-32-256

Random weights are fine for speed: the architecture decides the cost. Prints ms per short
query (one text, as a search encodes it) and ms per prompt for a 64-prompt batch of
mixed lengths (as a tag vocabulary is encoded), median of --repeats, and the ratio.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clipdesk.core.models.device import precision_for  # noqa: E402
from clipdesk.core.models.embedder import encode_text_tokens  # noqa: E402
from clipdesk.core.models.imports import open_clip_module, torch_module  # noqa: E402
from clipdesk.core.models.loading import load_model  # noqa: E402

QUERY = "kids on a beach at sunset"
PROMPTS = [f"a photo of {w}" for w in ("a dog", "a red car parked on a quiet street",
                                        "food", "a birthday party with balloons and cake",
                                        "mountains", "a cat sleeping on a sofa in the sun",
                                        "snow", "people")] * 8


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32", help="tiny, or an open_clip architecture")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    torch = torch_module()
    if args.threads:
        torch.set_num_threads(args.threads)
    open_clip = open_clip_module()
    if args.model == "tiny":
        loaded = load_model(f"local-dir:{REPO / 'tests/models/tiny-clip'}", "cpu")
        model, tokenizer = loaded.model, loaded.tokenizer
    else:
        model = open_clip.create_model(args.model, pretrained=None,
                                       precision=precision_for("cpu")).eval()
        tokenizer = open_clip.get_tokenizer(args.model)
    print(f"model: {args.model} ({type(model).__name__}), {torch.get_num_threads()} threads, "
          f"{precision_for('cpu')} (CLIPDESK_PRECISION chooses)")
    query, prompts = tokenizer([QUERY]), tokenizer(PROMPTS)
    with torch.inference_mode():
        for name, tokens, per in (("short query", query, 1), ("64 prompts", prompts, 64)):
            full = median_ms(lambda t=tokens: model.encode_text(t), args.repeats) / per
            short = median_ms(lambda t=tokens: encode_text_tokens(model, t), args.repeats) / per
            unit = "ms" if per == 1 else "ms per prompt"
            print(f"{name}: encode_text {full:.2f} {unit}, clipdesk {short:.2f} {unit}, "
                  f"{full / short:.1f}x")


if __name__ == "__main__":
    main()
