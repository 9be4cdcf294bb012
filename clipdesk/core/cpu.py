"""How the cores are shared between the model (torch's intra-op threads) and the decode
pool (one photo a thread: read, hash, JPEG draft decode, thumbnail, sharpness, open_nsfw).

Measured on 2 cores (benchmarks/bench_threads.py; docs/architecture.md "Speed"): torch's
default, one OpenMP thread per core, spins at its barriers while the decoders hold the
cores, so the model ran slower with two threads than with one; one torch thread per two
cores beside a decoder per core kept both cores busy with no thread waiting on another.
"""
from __future__ import annotations

import os


def cores() -> int:
    """The cores this process may run on (a container's or taskset's share)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def decode_workers(on_gpu: bool = False) -> int:
    """Threads decoding photos while the model runs. With a GPU the model needs a core
    only to feed it: every other core decodes."""
    n = cores()
    return max(1, min(8, n - 1 if on_gpu else n))


def torch_threads() -> int:
    """torch's intra-op threads on the CPU: half the cores (the decoders use the rest)."""
    return max(1, cores() // 2)
