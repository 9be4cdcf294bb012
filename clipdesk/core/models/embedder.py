"""Batched image and text encoding with a loaded open_clip model."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from clipdesk.core.indexing import cpu
from clipdesk.core.media import crops
from clipdesk.core.models import int8_tower
from clipdesk.core.models.device import PRECISIONS
from clipdesk.core.models.imports import open_clip_module, torch_module
from clipdesk.core.models.loading import LoadedModel

torch = torch_module()  # imported in one place, once (see imports.py)
# torch.Tensor, kept opaque to mypy: checking against torch's own types costs it minutes
Tensor = Any

TEXT_CACHE_SIZE = 512


class Embedder:
    """Turns images and texts into unit-length float32 vectors in one shared space."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self._text_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self.loaded.spec.id

    @property
    def logit_scale(self) -> float:
        """The model's own temperature for zero-shot classification."""
        return float(self.loaded.model.logit_scale.exp().item())

    @property
    def batch_size(self) -> int:
        """Photos a model call. On a CPU a ViT costs the same per photo at 8 as at 32, and
        small batches keep the decoders and the model overlapped: the model starts after
        8 decodes, not 32, and the last batch leaves the decoders idle for less (48 12 MP
        JPEGs added on 2 cores: 7.5-7.9 photos/s at 32, 8.2-8.3 at 8)."""
        return 128 if self.loaded.device == "cuda" else 8

    def prepare(self, image: Image.Image) -> Tensor:
        """The model input for one image (CPU tensor). Safe to call from worker threads."""
        return self.loaded.preprocess(image)

    def prepare_parts(self, image: Image.Image) -> list[tuple[int, Tensor]]:
        """(part, model input) of each of the image's extra parts (media/crops.py: the
        ends of a non-square photo's long side), cut from the same decode as prepare()'s
        centre square. Safe to call from worker threads."""
        return [(part, self.loaded.preprocess(square))
                for part, square in crops.part_images(image)]

    @property
    def precision(self) -> str:
        """How photos are encoded, in words: "cpu, int8 image tower (fp32 text)", "cuda,
        fp16"..."""
        precision = next(k for k, v in PRECISIONS.items()
                         if getattr(torch, v) == self.loaded.dtype)
        if int8_tower.in_use(self.loaded):
            return f"{self.loaded.device}, int8 image tower ({precision} text)"
        return f"{self.loaded.device}, {precision}"

    def ready_for_photos(self) -> bool:
        """False while encoding photos still needs a step of its own (the int8 tower:
        built once per model and machine, seconds to a minute)."""
        return int8_tower.ready(self.loaded)

    def prepare_for_photos(self) -> None:
        int8_tower.tower_for(self.loaded)

    def encode_images(self, inputs: Sequence[Tensor]) -> np.ndarray:
        # the int8 tower is built at the first photos (a search never needs it)
        tower = int8_tower.tower_for(self.loaded)
        _use_threads(cpu.torch_threads())
        with torch.inference_mode():
            batch = torch.stack(list(inputs))
            if tower is not None:
                return _unit(torch.from_numpy(tower(batch.numpy())))
            if self.loaded.device == "cuda":
                batch = batch.pin_memory()
            batch = batch.to(self.loaded.device, self.loaded.dtype, non_blocking=True)
            features = self.loaded.model.encode_image(batch)
            return _unit(features)

    def encode_image(self, image: Image.Image) -> np.ndarray:
        vector: np.ndarray = self.encode_images([self.prepare(image)])[0]
        return vector

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Many texts in batches (far faster than one at a time); not cached. Texts are
        batched by token length, so each batch runs only as long as its longest text."""
        if not texts:
            return np.zeros((0, 0), np.float32)
        _use_threads(cpu.torch_threads())
        tokens = self.loaded.tokenizer(list(texts))
        order = np.argsort(text_lengths(self.loaded.model, tokens).numpy(), kind="stable")
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(texts), 64):
                batch = tokens[torch.from_numpy(order[start:start + 64])]
                chunks.append(_unit(encode_text_tokens(self.loaded.model,
                                                       batch.to(self.loaded.device))))
        ordered = np.concatenate(chunks)
        vectors = np.empty_like(ordered)
        vectors[order] = ordered
        return vectors

    def encode_text(self, text: str) -> np.ndarray:
        """Repeated queries (typing, paging) are served from a small LRU cache."""
        with self._lock:
            if text in self._text_cache:
                self._text_cache.move_to_end(text)
                return self._text_cache[text]
        _use_threads(cpu.QUERY_THREADS)
        with torch.inference_mode():
            tokens = self.loaded.tokenizer([text]).to(self.loaded.device)
            vector: np.ndarray = _unit(encode_text_tokens(self.loaded.model, tokens))[0]
        with self._lock:
            self._text_cache[text] = vector
            while len(self._text_cache) > TEXT_CACHE_SIZE:
                self._text_cache.popitem(last=False)
        return vector


def _use_threads(n: int) -> None:
    """torch's intra-op threads for this thread's next calls (cpu.py says why a query and
    a batch differ). torch keeps the count per thread under OpenMP."""
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def encode_text_tokens(model: Any, tokens: Tensor) -> Tensor:
    """model.encode_text(tokens), computed only up to the last end-of-text token of the
    batch. open_clip pads every text to the full context (77 tokens) and runs the text
    transformer over all of it; with a causal mask no position sees the ones after it, and
    the pooled feature is read at the end-of-text token, so the padding after the longest
    text changes nothing and can be cut (a short query: 77 positions -> about 8). Models
    this does not recognise (a custom or Hugging Face text tower, no causal mask, another
    pooling) get open_clip's own encode_text."""
    if not _short_context_ok(model) or tokens.ndim != 2:
        return model.encode_text(tokens)
    ends = _eot_positions(model, tokens)
    length = int(ends.max().item()) + 1
    if length >= tokens.shape[1]:
        return model.encode_text(tokens)
    cast_dtype = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens[:, :length]).to(cast_dtype)
    x = x + model.positional_embedding[:length].to(cast_dtype)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = x[torch.arange(x.shape[0], device=x.device), ends]
    projection = model.text_projection
    if projection is None:
        return x
    return projection(x) if isinstance(projection, torch.nn.Linear) else x @ projection


def text_lengths(model: Any, tokens: Tensor) -> Tensor:
    """Each text's length in tokens up to its end-of-text token (the context length for a
    model encode_text_tokens does not shorten)."""
    if not _short_context_ok(model):
        return torch.full((tokens.shape[0],), tokens.shape[1])
    return _eot_positions(model, tokens) + 1


def _short_context_ok(model: Any) -> bool:
    """open_clip's CLIP class itself (not a subclass that may encode differently), with a
    causal text mask and pooling at the end-of-text token."""
    open_clip = open_clip_module()
    return (type(model) is open_clip.CLIP
            and getattr(model, "attn_mask", None) is not None
            and model.text_pool_type in ("argmax", "eos")
            and (model.text_pool_type == "argmax" or model.text_eos_id is not None))


def _eot_positions(model: Any, tokens: Tensor) -> Tensor:
    """Where open_clip's pooling reads each text (text_global_pool's own rule)."""
    if model.text_pool_type == "argmax":  # the end-of-text token has the highest id
        return tokens.argmax(dim=-1)
    return (tokens == model.text_eos_id).int().argmax(dim=-1)


def _unit(features: Tensor) -> np.ndarray:
    features = features.float()
    features = features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    unit: np.ndarray = features.cpu().numpy().astype(np.float32, copy=False)
    return unit
