"""Captions: a sentence about a photo, written by CoCa through open_clip.

CoCa is a second model, loaded only when a caption is asked for (its own contrastive
embedding is far weaker than the search model's, so it never replaces it). Decoding is
greedy (top-k 1): deterministic, and unlike open_clip's beam search it encodes the image
once. open_clip's generate() needs `transformers`; its import of BeamSearchScorer fails
with transformers 4.57 and 5.x, hence the pin in pyproject.toml.
"""
from __future__ import annotations

import re

from PIL import Image

from clipdesk.core.errors import ModelLoadError
from clipdesk.core.models.imports import open_clip_module, torch_module
from clipdesk.core.models.loading import LoadedModel

DEFAULT_CAPTIONER = "coca_ViT-B-32:mscoco_finetuned_laion2b_s13b_b90k"
MAX_TOKENS = 30
_SPECIAL = re.compile(r"<start_of_text>|<end_of_text>.*$", re.DOTALL)


def write_caption(loaded: LoadedModel, image: Image.Image) -> str:
    """A caption for one image, greedy-decoded."""
    open_clip, torch = open_clip_module(transformers=True), torch_module()
    model = loaded.model
    if not hasattr(model, "generate"):
        raise ModelLoadError(f"{loaded.spec.id} cannot write captions (it is not a CoCa model)")
    context = int(model.context_length)
    x = loaded.preprocess(image).unsqueeze(0).to(loaded.device, loaded.dtype)
    try:
        with torch.inference_mode():
            tokens = model.generate(x, generation_type="top_k", top_k=1,
                                    seq_len=min(MAX_TOKENS, context), max_seq_len=context)
    except AssertionError as exc:  # open_clip asserts transformers is importable
        raise ModelLoadError(f"captions need the transformers package: {exc}") from None
    return tidy(open_clip.decode(tokens[0]))


def tidy(text: str) -> str:
    """Decoded tokens -> a sentence: no special tokens, no spaces before punctuation."""
    text = _SPECIAL.sub("", text).strip()
    text = re.sub(r"\s+([.,!?])", r"\1", text).rstrip(" .")
    return text[:1].upper() + text[1:] if text else text
