"""Model specs: how a person names a model, parsed into what open_clip and the catalog need.

A model spec is written the way open_clip names models:
  ARCH:TAG            a built-in architecture and a pretrained tag, e.g.
                      ViT-B-32-256:datacomp_s34b_b86k (downloaded once into the
                      Hugging Face cache)
  hf-hub:ORG/REPO     an open_clip model repository on the Hugging Face hub
  local-dir:PATH      a folder with open_clip_config.json and the weights (the hub
                      repositories' layout), for offline machines and custom models
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from clipdesk.core.errors import ModelLoadError

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
        if self.source == "builtin" and self.arch:
            return self.arch
        return self.id

    @property
    def writes_captions(self) -> bool:
        """A CoCa model: the captions model, whose way out when offline is to turn
        captions off."""
        return "coca" in self.id.lower()

    @property
    def way_out(self) -> str:
        """What a person can do when this model cannot come from the hub."""
        if self.writes_captions:
            return ("use a model folder (local-dir:FOLDER) or turn captions off "
                    "(Tags > Captions > Off)")
        return "use a model folder instead (local-dir:FOLDER, Library > Embedding model…)"


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
