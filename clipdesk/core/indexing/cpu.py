"""How the cores are shared between the model (torch's intra-op threads) and the decode
pool (one photo a thread: read, hash, JPEG draft decode, thumbnail, sharpness, open_nsfw).

Measured on 2 cores with ViT-B-32-256 (benchmarks/bench_threads.py, 48 12 MP JPEGs added
to a library; figures in benchmarks/README.md): with OpenMP's default wait (threads spin at
barriers) the model's threads and the decoders steal the cores from each other; with
sleeping threads (OMP_WAIT_POLICY=PASSIVE, set in models.torch_module) a torch thread per
core beside a decoder per core indexed 1.19-1.26x faster than torch's and the pool's old
defaults, and one torch thread 0.80x. A single text query is another matter: it reads
every weight of the text tower for a handful of tokens (memory-bound), and one thread
answered in 34-41 ms against 53-58 ms for two (waking a sleeping thread costs more than
the second thread gives). On a later VM, in bf16: quiet, 12.8 ms on one thread and 10.2 ms
on two; with both cores busy, 14.6 ms on one and 28.2 ms on two. A query runs while the
app indexes, so it keeps one thread.
"""
from __future__ import annotations

import os

QUERY_THREADS = 1  # torch threads for one text query


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
    """torch's intra-op threads for batches (photos, tag prompts): one per core."""
    return cores()
