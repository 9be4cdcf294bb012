"""torch and open_clip: imported here, once, and the one place in clipdesk that imports
torch (every other module asks torch_module()).

open_clip is imported with Hugging Face transformers held back (a patch of open_clip's
import, see open_clip_module); tests/core/test_third_party_patches.py checks what it
relies on.
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
_open_clip_transformers = False  # whether open_clip saw transformers (see below)

# The modules of open_clip that import transformers at their own import, in a
# try/except ImportError, and keep what they got in module globals their classes read at
# call time (hf_model: `transformers`, coca_model: `_has_transformers` and the generation
# classes). Written against open_clip_torch 3.3.0 and transformers 4.56.2.
TRANSFORMERS_USERS = ("hf_model", "coca_model")


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


def imported_torch() -> Any:
    """torch if a model load has imported it already, else None (never imports it)."""
    return _torch


def open_clip_module(transformers: bool = False) -> Any:
    """open_clip (which imports torch), imported on first use, after torch.

    open_clip imports Hugging Face transformers at its own import (about 2 s on 2 cores),
    for CoCa's generate() and Hugging Face text towers and tokenizers only; a plain CLIP
    model (the default embedder) uses none of that. So open_clip is first imported with
    transformers held back, and a caller that needs it (`transformers=True`: a model that
    uses it, captions) imports it then, and open_clip's modules that use it
    (TRANSFORMERS_USERS) are run again (their classes read it from their module globals,
    as they would have)."""
    global _open_clip, _open_clip_transformers
    torch_module()
    if _open_clip is None:
        with _import_lock:
            if _open_clip is None:
                _open_clip, _open_clip_transformers = _import_open_clip(transformers)
    if transformers and not _open_clip_transformers:
        with _import_lock:
            if not _open_clip_transformers:
                import transformers as _  # noqa: F401  (the real import, now)

                for name in TRANSFORMERS_USERS:
                    importlib.reload(getattr(_open_clip, name))
                _open_clip_transformers = True
    return _open_clip


def _import_open_clip(transformers: bool) -> tuple[Any, bool]:
    """Called with _import_lock held: open_clip, and whether it saw transformers."""
    hold_back = not transformers and "transformers" not in sys.modules
    if hold_back:
        # A None in sys.modules makes `import transformers` raise ImportError (Python's
        # documented behaviour), which open_clip 3.3.0 catches: see TRANSFORMERS_USERS.
        sys.modules["transformers"] = None  # type: ignore[assignment]
    try:
        import open_clip
    finally:
        if hold_back and sys.modules.get("transformers", 0) is None:
            del sys.modules["transformers"]
    return open_clip, not hold_back


def needs_transformers(spec: ModelSpec) -> bool:
    """Whether the model uses Hugging Face transformers through open_clip: a CoCa
    (generate), a Hugging Face text tower or tokenizer (SigLIP's too). Yes when unknown."""
    if spec.source == "local-dir":
        try:
            config = json.loads((Path(spec.location) / "open_clip_config.json").read_text())
            model_cfg = config["model_cfg"]
        except (OSError, ValueError, KeyError, TypeError):
            return True
    elif spec.source == "builtin" and spec.arch:
        model_cfg = open_clip_module().get_model_config(spec.arch)
    else:
        return True  # a hub repository's config is read by open_clip itself
    if not isinstance(model_cfg, dict):
        return True
    text_cfg = model_cfg.get("text_cfg") or {}
    return "multimodal_cfg" in model_cfg or any(str(k).startswith("hf_") for k in text_cfg)
