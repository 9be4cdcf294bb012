"""Train the tiny CLIP model used by clipdesk's end-to-end tests.

What
    A ~2M-parameter CLIP (open_clip's own ``open_clip.CLIP`` class: a tiny ModifiedResNet image
    tower on 64x64 inputs, a 2-layer text transformer with open_clip's default ``SimpleTokenizer``;
    most parameters are the 49408-entry token embedding table) trained with
    ``open_clip.ClipLoss`` on synthetic scenes from ``tests/synthetic.py`` (a coloured shape on a
    plain background; a quarter of the scenes with a second shape beside it).  It learns exactly
    enough "vision-language" for tests to assert that the query "a red circle" ranks photos of red
    circles first.

Why
    Real CLIP weights are hundreds of MB and need a network download; the test-suite must run
    offline and fast.  The model is saved in the ``local-dir:`` layout of open_clip hub repos, so
    the tests exercise open_clip's real loading code path::

        model, _, preprocess = open_clip.create_model_and_transforms("local-dir:tests/models/tiny-clip")
        tokenizer = open_clip.get_tokenizer("local-dir:tests/models/tiny-clip")

How
    Training images are rendered at random photo-like aspect ratios (4:3, 3:2, 1:1, 3:4, 16:9) and
    sizes, some are JPEG re-encoded, then passed through *exactly* the eval transform that open_clip
    builds for the model (resize shortest side + centre crop + normalize), so train and test inputs
    match.  The only other augmentation is a horizontal flip.  Captions are drawn from several
    templates ("a red circle", "red circle", "a photo of a red circle",
    "a red circle on a white background", ...); a fifth name the colour or the shape alone
    ("a red shape", "a circle").  A two-shape scene's caption names one of its shapes.  Everything
    is seeded (data, init, batch order, caption choice); with the same torch version and thread
    count the result is bit-identical.

    Run (from the repo root; ~5 minutes on 2 CPU cores: ~25 s rendering, ~4 min training,
    ~30 s evaluation; no GPU or network needed)::

        .venv/bin/python scripts/train_tiny_clip.py              # train, save, evaluate
        .venv/bin/python scripts/train_tiny_clip.py --evaluate   # only evaluate the saved model

    Output: ``tests/models/tiny-clip/open_clip_config.json`` and ``open_clip_model.safetensors``
    (float16 weights, ~3.8 MB).  The evaluation renders a held-out set (seeds never used in training)
    at 1600x1200 and 1200x1600 and prints text->image precision@5, zero-shot accuracy and the
    embedding stability under JPEG re-encoding / downscaling; it exits non-zero if an acceptance
    threshold is missed.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import logging
import math
import random
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import open_clip  # noqa: E402

from tests.synthetic import BACKGROUNDS, COLORS, SHAPES, render, render_pair  # noqa: E402

DEFAULT_OUT = REPO_ROOT / "tests" / "models" / "tiny-clip"

MODEL_CFG: dict = {
    "embed_dim": 64,
    # A list of layers selects open_clip's ModifiedResNet image tower; in experiments it learned the
    # shapes far faster than a ViT of similar cost (a 2-3 layer ViT stalled at ~70% shape accuracy).
    "vision_cfg": {"image_size": 64, "layers": [1, 1, 1, 1], "width": 8, "head_width": 16},
    "text_cfg": {"context_length": 20, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}
PREPROCESS_CFG: dict = {
    "mean": list(open_clip.OPENAI_DATASET_MEAN),
    "std": list(open_clip.OPENAI_DATASET_STD),
    "interpolation": "bicubic",
    "resize_mode": "shortest",
}

TEMPLATES: tuple[str, ...] = (
    "a {c} {s}",
    "{c} {s}",
    "a photo of a {c} {s}",
    "a picture of a {c} {s}",
    "an image of a {c} {s}",
    "a {c} {s} on a {b} background",
    "a photo of a {c} {s} on a {b} background",
    "{c} {s} on {b}",
)
# captions that name the colour or the shape alone, as tags and loose queries do
PARTIAL_TEMPLATES: dict[str, tuple[str, ...]] = {
    "color": ("a {c} shape", "{c}", "something {c}"),
    "shape": ("a {s}", "{s}", "a {s} shape"),
}
ASPECTS: tuple[tuple[int, int], ...] = ((4, 3), (3, 2), (1, 1), (3, 4), (16, 9))
COMBOS: list[tuple[str, str, str]] = list(itertools.product(COLORS, SHAPES, BACKGROUNDS))

SEED = 0
N_TRAIN = 12_000  # pre-rendered training images (render seeds 0 .. N_TRAIN-1)
SHORT_SIDE = (80, 640)  # log-uniform range of the rendered images' shortest side
JPEG_PROB = 0.3
PAIR_PROB = 0.25  # scenes with a second, unnamed shape beside the captioned one
PARTIAL_PROB = 0.2  # captions naming the colour or the shape alone
STEPS = 1600
BATCH = 128
LR = 2e-3
WARMUP = 100
WEIGHT_DECAY = 0.05
THREADS = 2

EVAL_SEED_BASE = 10_000_000  # held-out render seeds, far from the training seeds
EVAL_PER_COMBO = 5
EVAL_SIZES = ((1600, 1200), (1200, 1600))


# --------------------------------------------------------------------------- data

_transform: Callable | None = None


def _init_worker(transform: Callable) -> None:
    global _transform
    _transform = transform
    torch.set_num_threads(1)


def _example(i: int) -> tuple[torch.Tensor, int]:
    """Training example ``i``: (preprocessed image tensor, combo index). Depends only on ``i``."""
    rng = random.Random(SEED * 1_000_003 + i)
    combo = i % len(COMBOS)  # balanced classes
    aw, ah = rng.choice(ASPECTS)
    short = math.exp(rng.uniform(math.log(SHORT_SIDE[0]), math.log(SHORT_SIDE[1])))
    scale = short / min(aw, ah)
    size = (round(aw * scale), round(ah * scale))
    color, shape, background = COMBOS[combo]
    if rng.random() < PAIR_PROB:
        other = (rng.choice([c for c in COLORS if c != color]), rng.choice(SHAPES))
        img = render_pair((color, shape), other, background, size=size, seed=i)
    else:
        img = render(color, shape, background, size=size, seed=i)
    if rng.random() < JPEG_PROB:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=rng.randint(50, 95))
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    assert _transform is not None
    return _transform(img), combo


def make_dataset(transform: Callable, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    with Pool(THREADS, initializer=_init_worker, initargs=(transform,)) as pool:
        examples = pool.map(_example, range(n), chunksize=64)
    images = torch.stack([e[0] for e in examples])
    combos = torch.tensor([e[1] for e in examples])
    return images, combos


# --------------------------------------------------------------------------- model io


def write_config(out_dir: Path, model_cfg: dict = MODEL_CFG) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = {"model_cfg": model_cfg, "preprocess_cfg": PREPROCESS_CFG}
    (out_dir / "open_clip_config.json").write_text(json.dumps(cfg, indent=2) + "\n")


def save_model(model: torch.nn.Module, out_dir: Path, model_cfg: dict = MODEL_CFG) -> None:
    write_config(out_dir, model_cfg)
    state = {
        k: (v.to(torch.float16) if v.is_floating_point() else v).detach().contiguous()
        for k, v in model.state_dict().items()
    }
    weights = out_dir / "open_clip_model.safetensors"
    save_file(state, str(weights))
    weights.chmod(0o644)  # safetensors creates the file owner-only


# --------------------------------------------------------------------------- training


def _param_groups(model: torch.nn.Module) -> list[dict]:
    """open_clip's convention: no weight decay on gains, biases, norms and logit_scale."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        exclude = p.ndim < 2 or "bn" in name or "ln" in name or "bias" in name or "logit_scale" in name
        (no_decay if exclude else decay).append(p)
    return [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": WEIGHT_DECAY}]


def new_model(model_cfg: dict = MODEL_CFG) -> tuple[torch.nn.Module, Callable, Callable]:
    """An untrained model, its eval transform and tokenizer, built through open_clip's local-dir path."""
    with tempfile.TemporaryDirectory() as tmp:
        write_config(Path(tmp), model_cfg)
        logging.getLogger().setLevel(logging.ERROR)  # "no weights found, initialised randomly" is expected
        model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{tmp}")
        logging.getLogger().setLevel(logging.WARNING)
        tokenizer = open_clip.get_tokenizer(f"local-dir:{tmp}")
    return model, preprocess, tokenizer


def train(out_dir: Path) -> None:
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    t_start = time.perf_counter()

    model, preprocess, tokenizer = new_model()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params / 1e6:.2f}M parameters; eval transform:\n{preprocess}")

    images, combos = make_dataset(preprocess, N_TRAIN)
    print(f"rendered {len(images)} training images in {time.perf_counter() - t_start:.0f}s")

    # Pre-tokenised captions: texts[combo, template] -> token ids.
    captions = [t.format(c=c, s=s, b=b) for c, s, b in COMBOS for t in TEMPLATES]
    texts = tokenizer(captions).view(len(COMBOS), len(TEMPLATES), -1)
    n_shapes, n_backgrounds = len(SHAPES), len(BACKGROUNDS)
    by_color = tokenizer([t.format(c=c) for c in COLORS for t in PARTIAL_TEMPLATES["color"]]
                         ).view(len(COLORS), len(PARTIAL_TEMPLATES["color"]), -1)
    by_shape = tokenizer([t.format(s=s) for s in SHAPES for t in PARTIAL_TEMPLATES["shape"]]
                         ).view(n_shapes, len(PARTIAL_TEMPLATES["shape"]), -1)

    loss_fn = open_clip.ClipLoss()
    opt = torch.optim.AdamW(_param_groups(model), lr=LR, betas=(0.9, 0.98), eps=1e-6)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / WARMUP if s < WARMUP else 0.5 * (1 + math.cos(math.pi * (s - WARMUP) / (STEPS - WARMUP)))
    )
    gen = torch.Generator().manual_seed(SEED)
    order = torch.randperm(N_TRAIN, generator=gen)
    pos = 0
    model.train()
    t_train = time.perf_counter()
    for step in range(STEPS):
        if pos + BATCH > N_TRAIN:
            order, pos = torch.randperm(N_TRAIN, generator=gen), 0
        idx = order[pos : pos + BATCH]
        pos += BATCH
        x = images[idx]
        flip = torch.rand(BATCH, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        tmpl = torch.randint(len(TEMPLATES), (BATCH,), generator=gen)
        tokens = texts[combos[idx], tmpl]
        partial = torch.rand(BATCH, generator=gen) < PARTIAL_PROB
        color_only = torch.rand(BATCH, generator=gen) < 0.5
        pick = torch.randint(len(PARTIAL_TEMPLATES["color"]), (BATCH,), generator=gen)  # 3 each
        loose = torch.where(color_only[:, None],
                            by_color[combos[idx] // (n_shapes * n_backgrounds), pick],
                            by_shape[(combos[idx] // n_backgrounds) % n_shapes, pick])
        tokens = torch.where(partial[:, None], loose, tokens)

        image_features, text_features, logit_scale = model(x, tokens)
        loss = loss_fn(image_features, text_features, logit_scale)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % 100 == 0 or step == STEPS - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  logit_scale {logit_scale.item():6.2f}  "
                  f"lr {sched.get_last_lr()[0]:.2e}  {time.perf_counter() - t_train:5.0f}s", flush=True)

    model.eval()
    save_model(model, out_dir)
    size_kb = (out_dir / "open_clip_model.safetensors").stat().st_size / 1024
    print(f"saved to {out_dir} ({size_kb:.0f} KiB); total wall time {time.perf_counter() - t_start:.0f}s")


# --------------------------------------------------------------------------- evaluation


def load_model(model_dir: Path) -> tuple[torch.nn.Module, Callable, Callable]:
    """Load through open_clip's ``local-dir:`` path; fail on any warning (e.g. missing weights)."""
    records: list[logging.LogRecord] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = _Collect(level=logging.WARNING)
    logging.getLogger().addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{model_dir}")
            tokenizer = open_clip.get_tokenizer(f"local-dir:{model_dir}")
    finally:
        logging.getLogger().removeHandler(handler)
    problems = [r.getMessage() for r in records] + [str(w.message) for w in caught]
    if problems:
        raise RuntimeError(f"warnings while loading {model_dir}: {problems}")
    model.eval()
    return model, preprocess, tokenizer


@torch.no_grad()
def evaluate(model_dir: Path) -> bool:
    torch.set_num_threads(THREADS)
    t0 = time.perf_counter()
    model, preprocess, tokenizer = load_model(model_dir)

    def embed_images(imgs: list[Image.Image]) -> torch.Tensor:
        return F.normalize(model.encode_image(torch.stack([preprocess(im) for im in imgs])), dim=-1)

    def embed_texts(texts: list[str]) -> torch.Tensor:
        return F.normalize(model.encode_text(tokenizer(texts)), dim=-1)

    # Held-out pool: EVAL_PER_COMBO images per (color, shape, background), alternating landscape/portrait.
    labels, imgs = [], []
    for k, combo in enumerate(COMBOS):
        for j in range(EVAL_PER_COMBO):
            seed = EVAL_SEED_BASE + k * EVAL_PER_COMBO + j
            imgs.append(render(*combo, size=EVAL_SIZES[j % len(EVAL_SIZES)], seed=seed))
            labels.append(combo)
    img_emb = embed_images(imgs)
    results: dict[str, float] = {}

    def retrieval(template: str, with_background: bool) -> tuple[float, float, float]:
        """(precision@5, R-precision, min margin) of text->image retrieval over the pool.

        R-precision: fraction of the R relevant images found in the top R.  Margin: lowest similarity
        of a relevant image minus highest similarity of an irrelevant one (> 0: perfect separation).
        """
        q = COMBOS if with_background else [(c, s, "") for c, s in itertools.product(COLORS, SHAPES)]
        sims = embed_texts([template.format(c=c, s=s, b=b) for c, s, b in q]) @ img_emb.T
        p5, r_prec, margins = [], [], []
        for (c, s, b), row in zip(q, sims):
            relevant = torch.tensor([l[:2] == (c, s) and (not with_background or l[2] == b) for l in labels])
            p5.append(relevant[row.topk(5).indices].float().mean().item())
            r_prec.append(relevant[row.topk(int(relevant.sum())).indices].float().mean().item())
            margins.append((row[relevant].min() - row[~relevant].max()).item())
        return float(np.mean(p5)), float(np.mean(r_prec)), float(min(margins))

    for template, with_bg in (("a {c} {s}", False), ("{c} {s}", False), ("a photo of a {c} {s}", False),
                              ("a {c} {s} on a {b} background", True)):
        p5, r_prec, margin = retrieval(template, with_bg)
        results[f"t2i P@5 '{template}'"] = p5
        results[f"t2i R-precision '{template}'"] = r_prec
        results[f"t2i min margin '{template}'"] = margin

    pairs = list(itertools.product(COLORS, SHAPES))
    pred = (img_emb @ embed_texts([f"a {c} {s}" for c, s in pairs]).T).argmax(-1).tolist()
    results["i2t zero-shot color+shape acc"] = float(np.mean([pairs[p] == l[:2] for p, l in zip(pred, labels)]))
    results["i2t zero-shot color acc"] = float(np.mean([pairs[p][0] == l[0] for p, l in zip(pred, labels)]))
    results["i2t zero-shot shape acc"] = float(np.mean([pairs[p][1] == l[1] for p, l in zip(pred, labels)]))
    pred = (img_emb @ embed_texts([f"a {c} {s} on a {b} background" for c, s, b in COMBOS]).T).argmax(-1).tolist()
    results["i2t zero-shot color+shape+background acc"] = float(np.mean([COMBOS[p] == l for p, l in zip(pred, labels)]))

    # Two-shape scenes (held out): both shapes' prompts among the image's top 2 of the 18.
    colors = list(COLORS)
    pair_imgs, pair_truth = [], []
    for k, (c, s, b) in enumerate(COMBOS):
        other = (colors[(colors.index(c) + 1) % len(colors)], SHAPES[(SHAPES.index(s) + 1) % len(SHAPES)])
        size = EVAL_SIZES[k % len(EVAL_SIZES)]
        pair_imgs.append(render_pair((c, s), other, b, size=size, seed=EVAL_SEED_BASE + 500_000 + k))
        pair_truth.append({pairs.index((c, s)), pairs.index(other)})
    top2 = (embed_images(pair_imgs) @ embed_texts([f"a {c} {s}" for c, s in pairs]).T).topk(2).indices
    results["i2t two-shape scenes: both shapes in the top 2"] = float(
        np.mean([set(t.tolist()) == truth for t, truth in zip(top2, pair_truth)]))

    # Robustness: JPEG q70 re-encode and 50% downscale of each held-out image.
    def jpeg70(im: Image.Image) -> Image.Image:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=70)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")

    def half(im: Image.Image) -> Image.Image:
        return im.resize((im.width // 2, im.height // 2), Image.Resampling.BICUBIC)

    for name, fn in (("jpeg q70", jpeg70), ("50% resize", half)):
        cos = (img_emb * embed_images([fn(im) for im in imgs])).sum(-1)
        results[f"cosine vs {name} (min)"] = float(cos.min())
        results[f"cosine vs {name} (mean)"] = float(cos.mean())

    for key, value in results.items():
        print(f"{key:55s} {value:.4f}")
    checks = {
        "t2i P@5 'a {c} {s}'": results["t2i P@5 'a {c} {s}'"] >= 0.95,
        "i2t zero-shot color+shape acc": results["i2t zero-shot color+shape acc"] >= 0.95,
        "cosine jpeg/resize > 0.98": min(results["cosine vs jpeg q70 (min)"], results["cosine vs 50% resize (min)"]) > 0.98,
    }
    for key, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {key}")
    print(f"evaluated {len(imgs)} held-out images in {time.perf_counter() - t0:.0f}s")
    return all(checks.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output model directory (local-dir layout)")
    parser.add_argument("--evaluate", action="store_true", help="only evaluate the saved model in --out")
    args = parser.parse_args()
    if not args.evaluate:
        train(args.out)
    sys.exit(0 if evaluate(args.out) else 1)


if __name__ == "__main__":
    main()
