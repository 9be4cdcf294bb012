"""Stand-ins for the model, so the unit tier needs no torch."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np
from PIL import Image

from clipdesk.core.media import crops

DIM = 64


def unit_vector(key: bytes, dim: int = DIM) -> np.ndarray:
    """A deterministic random unit vector for `key` (distinct keys: nearly orthogonal)."""
    seed = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
    vector = np.random.default_rng(seed).standard_normal(dim)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


class FakeEmbedder:
    """The Embedder's interface with vectors from hashes: an image's from its pixels, a
    text's the normalised sum of its words' (so texts sharing words are alike)."""

    logit_scale = 100.0
    batch_size = 8
    precision = "cpu, fake"

    def ready_for_photos(self) -> bool:
        return True

    def __init__(self, model_id: str = "fake:model", dim: int = DIM) -> None:
        self.model_id = model_id
        self.dim = dim
        self.texts_encoded: list[str] = []
        # the model's input size (read as embedder.loaded.image_size, as of the real one)
        self.loaded = SimpleNamespace(image_size=224, device="cpu")

    def prepare(self, image: Image.Image) -> bytes:
        return image.convert("RGB").tobytes()

    def prepare_parts(self, image: Image.Image) -> list[tuple[int, bytes]]:
        return [(part, self.prepare(square)) for part, square in crops.part_images(image)]

    def encode_images(self, inputs: Sequence[bytes]) -> np.ndarray:
        return np.stack([unit_vector(b"image:" + data, self.dim) for data in inputs])

    def encode_image(self, image: Image.Image) -> np.ndarray:
        vector: np.ndarray = self.encode_images([self.prepare(image)])[0]
        return vector

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.encode_text(text) for text in texts])

    def encode_text(self, text: str) -> np.ndarray:
        self.texts_encoded.append(text)
        words = text.lower().split() or [""]
        total = sum(unit_vector(b"word:" + w.encode(), self.dim) for w in words)
        return (total / np.linalg.norm(total)).astype(np.float32)
