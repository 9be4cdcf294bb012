"""Where a model runs and in what number format: CUDA, then Apple MPS, then the CPU;
fp16 on a GPU, bf16 or fp32 on a CPU; $CLIPDESK_PRECISION overrides."""
from __future__ import annotations

import os

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.models.imports import imported_torch, torch_module

PRECISION_ENV = "CLIPDESK_PRECISION"
PRECISIONS = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def best_device() -> str:
    torch = torch_module()
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def precision_for(device: str) -> str:
    """The number format a model computes in on `device`: fp16 on a GPU; on a CPU bf16
    where the CPU multiplies bf16 itself (AMX or AVX-512 BF16: ViT-B-32 on one core went
    68 -> 16 ms a photo and a text query 36 -> 12 ms, vectors within cosine 0.9999 of
    fp32's), else fp32 (bf16 emulated is slower than fp32). $CLIPDESK_PRECISION (fp32,
    fp16 or bf16) overrides the choice; another value is a ClipdeskError, not a model's
    problem."""
    chosen = os.environ.get(PRECISION_ENV, "").strip().lower()
    if chosen:
        if chosen not in PRECISIONS:
            raise ClipdeskError(f"{PRECISION_ENV} must be one of {', '.join(PRECISIONS)} "
                                f"(or not set), not {chosen!r}")
        return chosen
    if device in ("cuda", "mps"):
        return "fp16"
    return "bf16" if device == "cpu" and _cpu_has_bf16() else "fp32"


def _cpu_has_bf16() -> bool:
    """Whether this CPU computes in bf16 natively (torch's own check, private in 2.x:
    absent means no)."""
    checks = torch_module().cpu
    return any(getattr(checks, name, lambda: False)()
               for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))


def has_gpu() -> bool:
    """Whether torch sees a GPU. Never imports torch (that would freeze a window for
    seconds) and never raises: False until a model load has imported torch."""
    torch = imported_torch()
    if torch is None:
        return False
    try:
        return bool(torch.cuda.is_available())
    except Exception:  # a broken driver is "no GPU", not a crash
        return False
