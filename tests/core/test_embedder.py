"""Text encoding cut at the batch's last end-of-text token gives open_clip's own vectors."""
from __future__ import annotations

import numpy as np
import open_clip
import pytest
import torch

from clipdesk.core.models.embedder import Embedder, encode_text_tokens
from clipdesk.core.models.loading import load_model
from tests.conftest import TINY_MODEL

PROMPTS = ["red", "a red circle", "a photo of a small green square on a white table",
           "blue", "an orange triangle next to a purple shape", "a yellow shape"]


@pytest.fixture(scope="module")
def tiny():
    return load_model(TINY_MODEL, device="cpu")


def full_context(loaded, texts: list[str]) -> np.ndarray:
    with torch.inference_mode():
        features = loaded.model.encode_text(loaded.tokenizer(texts)).float()
    return (features / features.norm(dim=-1, keepdim=True)).numpy()


def test_short_context_encoding_equals_open_clips_full_context(tiny):
    tokens = tiny.tokenizer(PROMPTS)
    seen: list[int] = []  # the sequence lengths the text transformer ran over
    hook = tiny.model.transformer.register_forward_pre_hook(
        lambda _, args: seen.append(args[0].shape[1]))
    try:
        with torch.inference_mode():
            fast = encode_text_tokens(tiny.model, tokens)
            full = tiny.model.encode_text(tokens)
    finally:
        hook.remove()
    longest = int((tokens != 0).sum(dim=1).max())  # the longest text, start and end included
    assert seen == [longest, tokens.shape[1]] and longest < tokens.shape[1]
    assert fast.shape == full.shape
    assert torch.allclose(fast, full, atol=1e-5)


def test_a_text_longer_than_the_context_still_equals_open_clips(tiny):
    long = " ".join(["a red circle"] * 30)  # cut by the tokenizer at the context length
    with torch.inference_mode():
        tokens = tiny.tokenizer([long, "blue"])
        assert torch.allclose(encode_text_tokens(tiny.model, tokens),
                              tiny.model.encode_text(tokens), atol=1e-5)


def test_queries_and_prompt_vocabularies_get_the_full_context_vectors(tiny):
    embedder = Embedder(tiny)
    expected = full_context(tiny, PROMPTS)
    # batched by length internally, returned in the order asked
    np.testing.assert_allclose(embedder.encode_texts(PROMPTS), expected, atol=1e-5)
    for text, vector in zip(PROMPTS, expected, strict=True):
        np.testing.assert_allclose(embedder.encode_text(text), vector, atol=1e-5)


def small_text_cfg(**extra) -> dict:
    return {"context_length": 20, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1,
            **extra}


VISION = {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16}


@pytest.mark.parametrize("model_factory", [
    # a custom text tower (the Hugging Face towers and SigLIP's are of this class)
    lambda: open_clip.CustomTextCLIP(32, VISION, small_text_cfg()),
    # a bidirectional text tower pooled at the last position: the padding matters
    lambda: open_clip.CLIP(32, VISION, small_text_cfg(no_causal_mask=True, pool_type="last")),
], ids=["custom-text-tower", "no-causal-mask"])
def test_models_it_does_not_understand_get_open_clips_encode_text(model_factory, monkeypatch):
    torch.manual_seed(0)
    model = model_factory().eval()
    tokens = open_clip.get_tokenizer("ViT-B-32", context_length=20)(PROMPTS)
    calls = []
    original = model.encode_text
    monkeypatch.setattr(model, "encode_text", lambda t: calls.append(t.shape) or original(t))
    with torch.inference_mode():
        vectors = encode_text_tokens(model, tokens)
        expected = original(tokens)
    assert calls == [tokens.shape]  # the whole context went to open_clip's own path
    assert torch.allclose(vectors, expected, atol=1e-6)
