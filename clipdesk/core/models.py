"""Loading open_clip models: the one way clipdesk gets a model.

A model spec is written the way open_clip names models:
  ARCH:TAG            a built-in architecture and a pretrained tag, e.g.
                      ViT-B-32-256:datacomp_s34b_b86k (downloaded once into the
                      Hugging Face cache)
  hf-hub:ORG/REPO     an open_clip model repository on the Hugging Face hub
  local-dir:PATH      a folder with open_clip_config.json and the weights (the hub
                      repositories' layout), for offline machines and custom models
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from clipdesk.core.errors import ModelLoadError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "ViT-B-32-256:datacomp_s34b_b86k"
HF_PREFIX = "hf-hub:"
LOCAL_PREFIX = "local-dir:"


@dataclass(frozen=True)
class ModelSpec:
    """A parsed, canonical model spec. `id` is what the catalog records."""

    arch: str | None  # None for hf-hub: and local-dir:
    pretrained: str | None
    source: str  # "builtin" | "hf-hub" | "local-dir"
    location: str  # the repo id or the absolute folder

    @property
    def id(self) -> str:
        if self.source == "builtin":
            return f"{self.arch}:{self.pretrained}"
        prefix = HF_PREFIX if self.source == "hf-hub" else LOCAL_PREFIX
        return prefix + self.location

    @property
    def open_clip_name(self) -> str:
        return self.arch if self.source == "builtin" else self.id


def parse_spec(spec: str) -> ModelSpec:
    spec = spec.strip()
    if spec.startswith(LOCAL_PREFIX):
        folder = spec[len(LOCAL_PREFIX):]
        if not folder:
            raise ModelLoadError("local-dir: needs a folder, e.g. local-dir:~/models/my-clip")
        folder = os.path.abspath(os.path.expanduser(folder))
        return ModelSpec(None, None, "local-dir", folder)
    if spec.startswith(HF_PREFIX):
        repo = spec[len(HF_PREFIX):].strip("/")
        if repo.count("/") != 1:
            raise ModelLoadError(f"hf-hub: needs ORG/REPO, got {spec!r}")
        return ModelSpec(None, None, "hf-hub", repo)
    arch, sep, tag = spec.partition(":")
    if not sep or not arch or not tag:
        raise ModelLoadError(
            f"model spec {spec!r} is not ARCH:TAG, hf-hub:ORG/REPO or local-dir:PATH "
            f"(the default is {DEFAULT_MODEL}); `clipdesk models` lists the choices")
    return ModelSpec(arch, tag, "builtin", arch)


def best_device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


@dataclass
class LoadedModel:
    spec: ModelSpec
    model: Any  # open_clip.CLIP (or CustomTextCLIP), in eval mode on `device`
    preprocess: Any  # PIL image -> tensor, the model's own eval transform
    tokenizer: Any
    device: str
    dtype: Any

    @property
    def image_size(self) -> int:
        size = self.model.visual.image_size
        return int(max(size) if isinstance(size, (tuple, list)) else size)


_cache: dict[tuple[str, str], LoadedModel] = {}
_cache_lock = threading.Lock()


def load_model(spec: str | ModelSpec, device: str | None = None) -> LoadedModel:
    """Load (once per process) the model for `spec` on the best device."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    device = device or best_device()
    with _cache_lock:
        key = (parsed.id, device)
        if key not in _cache:
            _cache[key] = _load(parsed, device)
        return _cache[key]


def _load(spec: ModelSpec, device: str) -> LoadedModel:
    import open_clip
    import torch

    precision = "fp16" if device in ("cuda", "mps") else "fp32"
    log.info("loading model %s on %s (%s)", spec.id, device, precision)
    try:
        if spec.source == "local-dir":
            _check_local_dir(spec.location)
        if spec.source == "hf-hub":
            # open_clip falls back to random weights with only a warning when the weights
            # cannot be fetched: fetch them first so that failure is an error.
            open_clip.pretrained.download_pretrained_from_hf(spec.location)
        if spec.source == "builtin" and not open_clip.get_pretrained_cfg(spec.arch, spec.pretrained):
            tags = open_clip.list_pretrained_tags_by_model(spec.arch)
            known = ", ".join(f"{spec.arch}:{t}" for t in tags) or "none: unknown architecture"
            raise ModelLoadError(f"no pretrained weights {spec.id!r} in open_clip (known: {known})")
        model, _, preprocess = open_clip.create_model_and_transforms(
            spec.open_clip_name, pretrained=spec.pretrained, precision=precision, device=device)
        tokenizer = open_clip.get_tokenizer(spec.open_clip_name)
    except ModelLoadError:
        raise
    except Exception as exc:  # open_clip and the hub raise many kinds; all mean "no model"
        hint = ("; if this machine is offline, download the model elsewhere and use "
                "--model local-dir:FOLDER") if spec.source != "local-dir" else ""
        raise ModelLoadError(f"cannot load model {spec.id}: {_first_line(exc)}{hint}") from exc
    model.eval()
    dtype = torch.float16 if precision == "fp16" else torch.float32
    return LoadedModel(spec, model, preprocess, tokenizer, device, dtype)


def _check_local_dir(folder: str) -> None:
    if not os.path.isdir(folder):
        raise ModelLoadError(f"model folder {folder} does not exist")
    if not os.path.isfile(os.path.join(folder, "open_clip_config.json")):
        raise ModelLoadError(f"model folder {folder} has no open_clip_config.json")
    weights = [n for n in os.listdir(folder) if n.endswith((".safetensors", ".bin", ".pth"))]
    if not weights:
        raise ModelLoadError(f"model folder {folder} has no weights (.safetensors, .bin or .pth)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def list_builtin() -> list[str]:
    import open_clip

    return [f"{arch}:{tag}" for arch, tag in open_clip.list_pretrained()]
