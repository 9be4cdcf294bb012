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
import threading

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


class Decoders:
    """How many photos decode at once beside the model, chosen by measurement during each
    index run rather than fixed: the best split depends on the CPU, the model and its
    number format (an int8 image tower needs far less of the cores than torch fp32), the
    photos (12 MP JPEGs or phone HEICs) and whatever else the machine runs.

    The run's first photos warm up; then each candidate count (the start, one more, one
    fewer) decodes a window of photos and the fastest is kept (a neighbour must be
    GAIN faster to displace the start: the windows are noisy). The candidates are measured
    again every RETRY windows, since the rest of the machine changes. Used as a context
    manager around one photo's decode, from the pool's threads."""

    WINDOW = 16  # photos a measurement
    GAIN = 1.05
    RETRY = 16  # windows between two rounds of measurements

    def __init__(self, start: int, most: int) -> None:
        self.start, self.most = start, most
        self.limit = start
        self._busy = 0
        self._free = threading.Condition()
        self._rates: dict[int, float] = {}
        self._todo: list[int] = []
        self._windows = 0
        self._mark: tuple[float, int] | None = None  # (time, photos done) at a window's start

    def __enter__(self) -> None:
        with self._free:
            self._free.wait_for(lambda: self._busy < self.limit)
            self._busy += 1

    def __exit__(self, *exc: object) -> None:
        with self._free:
            self._busy -= 1
            self._free.notify()

    def done(self, photos: int, now: float) -> None:
        """Photos embedded so far in this run (called by the run's thread as they are)."""
        if self._mark is None:  # the end of the warm-up: the first round starts
            self._mark = (now, photos)
            self._todo = self._candidates()
            self._set(self._todo.pop(0))
            return
        since, counted = self._mark
        if photos - counted < self.WINDOW:
            return
        self._rates[self.limit] = (photos - counted) / max(now - since, 1e-9)
        self._mark = (now, photos)
        self._windows += 1
        if self._todo:
            self._set(self._todo.pop(0))
            return
        self._set(max(self._rates, key=lambda n: self._rates[n]
                      * (self.GAIN if n == self.start else 1.0)))
        if self._windows % self.RETRY == 0:
            self._rates.clear()
            self._todo = self._candidates()

    def _candidates(self) -> list[int]:
        return [n for n in (self.start, self.start + 1, self.start - 1) if 1 <= n <= self.most]

    def _set(self, limit: int) -> None:
        with self._free:
            self.limit = limit
            self._free.notify_all()
