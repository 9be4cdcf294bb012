"""Train the tiny CoCa captioning model used by clipdesk's tests.

What
    A ~3.5M-parameter CoCa (open_clip's own ``open_clip.CoCa`` class: a small ViT image tower with an
    attentional pooler, a 2-layer text encoder and a 2-layer multimodal text decoder, open_clip's
    default ``SimpleTokenizer``; most parameters are the 49408-entry token embedding table and the
    decoder's 49408-way output projection) trained with ``open_clip.CoCaLoss`` on the synthetic
    scenes of ``tests/synthetic.py``.  It learns to caption them with ``tests.synthetic.caption``'s
    single template, e.g. "a blue square on a white background".

Why
    Real CoCa weights are hundreds of MB and need a download; the test-suite must run offline and
    fast.  Like ``tests/models/tiny-clip`` (see ``scripts/train_tiny_clip.py``, whose data, config
    and io helpers this script reuses) the model is saved in open_clip's ``local-dir:`` layout, so
    tests exercise open_clip's real loading and generation code::

        model, _, preprocess = open_clip.create_model_and_transforms("local-dir:tests/models/tiny-coca")
        tokens = model.generate(preprocess(img)[None], generation_type="top_k", top_k=1, seq_len=20)
        text = open_clip.decode(tokens[0]).split("<end_of_text>")[0].replace("<start_of_text>", "").strip()

    ``generate`` needs the ``transformers`` package (open_clip imports its logits processors).

How
    The training images are tiny-clip's: the same 12,000 renders at photo-like sizes and aspect
    ratios, 30% JPEG re-encoded, passed through the model's own eval transform.  Training has two
    stages.  Stage 1 (``teach_shapes``) trains the image tower alone to name each image's shape,
    until its running accuracy reaches 99% (about 2,300 steps of 128 images): through CoCa's losses
    alone a tiny ViT learns colour and background at once but stays at ~70% on shape even after
    3,000 steps.  Stage 2 trains the whole CoCa with its usual mix, 2 x captioning (next-token
    cross-entropy, teacher forcing) + 1 x contrastive, on batches holding one random image of
    each (colour, shape, background) with random horizontal flips.  The captioning logits are
    computed only for the caption's 9 tokens, not all 20 positions of the context: the decoder is
    causal and padding is ignored by the loss, so the loss is the same, at less than half the
    cost.  Everything is seeded; with the same torch version and thread count the result is
    bit-identical.

    Run (from the repo root; about 16 minutes on 2 idle CPU cores: ~35 s rendering, ~7.5 min
    stage 1, ~7 min stage 2, ~40 s evaluation; no GPU or network needed)::

        .venv/bin/python scripts/train_tiny_coca.py              # train, save, evaluate
        .venv/bin/python scripts/train_tiny_coca.py --evaluate   # only evaluate the saved model

    Output: ``tests/models/tiny-coca/open_clip_config.json`` and ``open_clip_model.safetensors``
    (float16 weights, ~7 MB).  The evaluation greedily captions a held-out set (render seeds never
    used in training) at 1600x1200 and 1200x1600, one image at a time, and prints exact-caption,
    colour, shape and background accuracy and the time per caption; it exits non-zero if colour or
    shape accuracy is below 95%.
"""

from __future__ import annotations

import argparse
import ctypes
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import open_clip  # noqa: E402

from scripts.train_tiny_clip import (  # noqa: E402
    COMBOS,
    EVAL_PER_COMBO,
    EVAL_SEED_BASE,
    EVAL_SIZES,
    N_TRAIN,
    SEED,
    THREADS,
    _param_groups,
    load_model,
    make_dataset,
    new_model,
    save_model,
)
from tests.synthetic import SHAPES, caption, render  # noqa: E402

DEFAULT_OUT = REPO_ROOT / "tests" / "models" / "tiny-coca"

WIDTH = 32  # CoCa ties embed_dim, text width and decoder width; each 49408-row table costs 2 bytes * WIDTH per row
MODEL_CFG: dict = {
    "embed_dim": WIDTH,
    # CoCa needs image *tokens* (attentional pooler), which only the ViT tower provides.
    "vision_cfg": {"image_size": 64, "patch_size": 8, "width": 64, "layers": 3, "head_width": 32,
                   "attentional_pool": True, "attn_pooler_queries": 9, "attn_pooler_heads": 2, "output_tokens": True},
    "text_cfg": {"context_length": 20, "vocab_size": 49408, "width": WIDTH, "heads": 2, "layers": 2,
                 "embed_cls": True, "output_tokens": True},
    "multimodal_cfg": {"context_length": 20, "vocab_size": 49408, "width": WIDTH, "heads": 2, "layers": 2},
    "custom_text": True,
}
# Greedy decoding.  seq_len counts <start_of_text> and must not exceed the context length (20).
GENERATE_KWARGS: dict = {"generation_type": "top_k", "top_k": 1, "seq_len": 20}

SHAPE_STEPS = 3000  # stage 1 at most; it stops once the tower tells shapes apart
SHAPE_BATCH = 128
SHAPE_DONE = 0.99  # running training accuracy on shape that ends stage 1
STEPS = 1500
LR = 2e-3
WARMUP = 50
DECAY = 0.6  # constant learning rate for this fraction of the steps, then cosine decay to 0
CAPTION_LOSS_WEIGHT = 2.0  # open_clip's defaults for CoCa training
CLIP_LOSS_WEIGHT = 1.0
ACCEPT = 0.95  # minimum held-out colour and shape accuracy


def _keep_freed_memory() -> None:
    """Let glibc keep freed memory instead of unmapping it: each step allocates a few
    batch x 8 x 49408 float tensors (~200 MB), and page-faulting them in again doubled the step time."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(-4, 0)  # M_MMAP_MAX: serve large blocks from the heap, not fresh mmaps
    libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: keep up to 1 GiB of free heap


def decode_caption(tokens: torch.Tensor) -> str:
    """Text of one generated token sequence, without the special tokens (and anything after the end)."""
    return open_clip.decode(tokens).split("<end_of_text>")[0].replace("<start_of_text>", "").strip()


# --------------------------------------------------------------------------- training


def teach_shapes(visual: torch.nn.Module, embed_dim: int, images: torch.Tensor, shapes: torch.Tensor) -> None:
    """Stage 1: train the image tower alone to name each image's shape.

    Colour and background are one patch's worth of evidence; shape is the arrangement of edges
    across patches, and a tiny ViT finds it only after a long plateau (at ~65%, two of three shapes
    told apart).  Trained through CoCa's losses, where colour and background already lower most of
    the loss, it was still on that plateau after 3,000 steps.  With shape as the only target it
    leaves the plateau after ~1,300 steps of 128 images; stage 2 then starts from that tower.
    """
    head = torch.nn.Linear(embed_dim, len(SHAPES))
    opt = torch.optim.AdamW(_param_groups(visual) + [{"params": head.parameters(), "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.98), eps=1e-6)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / WARMUP))
    gen = torch.Generator().manual_seed(SEED + 1)
    visual.train()
    accuracy, t0 = 1 / 3, time.perf_counter()
    for step in range(SHAPE_STEPS):
        idx = torch.randint(len(images), (SHAPE_BATCH,), generator=gen)
        logits = head(visual(images[idx])[0])
        loss = torch.nn.functional.cross_entropy(logits, shapes[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        accuracy = 0.98 * accuracy + 0.02 * float((logits.argmax(1) == shapes[idx]).float().mean())
        if step % 100 == 0 or accuracy >= SHAPE_DONE:
            print(f"shapes {step:5d}  loss {loss.item():.4f}  running accuracy {accuracy:.3f}  "
                  f"{time.perf_counter() - t0:5.0f}s", flush=True)
        if accuracy >= SHAPE_DONE:
            return
    print(f"stage 1 ended at {SHAPE_STEPS} steps without reaching {SHAPE_DONE} on shape", flush=True)


def train(out_dir: Path) -> None:
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    _keep_freed_memory()
    t_start = time.perf_counter()

    model, preprocess, tokenizer = new_model(MODEL_CFG)
    assert isinstance(model, open_clip.CoCa)
    # open_clip 3.3.0 leaves the decoder's output projection as uninitialised memory (torch.empty; its
    # MultimodalTransformer.init_parameters is never called); use the init that method intends.
    torch.nn.init.normal_(model.text_decoder.text_projection, std=WIDTH**-0.5)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params / 1e6:.2f}M parameters; eval transform:\n{preprocess}")

    images, combos = make_dataset(preprocess, N_TRAIN)
    print(f"rendered {len(images)} training images in {time.perf_counter() - t_start:.0f}s")

    teach_shapes(model.visual, MODEL_CFG["embed_dim"], images,
                 torch.tensor([SHAPES.index(COMBOS[c][1]) for c in combos.tolist()]))

    texts = tokenizer([caption(*combo) for combo in COMBOS])  # [54, 20], zero-padded
    caption_len = int((texts != 0).sum(1).max())  # 9: <start> a red circle on a white background <end>

    loss_fn = open_clip.CoCaLoss(caption_loss_weight=CAPTION_LOSS_WEIGHT, clip_loss_weight=CLIP_LOSS_WEIGHT)
    opt = torch.optim.AdamW(_param_groups(model), lr=LR, betas=(0.9, 0.98), eps=1e-6)
    decay = int(DECAY * STEPS)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / WARMUP if s < WARMUP else 1.0 if s < decay else 0.5 * (1 + math.cos(math.pi * (s - decay) / (STEPS - decay)))
    )
    gen = torch.Generator().manual_seed(SEED)
    per_combo = N_TRAIN // len(COMBOS)  # training image i shows COMBOS[i % 54]
    model.train()
    t_train = time.perf_counter()
    for step in range(STEPS):
        # One random image of each (colour, shape, background): ClipLoss counts every other image of the
        # batch as a negative, so two images with the same caption would be pushed apart.
        idx = torch.arange(len(COMBOS)) + len(COMBOS) * torch.randint(per_combo, (len(COMBOS),), generator=gen)
        x = images[idx]
        flip = torch.rand(len(idx), generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        tokens = texts[combos[idx]]

        # Caption logits and labels from the caption's tokens only (the decoder is causal and padding
        # is ignored, so the loss is the same as with all 20 positions, at less than half the cost);
        # the contrastive text embedding from the full padded context, where the text tower's CLS
        # token sits at inference.
        out = model(x, tokens[:, :caption_len])
        clip_loss, caption_loss = loss_fn(
            out["image_features"], model.encode_text(tokens), out["logits"], out["labels"], out["logit_scale"]
        )
        loss = clip_loss + caption_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % 100 == 0 or step == STEPS - 1:
            print(f"step {step:5d}  caption {caption_loss.item():.4f}  contrastive {clip_loss.item():.4f}  "
                  f"lr {sched.get_last_lr()[0]:.2e}  {time.perf_counter() - t_train:5.0f}s", flush=True)

    model.eval()
    save_model(model, out_dir, MODEL_CFG)
    size_kb = (out_dir / "open_clip_model.safetensors").stat().st_size / 1024
    print(f"saved to {out_dir} ({size_kb:.0f} KiB); training {time.perf_counter() - t_train:.0f}s, "
          f"total wall time {time.perf_counter() - t_start:.0f}s")


# --------------------------------------------------------------------------- evaluation


@torch.no_grad()
def evaluate(model_dir: Path) -> bool:
    torch.set_num_threads(THREADS)
    t0 = time.perf_counter()
    model, preprocess, tokenizer = load_model(model_dir)  # raises on any loading warning
    assert isinstance(model, open_clip.CoCa), type(model)

    # Held-out set: EVAL_PER_COMBO images per (color, shape, background), alternating landscape/portrait,
    # captioned one at a time (batch of 1), as an app would.
    hits = {"exact caption": [], "color": [], "shape": [], "background": [], "zero-shot (contrastive)": []}
    t_pre, t_gen, wrong = [], [], []
    class_emb = model.encode_text(tokenizer([caption(*combo) for combo in COMBOS]))
    for k, (color, shape, background) in enumerate(COMBOS):
        for j in range(EVAL_PER_COMBO):
            img = render(color, shape, background, size=EVAL_SIZES[j % len(EVAL_SIZES)],
                         seed=EVAL_SEED_BASE + k * EVAL_PER_COMBO + j)
            t1 = time.perf_counter()
            x = preprocess(img)[None]
            t2 = time.perf_counter()
            text = decode_caption(model.generate(x, **GENERATE_KWARGS)[0])
            t_gen.append(time.perf_counter() - t2)
            t_pre.append(t2 - t1)
            words = text.split()
            hits["exact caption"].append(text == caption(color, shape, background))
            hits["color"].append(len(words) > 1 and words[1] == color)
            hits["shape"].append(len(words) > 2 and words[2] == shape)
            hits["background"].append(len(words) > 5 and words[5] == background)
            hits["zero-shot (contrastive)"].append(int((model.encode_image(x) @ class_emb.T).argmax()) == k)
            if text != caption(color, shape, background):
                wrong.append(f"{caption(color, shape, background)!r} -> {text!r}")

    for line in wrong[:10]:
        print("wrong:", line)
    acc = {key: float(np.mean(v)) for key, v in hits.items()}
    for key, value in acc.items():
        print(f"{key + ' accuracy':40s} {value:.4f}")
    print(f"{'preprocess time per image (ms)':40s} {1000 * np.mean(t_pre):.1f}")
    print(f"{'greedy caption time per image (ms)':40s} {1000 * np.mean(t_gen):.1f}")
    ok = acc["color"] >= ACCEPT and acc["shape"] >= ACCEPT
    print(f"{'PASS' if ok else 'FAIL'}  colour and shape accuracy >= {ACCEPT}")
    print(f"evaluated {len(t_gen)} held-out images in {time.perf_counter() - t0:.0f}s")
    return ok


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
