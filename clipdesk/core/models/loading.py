"""Loading open_clip models: the one way clipdesk gets a model.

A model is loaded once per process and (model, device, number format), under a lock of
its own (a slow download of one model must not hold up searches with another). A failed
hub load is remembered for the process, so an offline machine is told once, at once, and
does not retry on every search or selection (forget_failures() retries).

The rest of the package: spec.py parses model specs, imports.py imports torch and
open_clip, device.py picks the device and number format, download.py is the hub edge
(the cache first, offline errors, download progress), skip_init.py builds a model without
drawing random weights.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from clipdesk.core.errors import ModelLoadError
from clipdesk.core.models import download
from clipdesk.core.models.device import PRECISIONS, best_device, precision_for
from clipdesk.core.models.imports import open_clip_for, open_clip_module, torch_module
from clipdesk.core.models.skip_init import weights_from_checkpoint
from clipdesk.core.models.spec import ModelSpec, parse_spec

log = logging.getLogger(__name__)


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


_registry_lock = threading.Lock()  # guards the dicts below; held only for a lookup
# (spec id, device, precision) -> the model, or the one-line message of its failed hub load: a
# failure is remembered for the process, so an offline machine is not asked again
_cache: dict[tuple[str, str, str], LoadedModel | str] = {}
_load_locks: dict[tuple[str, str, str], threading.Lock] = {}  # one per model: a slow download
# of one model must not hold up searches with another


def load_model(spec: str | ModelSpec, device: str | None = None) -> LoadedModel:
    """Load (once per process) the model for `spec` on the best device."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    device = device or best_device()
    key = (parsed.id, device, precision_for(device))
    with _registry_lock:
        lock = _load_locks.setdefault(key, threading.Lock())
    with lock:
        with _registry_lock:
            known = _cache.get(key)
        if isinstance(known, str):
            raise ModelLoadError(known)
        if known is not None:
            return known
        try:
            loaded = _load(parsed, device)
        except ModelLoadError as exc:
            if parsed.source != "local-dir":  # a folder is cheap to look at again
                with _registry_lock:
                    _cache[key] = str(exc)
            raise
        with _registry_lock:
            _cache[key] = loaded
        return loaded


def forget_failures() -> None:
    """Let the next load of a model that failed try the network again (a user's retry)."""
    with _registry_lock:
        for key in [k for k, v in _cache.items() if isinstance(v, str)]:
            del _cache[key]


T = TypeVar("T")


class BuiltOnce(Generic[T]):
    """A model that ships inside a package (the text reader, the face finder): built on
    first use, once per process, from any thread. A failure to build (ModelLoadError) is
    remembered and said again at once, not tried again on every photo."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._built: T | None = None
        self._failure: str | None = None

    def get(self) -> T:
        with self._lock:
            if self._failure is not None:
                raise ModelLoadError(self._failure)
            if self._built is None:
                try:
                    self._built = self._build()
                except ModelLoadError as exc:
                    self._failure = str(exc)
                    raise
            return self._built


def list_builtin() -> list[str]:
    return [f"{arch}:{tag}" for arch, tag in open_clip_module().list_pretrained()]


def _load(spec: ModelSpec, device: str) -> LoadedModel:
    with download.quiet_logs():
        if spec.source == "local-dir":
            _check_local_dir(spec.location)
            return _build(spec, device)
        with download.cache_only() as missed:
            try:
                return _build(spec, device)  # the weights are in the cache: no network at all
            except ModelLoadError:
                if not missed:
                    raise
        total = download.check_hub_reachable(spec)
        with download.watch_download(spec, total):
            return _build(spec, device)


def _build(spec: ModelSpec, device: str) -> LoadedModel:
    open_clip = open_clip_for(spec)
    torch = torch_module()
    precision = precision_for(device)
    log.info("loading model %s on %s (%s)", spec.id, device, precision)
    try:
        if spec.source == "hf-hub":
            # open_clip falls back to random weights with only a warning when the weights
            # cannot be fetched: fetch them first so that failure is an error.
            open_clip.pretrained.download_pretrained_from_hf(spec.location)
        known_tag = spec.source != "builtin" or open_clip.get_pretrained_cfg(spec.arch,
                                                                               spec.pretrained)
        if not known_tag:
            tags = open_clip.list_pretrained_tags_by_model(spec.arch)
            known = ", ".join(f"{spec.arch}:{t}" for t in tags) or "none: unknown architecture"
            raise ModelLoadError(f"no pretrained weights {spec.id!r} in open_clip (known: {known})")
        with weights_from_checkpoint():
            # every path above loads a checkpoint (require_pretrained: never random weights)
            model, _, preprocess = open_clip.create_model_and_transforms(
                spec.open_clip_name, pretrained=spec.pretrained, precision=precision,
                device=device, require_pretrained=True)
            if precision != "fp32" and hasattr(model, "text_decoder"):
                # open_clip's CoCa in fp16/bf16 mixes number formats and fails in
                # generate() (its pooler's query and text embeddings stay fp32): fp32
                log.info("%s is a CoCa model: loading it again in fp32", spec.id)
                precision = "fp32"
                del model
                model, _, preprocess = open_clip.create_model_and_transforms(
                    spec.open_clip_name, pretrained=spec.pretrained, precision=precision,
                    device=device, require_pretrained=True)
        tokenizer = open_clip.get_tokenizer(spec.open_clip_name)
    except ModelLoadError:
        raise
    except Exception as exc:  # open_clip and the hub raise many kinds; all mean "no model"
        hint = "" if spec.source == "local-dir" else f" ({spec.way_out})"
        raise ModelLoadError(f"cannot load model {spec.id}: {_first_line(exc)}{hint}") from exc
    model.eval()
    dtype = getattr(torch, PRECISIONS[precision])
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
