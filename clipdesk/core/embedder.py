"""Batched image and text encoding with a loaded open_clip model."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from clipdesk.core import models
from clipdesk.core.models import LoadedModel

torch = models.torch_module()  # imported in one place, once (see models)
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
        return 128 if self.loaded.device == "cuda" else 32

    def prepare(self, image: Image.Image) -> Tensor:
        """The model input for one image (CPU tensor). Safe to call from worker threads."""
        return self.loaded.preprocess(image)

    def encode_images(self, inputs: Sequence[Tensor]) -> np.ndarray:
        with torch.inference_mode():
            batch = torch.stack(list(inputs))
            if self.loaded.device == "cuda":
                batch = batch.pin_memory()
            batch = batch.to(self.loaded.device, self.loaded.dtype, non_blocking=True)
            features = self.loaded.model.encode_image(batch)
            return _unit(features)

    def encode_image(self, image: Image.Image) -> np.ndarray:
        vector: np.ndarray = self.encode_images([self.prepare(image)])[0]
        return vector

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Many texts in batches (far faster than one at a time); not cached."""
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), 64):
                tokens = self.loaded.tokenizer(list(texts[start:start + 64]))
                out.append(_unit(self.loaded.model.encode_text(tokens.to(self.loaded.device))))
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def encode_text(self, text: str) -> np.ndarray:
        """Repeated queries (typing, paging) are served from a small LRU cache."""
        with self._lock:
            if text in self._text_cache:
                self._text_cache.move_to_end(text)
                return self._text_cache[text]
        with torch.inference_mode():
            tokens = self.loaded.tokenizer([text]).to(self.loaded.device)
            vector: np.ndarray = _unit(self.loaded.model.encode_text(tokens))[0]
        with self._lock:
            self._text_cache[text] = vector
            while len(self._text_cache) > TEXT_CACHE_SIZE:
                self._text_cache.popitem(last=False)
        return vector


def _unit(features: Tensor) -> np.ndarray:
    features = features.float()
    features = features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    unit: np.ndarray = features.cpu().numpy().astype(np.float32, copy=False)
    return unit
