"""torch and open_clip: imported here, once, and the one place in clipdesk that imports
torch (every other module asks torch_module()); onnxruntime too, with its telemetry off
(onnxruntime_module).

open_clip is imported with its optional packages (Hugging Face transformers, timm) held
back (a patch of open_clip's import, see open_clip_module), and each is taken only for a
model that uses it; tests/core/test_third_party_patches.py checks what this relies on.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

from clipdesk.core.indexing import cpu
from clipdesk.core.models.spec import ModelSpec

_import_lock = threading.Lock()
_torch: Any = None  # set only after `import torch` has fully completed
_open_clip: Any = None
_open_clip_has: set[str] = set()  # the optional packages open_clip saw (see below)

# open_clip's optional packages: each is imported at open_clip's import, in a try/except
# ImportError, by these modules of open_clip, which keep what they got in module globals
# their classes read at call time (hf_model: `transformers`, coca_model:
# `_has_transformers` and the generation classes; timm_model: `timm` and its layers).
# Written against open_clip_torch 3.3.0, transformers 4.56.2 and timm 1.0.31.
OPTIONAL_USERS = {"transformers": ("hf_model", "coca_model"), "timm": ("timm_model",)}


def torch_module() -> Any:
    """torch, imported on first use. Every module gets torch from here: a thread that
    looks at torch while another thread is still importing it sees a half-made module
    (no `torch.cuda` yet), so the module is published only once its import is done."""
    global _torch
    if _torch is None:
        with _import_lock:
            if _torch is None:
                # before OpenMP starts: threads that wait sleep instead of spinning, so
                # the model's threads and the decoders do not steal the cores from each
                # other (a query under load: 280-730 ms spinning, 57 ms sleeping; cpu.py)
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                import torch

                torch.set_num_threads(cpu.torch_threads())
                _torch = torch
    return _torch


def onnxruntime_module() -> Any:
    """onnxruntime with its telemetry off: its official Linux/macOS builds send usage
    events to Microsoft and write a device id and an event database under
    ~/.cache/Microsoft at their first import, unless ORT_DISABLE_TELEMETRY is set before
    it. Every part of clipdesk that runs an ONNX model (the int8 image tower, open_nsfw,
    OCR) imports it through here."""
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    import onnxruntime

    onnxruntime.disable_telemetry_events()
    return onnxruntime


def imported_torch() -> Any:
    """torch if a model load has imported it already, else None (never imports it)."""
    return _torch


def open_clip_module(transformers: bool = False, timm: bool = False) -> Any:
    """open_clip (which imports torch), imported on first use, after torch.

    open_clip imports Hugging Face transformers and timm at its own import (about 2 s, and
    0.1-0.2 s for timm's 237 modules on 2 cores: benchmarks/bench_startup.py):
    transformers for CoCa's generate() and Hugging Face text towers and tokenizers only,
    timm for timm image towers only (SigLIP's, ConvNeXt's); a plain CLIP model (the
    default embedder) uses neither. So open_clip is first imported with both
    held back, and a caller that needs one (`transformers=True` / `timm=True`: a model
    that uses it, captions) imports it then, and open_clip's modules that use it
    (OPTIONAL_USERS) are run again (their classes read it from their module globals, as
    they would have)."""
    global _open_clip
    torch_module()
    wanted = {name for name, want in (("transformers", transformers), ("timm", timm)) if want}
    if _open_clip is None:
        with _import_lock:
            if _open_clip is None:
                _open_clip = _import_open_clip(wanted)
    if not wanted <= _open_clip_has:
        with _import_lock:
            for package in sorted(wanted - _open_clip_has):
                importlib.import_module(package)  # the real import, now
                for name in OPTIONAL_USERS[package]:
                    importlib.reload(getattr(_open_clip, name))
                _open_clip_has.add(package)
    return _open_clip


def open_clip_for(spec: ModelSpec) -> Any:
    """open_clip with the optional packages the model `spec` uses."""
    transformers, timm = uses_optional(spec)
    return open_clip_module(transformers=transformers, timm=timm)


def _import_open_clip(wanted: set[str]) -> Any:
    """Called with _import_lock held: open_clip, with the optional packages not wanted
    (and not imported already by someone else) held back; records those it saw."""
    held = [name for name in OPTIONAL_USERS if name not in wanted and name not in sys.modules]
    for name in held:
        # A None in sys.modules makes `import NAME` raise ImportError (Python's documented
        # behaviour), which open_clip 3.3.0 catches: see OPTIONAL_USERS.
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import open_clip
    finally:
        for name in held:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    _open_clip_has.update(name for name in OPTIONAL_USERS if name not in held)
    return open_clip


def uses_optional(spec: ModelSpec) -> tuple[bool, bool]:
    """Whether the model uses, through open_clip, Hugging Face transformers (a CoCa's
    generate, a Hugging Face text tower or tokenizer: SigLIP's too) and timm (a timm image
    tower: open_clip's own test, `timm_model_name` in vision_cfg). Yes when unknown."""
    if spec.source == "local-dir":
        try:
            config = json.loads((Path(spec.location) / "open_clip_config.json").read_text())
            model_cfg = config["model_cfg"]
        except (OSError, ValueError, KeyError, TypeError):
            return True, True
    elif spec.source == "builtin" and spec.arch:
        model_cfg = open_clip_module().get_model_config(spec.arch)
    else:
        return True, True  # a hub repository's config is read by open_clip itself
    if not isinstance(model_cfg, dict):
        return True, True
    text_cfg = model_cfg.get("text_cfg") or {}
    vision_cfg = model_cfg.get("vision_cfg") or {}
    transformers = "multimodal_cfg" in model_cfg or any(str(k).startswith("hf_")
                                                        for k in text_cfg)
    return transformers, not isinstance(vision_cfg, dict) or "timm_model_name" in vision_cfg
